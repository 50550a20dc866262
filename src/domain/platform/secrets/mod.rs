//! Secrets Iris must read back later (webhook signing secrets; connector session tokens when
//! they come), sealed at rest with AES-256-GCM.
//!
//! - A sealed value is text: `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, with a
//!   fresh 96-bit random nonce per sealing. The associated data names the column and the row
//!   (`webhook_endpoints.secret:<id>`), so a sealed value copied onto another row or column
//!   does not open.
//! - Keys come from a [`KeyProvider`] (the port a KMS can fill later): the newest key seals,
//!   every key it knows opens. [`Keyring`] is the provider the environment builds from
//!   `SECRET_KEYS`.
//! - Rotation: add a new key in front, restart, run `iris secrets rotate` ([`SecretService`]):
//!   every sealed column is re-sealed under the newest key (and any value written before
//!   secrets were sealed gets sealed), row by row, each update conditional on the value it read.
//!   Then the old key may leave `SECRET_KEYS`.
//!
//! Nothing here logs a secret or a key; `Debug` of a key shows only its id.

mod repository;

use std::{fmt, sync::Arc};

use aes_gcm::{
    Aes256Gcm, KeyInit as _,
    aead::{Aead as _, Payload},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::{error::AppError, infra::db::Db};

const PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 12;

/// One AES-256 key and the id sealed values name it by.
#[derive(Clone)]
pub struct SecretKey {
    id: String,
    cipher: Aes256Gcm,
}

impl SecretKey {
    /// `id`: 1–32 of `A–Z a–z 0–9 _ -`; `key`: exactly 32 bytes.
    pub fn new(id: &str, key: &[u8]) -> Result<SecretKey, String> {
        if id.is_empty()
            || id.len() > 32
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "key id `{id}` must be 1–32 characters of A–Z, a–z, 0–9, `_` and `-`"
            ));
        }
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| {
            format!(
                "key `{id}` must be 32 bytes (base64 of 32 random bytes), got {} bytes",
                key.len()
            )
        })?;
        Ok(SecretKey {
            id: id.to_owned(),
            cipher,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

/// Where the keys come from: the environment today, a KMS later (which would unwrap its data
/// keys once and answer from memory, as sealing happens inside requests and deliveries).
pub trait KeyProvider: Send + Sync + 'static {
    /// The key new values are sealed under.
    fn sealing_key(&self) -> &SecretKey;
    /// The key with this id, if it is still known.
    fn key(&self, id: &str) -> Option<&SecretKey>;
}

/// Keys held in memory, newest first: the first seals, all open.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<SecretKey>,
}

impl Keyring {
    /// Parses `SECRET_KEYS`: comma-separated `id:base64-key` pairs, newest first.
    pub fn parse(raw: &str) -> Result<Keyring, String> {
        let mut keys: Vec<SecretKey> = Vec::new();
        for (i, entry) in raw
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let Some((id, encoded)) = entry.split_once(':') else {
                return Err(format!(
                    "entry {} must be `<key id>:<base64 of 32 bytes>`",
                    i + 1
                ));
            };
            let bytes = STANDARD
                .decode(encoded.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim()))
                .map_err(|_| format!("key `{}` is not base64", id.trim()))?;
            let key = SecretKey::new(id.trim(), &bytes)?;
            if keys.iter().any(|k| k.id == key.id) {
                return Err(format!("key id `{}` appears twice", key.id));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err("must list at least one `<key id>:<base64 of 32 bytes>`".into());
        }
        Ok(Keyring { keys })
    }

    /// The development key derived from `APP_SECRET` (id `dev`), for a machine without
    /// `SECRET_KEYS`. Production refuses to start without real keys.
    pub fn development(app_secret: &str) -> Keyring {
        Keyring {
            keys: vec![Self::development_key(app_secret)],
        }
    }

    fn development_key(app_secret: &str) -> SecretKey {
        let mut hasher = Sha256::new();
        hasher.update(b"iris secret key v1\0");
        hasher.update(app_secret.as_bytes());
        SecretKey::new("dev", &hasher.finalize()).expect("a SHA-256 digest is 32 bytes")
    }

    /// Also opens (never seals) what the development key sealed, so a development database
    /// keeps working once `SECRET_KEYS` is set.
    pub fn with_development_fallback(mut self, app_secret: &str) -> Keyring {
        if !self.keys.iter().any(|k| k.id == "dev") {
            self.keys.push(Self::development_key(app_secret));
        }
        self
    }

    /// The ids, newest first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// A fresh `id:base64` entry for `SECRET_KEYS` (`iris secrets new-key`).
    pub fn new_entry(id: &str) -> Result<String, String> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey::new(id, &bytes)?;
        Ok(format!("{id}:{}", STANDARD.encode(bytes)))
    }
}

impl KeyProvider for Keyring {
    fn sealing_key(&self) -> &SecretKey {
        &self.keys[0]
    }

    fn key(&self, id: &str) -> Option<&SecretKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// Where a sealed value lives: the associated data binding it to its column and row.
pub fn context(table: &str, column: &str, row: impl fmt::Display) -> String {
    format!("{table}.{column}:{row}")
}

/// Seals and opens values under the provider's keys.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<dyn KeyProvider>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealer(sealing with {})", self.keys.sealing_key().id)
    }
}

/// Why a stored value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("it was sealed under key `{0}`, which SECRET_KEYS no longer lists")]
    UnknownKey(String),
    #[error("it is not a sealed value (run `iris secrets rotate` to seal values stored before)")]
    NotSealed,
    #[error("it does not open under its key (altered, or moved from another row)")]
    Corrupt,
}

impl Sealer {
    pub fn new(keys: Arc<dyn KeyProvider>) -> Sealer {
        Sealer { keys }
    }

    /// `plaintext` sealed under the newest key, bound to `context`.
    pub fn seal(&self, plaintext: &str, context: &str) -> Result<String, AppError> {
        let key = self.keys.sealing_key();
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| AppError::Internal(anyhow::anyhow!("sealing a secret failed")))?;
        let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// The plaintext of a value [`Sealer::seal`] made for `context`.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, OpenError> {
        let (key_id, encoded) = stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .ok_or(OpenError::NotSealed)?;
        let key = self
            .keys
            .key(key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| OpenError::Corrupt)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Corrupt);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| OpenError::Corrupt)?;
        let plain = key
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| OpenError::Corrupt)
    }

    /// Whether `stored` should be sealed again: not sealed at all, or not under the newest key.
    pub fn is_stale(&self, stored: &str) -> bool {
        let newest = self.keys.sealing_key().id.as_str();
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_none_or(|(id, _)| id != newest)
    }

    /// The id of the key new values are sealed under.
    pub fn sealing_key_id(&self) -> &str {
        &self.keys.sealing_key().id
    }
}

/// What a re-sealing pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values sealed again under the newest key (or sealed for the first time).
    pub resealed: u64,
    /// Values already under the newest key.
    pub current: u64,
    /// Values that did not open (unknown key, altered): left as they are, and logged.
    pub failed: u64,
}

/// Re-sealing of every sealed column.
#[derive(Clone)]
pub struct SecretService {
    db: Db,
    sealer: Sealer,
}

impl SecretService {
    pub fn new(db: Db, sealer: Sealer) -> Self {
        Self { db, sealer }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Seals every value of every sealed column under the newest key: values under older keys
    /// and values stored before secrets were sealed. Safe while Iris serves: a row changed
    /// since it was read is left to its writer.
    #[tracing::instrument(skip_all, fields(key = self.sealer.sealing_key_id()))]
    pub async fn rotate(&self) -> Result<Resealed, AppError> {
        let mut done = Resealed::default();
        for column in repository::SEALED_COLUMNS {
            repository::reseal_column(&self.db, &self.sealer, column, false, &mut done).await?;
        }
        Ok(done)
    }

    /// Seals what was stored in plaintext before sealing existed (run at start-up): values
    /// under an older key stay until `rotate`.
    pub async fn seal_plaintext(&self) -> Result<Resealed, AppError> {
        let mut done = Resealed::default();
        for column in repository::SEALED_COLUMNS {
            repository::reseal_column(&self.db, &self.sealer, column, true, &mut done).await?;
        }
        if done.resealed > 0 {
            tracing::info!(sealed = done.resealed, "sealed secrets stored in plaintext");
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(raw: &str) -> Sealer {
        Sealer::new(Arc::new(Keyring::parse(raw).unwrap()))
    }

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:HxwdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn sealed_values_open_only_for_their_context() {
        let s = sealer(K1);
        let sealed = s.seal("whsec_abc", "webhook_endpoints.secret:1").unwrap();
        assert!(sealed.starts_with("enc:v1:k1:"));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(
            s.open(&sealed, "webhook_endpoints.secret:1").unwrap(),
            "whsec_abc"
        );
        assert_eq!(
            s.open(&sealed, "webhook_endpoints.secret:2"),
            Err(OpenError::Corrupt)
        );
        // A fresh nonce each time: the same secret never seals to the same text.
        assert_ne!(
            sealed,
            s.seal("whsec_abc", "webhook_endpoints.secret:1").unwrap()
        );
    }

    #[test]
    fn the_newest_key_seals_and_old_keys_still_open() {
        let old = sealer(K1).seal("secret", "t.c:1").unwrap();
        let rotated = sealer(&format!("{K2},{K1}"));
        assert_eq!(rotated.open(&old, "t.c:1").unwrap(), "secret");
        assert!(rotated.is_stale(&old));
        let new = rotated.seal("secret", "t.c:1").unwrap();
        assert!(new.starts_with("enc:v1:k2:") && !rotated.is_stale(&new));
        assert_eq!(
            sealer(K1).open(&new, "t.c:1"),
            Err(OpenError::UnknownKey("k2".into()))
        );
        assert!(rotated.is_stale("whsec_plain"));
        assert_eq!(
            rotated.open("whsec_plain", "t.c:1"),
            Err(OpenError::NotSealed)
        );
    }

    #[test]
    fn altered_values_do_not_open() {
        let s = sealer(K1);
        let sealed = s.seal("secret", "t.c:1").unwrap();
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        assert_eq!(s.open(&altered, "t.c:1"), Err(OpenError::Corrupt));
    }

    #[test]
    fn secret_keys_are_checked() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("k1").unwrap_err().contains("<key id>"));
        assert!(
            Keyring::parse("k1:c2hvcnQ=")
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(
            Keyring::parse("bad id:AAAA")
                .unwrap_err()
                .contains("key id")
        );
        assert!(
            Keyring::parse(&format!("{K1},{K1}"))
                .unwrap_err()
                .contains("twice")
        );
        let ring = Keyring::parse(&format!("{K2}, {K1}")).unwrap();
        assert_eq!(ring.ids(), ["k2", "k1"]);
        let entry = Keyring::new_entry("2027-01").unwrap();
        assert_eq!(Keyring::parse(&entry).unwrap().ids(), ["2027-01"]);
        assert!(format!("{:?}", ring).contains("k2") && !format!("{:?}", ring).contains("AAEC"));
    }
}
