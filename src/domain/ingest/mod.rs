//! Catalog ingest (in progress): suppliers' catalogs arrive as spreadsheets, in Swedish or
//! English, comma- or semicolon-separated, UTF-8 or Windows-1252, with decimal commas. This
//! context reads them into `upsertProducts`' inputs.
//!
//! Built so far — the pure reading kernel, which the upload, the ingestion job and its
//! adapters will stand on:
//! - [`read`]: the file's dialect (encoding, delimiter) from its first bytes, and its records
//!   streamed as UTF-8 (a 2 GB file is never held whole);
//! - [`mapping`]: header synonyms with a confidence per column (the suggested mapping a
//!   supplier previews and corrects), value synonyms (units, the 14 allergens, dietary tags,
//!   yes/no, decimal commas), and one row read into a `ProductInput` or into errors naming its
//!   row, column, rule and raw value.

pub mod mapping;
pub mod read;
