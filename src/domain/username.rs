//! Local account names, the `isg` in `@isg@example.org` and `/users/isg`.

use std::fmt;

/// A valid local username: 1 to 30 characters of `a-z`, `0-9` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a valid username: use 1 to 30 lower-case letters, digits or underscores")]
pub struct InvalidUsername(pub String);

impl Username {
    pub const MAX_LEN: usize = 30;

    pub fn parse(value: &str) -> Result<Self, InvalidUsername> {
        let valid = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidUsername(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_names() {
        assert_eq!(Username::parse("isg").unwrap().as_str(), "isg");
        assert!(Username::parse("isg_international_2").is_ok());
    }

    #[test]
    fn refuses_what_would_break_urls_or_handles() {
        for bad in ["", "ISG", "a b", "a@b", "a/b", "ä", "a.b", &"x".repeat(31)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
