//! How a discovery run ended, as stored, answered and shown.

use serde::Serialize;

/// Every account and region answered; some did not (their targets are kept as they were);
/// none did (the whole set is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryOutcome {
    Ok,
    Partial,
    Failed,
}

impl DiscoveryOutcome {
    pub const ALL: [Self; 3] = [Self::Ok, Self::Partial, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Partial => "Partly failed",
            Self::Failed => "Failed",
        }
    }
}

/// A stored name that is not an outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a discovery outcome (ok, partial, failed)")]
pub struct UnknownDiscoveryOutcome(pub String);

impl TryFrom<String> for DiscoveryOutcome {
    type Error = UnknownDiscoveryOutcome;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or(UnknownDiscoveryOutcome(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for o in DiscoveryOutcome::ALL {
            assert_eq!(DiscoveryOutcome::try_from(o.as_str().to_owned()), Ok(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        assert!(DiscoveryOutcome::try_from("OK".to_owned()).is_err());
    }
}
