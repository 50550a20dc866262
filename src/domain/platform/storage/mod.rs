//! Stored documents (invoices, catalog uploads): the files Iris receives, kept as they came.
//!
//! Rules:
//! - A document is stored under its content's SHA-256 (`sha256/ab/abcdef…`): the same bytes are
//!   stored once, whoever sends them and under whatever name.
//! - Its kind is read from its bytes (magic numbers and, for text, its first characters), never
//!   from a file name or a client's content type; only the kinds Iris can read are accepted, and
//!   nothing larger than the size limit (`STORAGE_MAX_BYTES`).
//! - Where the bytes live is a port with two adapters (the `object_store` crate): the local
//!   file system under the data directory (the default) and S3-compatible object storage
//!   (`STORAGE_URL=s3://bucket/prefix` plus the usual `AWS_*` variables).
//!
//! What refers to a document (and for how long it is kept) belongs to the context that stored
//! it; this module only stores, reads and deletes bytes.

use std::{fmt, path::PathBuf, sync::Arc};

use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path as ObjectPath};

use crate::{error::AppError, infra::crypto::sha256_hex_of};

/// What a document's bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    /// XML (e-invoices: Peppol BIS / UBL).
    Xml,
    /// Text that is not XML: CSV and the like (UTF-8 or Windows-1252).
    Text,
}

impl DocumentKind {
    /// The media type it is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Tiff => "image/tiff",
            DocumentKind::Xml => "application/xml",
            DocumentKind::Text => "text/plain",
        }
    }

    /// The kind [`DocumentKind::as_str`] wrote.
    pub fn parse(raw: &str) -> Option<DocumentKind> {
        Some(match raw {
            "PDF" => DocumentKind::Pdf,
            "PNG" => DocumentKind::Png,
            "JPEG" => DocumentKind::Jpeg,
            "TIFF" => DocumentKind::Tiff,
            "XML" => DocumentKind::Xml,
            "TEXT" => DocumentKind::Text,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "PDF",
            DocumentKind::Png => "PNG",
            DocumentKind::Jpeg => "JPEG",
            DocumentKind::Tiff => "TIFF",
            DocumentKind::Xml => "XML",
            DocumentKind::Text => "TEXT",
        }
    }
}

/// Why bytes were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Empty,
    TooLarge {
        limit: usize,
    },
    /// What the bytes look like instead (`a ZIP archive`, `binary data`, …).
    Unsupported(&'static str),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Empty => write!(f, "is empty"),
            Refused::TooLarge { limit } => write!(f, "must be at most {limit} bytes"),
            Refused::Unsupported(what) => write!(
                f,
                "is {what}; a PDF, a PNG, JPEG or TIFF image, XML or CSV text is expected"
            ),
        }
    }
}

/// What the bytes are, from their first bytes.
pub fn sniff(bytes: &[u8]) -> Result<DocumentKind, Refused> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"%PDF-") {
        return Ok(DocumentKind::Pdf);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Ok(DocumentKind::Png);
    }
    if starts(b"\xFF\xD8\xFF") {
        return Ok(DocumentKind::Jpeg);
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Ok(DocumentKind::Tiff);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Err(Refused::Unsupported("a ZIP archive"));
    }
    if starts(b"\x1F\x8B") {
        return Err(Refused::Unsupported("gzip-compressed"));
    }
    // Text: no NUL and no C0 control other than tab, line feed, carriage return and form
    // feed in the first 8 KiB (UTF-8 and Windows-1252 both pass).
    let head = &bytes[..bytes.len().min(8192)];
    let text = head
        .iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0C));
    if !text {
        return Err(Refused::Unsupported("binary data"));
    }
    let body = head.strip_prefix(BOM).unwrap_or(head);
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    Ok(match first.map(|i| body[i]) {
        Some(b'<') => DocumentKind::Xml,
        _ => DocumentKind::Text,
    })
}

/// A stored document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument {
    /// `sha256/ab/abcdef…`: where it is, and what it is.
    pub key: String,
    /// The SHA-256 of its bytes, hex.
    pub sha256: String,
    pub size: usize,
    pub kind: DocumentKind,
}

/// Where documents are kept.
#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// `STORAGE_URL`: `s3://bucket/prefix`, or a local directory (`file:///…` or a path);
    /// `None`: `<DATA_DIR>/documents`.
    pub url: Option<String>,
    /// `DATA_DIR`: Iris's local data.
    pub data_dir: PathBuf,
    /// `STORAGE_MAX_BYTES`: the largest document accepted.
    pub max_bytes: usize,
    /// S3 settings (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`); what is not set here comes from the
    /// environment as the AWS SDKs read it (session tokens, instance credentials).
    pub s3: S3Settings,
}

/// S3 settings Iris reads itself (the rest: the AWS environment).
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Plain HTTP to the endpoint (a local S3 server).
    pub allow_http: bool,
}

/// The document store: sniffs, limits, addresses by content, and keeps bytes in its backend.
#[derive(Clone)]
pub struct DocumentStore {
    backend: Arc<dyn ObjectStore>,
    max_bytes: usize,
    description: String,
}

fn unavailable(what: &str, error: impl fmt::Display) -> AppError {
    AppError::Unavailable(format!("document storage {what}: {error}"))
}

impl DocumentStore {
    /// Opens the configured backend (creating the local directory if needed).
    pub fn open(config: &StorageConfig) -> anyhow::Result<DocumentStore> {
        let (backend, description): (Arc<dyn ObjectStore>, String) = match config.url.as_deref() {
            Some(url) if url.starts_with("s3://") => {
                let rest = &url["s3://".len()..];
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    anyhow::bail!("STORAGE_URL: expected s3://bucket/prefix, got `{url}`");
                }
                let mut builder =
                    object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                let settings = &config.s3;
                if let Some(endpoint) = &settings.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(region) = &settings.region {
                    builder = builder.with_region(region);
                }
                if let Some(key) = &settings.access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &settings.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                if settings.allow_http {
                    builder = builder.with_allow_http(true);
                }
                let s3 = builder.build()?;
                let prefix = prefix.trim_matches('/');
                let backend: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
                };
                (backend, format!("s3://{bucket}/{prefix}"))
            }
            other => {
                let dir = match other {
                    Some(url) => PathBuf::from(url.strip_prefix("file://").unwrap_or(url)),
                    None => config.data_dir.join("documents"),
                };
                std::fs::create_dir_all(&dir)
                    .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(&dir)?;
                (Arc::new(local), dir.display().to_string())
            }
        };
        Ok(DocumentStore {
            backend,
            max_bytes: config.max_bytes,
            description,
        })
    }

    /// Where documents go (for the start-up log).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The largest document accepted.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Checks and stores `bytes` (once per content); `field` names the upload in errors.
    pub async fn store(&self, field: &str, bytes: Vec<u8>) -> Result<StoredDocument, AppError> {
        if bytes.len() > self.max_bytes {
            return Err(AppError::validation(
                field,
                Refused::TooLarge {
                    limit: self.max_bytes,
                }
                .to_string(),
            ));
        }
        let kind =
            sniff(&bytes).map_err(|refused| AppError::validation(field, refused.to_string()))?;
        let sha256 = sha256_hex_of(&bytes);
        let key = format!("sha256/{}/{sha256}", &sha256[..2]);
        let path = ObjectPath::from(key.as_str());
        let size = bytes.len();
        match self.backend.head(&path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                self.backend
                    .put(&path, PutPayload::from(bytes))
                    .await
                    .map_err(|e| unavailable("write", e))?;
            }
            Err(e) => return Err(unavailable("read", e)),
        }
        Ok(StoredDocument {
            key,
            sha256,
            size,
            kind,
        })
    }

    /// A stored document's bytes (`None` when it is not there).
    pub async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, AppError> {
        match self.backend.get(&ObjectPath::from(key)).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .map_err(|e| unavailable("read", e))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable("read", e)),
        }
    }

    /// Deletes a document (gone already is fine).
    pub async fn delete(&self, key: &str) -> Result<(), AppError> {
        match self.backend.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable("delete", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Ok(DocumentKind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Ok(DocumentKind::Png));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0"), Ok(DocumentKind::Jpeg));
        assert_eq!(sniff(b"II*\0\x08"), Ok(DocumentKind::Tiff));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?><Invoice/>"),
            Ok(DocumentKind::Xml)
        );
        assert_eq!(
            sniff("artikelnummer;antal;à-pris\nA-1;2;10,50\n".as_bytes()),
            Ok(DocumentKind::Text)
        );
        // Windows-1252 "à" (0xE0) is text too.
        assert_eq!(sniff(b"pris;\xE0-pris\n"), Ok(DocumentKind::Text));
        assert_eq!(
            sniff(b"PK\x03\x04 a zip renamed .pdf"),
            Err(Refused::Unsupported("a ZIP archive"))
        );
        assert_eq!(
            sniff(b"\x00\x01\x02"),
            Err(Refused::Unsupported("binary data"))
        );
        assert_eq!(sniff(b""), Err(Refused::Empty));
    }
}
