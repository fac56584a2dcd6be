//! Fediverse handles, `@name@host`, as people type them.

use std::fmt;

/// A remote account's handle: a user part and a host (with port, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub user: String,
    pub host: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a handle of the form @name@host")]
pub struct InvalidHandle(pub String);

impl Handle {
    /// Parses `@name@host`, `name@host` or `acct:name@host`.
    pub fn parse(value: &str) -> Result<Self, InvalidHandle> {
        let bare = value.strip_prefix("acct:").unwrap_or(value);
        let bare = bare.strip_prefix('@').unwrap_or(bare);
        let (user, host) = bare
            .split_once('@')
            .ok_or_else(|| InvalidHandle(value.to_owned()))?;
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        let user_ok = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !host_ok || !user_ok {
            return Err(InvalidHandle(value.to_owned()));
        }
        Ok(Self {
            user: user.to_owned(),
            host: host.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}@{}", self.user, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_spellings() {
        for input in [
            "@isg@Example.org",
            "isg@example.org",
            "acct:isg@example.org",
        ] {
            let handle = Handle::parse(input).unwrap();
            assert_eq!(handle.to_string(), "@isg@example.org");
        }
        assert_eq!(
            Handle::parse("a@localhost:8080").unwrap().host,
            "localhost:8080"
        );
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in ["isg", "@isg", "isg@", "@@x", "i s@x.org", "a@x/y", "a@x?q"] {
            assert!(Handle::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
