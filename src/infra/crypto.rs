//! Digests shared by the API's caches and the domain: one definition of a document hash.

use sha2::{Digest as _, Sha256};

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    sha256_hex_of(text.as_bytes())
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
