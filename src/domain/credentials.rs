//! Passwords (argon2id hashes), generated passwords, API tokens and session tokens. Tokens are
//! random and stored only as SHA-256 hashes: a leaked database reveals no usable token.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::Rng as _;
use sha2::{Digest, Sha256};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password could not be hashed")]
    Hash,
}

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(CredentialError::TooShort);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|_| CredentialError::Hash)
}

/// Whether `password` matches a stored hash (in constant time).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A random secret of `bytes` bytes, URL-safe.
fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill(&mut buffer[..]);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A password to hand to a new user: 20 characters, ~120 bits.
pub fn generate_password() -> String {
    random_secret(15)
}

/// A new API token; the prefix makes it recognizable in logs and secret scanners.
pub fn generate_api_token() -> String {
    format!("bst_{}", random_secret(32))
}

/// A new session or setup token.
pub fn generate_token() -> String {
    random_secret(32)
}

/// How a token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(CredentialError::TooShort));
    }

    #[test]
    fn tokens_are_random_and_hashed_stably() {
        let (a, b) = (generate_api_token(), generate_api_token());
        assert_ne!(a, b);
        assert!(a.starts_with("bst_"));
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_eq!(token_hash(&a).len(), 64);
        assert!(generate_password().chars().count() >= 20);
    }
}
