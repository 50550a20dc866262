//! Demo invoices: suppliers' invoices for the demo orders, as their billing systems would send
//! them — Peppol UBL, a Swedish CSV export, a printed PDF and a scan — uploaded and read
//! through the invoicing service like real ones, and left in every state (approved, matched,
//! in review, disputed).
//!
//! The documents are written here from the orders' own lines (the writers are public so the
//! tests print invoices the same way); the scan is an image vendored with the binary
//! (`demo-scan.png`, an invoice of Skånegrönt printed as above and rendered at 300 dpi, grey), read by Tesseract where it
//! is installed and sent to review saying what to install where it is not.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use crate::{
    auth::Caller,
    domain::{
        Services,
        invoicing::{NewInvoice, templates::TemplateInput},
        kernel::{
            pagination::{Direction, PageRequest},
            weekday::Weekday,
        },
        ordering::{
            LineInput, Order, OrderFilter, OrderLine, OrderSort, OrderSortField, OrderStatus,
            PlaceOrder,
        },
        suppliers::Supplier,
    },
    error::AppError,
};

/// One invoiced line: SKU, name, quantity, unit price, VAT percent.
pub struct InvoiceRow {
    pub sku: String,
    pub name: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub tax_rate: Decimal,
}

/// What a supplier's billing system prints on an invoice.
pub struct InvoiceDocument {
    pub number: String,
    pub issue_date: NaiveDate,
    /// The order it is for, as the supplier writes it (`R-…`), if it says.
    pub reference: Option<String>,
    pub seller: String,
    pub seller_number: String,
    pub buyer: String,
    pub rows: Vec<InvoiceRow>,
}

fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `1234.5` as Swedish invoices write it: `1 234,50`.
pub fn swedish(amount: Decimal) -> String {
    let text = format!("{:.2}", cents(amount));
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "00"));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{fraction}")
}

impl InvoiceDocument {
    /// Per VAT rate: (rate, taxable amount, VAT), rates ascending.
    pub fn taxes(&self) -> Vec<(Decimal, Decimal, Decimal)> {
        let mut by_rate: std::collections::BTreeMap<Decimal, Decimal> = Default::default();
        for row in &self.rows {
            *by_rate.entry(row.tax_rate.normalize()).or_default() +=
                cents(row.quantity * row.unit_price);
        }
        by_rate
            .into_iter()
            .map(|(rate, base)| (rate, base, cents(base * rate / Decimal::from(100))))
            .collect()
    }

    /// (sum of lines, VAT, to pay).
    pub fn totals(&self) -> (Decimal, Decimal, Decimal) {
        let taxes = self.taxes();
        let base: Decimal = taxes.iter().map(|t| t.1).sum();
        let tax: Decimal = taxes.iter().map(|t| t.2).sum();
        (base, tax, base + tax)
    }

    /// As Peppol BIS Billing 3.0 (UBL 2.1).
    pub fn ubl(&self) -> String {
        let escape = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let (base, tax, total) = self.totals();
        let mut lines = String::new();
        for (i, row) in self.rows.iter().enumerate() {
            lines.push_str(&format!(
                "<cac:InvoiceLine><cbc:ID>{}</cbc:ID><cbc:InvoicedQuantity unitCode=\"EA\">{}</cbc:InvoicedQuantity><cbc:LineExtensionAmount currencyID=\"SEK\">{:.2}</cbc:LineExtensionAmount><cac:Item><cbc:Name>{}</cbc:Name><cac:SellersItemIdentification><cbc:ID>{}</cbc:ID></cac:SellersItemIdentification><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item><cac:Price><cbc:PriceAmount currencyID=\"SEK\">{}</cbc:PriceAmount></cac:Price></cac:InvoiceLine>\n",
                i + 1,
                row.quantity,
                cents(row.quantity * row.unit_price),
                escape(&row.name),
                escape(&row.sku),
                row.tax_rate.normalize(),
                row.unit_price.normalize(),
            ));
        }
        let subtotals: String = self
            .taxes()
            .iter()
            .map(|(rate, base, tax)| {
                format!(
                    "<cac:TaxSubtotal><cbc:TaxableAmount currencyID=\"SEK\">{base:.2}</cbc:TaxableAmount><cbc:TaxAmount currencyID=\"SEK\">{tax:.2}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>",
                    rate.normalize()
                )
            })
            .collect();
        let reference = self
            .reference
            .as_ref()
            .map(|r| {
                format!(
                    "<cac:OrderReference><cbc:ID>{}</cbc:ID></cac:OrderReference>\n",
                    escape(r)
                )
            })
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\" xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">\n\
<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>\n\
<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>\n\
<cbc:ID>{number}</cbc:ID>\n<cbc:IssueDate>{date}</cbc:IssueDate>\n<cbc:DueDate>{due}</cbc:DueDate>\n\
<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>\n<cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>\n\
{reference}\
<cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>{seller}</cbc:RegistrationName><cbc:CompanyID>{seller_number}</cbc:CompanyID></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>\n\
<cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>{buyer}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>\n\
<cac:TaxTotal><cbc:TaxAmount currencyID=\"SEK\">{tax:.2}</cbc:TaxAmount>{subtotals}</cac:TaxTotal>\n\
<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID=\"SEK\">{base:.2}</cbc:LineExtensionAmount><cbc:TaxExclusiveAmount currencyID=\"SEK\">{base:.2}</cbc:TaxExclusiveAmount><cbc:TaxInclusiveAmount currencyID=\"SEK\">{total:.2}</cbc:TaxInclusiveAmount><cbc:PayableAmount currencyID=\"SEK\">{total:.2}</cbc:PayableAmount></cac:LegalMonetaryTotal>\n\
{lines}</Invoice>\n",
            number = escape(&self.number),
            date = self.issue_date,
            due = self.issue_date + chrono::Duration::days(30),
            seller = escape(&self.seller),
            seller_number = escape(&self.seller_number),
            buyer = escape(&self.buyer),
        )
    }

    /// As a Swedish spreadsheet exports it: semicolons, decimal commas, Windows-1252.
    pub fn csv(&self) -> Vec<u8> {
        let (_, _, total) = self.totals();
        let mut text = format!(
            "Fakturanummer;{}\r\nFakturadatum;{}\r\n",
            self.number, self.issue_date
        );
        if let Some(reference) = &self.reference {
            text.push_str(&format!("Ordernummer;{reference}\r\n"));
        }
        text.push_str("\r\nArtikelnummer;Benämning;Antal;À-pris;Belopp;Moms %\r\n");
        for row in &self.rows {
            text.push_str(&format!(
                "{};\"{}\";{};{};{};{}\r\n",
                row.sku,
                row.name,
                row.quantity,
                swedish(row.unit_price),
                swedish(row.quantity * row.unit_price),
                row.tax_rate.normalize()
            ));
        }
        text.push_str(&format!(";;;;Att betala;{}\r\n", swedish(total)));
        encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
    }

    /// The text lines of the printed invoice.
    pub fn printed_lines(&self) -> Vec<String> {
        let (base, tax, total) = self.totals();
        let mut lines = vec![
            self.seller.clone(),
            format!("Org.nr {}", self.seller_number),
            format!("Faktura till {}", self.buyer),
            format!("Fakturanr: {}", self.number),
            format!("Fakturadatum: {}", self.issue_date),
        ];
        if let Some(reference) = &self.reference {
            lines.push(format!("Er order: {reference}"));
        }
        lines.push("Artikel Benämning Antal À-pris Belopp".into());
        for row in &self.rows {
            lines.push(format!(
                "{} {} {} {} {}",
                row.sku,
                row.name,
                row.quantity,
                swedish(row.unit_price),
                swedish(row.quantity * row.unit_price)
            ));
        }
        lines.push(format!("Summa exkl. moms {}", swedish(base)));
        lines.push(format!("Moms {}", swedish(tax)));
        lines.push(format!("Att betala: {}", swedish(total)));
        lines
    }

    /// As a printed PDF with a text layer (A4, Helvetica).
    pub fn pdf(&self) -> Vec<u8> {
        printed_pdf(&self.printed_lines())
    }
}

/// One A4 page with `lines` in 12 pt Helvetica (WinAnsi), one text object per line, as billing
/// systems print.
pub fn printed_pdf(lines: &[String]) -> Vec<u8> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
    let win_ansi = |text: &str| -> Vec<u8> {
        text.chars()
            .map(|c| match c {
                c if (c as u32) < 0x80 => c as u8,
                c if (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
                _ => b'?',
            })
            .collect()
    };
    let mut pdf = Pdf::new();
    let (catalog, tree, page, font, contents) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    p.parent(tree);
    p.contents(contents);
    p.resources().fonts().pair(Name(b"F1"), font);
    p.finish();
    let mut content = Content::new();
    let mut y = 790.0;
    for line in lines {
        content.begin_text();
        content.set_font(Name(b"F1"), 12.0);
        content.next_line(50.0, y);
        content.show(Str(&win_ansi(line)));
        content.end_text();
        y -= 22.0;
    }
    pdf.stream(contents, &content.finish());
    pdf.finish()
}

/// A template reading the printed invoices above, for a supplier named `seller`.
pub fn printed_template(seller: &str, seller_number: &str) -> TemplateInput {
    TemplateInput {
        name: format!("{seller} (tryckt faktura)"),
        keywords: vec![seller_number.to_owned()],
        fields: [
            ("invoiceNumber", r"Fakturanr:?\s*(\S+)"),
            ("issueDate", r"Fakturadatum:?\s*(\d{4}-\d{2}-\d{2})"),
            ("orderReference", r"Er order:?\s*(\S+)"),
            ("total", r"Att betala:?\s*(-?[\d ]+,\d{2})"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        line_pattern: r"^(?P<sku>[A-Z]{3}-\d{3}-\d)\s+(?P<description>.+?)\s+(?P<quantity>\d+(?:,\d+)?)\s+(?P<unit_price>[\d ]+,\d{2})\s+(?P<line_total>[\d ]+,\d{2})$".into(),
        lines_start: Some("Artikel".into()),
        lines_end: Some("Summa exkl".into()),
    }
}

/// The vendored scan: Skånegrönt's invoice `SG-88412` of 2026-12-07 to Bistro Järntorget for
/// these rows (SKU, quantity), at the demo catalog's prices.
pub const SCAN: &[u8] = include_bytes!("demo-scan.png");
pub const SCAN_ROWS: [(&str, i64); 3] = [("SGP-002-1", 6), ("SGP-003-1", 10), ("SGP-007-1", 50)];

fn rows_of(lines: &[OrderLine]) -> Vec<InvoiceRow> {
    lines
        .iter()
        .map(|l| InvoiceRow {
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: Decimal::from(l.quantity),
            unit_price: l.unit_price,
            tax_rate: l.tax_rate,
        })
        .collect()
}

fn order_number(order: &Order) -> String {
    format!(
        "R-{}",
        &order.id.simple().to_string()[..8].to_ascii_uppercase()
    )
}

/// Uploads a document; returns its invoice (being read).
async fn upload_only(
    services: &Services,
    caller: &Caller,
    order: (Uuid, Uuid),
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<Uuid, AppError> {
    let (supplier_id, restaurant_id) = order;
    let uploaded = services
        .invoices
        .upload(
            caller,
            NewInvoice {
                supplier_id,
                restaurant_id,
                file_name: Some(file_name.to_owned()),
            },
            bytes,
        )
        .await?;
    Ok(uploaded.invoice.id)
}

/// Uploads a document and waits until it is read (what follows acts on the outcome).
async fn upload(
    services: &Services,
    caller: &Caller,
    order: (Uuid, Uuid),
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<Uuid, AppError> {
    let id = upload_only(services, caller, order, file_name, bytes).await?;
    services
        .invoices
        .wait_until_read(id, std::time::Duration::from_secs(60))
        .await?;
    Ok(id)
}

/// Invoices for the demo orders that were confirmed, shipped or delivered: approved, matched,
/// in review, disputed; the printed and scanned ones read through the suppliers' templates.
/// Returns how many, and the scan still being read.
pub async fn demo_invoices(
    services: &Services,
    suppliers: &[Supplier],
    restaurants: &[Uuid],
) -> anyhow::Result<(usize, Option<Uuid>)> {
    let system = Caller::system();
    let orders = services
        .orders
        .list(
            &system,
            &OrderFilter {
                statuses: vec![
                    OrderStatus::Delivered,
                    OrderStatus::Shipped,
                    OrderStatus::Confirmed,
                ],
                ..OrderFilter::default()
            },
            OrderSort {
                field: OrderSortField::CreatedAt,
                direction: Direction::Asc,
            },
            PageRequest::offset(Some(0), Some(100)).map_err(AppError::into_anyhow)?,
        )
        .await
        .map_err(AppError::into_anyhow)?
        .items;
    let mut lines = services
        .orders
        .lines_by_order(&orders.iter().map(|o| o.id).collect::<Vec<_>>())
        .await
        .map_err(AppError::into_anyhow)?;
    let names: std::collections::HashMap<Uuid, String> = services
        .restaurants
        .by_ids(restaurants)
        .await
        .map_err(AppError::into_anyhow)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let today = chrono::Utc::now().date_naive();
    for supplier in suppliers {
        services
            .invoices
            .save_template(
                &system,
                supplier.id,
                None,
                printed_template(&supplier.name, &supplier.organisation_number),
            )
            .await
            .map_err(AppError::into_anyhow)?;
    }
    let mut made = 0;
    for (n, order) in orders.iter().enumerate().take(5) {
        let Some(supplier) = suppliers.iter().find(|s| s.id == order.supplier_id) else {
            continue;
        };
        let mut document = InvoiceDocument {
            number: format!(
                "{}-{}",
                supplier
                    .name
                    .chars()
                    .take(2)
                    .collect::<String>()
                    .to_uppercase(),
                41_000 + n
            ),
            issue_date: today,
            reference: Some(order_number(order)),
            seller: supplier.name.clone(),
            seller_number: supplier.organisation_number.clone(),
            buyer: names.get(&order.restaurant_id).cloned().unwrap_or_default(),
            rows: rows_of(&lines.remove(&order.id).unwrap_or_default()),
        };
        let parties = (order.supplier_id, order.restaurant_id);
        match n {
            // Peppol, exact: matched, then approved by the restaurant.
            0 => {
                let id = upload(
                    services,
                    &system,
                    parties,
                    "faktura.xml",
                    document.ubl().into_bytes(),
                )
                .await;
                let id = id.map_err(AppError::into_anyhow)?;
                services
                    .invoices
                    .approve(&system, id, None)
                    .await
                    .map_err(AppError::into_anyhow)?;
            }
            // Peppol, exact: matched, waiting for approval.
            1 => {
                upload(
                    services,
                    &system,
                    parties,
                    "faktura.xml",
                    document.ubl().into_bytes(),
                )
                .await
                .map_err(AppError::into_anyhow)?;
            }
            // A CSV export charging 2 % over the ordered price: in review, then disputed.
            2 => {
                if let Some(row) = document.rows.first_mut() {
                    row.unit_price = (row.unit_price * Decimal::new(102, 2)).round_dp(2);
                }
                let id = upload(services, &system, parties, "faktura.csv", document.csv())
                    .await
                    .map_err(AppError::into_anyhow)?;
                services
                    .invoices
                    .dispute(
                        &system,
                        id,
                        "Priset på första raden är högre än i vår order.",
                    )
                    .await
                    .map_err(AppError::into_anyhow)?;
            }
            // A printed PDF with one row short: in review (QUANTITY_MISMATCH).
            3 => {
                if let Some(row) = document.rows.last_mut()
                    && row.quantity > Decimal::ONE
                {
                    row.quantity -= Decimal::ONE;
                }
                upload(services, &system, parties, "faktura.pdf", document.pdf())
                    .await
                    .map_err(AppError::into_anyhow)?;
            }
            // A printed PDF as ordered: matched through the supplier's template.
            _ => {
                upload(services, &system, parties, "faktura.pdf", document.pdf())
                    .await
                    .map_err(AppError::into_anyhow)?;
            }
        }
        made += 1;
    }
    let reading = demo_scan(services, suppliers, restaurants).await?;
    Ok((made + usize::from(reading.is_some()), reading))
}

/// The scanned invoice: its order is placed first (Skånegrönt to the first restaurant), then
/// the scan is uploaded (and read in the background; Tesseract reads it where it is
/// installed). Returns the invoice being read.
async fn demo_scan(
    services: &Services,
    suppliers: &[Supplier],
    restaurants: &[Uuid],
) -> anyhow::Result<Option<Uuid>> {
    let system = Caller::system();
    let (Some(supplier), Some(restaurant)) = (
        suppliers.iter().find(|s| s.name.starts_with("Skånegrönt")),
        restaurants.first(),
    ) else {
        return Ok(None);
    };
    let products = services
        .products
        .catalogs(&[supplier.id], 1000)
        .await
        .map_err(AppError::into_anyhow)?
        .remove(&supplier.id)
        .unwrap_or_default();
    let mut lines = Vec::new();
    for (sku, quantity) in SCAN_ROWS {
        let Some(product) = products.iter().find(|p| p.sku == sku) else {
            return Ok(None);
        };
        lines.push(LineInput {
            product_id: product.id,
            quantity,
        });
    }
    let mut date = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    while !supplier
        .delivery_days
        .contains(Weekday::from(chrono::Datelike::weekday(&date)))
    {
        date += chrono::Duration::days(1);
    }
    let placed = services
        .orders
        .place(
            &system,
            PlaceOrder {
                restaurant_id: *restaurant,
                supplier_id: supplier.id,
                lines,
                requested_delivery_date: date,
                note: None,
                idempotency_key: None,
            },
        )
        .await;
    // Stock taken by the other demo orders: no scan then.
    if placed.is_err() {
        return Ok(None);
    }
    // Not waited for: Tesseract takes seconds, and start-up does not wait for it.
    let id = upload_only(
        services,
        &system,
        (supplier.id, *restaurant),
        "skannad-faktura.png",
        SCAN.to_vec(),
    )
    .await
    .map_err(AppError::into_anyhow)?;
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_the_swedish_way() {
        assert_eq!(swedish(Decimal::new(123450, 2)), "1 234,50");
        assert_eq!(swedish(Decimal::new(995, 1)), "99,50");
        assert_eq!(swedish(Decimal::new(1_000_000, 0)), "1 000 000,00");
    }
}
