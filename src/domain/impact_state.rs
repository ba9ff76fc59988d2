//! Whether a change's stored impact has figures.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpactState {
    /// Baseline, dip, extra misses and recovery were measured.
    Measured,
    /// Too little traffic or history: a reason, no figures.
    NotMeasurable,
}

impl ImpactState {
    pub const ALL: [ImpactState; 2] = [Self::Measured, Self::NotMeasurable];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Measured => "measured",
            Self::NotMeasurable => "not_measurable",
        }
    }
}

impl fmt::Display for ImpactState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored name that is not one of the two.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an impact state (measured, not_measurable)")]
pub struct UnknownImpactState(pub String);

/// How a stored row is read back.
impl TryFrom<String> for ImpactState {
    type Error = UnknownImpactState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(UnknownImpactState(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back() {
        for s in ImpactState::ALL {
            assert_eq!(ImpactState::try_from(s.as_str().to_owned()), Ok(s));
        }
        assert!(ImpactState::try_from("pending".to_owned()).is_err());
    }
}
