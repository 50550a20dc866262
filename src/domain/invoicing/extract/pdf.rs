//! The text layer of a PDF, line by line (lopdf). A PDF without one (a scan) has no text here:
//! OCR reads it instead.

use super::Unreadable;

/// Pages read at most.
const MAX_PAGES: usize = 50;
/// Decompressed content one page may have (a small stream cannot inflate without bound).
const MAX_PAGE_CONTENT: usize = 16 * 1024 * 1024;

/// The text of the first pages, one text line per line.
pub fn text(bytes: &[u8]) -> Result<String, Unreadable> {
    let document = lopdf::Document::load_mem(bytes)
        .map_err(|e| Unreadable(format!("the PDF could not be read: {e}")))?;
    if document.is_encrypted() {
        return Err(Unreadable(
            "the PDF is encrypted: upload it without a password".into(),
        ));
    }
    let pages: Vec<u32> = document
        .get_pages()
        .keys()
        .copied()
        .take(MAX_PAGES)
        .collect();
    if pages.is_empty() {
        return Err(Unreadable("the PDF has no pages".into()));
    }
    let mut text = String::new();
    for chunk in document.extract_text_chunks_with_limit(&pages, MAX_PAGE_CONTENT) {
        match chunk {
            Ok(chunk) => text.push_str(&chunk),
            // A font without a usable encoding: its text is skipped, the rest is read.
            Err(lopdf::Error::Decompress(e)) => {
                return Err(Unreadable(format!("the PDF could not be read: {e}")));
            }
            Err(_) => {}
        }
    }
    Ok(text)
}

/// Whether `text` is a text layer worth reading (a scan has none, or a few stray characters).
pub fn has_text(text: &str) -> bool {
    text.chars().filter(|c| c.is_alphanumeric()).count() >= 20
}
