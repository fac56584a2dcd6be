//! The organization accounts this instance hosts.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::Username;

/// What kind of account this is; it becomes the actor's ActivityStreams `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActorKind {
    #[default]
    Organization,
    Group,
    Person,
    Service,
}

impl ActorKind {
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "organization" => Some(Self::Organization),
            "group" => Some(Self::Group),
            "person" => Some(Self::Person),
            "service" => Some(Self::Service),
            _ => None,
        }
    }

    /// The name used in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::Group => "group",
            Self::Person => "person",
            Self::Service => "service",
        }
    }

    /// The ActivityStreams actor type.
    pub fn activity_type(self) -> &'static str {
        match self {
            Self::Organization => "Organization",
            Self::Group => "Group",
            Self::Person => "Person",
            Self::Service => "Service",
        }
    }
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name/value pair shown on the profile (Mastodon's "profile metadata").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    pub name: String,
    pub value: String,
}

/// A local organization account.
#[derive(Debug, Clone)]
pub struct LocalActor {
    pub id: i64,
    pub username: Username,
    pub kind: ActorKind,
    pub name: String,
    pub summary_md: String,
    /// `summary_md` rendered and sanitized once, when it is saved.
    pub summary_html: String,
    pub icon_url: Option<Url>,
    pub image_url: Option<Url>,
    pub manually_approves_followers: bool,
    /// Replies to the account's posts are shown at once, without an editor's approval.
    pub auto_approves_replies: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub fields: Vec<ProfileField>,
    pub also_known_as: Vec<Url>,
    /// The account this one moved to (ActivityPub `movedTo`); a moved account publishes
    /// nothing more.
    pub moved_to: Option<Url>,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What it takes to create an account; keys are made by the caller.
#[derive(Debug, Clone)]
pub struct NewActor {
    pub username: Username,
    pub kind: ActorKind,
    pub name: String,
    pub summary_md: String,
    pub summary_html: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in [
            ActorKind::Organization,
            ActorKind::Group,
            ActorKind::Person,
            ActorKind::Service,
        ] {
            assert_eq!(ActorKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            ActorKind::parse("Organization"),
            Some(ActorKind::Organization)
        );
        assert_eq!(ActorKind::parse("robot"), None);
    }
}
