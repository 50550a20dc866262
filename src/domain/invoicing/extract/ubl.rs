//! Peppol BIS Billing 3.0 / UBL 2.1 invoices (what Swedish suppliers send through Peppol).
//!
//! Exact: each field is read from the element the standard defines for it (BT numbers of
//! EN 16931 in the comments), amounts as the decimals written. A required element that is
//! missing or a value that does not parse makes the document [`Unreadable`], naming the
//! element. Documents with a DOCTYPE are refused (no entity expansion, ever); credit notes are
//! not invoices.

use std::collections::BTreeMap;

use quick_xml::{
    Reader,
    events::{BytesStart, Event},
};
use rust_decimal::Decimal;

use super::{Extracted, ExtractedLine, FieldSource, StatedTotals, Unreadable, parse_date};
use crate::domain::{invoicing::Source, kernel::money::parse_decimal};

/// Deepest nesting read (UBL needs about 6).
const MAX_DEPTH: usize = 32;
/// Most elements read (a 10,000-line invoice has about 200,000).
const MAX_ELEMENTS: usize = 1_000_000;

/// An element: its local name (namespace prefix dropped), attributes and text.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at `path` (`/`-separated local names).
    fn at(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |e, name| e.child(name))
    }

    /// The trimmed text at `path`, if present and not blank.
    fn text_at(&self, path: &str) -> Option<String> {
        self.at(path)
            .map(|e| e.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local_name(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    raw.rsplit(':').next().unwrap_or_default().to_owned()
}

fn element_of(start: &BytesStart<'_>) -> Result<Element, Unreadable> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| Unreadable(format!("the XML is malformed: {e}")))?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| Unreadable(format!("the XML is malformed: {e}")))?;
        attributes.push((local_name(attribute.key.as_ref()), value.into_owned()));
    }
    Ok(Element {
        name: local_name(start.name().as_ref()),
        attributes,
        ..Element::default()
    })
}

/// Parses the XML into a tree of local names.
fn parse_tree(bytes: &[u8]) -> Result<Element, Unreadable> {
    let malformed = |e: &dyn std::fmt::Display| Unreadable(format!("the XML is malformed: {e}"));
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut count = 0usize;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(&e))?;
        match event {
            Event::DocType(_) => {
                return Err(Unreadable(
                    "XML with a DOCTYPE is refused (an e-invoice has none)".into(),
                ));
            }
            Event::Start(start) => {
                count += 1;
                if stack.len() > MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(Unreadable(
                        "the XML is nested too deeply or too large".into(),
                    ));
                }
                stack.push(element_of(&start)?);
            }
            Event::Empty(start) => {
                count += 1;
                let element = element_of(&start)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(element);
                }
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| malformed(&"unbalanced end tag"))?;
                let Some(parent) = stack.last_mut() else {
                    return Err(malformed(&"unbalanced end tag"));
                };
                parent.children.push(element);
            }
            Event::Text(text) => {
                let decoded = text.decode().map_err(|e| malformed(&e))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&decoded);
                }
            }
            Event::CData(data) => {
                let decoded = data.decode().map_err(|e| malformed(&e))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = reference.decode().map_err(|e| malformed(&e))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| malformed(&format!("unknown entity &{name};")))?
                            .to_owned()
                    }
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err(malformed(&"the document ends inside an element"));
    }
    stack
        .pop()
        .and_then(|document| document.children.into_iter().next())
        .ok_or_else(|| malformed(&"no root element"))
}

/// Reads what the fields of one document need, naming UBL paths in errors.
struct Fields {
    fields: BTreeMap<&'static str, FieldSource>,
}

/// A UBL path with its namespace prefixes: aggregates `cac:`, the leaf `cbc:`.
fn prefixed(local: &str) -> String {
    let parts: Vec<&str> = local.split('/').collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let prefix = if i + 1 == parts.len() { "cbc" } else { "cac" };
            format!("{prefix}:{part}")
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Fields {
    /// Records that `field` was read at `local` (a path of local names under `Invoice`).
    fn note(&mut self, field: &'static str, local: &str) {
        self.fields.insert(
            field,
            FieldSource {
                from: format!("Invoice/{}", prefixed(local)),
                confidence: 1000,
            },
        );
    }

    fn text(&mut self, root: &Element, field: &'static str, path: &str) -> Option<String> {
        let value = root.text_at(path);
        if value.is_some() {
            self.note(field, path);
        }
        value
    }
}

fn decimal_at(element: &Element, path: &str, whole: &str) -> Result<Option<Decimal>, Unreadable> {
    element
        .text_at(path)
        .map(|raw| {
            parse_decimal(&raw)
                .map_err(|_| Unreadable(format!("{whole}/{path}: `{raw}` is not a decimal number")))
        })
        .transpose()
}

fn required_decimal(element: &Element, path: &str, whole: &str) -> Result<Decimal, Unreadable> {
    decimal_at(element, path, whole)?
        .ok_or_else(|| Unreadable(format!("{whole}/{path} is missing")))
}

/// Reads a UBL 2.1 invoice.
pub fn read(bytes: &[u8]) -> Result<Extracted, Unreadable> {
    let root = parse_tree(bytes)?;
    match root.name.as_str() {
        "Invoice" => {}
        "CreditNote" => {
            return Err(Unreadable(
                "this is a credit note, not an invoice: credit notes are not reconciled yet".into(),
            ));
        }
        other => {
            return Err(Unreadable(format!(
                "the XML's root is <{other}>, not a UBL <Invoice>"
            )));
        }
    }
    let mut f = Fields {
        fields: BTreeMap::new(),
    };
    // BT-1, BT-2, BT-9, BT-13, BT-5.
    let invoice_number = f.text(&root, "invoiceNumber", "ID");
    if invoice_number.is_none() {
        return Err(Unreadable(
            "Invoice/cbc:ID (the invoice number) is missing".into(),
        ));
    }
    let issue_date = root
        .text_at("IssueDate")
        .map(|raw| parse_date(&raw).map_err(|e| Unreadable(format!("Invoice/cbc:IssueDate: {e}"))))
        .transpose()?;
    if issue_date.is_some() {
        f.note("issueDate", "IssueDate");
    }
    let due_date = root
        .text_at("DueDate")
        .or_else(|| root.text_at("PaymentMeans/PaymentDueDate"))
        .map(|raw| parse_date(&raw).map_err(|e| Unreadable(format!("Invoice/cbc:DueDate: {e}"))))
        .transpose()?;
    if due_date.is_some() {
        f.note("dueDate", "DueDate");
    }
    let order_reference = f.text(&root, "orderReference", "OrderReference/ID");
    let currency = f.text(&root, "currency", "DocumentCurrencyCode");
    let seller = f
        .text(
            &root,
            "seller",
            "AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
        )
        .or_else(|| {
            f.text(
                &root,
                "seller",
                "AccountingSupplierParty/Party/PartyName/Name",
            )
        });
    let buyer = f
        .text(
            &root,
            "buyer",
            "AccountingCustomerParty/Party/PartyLegalEntity/RegistrationName",
        )
        .or_else(|| {
            f.text(
                &root,
                "buyer",
                "AccountingCustomerParty/Party/PartyName/Name",
            )
        });

    // BG-22: document totals. BT-106 (sum of lines), BT-110 (VAT), BT-112 (with VAT), BT-115
    // (to pay).
    let totals = "Invoice/cac:LegalMonetaryTotal";
    let monetary = root.child("LegalMonetaryTotal");
    let mut stated = StatedTotals::default();
    if let Some(monetary) = monetary {
        stated.subtotal = decimal_at(monetary, "LineExtensionAmount", totals)?;
        if stated.subtotal.is_some() {
            f.note("subtotal", "LegalMonetaryTotal/LineExtensionAmount");
        }
        for element in ["PayableAmount", "TaxInclusiveAmount"] {
            if let Some(total) = decimal_at(monetary, element, totals)? {
                stated.total = Some(total);
                f.note("total", &format!("LegalMonetaryTotal/{element}"));
                break;
            }
        }
    }
    // BG-23: VAT breakdown, from the TaxTotal in the document's currency (the one with
    // subtotals).
    for tax_total in root.children("TaxTotal") {
        let path = "Invoice/cac:TaxTotal";
        let subtotals: Vec<&Element> = tax_total.children("TaxSubtotal").collect();
        if subtotals.is_empty() && stated.tax.is_some() {
            continue;
        }
        stated.tax = decimal_at(tax_total, "TaxAmount", path)?;
        for subtotal in subtotals {
            let path = "Invoice/cac:TaxTotal/cac:TaxSubtotal";
            let base = required_decimal(subtotal, "TaxableAmount", path)?;
            let amount = required_decimal(subtotal, "TaxAmount", path)?;
            let rate = decimal_at(subtotal, "TaxCategory/Percent", path)?.unwrap_or_default();
            stated.taxes.push((rate, base, amount));
        }
        if stated.tax.is_some() {
            f.note("tax", "TaxTotal/TaxAmount");
        }
    }

    // BG-25: lines.
    let mut lines = Vec::new();
    for (index, line) in root.children("InvoiceLine").enumerate() {
        let path = format!("Invoice/cac:InvoiceLine[{}]", index + 1);
        let quantity_element = line
            .child("InvoicedQuantity")
            .ok_or_else(|| Unreadable(format!("{path}/cbc:InvoicedQuantity is missing")))?;
        let quantity = parse_decimal(quantity_element.text.trim()).map_err(|_| {
            Unreadable(format!(
                "{path}/cbc:InvoicedQuantity: `{}` is not a decimal number",
                quantity_element.text.trim()
            ))
        })?;
        let line_total = required_decimal(line, "LineExtensionAmount", &path)?;
        let price = required_decimal(line, "Price/PriceAmount", &path)?;
        // BT-149: the price is per base quantity (1 unless stated).
        let base = decimal_at(line, "Price/BaseQuantity", &path)?.unwrap_or(Decimal::ONE);
        if base <= Decimal::ZERO {
            return Err(Unreadable(format!(
                "{path}/cac:Price/cbc:BaseQuantity must be more than 0"
            )));
        }
        let unit_price = price
            .checked_div(base)
            .ok_or_else(|| {
                Unreadable(format!(
                    "{path}/cac:Price: {price} per {base} is out of range"
                ))
            })?
            .normalize();
        let description = line
            .text_at("Item/Name")
            .or_else(|| line.text_at("Item/Description"))
            .ok_or_else(|| Unreadable(format!("{path}/cac:Item/cbc:Name is missing")))?;
        let gtin = line
            .at("Item/StandardItemIdentification/ID")
            .filter(|id| id.attribute("schemeID").is_none_or(|s| s == "0160"))
            .map(|id| id.text.trim().to_owned())
            .filter(|id| !id.is_empty());
        lines.push(ExtractedLine {
            sku: line.text_at("Item/SellersItemIdentification/ID"),
            gtin,
            description,
            unit: quantity_element.attribute("unitCode").map(str::to_owned),
            quantity,
            unit_price,
            line_total,
            tax_rate: decimal_at(line, "Item/ClassifiedTaxCategory/Percent", &path)?,
            confidence: 1000,
        });
    }
    if lines.is_empty() {
        return Err(Unreadable("the invoice has no cac:InvoiceLine".into()));
    }
    Ok(Extracted {
        source: Source::Ubl,
        invoice_number,
        issue_date,
        due_date,
        order_reference,
        currency,
        seller,
        buyer,
        lines,
        stated,
        fields: f.fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVOICE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ID>F-2026-001</cbc:ID>
  <cbc:IssueDate>2026-12-07</cbc:IssueDate>
  <cbc:DueDate>2027-01-06</cbc:DueDate>
  <cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>ORD-1</cbc:ID></cac:OrderReference>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Grossist &amp; Co</cbc:Name></cac:PartyName></cac:Party></cac:AccountingSupplierParty>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="SEK">14.58</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="SEK">121.50</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="SEK">14.58</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>12</cbc:Percent></cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="SEK">121.50</cbc:LineExtensionAmount>
    <cbc:PayableAmount currencyID="SEK">136.08</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="KGM">12</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="SEK">121.50</cbc:LineExtensionAmount>
    <cac:Item>
      <cbc:Name>Potatis</cbc:Name>
      <cac:SellersItemIdentification><cbc:ID>A-1</cbc:ID></cac:SellersItemIdentification>
      <cac:StandardItemIdentification><cbc:ID schemeID="0160">07310000000011</cbc:ID></cac:StandardItemIdentification>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>12</cbc:Percent></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">101.25</cbc:PriceAmount><cbc:BaseQuantity>10</cbc:BaseQuantity></cac:Price>
  </cac:InvoiceLine>
</Invoice>"#;

    #[test]
    fn a_peppol_invoice_is_read_exactly() {
        let read = read(INVOICE.as_bytes()).unwrap();
        assert_eq!(read.invoice_number.as_deref(), Some("F-2026-001"));
        assert_eq!(read.order_reference.as_deref(), Some("ORD-1"));
        assert_eq!(read.seller.as_deref(), Some("Grossist & Co"));
        assert_eq!(read.currency.as_deref(), Some("SEK"));
        assert_eq!(read.issue_date.unwrap().to_string(), "2026-12-07");
        assert_eq!(read.stated.total, Some("136.08".parse().unwrap()));
        assert_eq!(read.stated.taxes.len(), 1);
        let line = &read.lines[0];
        assert_eq!(line.sku.as_deref(), Some("A-1"));
        assert_eq!(line.gtin.as_deref(), Some("07310000000011"));
        assert_eq!(line.unit.as_deref(), Some("KGM"));
        assert_eq!(line.quantity, Decimal::from(12));
        // 101.25 per 10: 10.125 each, exactly.
        assert_eq!(line.unit_price, "10.125".parse::<Decimal>().unwrap());
        assert_eq!(read.confidence(), 1000);
        assert_eq!(
            read.fields["total"].from,
            "Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"
        );
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let no_price = INVOICE.replace(
            "<cbc:PriceAmount currencyID=\"SEK\">101.25</cbc:PriceAmount>",
            "",
        );
        assert_eq!(
            read(no_price.as_bytes()).unwrap_err().0,
            "Invoice/cac:InvoiceLine[1]/Price/PriceAmount is missing"
        );
        let bad_quantity = INVOICE.replace(
            ">12</cbc:InvoicedQuantity>",
            ">twelve</cbc:InvoicedQuantity>",
        );
        assert!(
            read(bad_quantity.as_bytes())
                .unwrap_err()
                .0
                .contains("`twelve` is not a decimal")
        );
        let doctype = format!("<!DOCTYPE lolz [<!ENTITY lol \"lol\">]>{}", &INVOICE[39..]);
        assert!(read(doctype.as_bytes()).unwrap_err().0.contains("DOCTYPE"));
        assert!(
            read(b"<CreditNote/>")
                .unwrap_err()
                .0
                .contains("credit note")
        );
        assert!(
            read(b"<Invoice><cbc:ID>1</cbc:ID>")
                .unwrap_err()
                .0
                .contains("malformed")
        );
    }
}
