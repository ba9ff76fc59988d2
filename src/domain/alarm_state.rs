//! An alarm's state, as evaluated, stored, sent and shown.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// CloudWatch's three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    Ok,
    Alarm,
    /// Too little data to decide (never evaluated, or missing data treated so).
    InsufficientData,
}

impl AlarmState {
    pub const ALL: [AlarmState; 3] = [Self::Ok, Self::Alarm, Self::InsufficientData];

    /// The stored and sent name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Alarm => "alarm",
            Self::InsufficientData => "insufficient_data",
        }
    }

    /// For people, as the CloudWatch console writes it: "OK", "In alarm", "Insufficient data".
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "In alarm",
            Self::InsufficientData => "Insufficient data",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored state name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an alarm state (ok, alarm, insufficient_data)")]
pub struct UnknownAlarmState(pub String);

impl FromStr for AlarmState {
    type Err = UnknownAlarmState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownAlarmState(s.to_owned()))
    }
}

/// How a stored row is read back.
impl TryFrom<String> for AlarmState {
    type Error = UnknownAlarmState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in AlarmState::ALL {
            assert_eq!(s.as_str().parse::<AlarmState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("ALARM".parse::<AlarmState>().is_err());
    }
}
