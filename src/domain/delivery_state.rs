//! Where a notification stands in the outbox.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// To send (again, after a failed attempt, at its next attempt time).
    Pending,
    /// Recorded but not sent: a silence, an acknowledgement, a maintenance window or an
    /// expected dip held it.
    Held,
    Delivered,
    /// Every attempt failed; no more are made.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [Self::Pending, Self::Held, Self::Delivered, Self::Failed];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a delivery state (pending, held, delivered, failed)")]
pub struct UnknownDeliveryState(pub String);

/// How a stored row is read back.
impl TryFrom<String> for DeliveryState {
    type Error = UnknownDeliveryState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(UnknownDeliveryState(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::try_from(s.as_str().to_owned()), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(DeliveryState::try_from("sent".to_owned()).is_err());
    }
}
