//! Remote accounts following one of ours.

use chrono::{DateTime, Utc};

use super::RemoteActor;

/// Whether a follow is in effect or waits for an editor's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    Pending,
    Accepted,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            _ => None,
        }
    }

    /// A new follow of an account is accepted at once unless the account approves by hand.
    pub fn for_new_follow(manually_approves_followers: bool) -> Self {
        if manually_approves_followers {
            Self::Pending
        } else {
            Self::Accepted
        }
    }
}

#[derive(Debug, Clone)]
pub struct Follower {
    pub id: i64,
    pub actor_id: i64,
    pub remote: RemoteActor,
    /// The id of the Follow activity, echoed in our Accept or Reject.
    pub follow_activity_id: String,
    pub state: FollowState,
    pub created_at: DateTime<Utc>,
}
