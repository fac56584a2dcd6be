//! The organization's people: who they are, their role, and what each role may do. Every
//! permission check, in the web editor and the API alike, asks [`User::may`].

use std::fmt;

/// A sign-in name: 1 to 64 characters of letters, digits and `._-@` (an e-mail works).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Login(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a valid login: use 1 to 64 letters, digits or . _ - @")]
pub struct InvalidLogin(pub String);

impl Login {
    pub fn parse(value: &str) -> Result<Self, InvalidLogin> {
        let value = value.trim().to_lowercase();
        let valid = !value.is_empty()
            && value.chars().count() <= 64
            && value
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if valid {
            Ok(Self(value))
        } else {
            Err(InvalidLogin(value))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Users, organization accounts, settings: everything.
    Admin,
    /// Publishes, corrects, retracts and pins the posts of the accounts they work for,
    /// approves their followers and replies, and follows and boosts allies for them.
    Editor,
    /// Writes drafts and submits them for review; cannot publish, follow or boost (reads
    /// the network).
    Author,
}

impl Role {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "editor" => Some(Self::Editor),
            "author" => Some(Self::Author),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Editor => "editor",
            Self::Author => "author",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a user may or may not do for an organization account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the account's drafts, posts and followers in the editor.
    View,
    /// Write a draft, change a draft, submit it for review.
    WriteDraft,
    /// Publish (or schedule) a post, correct a published post.
    Publish,
    /// Retract a post.
    Delete,
    /// Pin or unpin a post.
    Pin,
    /// Approve, reject or remove followers.
    ManageFollowers,
    /// Edit the account's profile (name, bio, images, links).
    EditProfile,
    /// Follow and unfollow allied accounts, set which of their posts are boosted
    /// automatically, and choose whether the public allies page is shown.
    Follow,
    /// Boost a post (share it with the account's followers) or take the boost back.
    Boost,
    /// Approve replies held for approval under the account's posts.
    ApproveReplies,
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: Login,
    pub role: Role,
    pub disabled: bool,
    /// The organization accounts (actor ids) an editor or author works for.
    pub actor_ids: Vec<i64>,
}

impl User {
    /// Whether the user works for the account at all; admins work for every account.
    pub fn works_for(&self, actor_id: i64) -> bool {
        !self.disabled && (self.role == Role::Admin || self.actor_ids.contains(&actor_id))
    }

    /// Whether the user may do `action` for the account `actor_id`.
    pub fn may(&self, action: Action, actor_id: i64) -> bool {
        if !self.works_for(actor_id) {
            return false;
        }
        match self.role {
            Role::Admin | Role::Editor => true,
            Role::Author => matches!(action, Action::View | Action::WriteDraft),
        }
    }

    /// Users, accounts and instance settings are the admins' alone.
    pub fn may_administer(&self) -> bool {
        !self.disabled && self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, actors: &[i64]) -> User {
        User {
            id: 1,
            login: Login::parse("a").unwrap(),
            role,
            disabled: false,
            actor_ids: actors.to_vec(),
        }
    }

    #[test]
    fn authors_write_drafts_but_do_not_publish() {
        let author = user(Role::Author, &[7]);
        assert!(author.may(Action::WriteDraft, 7));
        for action in [
            Action::Publish,
            Action::Delete,
            Action::Pin,
            Action::ManageFollowers,
            Action::EditProfile,
            Action::Follow,
            Action::Boost,
            Action::ApproveReplies,
        ] {
            assert!(!author.may(action, 7), "{action:?}");
        }
    }

    #[test]
    fn editors_act_only_for_their_accounts() {
        let editor = user(Role::Editor, &[7]);
        assert!(editor.may(Action::Publish, 7));
        assert!(!editor.may(Action::Publish, 8));
        assert!(editor.may(Action::Follow, 7) && editor.may(Action::Boost, 7));
        assert!(!editor.may(Action::Boost, 8));
        assert!(!editor.may_administer());
    }

    #[test]
    fn admins_act_for_every_account_unless_disabled() {
        let mut admin = user(Role::Admin, &[]);
        assert!(admin.may(Action::Delete, 99) && admin.may_administer());
        admin.disabled = true;
        assert!(!admin.may(Action::View, 99) && !admin.may_administer());
    }

    #[test]
    fn logins_are_normalized() {
        assert_eq!(
            Login::parse(" Ana@Example.org ").unwrap().as_str(),
            "ana@example.org"
        );
        assert!(Login::parse("a b").is_err());
        assert!(Login::parse("").is_err());
    }
}
