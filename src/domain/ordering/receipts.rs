//! Receipts: the document Iris issues for an order — derived from the order's snapshot (its
//! lines, taxes and totals as placed) and its parties on request, never stored (a change of
//! a supplier's name later shows on a receipt asked for later; the amounts never change).
//! As JSON (the adapters' shapes) and as a printable PDF (A4, Helvetica, one line per order
//! line, as many pages as it takes).

use chrono::{DateTime, Utc};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use uuid::Uuid;

use super::{Order, OrderLine, OrderService, OrderStatus, repository};
use crate::{
    auth::Caller,
    domain::{restaurants, suppliers},
    error::AppError,
};

/// A party as the receipt names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptParty {
    pub id: Uuid,
    pub name: String,
    /// Suppliers only.
    pub organisation_number: Option<String>,
    pub city: String,
    pub contact_email: String,
}

/// An order's receipt.
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    /// `R-` and the order id's first 8 hex digits, upper-case.
    pub number: String,
    pub order: Order,
    pub lines: Vec<OrderLine>,
    pub supplier: ReceiptParty,
    pub restaurant: ReceiptParty,
    pub placed_at: DateTime<Utc>,
    /// When it was marked delivered, if it was.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl OrderService {
    /// The receipt of an order the caller may see (NOT_FOUND otherwise).
    pub async fn receipt(&self, caller: &Caller, id: Uuid) -> Result<Receipt, AppError> {
        let order = self.get(caller, id).await?;
        let db = self.db();
        let lines = repository::lines_of(db, &[id])
            .await?
            .into_iter()
            .map(repository::line_to_domain)
            .collect();
        let delivered_at = repository::events_of(db, &[id])
            .await?
            .into_iter()
            .map(repository::event_to_domain)
            .filter(|e| e.to == OrderStatus::Delivered)
            .map(|e| e.at)
            .next();
        let supplier = suppliers::find_many_including_deleted(db, &[order.supplier_id])
            .await?
            .into_iter()
            .next()
            .map(|s| ReceiptParty {
                id: s.id,
                name: s.name,
                organisation_number: Some(s.organisation_number),
                city: s.city,
                contact_email: s.contact_email,
            })
            .ok_or_else(|| AppError::not_found("Supplier", order.supplier_id))?;
        let restaurant = restaurants::find_including_deleted(db, order.restaurant_id)
            .await?
            .map(|r| ReceiptParty {
                id: r.id,
                name: r.name,
                organisation_number: None,
                city: r.city,
                contact_email: r.contact_email,
            })
            .ok_or_else(|| AppError::not_found("Restaurant", order.restaurant_id))?;
        let number = format!(
            "R-{}",
            &order.id.simple().to_string()[..8].to_ascii_uppercase()
        );
        Ok(Receipt {
            number,
            placed_at: order.created_at,
            order,
            lines,
            supplier,
            restaurant,
            delivered_at,
        })
    }
}

/// Text in the PDF's WinAnsi encoding (Latin-1 for Swedish letters; `?` for the rest).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '–' => 0x96,
            '—' => 0x97,
            c if (c as u32) < 0x80 && !c.is_control() => c as u8,
            c if (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Lines per page of the line table.
const LINES_PER_PAGE: usize = 38;

/// The receipt as a printable PDF.
pub fn receipt_pdf(receipt: &Receipt) -> Vec<u8> {
    let order = &receipt.order;
    let currency = order.currency.as_str();
    let mut header = vec![
        (16.0, format!("Kvitto / Receipt {}", receipt.number)),
        (10.0, format!("Order {}", order.id)),
        (
            10.0,
            format!("Placed {}", receipt.placed_at.format("%Y-%m-%d %H:%M UTC")),
        ),
    ];
    if let Some(at) = receipt.delivered_at {
        header.push((
            10.0,
            format!("Delivered {}", at.format("%Y-%m-%d %H:%M UTC")),
        ));
    }
    header.push((10.0, String::new()));
    header.push((
        11.0,
        format!(
            "Supplier: {} ({}), {}, {}",
            receipt.supplier.name,
            receipt
                .supplier
                .organisation_number
                .as_deref()
                .unwrap_or("-"),
            receipt.supplier.city,
            receipt.supplier.contact_email
        ),
    ));
    header.push((
        11.0,
        format!(
            "Buyer: {}, {}, {}",
            receipt.restaurant.name, receipt.restaurant.city, receipt.restaurant.contact_email
        ),
    ));
    header.push((10.0, String::new()));
    let rows: Vec<String> = receipt
        .lines
        .iter()
        .map(|l| {
            format!(
                "{:>3}  {:<14} {:<34} {:>6} {:<5} {:>11} {:>12} {:>5}%",
                l.line_number,
                l.sku,
                l.name.chars().take(34).collect::<String>(),
                l.quantity,
                l.unit.as_str(),
                l.unit_price.to_string(),
                l.line_total.to_string(),
                l.tax_rate.to_string()
            )
        })
        .collect();
    let mut totals = vec![String::new()];
    totals.push(format!(
        "Subtotal (excl. VAT)  {} {currency}",
        order.subtotal
    ));
    for tax in &order.taxes {
        totals.push(format!("VAT {} %  {} {currency}", tax.rate, tax.amount));
    }
    totals.push(format!("VAT  {} {currency}", order.tax));
    totals.push(format!("Total  {} {currency}", order.total));

    let pages: Vec<&[String]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(LINES_PER_PAGE).collect()
    };
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let mono = Ref::new(4);
    let page_ids: Vec<(Ref, Ref)> = (0..pages.len())
        .map(|i| (Ref::new(10 + 2 * i as i32), Ref::new(11 + 2 * i as i32)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(page_ids.len() as i32);
    for name in [(font, "Helvetica"), (mono, "Courier")] {
        pdf.type1_font(name.0)
            .base_font(Name(name.1.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let count = pages.len();
    for (index, (rows, (page_id, content_id))) in pages.into_iter().zip(&page_ids).enumerate() {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
        page.parent(tree);
        page.contents(*content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), font);
        fonts.pair(Name(b"F2"), mono);
        fonts.finish();
        resources.finish();
        page.finish();

        let mut content = Content::new();
        let mut y = 800.0;
        let line = |content: &mut Content, font: &[u8], size: f32, text: &str, y: &mut f32| {
            content.begin_text();
            content.set_font(Name(font), size);
            content.next_line(40.0, *y);
            content.show(Str(&win_ansi(text)));
            content.end_text();
            *y -= size + 5.0;
        };
        if index == 0 {
            for (size, text) in &header {
                line(&mut content, b"F1", *size, text, &mut y);
            }
        } else {
            line(
                &mut content,
                b"F1",
                10.0,
                &format!("Receipt {} (continued)", receipt.number),
                &mut y,
            );
        }
        line(
            &mut content,
            b"F2",
            8.0,
            "  #  SKU            Product                            Qty  Unit     Unit price   Line total   VAT",
            &mut y,
        );
        for row in rows {
            line(&mut content, b"F2", 8.0, row, &mut y);
        }
        if index + 1 == count {
            for text in &totals {
                line(&mut content, b"F1", 11.0, text, &mut y);
            }
        }
        line(
            &mut content,
            b"F1",
            8.0,
            &format!("Page {} of {count}", index + 1),
            &mut 30.0,
        );
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}
