//! The life of a job: its states and the pure rules for moving between them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a job is. `queued` and `running` are live; the other three are final: nothing more
/// happens to a job in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// What asking to cancel a job in some state does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelDecision {
    /// Nothing was started: the job is cancelled at once.
    CancelledNow,
    /// The job is working: it is asked to stop, and stops at its next safe point (or runs
    /// to the end if its kind cannot stop where it is).
    Requested,
    /// The job already ended; there is nothing to cancel.
    AlreadyFinal,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        Self::Queued,
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Completed, failed or cancelled.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// What a cancel request does to a job in this state. A queued job has touched nothing,
    /// so it ends at once; a running one may be half-way through something that cannot be
    /// interrupted, so only its executor can end it, at a safe point.
    pub fn on_cancel(self) -> CancelDecision {
        match self {
            Self::Queued => CancelDecision::CancelledNow,
            Self::Running => CancelDecision::Requested,
            Self::Completed | Self::Failed | Self::Cancelled => CancelDecision::AlreadyFinal,
        }
    }

    /// Whether a job may move from `self` to `to`. Final states are never left; a running
    /// job does not go back to queued (its executor waits in `running` instead).
    pub fn can_become(self, to: JobState) -> bool {
        match (self, to) {
            (from, _) if from.is_final() => false,
            (Self::Queued, _) => to != Self::Queued,
            (Self::Running, to) => to != Self::Queued && to != Self::Running,
            _ => false,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a job state (queued, running, completed, failed, cancelled)")]
pub struct UnknownJobState(pub String);

impl FromStr for JobState {
    type Err = UnknownJobState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownJobState(s.to_owned()))
    }
}

/// How a stored row is read back.
impl TryFrom<String> for JobState {
    type Error = UnknownJobState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::JobState::*;
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in JobState::ALL {
            assert_eq!(s.as_str().parse::<JobState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("done".parse::<JobState>().is_err());
        assert!("Queued".parse::<JobState>().is_err());
    }

    #[test]
    fn cancelling_by_state() {
        let table = [
            (Queued, CancelDecision::CancelledNow),
            (Running, CancelDecision::Requested),
            (Completed, CancelDecision::AlreadyFinal),
            (Failed, CancelDecision::AlreadyFinal),
            (Cancelled, CancelDecision::AlreadyFinal),
        ];
        for (state, expected) in table {
            assert_eq!(state.on_cancel(), expected, "{state}");
        }
    }

    #[test]
    fn transitions() {
        // (from, to, allowed, why)
        let table = [
            (Queued, Running, true, "a worker starts it"),
            (Queued, Cancelled, true, "cancelled before it started"),
            (
                Queued,
                Failed,
                true,
                "refused before it started (deadline, target gone)",
            ),
            (Queued, Completed, true, "a step that finishes at once"),
            (Queued, Queued, false, "no-op is not a transition"),
            (Running, Completed, true, "done"),
            (Running, Failed, true, "failed"),
            (Running, Cancelled, true, "stopped at a safe point"),
            (Running, Queued, false, "a running job waits in running"),
            (Running, Running, false, "no-op is not a transition"),
            (Completed, Running, false, "final"),
            (Failed, Queued, false, "final: a retry is a new job"),
            (Cancelled, Completed, false, "final"),
        ];
        for (from, to, allowed, why) in table {
            assert_eq!(from.can_become(to), allowed, "{from} -> {to}: {why}");
        }
    }
}
