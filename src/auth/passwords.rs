//! Password verification against `DEV_USERS` hashes: bcrypt (`$2a$`/`$2b$`/`$2y$`) and argon2
//! PHC strings. Hashing is slow by design, so it runs on the blocking pool, carrying the span.

use argon2::{Argon2, PasswordHash, PasswordVerifier};

/// Whether `hash` is a format this module verifies.
pub fn is_supported_hash(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
        || (hash.starts_with("$argon2") && PasswordHash::new(hash).is_ok())
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    if hash.starts_with("$argon2") {
        PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    } else {
        bcrypt::verify(password, hash).unwrap_or(false)
    }
}

/// Verifies `password` against `hash` without blocking the async runtime.
pub async fn verify(password: String, hash: String) -> bool {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| verify_blocking(&password, &hash)))
        .await
        .unwrap_or(false)
}

/// A well-formed hash nobody knows the password of: verifying against it when an e-mail is
/// unknown makes failed logins take as long for unknown as for known accounts.
pub const DUMMY_HASH: &str = "$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtX";

#[cfg(test)]
mod tests {
    use super::*;

    const BCRYPT: &str = "$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtW";
    const ARGON2: &str = "$argon2id$v=19$m=65536,t=3,p=4$2U0kOvBI+hWYMZM1eujnLw$DgTIc6PqkAVL0hvjdIksKSWp2uiQTsQXSNVkIW/51yg";

    #[tokio::test]
    async fn bcrypt_and_argon2_hashes_verify() {
        assert!(verify("iris-demo".into(), BCRYPT.into()).await);
        assert!(!verify("wrong".into(), BCRYPT.into()).await);
        assert!(verify("iris-demo".into(), ARGON2.into()).await);
        assert!(!verify("wrong".into(), ARGON2.into()).await);
        assert!(!verify("iris-demo".into(), DUMMY_HASH.into()).await);
        assert!(is_supported_hash(BCRYPT) && is_supported_hash(ARGON2));
        assert!(!is_supported_hash("plaintext"));
    }
}
