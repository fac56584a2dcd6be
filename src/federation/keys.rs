//! RSA key pairs for HTTP Signatures: made once per actor, kept as PEM in the database.
//!
//! aws-lc-rs does the arithmetic (the same library rustls uses here): key generation takes
//! tens of milliseconds and signing is several times faster than the pure-Rust `rsa` crate.

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der},
    rand::SystemRandom,
    rsa::{KeyPair, KeySize},
    signature::{self, KeyPair as _, UnparsedPublicKey},
};
use base64::{Engine, engine::general_purpose::STANDARD};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a key pair")]
    Generate,
    #[error("the key is not valid PEM")]
    Pem,
    #[error("the key is not a usable RSA key")]
    Rejected,
    #[error("signing failed")]
    Sign,
}

/// A key pair as PEM text: PKCS#8 private key and SubjectPublicKeyInfo public key.
#[derive(Debug, Clone)]
pub struct PemKeyPair {
    pub public_key_pem: String,
    pub private_key_pem: String,
}

pub fn generate() -> Result<PemKeyPair, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let private: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| KeyError::Generate)?;
    let public = pair.public_key().as_der().map_err(|_| KeyError::Generate)?;
    Ok(PemKeyPair {
        public_key_pem: to_pem("PUBLIC KEY", public.as_ref()),
        private_key_pem: to_pem("PRIVATE KEY", private.as_ref()),
    })
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The DER bytes inside the first PEM block of `pem`.
fn from_pem(pem: &str) -> Result<Vec<u8>, KeyError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|line| !line.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END "))
        .collect();
    if body.is_empty() {
        return Err(KeyError::Pem);
    }
    STANDARD.decode(body).map_err(|_| KeyError::Pem)
}

/// A parsed private key, ready to sign many times.
pub struct SigningKey(KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    pub fn from_pem(private_key_pem: &str) -> Result<Self, KeyError> {
        let der = from_pem(private_key_pem)?;
        KeyPair::from_pkcs8(&der)
            .map(Self)
            .map_err(|_| KeyError::Rejected)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256` in HTTP Signatures).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(signature)
    }
}

/// Checks an RSA-SHA256 signature against a PEM public key (SPKI or PKCS#1).
pub fn verify(
    public_key_pem: &str,
    message: &[u8],
    signature_bytes: &[u8],
) -> Result<bool, KeyError> {
    let der = from_pem(public_key_pem)?;
    let key = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der);
    Ok(key.verify(message, signature_bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_and_verifies() {
        let pair = generate().unwrap();
        assert!(
            pair.public_key_pem
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        let key = SigningKey::from_pem(&pair.private_key_pem).unwrap();
        let signature = key.sign(b"hello").unwrap();
        assert!(verify(&pair.public_key_pem, b"hello", &signature).unwrap());
        assert!(!verify(&pair.public_key_pem, b"hellO", &signature).unwrap());
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(matches!(SigningKey::from_pem("nope"), Err(KeyError::Pem)));
        assert!(matches!(
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::Rejected)
        ));
    }
}
