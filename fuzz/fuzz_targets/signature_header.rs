//! Fuzzes the HTTP Signature header parser (`Signature:` and `Authorization: Signature …`)
//! and the `Digest` check, which read attacker-chosen text before any key is fetched.
#![no_main]

use broadside::federation::signatures::{self, SignatureHeader};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(header) = SignatureHeader::parse(text)
    {
        // What a parsed header says is usable as it is: lower-case header names, no spaces.
        assert!(
            header
                .headers
                .iter()
                .all(|h| !h.is_empty() && !h.contains(' '))
        );
        let _ = header.key_owner_guess();
    }
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    for name in ["signature", "authorization"] {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.clone());
        let _ = SignatureHeader::from_headers(&headers);
    }
    let mut headers = HeaderMap::new();
    headers.insert("digest", value);
    let _ = signatures::verify_digest(&headers, data);
});
