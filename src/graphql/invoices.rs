//! Invoices over GraphQL: `invoices`, `invoice`, `invoiceTolerance`; `uploadInvoice` (a
//! GraphQL multipart request, as Apollo's upload link sends it), `correctInvoiceLine`,
//! `approveInvoice`, `disputeInvoice`, `answerInvoiceDispute`, `setInvoiceTolerance`,
//! `invoiceTemplates`, `saveInvoiceTemplate`, `deleteInvoiceTemplate`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use std::io::Read as _;

use super::{
    caller,
    common::{Date, ExactDecimal, MoneyObject, parse_id},
    connection::{self, RelayConnection},
    loaders::loaders,
    restaurants::RestaurantObject,
    services,
    suppliers::SupplierObject,
};
use crate::{
    domain::invoicing::{
        self as domain, Dispute, DisputeItem, Invoice, InvoiceLine, LineCorrection, NewInvoice,
        reconcile,
        templates::{Template, TemplateInput},
    },
    error::AppError,
};

/// Invoices one page holds at most.
pub const MAX_INVOICES_PAGE: u64 = 100;

/// Where an invoice stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::InvoiceStatus")]
pub enum InvoiceStatus {
    /// Stored; being read.
    Uploaded,
    /// Read; being reconciled.
    Extracted,
    /// Every line and total agrees with the order within the tolerance.
    Matched,
    /// A person must look (`reviewReason` says why).
    NeedsReview,
    /// The restaurant asked the supplier for a credit.
    Disputed,
    /// Accepted for payment.
    Approved,
}

/// How an invoice's lines were read.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::Source")]
pub enum InvoiceSource {
    /// Peppol BIS Billing 3.0 / UBL 2.1 XML.
    Ubl,
    /// CSV with recognised headers.
    Csv,
    /// A PDF's text layer.
    Pdf,
    /// Text recognised in an image.
    Ocr,
    /// Corrected by a member.
    Manual,
}

/// How an invoice line compared with the order.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "reconcile::LineOutcome")]
pub enum InvoiceLineOutcome {
    /// Price and quantity within the tolerance.
    Matched,
    /// The price is off by more than the tolerance.
    PriceMismatch,
    /// The quantity is off by more than the tolerance.
    QuantityMismatch,
    /// No order line is this product.
    NotOrdered,
    /// Ordered, not invoiced (only in `reconciliation.missingLines`).
    MissingFromInvoice,
}

/// How an invoice line found its order line.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "reconcile::MatchedBy")]
pub enum InvoiceLineMatchedBy {
    /// The same article number.
    Sku,
    /// The invoice's GTIN is the order line's article number.
    Gtin,
    /// Similar names (trigram similarity ≥ 0.5).
    Name,
}

/// Where a dispute stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::DisputeStatus")]
pub enum InvoiceDisputeStatus {
    /// Waiting for the supplier.
    Open,
    /// The supplier accepts: a credit note is expected.
    Accepted,
    /// The supplier rejects (with a reason).
    Rejected,
}

fn money(amount: Option<rust_decimal::Decimal>, currency: &Option<String>) -> Option<MoneyObject> {
    amount.map(|a| MoneyObject {
        amount: ExactDecimal(a),
        currency: currency.clone().unwrap_or_else(|| "SEK".into()),
    })
}

/// A supplier's invoice to a restaurant.
pub struct InvoiceObject(pub Invoice);

/// The document an invoice was read from.
#[derive(SimpleObject)]
#[graphql(name = "InvoiceDocument")]
pub struct DocumentObject {
    /// PDF, PNG, JPEG, TIFF, XML or TEXT, read from its bytes.
    kind: String,
    /// SHA-256 of its bytes (hex): the same bytes are one document.
    sha256: String,
    /// Bytes.
    size: i64,
    /// The name it was uploaded with (shown only; never trusted).
    file_name: Option<String>,
}

/// Where one header field was read and how sure the reading is.
#[derive(SimpleObject)]
pub struct ExtractedField {
    /// invoiceNumber, issueDate, dueDate, orderReference, currency, seller, buyer, subtotal,
    /// tax or total.
    field: String,
    /// An XML path or a CSV row or column.
    from: String,
    /// 0–1.
    confidence: ExactDecimal,
}

/// How far reading an invoice has come.
#[derive(SimpleObject)]
pub struct InvoiceExtraction {
    /// READING, EXTRACTING, RECONCILING, DONE or FAILED.
    stage: String,
    /// Steps done, of `of`.
    step: i32,
    of: i32,
    /// Why reading failed, if it did.
    error: Option<String>,
    /// Each header field's source and confidence.
    fields: Vec<ExtractedField>,
    /// The text read from a PDF or a scan (its first 20,000 characters): what a template's
    /// patterns are written against.
    text: Option<String>,
}

/// An order line the invoice does not charge.
#[derive(SimpleObject)]
pub struct MissingInvoiceLine {
    order_line_id: ID,
    product_id: ID,
    sku: String,
    name: String,
    quantity: ExactDecimal,
    unit_price: ExactDecimal,
}

/// How an invoice compared with its order.
#[derive(SimpleObject)]
pub struct InvoiceReconciliation {
    /// The order it was compared with, if one was found.
    order_id: Option<ID>,
    /// REFERENCE (the invoice names it) or AMOUNT (the parties' order closest in amount).
    order_found_by: Option<String>,
    /// The tolerance applied, in percent (±).
    tolerance_percent: ExactDecimal,
    /// The lines' sum before VAT, their VAT and total, as computed from the lines.
    subtotal: ExactDecimal,
    tax: ExactDecimal,
    total: ExactDecimal,
    /// The order's total.
    order_total: Option<ExactDecimal>,
    /// Ordered lines the invoice does not charge.
    missing_lines: Vec<MissingInvoiceLine>,
    /// Every disagreement, in words (empty when it matched).
    problems: Vec<String>,
}

fn decimal_of(value: &serde_json::Value) -> Option<ExactDecimal> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_i64().map(rust_decimal::Decimal::from))
        .map(ExactDecimal)
}

fn reconciliation_of(value: &serde_json::Value) -> InvoiceReconciliation {
    let zero = ExactDecimal(rust_decimal::Decimal::ZERO);
    let id = |v: &serde_json::Value| v.as_str().map(|s| ID(s.to_owned()));
    InvoiceReconciliation {
        order_id: id(&value["orderId"]),
        order_found_by: value["orderFoundBy"].as_str().map(str::to_owned),
        tolerance_percent: decimal_of(&value["tolerancePercent"]).unwrap_or(zero),
        subtotal: decimal_of(&value["subtotal"]).unwrap_or(zero),
        tax: decimal_of(&value["tax"]).unwrap_or(zero),
        total: decimal_of(&value["total"]).unwrap_or(zero),
        order_total: decimal_of(&value["orderTotal"]),
        missing_lines: value["missingLines"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .map(|l| MissingInvoiceLine {
                        order_line_id: id(&l["orderLineId"]).unwrap_or_default(),
                        product_id: id(&l["productId"]).unwrap_or_default(),
                        sku: l["sku"].as_str().unwrap_or_default().to_owned(),
                        name: l["name"].as_str().unwrap_or_default().to_owned(),
                        quantity: decimal_of(&l["quantity"]).unwrap_or(zero),
                        unit_price: decimal_of(&l["unitPrice"]).unwrap_or(zero),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        problems: value["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A supplier's invoice to a restaurant: the document, what was read from it, and how it
/// compared with the order.
#[Object(name = "Invoice")]
impl InvoiceObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The supplier that issued it.
    async fn supplier_id(&self) -> ID {
        ID(self.0.supplier_id.to_string())
    }
    /// The restaurant it is addressed to.
    async fn restaurant_id(&self) -> ID {
        ID(self.0.restaurant_id.to_string())
    }
    /// The supplier (batched per request).
    async fn supplier(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupplierObject>> {
        Ok(loaders(ctx)?
            .suppliers
            .load_one(self.0.supplier_id)
            .await?
            .map(SupplierObject))
    }
    /// The restaurant (batched per request).
    async fn restaurant(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RestaurantObject>> {
        Ok(loaders(ctx)?
            .restaurants
            .load_one(self.0.restaurant_id)
            .await?
            .map(RestaurantObject::of))
    }
    /// The order it was reconciled against, if one was found.
    async fn order_id(&self) -> Option<ID> {
        self.0.order_id.map(|o| ID(o.to_string()))
    }
    /// Where it stands.
    async fn status(&self) -> InvoiceStatus {
        self.0.status.into()
    }
    /// How its lines were read.
    async fn source(&self) -> Option<InvoiceSource> {
        self.0.source.map(Into::into)
    }
    /// Why it needs review (NEEDS_REVIEW), in words.
    async fn review_reason(&self) -> Option<&str> {
        self.0.review_reason.as_deref()
    }
    /// The supplier's invoice number.
    async fn invoice_number(&self) -> Option<&str> {
        self.0.invoice_number.as_deref()
    }
    /// The invoice's date.
    async fn issue_date(&self) -> Option<Date> {
        self.0.issue_date.map(Date)
    }
    /// When it is due.
    async fn due_date(&self) -> Option<Date> {
        self.0.due_date.map(Date)
    }
    /// The order reference it states.
    async fn order_reference(&self) -> Option<&str> {
        self.0.order_reference.as_deref()
    }
    /// ISO 4217 currency.
    async fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
    /// The sum of lines before VAT, as the document states it.
    async fn subtotal(&self) -> Option<MoneyObject> {
        money(self.0.subtotal, &self.0.currency)
    }
    /// VAT, as the document states it.
    async fn tax(&self) -> Option<MoneyObject> {
        money(self.0.tax, &self.0.currency)
    }
    /// To pay, VAT included, as the document states it.
    async fn total(&self) -> Option<MoneyObject> {
        money(self.0.total, &self.0.currency)
    }
    /// The lowest confidence of what was read (0–1).
    async fn confidence(&self) -> Option<ExactDecimal> {
        self.0.confidence.map(ExactDecimal)
    }
    /// The document it was read from.
    async fn document(&self) -> DocumentObject {
        let d = &self.0.document;
        DocumentObject {
            kind: d.kind.clone(),
            sha256: d.sha256.clone(),
            size: d.size,
            file_name: d.file_name.clone(),
        }
    }
    /// How far reading it has come, and where each field came from.
    async fn extraction(&self) -> InvoiceExtraction {
        let e = &self.0.extraction;
        let progress = &e["progress"];
        InvoiceExtraction {
            stage: progress["stage"].as_str().unwrap_or("READING").to_owned(),
            step: progress["step"].as_i64().unwrap_or(0) as i32,
            of: progress["of"].as_i64().unwrap_or(3) as i32,
            error: e["error"].as_str().map(str::to_owned),
            text: e["text"].as_str().map(str::to_owned),
            fields: e["fields"]
                .as_object()
                .map(|fields| {
                    fields
                        .iter()
                        .map(|(name, f)| ExtractedField {
                            field: name.clone(),
                            from: f["from"].as_str().unwrap_or_default().to_owned(),
                            confidence: ExactDecimal(
                                rust_decimal::Decimal::new(
                                    f["confidence"].as_i64().unwrap_or(0),
                                    3,
                                )
                                .normalize(),
                            ),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
    /// How it compared with its order (once reconciled).
    async fn reconciliation(&self) -> Option<InvoiceReconciliation> {
        self.0.reconciliation.as_ref().map(reconciliation_of)
    }
    /// What it charges, line by line, and how each line matched (batched per request).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<InvoiceLineObject>> {
        Ok(loaders(ctx)?
            .invoice_lines
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(InvoiceLineObject)
            .collect())
    }
    /// Its disputes, oldest first (batched per request).
    #[graphql(complexity = "crate::graphql::cost::unpaged(child_complexity)")]
    async fn disputes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InvoiceDisputeObject>> {
        Ok(loaders(ctx)?
            .invoice_disputes
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(InvoiceDisputeObject)
            .collect())
    }
    /// Who approved it, when, and the reason given for approving differences.
    async fn approved_by(&self) -> Option<ID> {
        self.0.approved_by.map(|a| ID(a.to_string()))
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    async fn override_reason(&self) -> Option<&str> {
        self.0.override_reason.as_deref()
    }
    /// When it was uploaded (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One line an invoice charges.
pub struct InvoiceLineObject(pub InvoiceLine);

/// One line an invoice charges, and how it matched the order.
#[Object(name = "InvoiceLine")]
impl InvoiceLineObject {
    /// Unique identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its position (1…).
    async fn line_number(&self) -> i32 {
        self.0.line_number
    }
    /// The supplier's article number.
    async fn sku(&self) -> Option<&str> {
        self.0.sku.as_deref()
    }
    /// The GTIN (EAN) it states.
    async fn gtin(&self) -> Option<&str> {
        self.0.gtin.as_deref()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The unit as the document writes it.
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    async fn quantity(&self) -> ExactDecimal {
        ExactDecimal(self.0.quantity)
    }
    async fn unit_price(&self) -> ExactDecimal {
        ExactDecimal(self.0.unit_price)
    }
    /// Quantity × price as the document states it (before VAT).
    async fn line_total(&self) -> ExactDecimal {
        ExactDecimal(self.0.line_total)
    }
    /// VAT percent.
    async fn tax_rate(&self) -> Option<ExactDecimal> {
        self.0.tax_rate.map(ExactDecimal)
    }
    /// How it was read.
    async fn source(&self) -> InvoiceSource {
        self.0.source.into()
    }
    /// How sure the reading is (0–1).
    async fn confidence(&self) -> ExactDecimal {
        ExactDecimal(self.0.confidence)
    }
    /// The order line it matched.
    async fn order_line_id(&self) -> Option<ID> {
        self.0.order_line_id.map(|o| ID(o.to_string()))
    }
    /// The product of that order line.
    async fn product_id(&self) -> Option<ID> {
        self.0.product_id.map(|p| ID(p.to_string()))
    }
    async fn matched_by(&self) -> Option<InvoiceLineMatchedBy> {
        self.0.matched_by.map(Into::into)
    }
    /// How it compared (once reconciled against an order).
    async fn outcome(&self) -> Option<InvoiceLineOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// What the order says.
    async fn expected_quantity(&self) -> Option<ExactDecimal> {
        self.0.expected_quantity.map(ExactDecimal)
    }
    async fn expected_unit_price(&self) -> Option<ExactDecimal> {
        self.0.expected_unit_price.map(ExactDecimal)
    }
    /// Who corrected it by hand, and when.
    async fn corrected_by(&self) -> Option<ID> {
        self.0.corrected_by.map(|a| ID(a.to_string()))
    }
    async fn corrected_at(&self) -> Option<DateTime<Utc>> {
        self.0.corrected_at
    }
}

/// One difference a dispute asks a credit for.
#[derive(SimpleObject)]
pub struct InvoiceDisputeItem {
    /// The invoice line.
    line_number: Option<i32>,
    description: String,
    /// PRICE_MISMATCH, QUANTITY_MISMATCH or NOT_ORDERED.
    outcome: String,
    invoiced_quantity: Option<ExactDecimal>,
    invoiced_unit_price: Option<ExactDecimal>,
    expected_quantity: Option<ExactDecimal>,
    expected_unit_price: Option<ExactDecimal>,
    /// What is asked back for it, before VAT.
    amount: ExactDecimal,
}

impl From<&DisputeItem> for InvoiceDisputeItem {
    fn from(i: &DisputeItem) -> Self {
        InvoiceDisputeItem {
            line_number: i.line_number,
            description: i.description.clone(),
            outcome: i.outcome.clone(),
            invoiced_quantity: i.invoiced_quantity.map(ExactDecimal),
            invoiced_unit_price: i.invoiced_unit_price.map(ExactDecimal),
            expected_quantity: i.expected_quantity.map(ExactDecimal),
            expected_unit_price: i.expected_unit_price.map(ExactDecimal),
            amount: ExactDecimal(i.amount),
        }
    }
}

/// A restaurant's credit request against an invoice.
pub struct InvoiceDisputeObject(pub Dispute);

/// A restaurant's credit request against an invoice, and the supplier's answer.
#[Object(name = "InvoiceDispute")]
impl InvoiceDisputeObject {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn invoice_id(&self) -> ID {
        ID(self.0.invoice_id.to_string())
    }
    /// What the restaurant wrote.
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// Each difference, with what is asked back.
    async fn items(&self) -> Vec<InvoiceDisputeItem> {
        self.0.items.iter().map(Into::into).collect()
    }
    /// The credit asked for, before VAT.
    async fn credit_requested(&self) -> MoneyObject {
        MoneyObject {
            amount: ExactDecimal(self.0.credit_requested),
            currency: self.0.currency.clone(),
        }
    }
    async fn status(&self) -> InvoiceDisputeStatus {
        self.0.status.into()
    }
    /// The supplier's answer.
    async fn answer(&self) -> Option<&str> {
        self.0.answer.as_deref()
    }
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.answered_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which invoices.
#[derive(InputObject, Default)]
pub struct InvoiceFilter {
    /// Any of these statuses.
    #[graphql(default)]
    statuses: Vec<InvoiceStatus>,
    supplier_id: Option<ID>,
    restaurant_id: Option<ID>,
    order_id: Option<ID>,
}

/// One header field a template reads.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "InvoiceTemplateFieldInput")]
pub struct InvoiceTemplateField {
    /// invoiceNumber, issueDate, dueDate, orderReference, currency, subtotal, tax or total.
    field: String,
    /// A regular expression; its first capture group is the value (case-insensitive,
    /// multi-line).
    pattern: String,
}

/// How one supplier's PDF and scanned invoices are read.
#[derive(SimpleObject)]
pub struct InvoiceTemplate {
    id: ID,
    supplier_id: ID,
    name: String,
    /// Strings every document of the supplier contains: the first template whose keywords
    /// all appear reads the document.
    keywords: Vec<String>,
    fields: Vec<InvoiceTemplateField>,
    /// A line row: named groups quantity, unit_price and sku or description (line_total,
    /// tax_rate, unit and gtin when present).
    line_pattern: String,
    /// Rows are looked for after this…
    lines_start: Option<String>,
    /// …and before this.
    lines_end: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<Template> for InvoiceTemplate {
    fn from(t: Template) -> Self {
        InvoiceTemplate {
            id: ID(t.id.to_string()),
            supplier_id: ID(t.supplier_id.to_string()),
            name: t.name,
            keywords: t.keywords,
            fields: t
                .fields
                .into_iter()
                .map(|(field, pattern)| InvoiceTemplateField { field, pattern })
                .collect(),
            line_pattern: t.line_pattern,
            lines_start: t.lines_start,
            lines_end: t.lines_end,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Default)]
pub struct InvoiceQuery;

#[Object]
impl InvoiceQuery {
    /// The caller's invoices, newest first: a restaurant's received, a supplier's sent, all for
    /// admins.
    #[graphql(
        complexity = "crate::graphql::cost::page_up_to(first, last, crate::graphql::invoices::MAX_INVOICES_PAGE, child_complexity)"
    )]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first n items after `after` (0–100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n items before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Which invoices.")] filter: Option<InvoiceFilter>,
    ) -> async_graphql::Result<RelayConnection<InvoiceObject>> {
        let page =
            connection::page_request_up_to(ctx, first, after, last, before, MAX_INVOICES_PAGE)?;
        let filter = filter.unwrap_or_default();
        let id = |field: &str, id: &Option<ID>| id.as_ref().map(|i| parse_id(field, i)).transpose();
        let filter = domain::InvoiceFilter {
            statuses: filter.statuses.into_iter().map(Into::into).collect(),
            supplier_id: id("filter.supplierId", &filter.supplier_id)?,
            restaurant_id: id("filter.restaurantId", &filter.restaurant_id)?,
            order_id: id("filter.orderId", &filter.order_id)?,
        };
        let result = services(ctx)?
            .invoices
            .list(caller(ctx), &filter, page)
            .await?;
        Ok(connection::connection(result, InvoiceObject))
    }

    /// One invoice; NOT_FOUND unless the caller is a party to it or an admin.
    async fn invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice's id (UUID).")] id: ID,
    ) -> async_graphql::Result<Option<InvoiceObject>> {
        let id = parse_id("id", &id)?;
        Ok(Some(InvoiceObject(
            services(ctx)?.invoices.get(caller(ctx), id).await?,
        )))
    }

    /// A supplier's invoice templates, oldest first (its members and admins).
    async fn invoice_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier (UUID).")] supplier_id: ID,
    ) -> async_graphql::Result<Vec<InvoiceTemplate>> {
        let supplier = parse_id("supplierId", &supplier_id)?;
        let templates = services(ctx)?
            .invoices
            .templates(caller(ctx), supplier)
            .await?;
        Ok(templates.into_iter().map(Into::into).collect())
    }

    /// A supplier's matching tolerance in percent (±; 0.5 unless it set another).
    async fn invoice_tolerance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The supplier (UUID).")] supplier_id: ID,
    ) -> async_graphql::Result<ExactDecimal> {
        let supplier = parse_id("supplierId", &supplier_id)?;
        let tolerance = services(ctx)?
            .invoices
            .tolerance(caller(ctx), supplier)
            .await?;
        Ok(ExactDecimal(tolerance.percent()))
    }
}

/// An invoice to upload: the file travels as a GraphQL multipart request (`file` mapped to a
/// part, as Apollo's upload link sends it).
#[derive(InputObject)]
pub struct UploadInvoiceInput {
    /// The supplier that issued it.
    supplier_id: ID,
    /// The restaurant it is addressed to.
    restaurant_id: ID,
    /// The document: Peppol/UBL XML, CSV, PDF or an image.
    file: Upload,
}

/// What `uploadInvoice` did.
#[derive(SimpleObject)]
pub struct UploadInvoicePayload {
    /// The invoice (being read: watch `status` and `extraction`).
    invoice: InvoiceObject,
    /// False when this document was uploaded for these parties before: the earlier invoice.
    created: bool,
}

/// A correction of one invoice line (or a new line, with the next line number).
#[derive(InputObject)]
pub struct CorrectInvoiceLineInput {
    invoice_id: ID,
    /// An existing line, or one past the last to add a line.
    line_number: i32,
    sku: Option<String>,
    description: Option<String>,
    quantity: Option<ExactDecimal>,
    unit_price: Option<ExactDecimal>,
    /// VAT percent.
    tax_rate: Option<ExactDecimal>,
}

/// An invoice payload.
#[derive(SimpleObject)]
pub struct InvoicePayload {
    invoice: InvoiceObject,
}

/// An invoice to read again.
#[derive(InputObject)]
pub struct ReextractInvoiceInput {
    invoice_id: ID,
}

/// Approval of an invoice for payment.
#[derive(InputObject)]
pub struct ApproveInvoiceInput {
    invoice_id: ID,
    /// Required when the invoice does not match its order (`RECONCILIATION_FAILED` without).
    override_reason: Option<String>,
}

/// A dispute of an invoice that charges more than the order.
#[derive(InputObject)]
pub struct DisputeInvoiceInput {
    invoice_id: ID,
    /// To the supplier.
    message: String,
}

/// A dispute payload.
#[derive(SimpleObject)]
pub struct InvoiceDisputePayload {
    dispute: InvoiceDisputeObject,
}

/// The supplier's answer to a dispute.
#[derive(InputObject)]
pub struct AnswerInvoiceDisputeInput {
    dispute_id: ID,
    /// True: a credit note will follow. False: rejected (`reason` required).
    accept: bool,
    reason: Option<String>,
}

/// A supplier's matching tolerance.
#[derive(InputObject)]
pub struct SetInvoiceToleranceInput {
    supplier_id: ID,
    /// ± percent, 0–10, at most 4 decimals (0.5 by default).
    tolerance_percent: ExactDecimal,
}

/// What `setInvoiceTolerance` did.
#[derive(SimpleObject)]
pub struct SetInvoiceTolerancePayload {
    supplier_id: ID,
    tolerance_percent: ExactDecimal,
}

/// A template to create (without `id`) or replace (with it).
#[derive(InputObject)]
pub struct SaveInvoiceTemplateInput {
    /// The template to replace; absent to create one.
    id: Option<ID>,
    /// The supplier whose invoices it reads.
    supplier_id: ID,
    name: String,
    keywords: Vec<String>,
    #[graphql(default)]
    fields: Vec<InvoiceTemplateField>,
    line_pattern: String,
    lines_start: Option<String>,
    lines_end: Option<String>,
}

/// A template payload.
#[derive(SimpleObject)]
pub struct InvoiceTemplatePayload {
    template: InvoiceTemplate,
}

/// A template to delete.
#[derive(InputObject)]
pub struct DeleteInvoiceTemplateInput {
    id: ID,
}

#[derive(Default)]
pub struct InvoiceMutation;

#[Object]
impl InvoiceMutation {
    /// Uploads an invoice (restaurant members; supplier members for a restaurant that ordered
    /// from them; admins). It is read and reconciled in the background; the same document for
    /// the same parties returns the earlier invoice.
    async fn upload_invoice(
        &self,
        ctx: &Context<'_>,
        input: UploadInvoiceInput,
    ) -> async_graphql::Result<UploadInvoicePayload> {
        let supplier_id = parse_id("input.supplierId", &input.supplier_id)?;
        let restaurant_id = parse_id("input.restaurantId", &input.restaurant_id)?;
        let services = services(ctx)?;
        let limit = services.storage.max_bytes();
        let upload = input.file.value(ctx).map_err(|_| {
            AppError::validation("input.file", "must be a file part of a multipart request")
        })?;
        let file_name = Some(upload.filename.clone());
        let mut bytes = Vec::new();
        upload
            .into_read()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| AppError::BadRequest(format!("the file could not be read: {e}")))?;
        let uploaded = services
            .invoices
            .upload(
                caller(ctx),
                NewInvoice {
                    supplier_id,
                    restaurant_id,
                    file_name,
                },
                bytes,
            )
            .await?;
        Ok(UploadInvoicePayload {
            invoice: InvoiceObject(uploaded.invoice),
            created: uploaded.created,
        })
    }

    /// Corrects (or adds) one line by hand (members of either party); the invoice is
    /// reconciled again. Audited.
    async fn correct_invoice_line(
        &self,
        ctx: &Context<'_>,
        input: CorrectInvoiceLineInput,
    ) -> async_graphql::Result<InvoicePayload> {
        let id = parse_id("input.invoiceId", &input.invoice_id)?;
        let invoice = services(ctx)?
            .invoices
            .correct_line(
                caller(ctx),
                id,
                input.line_number,
                LineCorrection {
                    sku: input.sku,
                    description: input.description,
                    quantity: input.quantity.map(|d| d.0),
                    unit_price: input.unit_price.map(|d| d.0),
                    tax_rate: input.tax_rate.map(|d| d.0),
                },
            )
            .await?;
        Ok(InvoicePayload {
            invoice: InvoiceObject(invoice),
        })
    }

    /// Reads an invoice that needs review again from its document — after the supplier added
    /// a template, say (members of either party). Audited.
    async fn reextract_invoice(
        &self,
        ctx: &Context<'_>,
        input: ReextractInvoiceInput,
    ) -> async_graphql::Result<InvoicePayload> {
        let id = parse_id("input.invoiceId", &input.invoice_id)?;
        let invoice = services(ctx)?
            .invoices
            .extract_again(caller(ctx), id)
            .await?;
        Ok(InvoicePayload {
            invoice: InvoiceObject(invoice),
        })
    }

    /// Approves an invoice for payment (the restaurant's members, admins).
    async fn approve_invoice(
        &self,
        ctx: &Context<'_>,
        input: ApproveInvoiceInput,
    ) -> async_graphql::Result<InvoicePayload> {
        let id = parse_id("input.invoiceId", &input.invoice_id)?;
        let invoice = services(ctx)?
            .invoices
            .approve(caller(ctx), id, input.override_reason)
            .await?;
        Ok(InvoicePayload {
            invoice: InvoiceObject(invoice),
        })
    }

    /// Disputes an invoice that charges more than the order (the restaurant's members,
    /// admins): a credit request listing each difference; the supplier is notified.
    async fn dispute_invoice(
        &self,
        ctx: &Context<'_>,
        input: DisputeInvoiceInput,
    ) -> async_graphql::Result<InvoiceDisputePayload> {
        let id = parse_id("input.invoiceId", &input.invoice_id)?;
        let dispute = services(ctx)?
            .invoices
            .dispute(caller(ctx), id, &input.message)
            .await?;
        Ok(InvoiceDisputePayload {
            dispute: InvoiceDisputeObject(dispute),
        })
    }

    /// Answers a dispute (the supplier's members, admins); the restaurant is notified.
    async fn answer_invoice_dispute(
        &self,
        ctx: &Context<'_>,
        input: AnswerInvoiceDisputeInput,
    ) -> async_graphql::Result<InvoiceDisputePayload> {
        let id = parse_id("input.disputeId", &input.dispute_id)?;
        let dispute = services(ctx)?
            .invoices
            .answer_dispute(caller(ctx), id, input.accept, input.reason)
            .await?;
        Ok(InvoiceDisputePayload {
            dispute: InvoiceDisputeObject(dispute),
        })
    }

    /// Creates or replaces an invoice template (the supplier's members, admins). Invalid
    /// patterns are named. Audited.
    async fn save_invoice_template(
        &self,
        ctx: &Context<'_>,
        input: SaveInvoiceTemplateInput,
    ) -> async_graphql::Result<InvoiceTemplatePayload> {
        let supplier = parse_id("input.supplierId", &input.supplier_id)?;
        let id = input
            .id
            .as_ref()
            .map(|id| parse_id("input.id", id))
            .transpose()?;
        let mut fields = std::collections::BTreeMap::new();
        for f in input.fields {
            if fields.insert(f.field.clone(), f.pattern).is_some() {
                return Err(
                    AppError::validation(format!("fields.{}", f.field), "is given twice").into(),
                );
            }
        }
        let template = services(ctx)?
            .invoices
            .save_template(
                caller(ctx),
                supplier,
                id,
                TemplateInput {
                    name: input.name,
                    keywords: input.keywords,
                    fields,
                    line_pattern: input.line_pattern,
                    lines_start: input.lines_start,
                    lines_end: input.lines_end,
                },
            )
            .await?;
        Ok(InvoiceTemplatePayload {
            template: template.into(),
        })
    }

    /// Deletes an invoice template (the supplier's members, admins). Audited.
    async fn delete_invoice_template(
        &self,
        ctx: &Context<'_>,
        input: DeleteInvoiceTemplateInput,
    ) -> async_graphql::Result<InvoiceTemplatePayload> {
        let id = parse_id("input.id", &input.id)?;
        let template = services(ctx)?
            .invoices
            .delete_template(caller(ctx), id)
            .await?;
        Ok(InvoiceTemplatePayload {
            template: template.into(),
        })
    }

    /// Sets a supplier's matching tolerance (its owners, admins). Audited.
    async fn set_invoice_tolerance(
        &self,
        ctx: &Context<'_>,
        input: SetInvoiceToleranceInput,
    ) -> async_graphql::Result<SetInvoiceTolerancePayload> {
        let supplier = parse_id("input.supplierId", &input.supplier_id)?;
        let tolerance = services(ctx)?
            .invoices
            .set_tolerance(caller(ctx), supplier, input.tolerance_percent.0)
            .await?;
        Ok(SetInvoiceTolerancePayload {
            supplier_id: input.supplier_id,
            tolerance_percent: ExactDecimal(tolerance.percent()),
        })
    }
}
