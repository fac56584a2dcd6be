//! Language tags (BCP 47, as far as posts need them): `en`, `es`, `pt-BR`, `zh-Hant`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a language tag such as en, es or pt-BR")]
pub struct InvalidLanguage(pub String);

impl Language {
    /// Accepts a 2–3 letter primary language with optional subtags of 2–8 letters or digits,
    /// and normalizes case (`PT-br` → `pt-BR`).
    pub fn parse(value: &str) -> Result<Self, InvalidLanguage> {
        let invalid = || InvalidLanguage(value.to_owned());
        let mut parts = value.split(['-', '_']);
        let primary = parts
            .next()
            .filter(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
        let mut tag = primary.ok_or_else(invalid)?.to_ascii_lowercase();
        for part in parts {
            if !(2..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid());
            }
            tag.push('-');
            match part.len() {
                2 => tag.push_str(&part.to_ascii_uppercase()),
                4 => {
                    let mut chars = part.chars();
                    tag.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                    tag.push_str(&chars.as_str().to_ascii_lowercase());
                }
                _ => tag.push_str(&part.to_ascii_lowercase()),
            }
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_common_tags() {
        assert_eq!(Language::parse("en").unwrap().as_str(), "en");
        assert_eq!(Language::parse("PT_br").unwrap().as_str(), "pt-BR");
        assert_eq!(Language::parse("zh-hant").unwrap().as_str(), "zh-Hant");
    }

    #[test]
    fn refuses_non_tags() {
        for bad in ["", "e", "english", "en-", "en-x", "1n", "en us"] {
            assert!(Language::parse(bad).is_err(), "{bad:?}");
        }
    }
}
