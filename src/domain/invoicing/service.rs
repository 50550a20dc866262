//! The invoicing service: uploads, extraction, reconciliation, approval and disputes.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
    time::Instant,
};

use chrono::{Duration, Utc};
use entity::{invoice_disputes, invoice_lines, invoices};
use futures_util::StreamExt as _;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use rust_decimal::Decimal;
use sea_orm::ActiveValue::Set;
use serde_json::json;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::{
    Dispute, DisputeItem, DisputeStatus, ExtractionProgress, Invoice, InvoiceFilter, InvoiceLine,
    InvoiceStatus, LineCorrection, NewInvoice, Source, Uploaded,
    extract::{self, CONFIDENCE_THRESHOLD, Extracted, Unreadable, line_amount, pdf},
    ocr::Ocr,
    reconcile::{self, InvoiceTotals, InvoicedLine, LineOutcome, OrderedLine, Tolerance},
    repository::{self, Scope, to_bp},
    templates::{self, Template, TemplateInput},
};
use crate::{
    auth::{Caller, MemberRole, Principal},
    domain::{
        kernel::{
            money::{self, Currency, to_milli},
            pagination::{Direction, Page, PageRequest},
            validation::{self, Violations},
        },
        ordering::{self, Order, OrderFilter, OrderSort, OrderSortField, OrderStatus},
        platform::{
            audit::{self, AuditEntry},
            outbox::{self, OutboxWaker},
            storage::{DocumentKind, DocumentStore},
        },
        restaurants::RestaurantService,
        suppliers::SupplierService,
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

/// An extraction that has said nothing for this long died with its process: taken again.
const STALE_CLAIM: Duration = Duration::minutes(10);
/// How long the sweep leaves a fresh upload to the extraction its upload started.
const SWEEP_GRACE: Duration = Duration::seconds(30);
/// Longest OCR of one document may take, all pages together.
const OCR_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);
/// Invoices the sweep takes per transaction.
const BATCH: usize = 200;
/// How far back from the invoice's date an order is looked for (its parties' latest 100).
const ORDER_WINDOW_DAYS: i64 = 90;
/// Problems kept in an invoice's review reason (all stay in its reconciliation).
const REASONS_SHOWN: usize = 5;

/// `iris_ocr_job_duration_seconds{status}` and `iris_ocr_extraction_errors_total{error_type}`:
/// every invoice extraction (the product spec's "Invoice OCR — on upload"), whatever the
/// document's kind. Process-wide; the composition root registers them for `/metrics`.
pub struct ExtractionMetrics {
    pub duration: HistogramVec,
    pub errors: IntCounterVec,
}

pub static EXTRACTION_METRICS: LazyLock<ExtractionMetrics> = LazyLock::new(|| {
    ExtractionMetrics {
    duration: HistogramVec::new(
        HistogramOpts::new(
            "iris_ocr_job_duration_seconds",
            "How long reading and reconciling one uploaded invoice took, in seconds, by outcome (MATCHED, NEEDS_REVIEW, FAILED)",
        )
        .buckets(vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0]),
        &["status"],
    )
    .expect("a valid histogram"),
    errors: IntCounterVec::new(
        Opts::new(
            "iris_ocr_extraction_errors_total",
            "Invoices whose content could not be read, by error type (unreadable, unsupported, low_confidence, missing_document)",
        ),
        &["error_type"],
    )
    .expect("a valid counter"),
}
});

/// What the invoicing service needs of other contexts.
#[derive(Clone)]
pub struct InvoiceDeps {
    pub orders: ordering::OrderService,
    pub suppliers: SupplierService,
    pub restaurants: RestaurantService,
    pub storage: DocumentStore,
    pub waker: OutboxWaker,
    /// Reads scanned invoices.
    pub ocr: Arc<dyn Ocr>,
}

#[derive(Clone)]
pub struct InvoiceService {
    db: Db,
    deps: InvoiceDeps,
    extractions: Arc<Semaphore>,
    /// The permits `extractions` started with.
    permits: usize,
}

fn signed_in(caller: &Caller) -> Result<(), AppError> {
    match caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to work with invoices".into(),
        )),
        _ => Ok(()),
    }
}

fn may_view(principal: &Principal, invoice: &Invoice) -> bool {
    ordering::may_view(principal, invoice.restaurant_id, invoice.supplier_id)
}

/// The restaurant (the buyer) decides on an invoice: approve, dispute.
fn buyer(caller: &Caller, invoice: &Invoice, what: &str) -> Result<(), AppError> {
    let p = &caller.principal;
    if p.is_admin() || p.restaurant_role(invoice.restaurant_id).is_some() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "only the restaurant's members (and admins) {what}"
        )))
    }
}

fn milli(field: &str, value: Decimal, v: &mut Violations) -> Option<i64> {
    v.check(field, to_milli(value).map_err(|e| e.rule()))
}

fn progress(stage: &'static str, step: u32) -> serde_json::Value {
    json!(ExtractionProgress { stage, step, of: 3 })
}

/// The event payload of an invoice.
fn payload(invoice: &Invoice) -> serde_json::Value {
    json!({
        "id": invoice.id,
        "supplierId": invoice.supplier_id,
        "restaurantId": invoice.restaurant_id,
        "orderId": invoice.order_id,
        "invoiceNumber": invoice.invoice_number,
        "status": invoice.status.as_str(),
        "currency": invoice.currency,
        "subtotal": invoice.subtotal.map(|d| d.to_string()),
        "tax": invoice.tax.map(|d| d.to_string()),
        "total": invoice.total.map(|d| d.to_string()),
        "issueDate": invoice.issue_date,
        "dueDate": invoice.due_date,
    })
}

fn invoiced(lines: &[InvoiceLine]) -> Vec<InvoicedLine> {
    lines
        .iter()
        .map(|l| InvoicedLine {
            line_number: l.line_number,
            sku: l.sku.clone(),
            gtin: l.gtin.clone(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            line_total: l.line_total,
            tax_rate: l.tax_rate,
        })
        .collect()
}

fn ordered(lines: &[ordering::OrderLine]) -> Vec<OrderedLine> {
    lines
        .iter()
        .map(|l| OrderedLine {
            id: l.id,
            product_id: l.product_id,
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: Decimal::from(l.quantity),
            unit_price: l.unit_price,
            tax_rate: l.tax_rate,
        })
        .collect()
}

fn line_row(invoice: Uuid, number: i32, line: &InvoiceLine) -> invoice_lines::ActiveModel {
    let to = |d: Decimal| to_milli(d).unwrap_or_default();
    invoice_lines::ActiveModel {
        id: Set(line.id),
        invoice_id: Set(invoice),
        line_number: Set(number),
        sku: Set(line.sku.clone()),
        gtin: Set(line.gtin.clone()),
        description: Set(line.description.clone()),
        unit: Set(line.unit.clone()),
        quantity_milli: Set(to(line.quantity)),
        unit_price_milli: Set(to(line.unit_price)),
        line_total_milli: Set(to(line.line_total)),
        tax_rate_bp: Set(line.tax_rate.and_then(to_bp)),
        source: Set(line.source.as_str().to_owned()),
        confidence_permille: Set({
            use rust_decimal::prelude::ToPrimitive;
            (line.confidence * Decimal::from(1000))
                .round()
                .to_i32()
                .unwrap_or(0)
        }),
        order_line_id: Set(line.order_line_id),
        product_id: Set(line.product_id),
        matched_by: Set(line.matched_by.map(|m| m.as_str().to_owned())),
        outcome: Set(line.outcome.map(|o| o.as_str().to_owned())),
        expected_quantity_milli: Set(line.expected_quantity.map(to)),
        expected_unit_price_milli: Set(line.expected_unit_price.map(to)),
        corrected_by: Set(line.corrected_by),
        corrected_at: Set(line.corrected_at),
    }
}

/// The largest quantity and unit price an invoice line may have (far above any real one;
/// their product stays exact).
const MAX_LINE_VALUE: i64 = 1_000_000_000;

/// Checks what was read fits storage and reason: 3 decimals, bounded values, a known
/// currency, VAT in basis points, article numbers of sane length. Writes the currency as
/// its code.
fn storable(read: &mut Extracted) -> Result<(), Unreadable> {
    if let Some(currency) = &read.currency {
        let parsed = Currency::parse(currency)
            .map_err(|e| Unreadable(format!("the currency `{currency}` {e}")))?;
        read.currency = Some(parsed.as_str().to_owned());
    }
    let bound = Decimal::from(MAX_LINE_VALUE);
    for (index, line) in read.lines.iter().enumerate() {
        let n = index + 1;
        for (what, value) in [
            ("quantity", line.quantity),
            ("unit price", line.unit_price),
            ("amount", line.line_total),
        ] {
            to_milli(value)
                .map_err(|e| Unreadable(format!("line {n}: the {what} {value} {}", e.rule())))?;
        }
        for (what, value) in [("quantity", line.quantity), ("unit price", line.unit_price)] {
            if value.abs() > bound {
                return Err(Unreadable(format!(
                    "line {n}: the {what} {value} is larger than {MAX_LINE_VALUE}"
                )));
            }
        }
        if line.quantity <= Decimal::ZERO {
            return Err(Unreadable(format!(
                "line {n}: the quantity {} must be more than 0 (credit lines are not reconciled)",
                line.quantity
            )));
        }
        for (what, value, max) in [("article number", &line.sku, 64), ("GTIN", &line.gtin, 14)] {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                return Err(Unreadable(format!(
                    "line {n}: the {what} is longer than {max} characters"
                )));
            }
        }
        if let Some(rate) = line.tax_rate
            && (to_bp(rate).is_none() || rate < Decimal::ZERO || rate > Decimal::from(100))
        {
            return Err(Unreadable(format!(
                "line {n}: the VAT rate {rate} % is not a percentage with at most 2 decimals"
            )));
        }
    }
    if read.lines.len() > MAX_LINES {
        return Err(Unreadable(format!(
            "the invoice has {} lines; at most {MAX_LINES} are read",
            read.lines.len()
        )));
    }
    for value in [read.stated.subtotal, read.stated.tax, read.stated.total]
        .into_iter()
        .flatten()
    {
        to_milli(value).map_err(|e| Unreadable(format!("the total {value} {}", e.rule())))?;
    }
    Ok(())
}

/// Lines one invoice may have.
const MAX_LINES: usize = 10_000;

impl InvoiceService {
    /// `concurrency`: extractions running at once in this process (the rest wait), so
    /// uploads cannot crowd out requests.
    pub fn new(db: Db, deps: InvoiceDeps, concurrency: usize) -> Self {
        Self {
            db,
            deps,
            extractions: Arc::new(Semaphore::new(concurrency.max(1))),
            permits: concurrency.max(1),
        }
    }

    /// Who may upload for the pair: members of either party, where the restaurant has ordered
    /// from the supplier; admins. Callers who are neither learn nothing of the other party.
    async fn authorize_upload(&self, caller: &Caller, input: &NewInvoice) -> Result<(), AppError> {
        signed_in(caller)?;
        let p = &caller.principal;
        let member = p.restaurant_role(input.restaurant_id).is_some()
            || p.supplier_role(input.supplier_id).is_some();
        if !(p.is_admin() || member) {
            return Err(AppError::Forbidden(
                "only the restaurant's or the supplier's members (and admins) upload their invoices"
                    .into(),
            ));
        }
        if self
            .deps
            .suppliers
            .by_ids(&[input.supplier_id])
            .await?
            .is_empty()
        {
            return Err(AppError::validation("supplierId", "no such supplier"));
        }
        if p.is_admin() {
            if self
                .deps
                .restaurants
                .by_ids(&[input.restaurant_id])
                .await?
                .is_empty()
            {
                return Err(AppError::validation("restaurantId", "no such restaurant"));
            }
            return Ok(());
        }
        if self
            .deps
            .orders
            .have_traded(input.supplier_id, input.restaurant_id)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "invoices are uploaded between a restaurant and a supplier it has ordered from"
                    .into(),
            ))
        }
    }

    /// Stores an uploaded invoice and starts reading it. The same document for the same
    /// parties finds the invoice it made before.
    #[tracing::instrument(skip(self, caller, input, bytes), fields(size = bytes.len()))]
    pub async fn upload(
        &self,
        caller: &Caller,
        input: NewInvoice,
        bytes: Vec<u8>,
    ) -> Result<Uploaded, AppError> {
        self.authorize_upload(caller, &input).await?;
        let file_name = match input.file_name.as_deref().map(|n| {
            // Only the last part of a path a browser may send.
            n.rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        }) {
            Some(name) if !name.is_empty() => {
                Some(validation::text(&name, 255).map_err(|e| AppError::validation("file", e))?)
            }
            _ => None,
        };
        let stored = self.deps.storage.store("file", bytes).await?;
        let now = Utc::now();
        let id = Uuid::now_v7();
        let row = invoices::ActiveModel {
            id: Set(id),
            supplier_id: Set(input.supplier_id),
            restaurant_id: Set(input.restaurant_id),
            order_id: Set(None),
            uploaded_by: Set(caller.principal.account_id()),
            document_key: Set(stored.key.clone()),
            document_sha256: Set(stored.sha256.clone()),
            document_kind: Set(stored.kind.as_str().to_owned()),
            document_size: Set(stored.size as i64),
            file_name: Set(file_name.clone()),
            status: Set(InvoiceStatus::Uploaded.as_str().to_owned()),
            source: Set(None),
            review_reason: Set(None),
            invoice_number: Set(None),
            issue_date: Set(None),
            due_date: Set(None),
            order_reference: Set(None),
            currency: Set(None),
            subtotal_milli: Set(None),
            tax_milli: Set(None),
            total_milli: Set(None),
            confidence_permille: Set(None),
            extraction: Set(json!({ "progress": progress("READING", 0) })),
            reconciliation: Set(None),
            matched_first_time: Set(None),
            claimed_at: Set(None),
            approved_by: Set(None),
            approved_at: Set(None),
            override_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        };
        let txn = begin_write(&self.db).await?;
        let created = repository::insert_invoice(&txn, row).await?;
        let invoice = if created {
            repository::find(&txn, id).await?
        } else {
            repository::find_by_document(
                &txn,
                input.supplier_id,
                input.restaurant_id,
                &stored.sha256,
            )
            .await?
        }
        .ok_or_else(|| {
            AppError::Conflict("the invoice was deleted meanwhile; upload it again".into())
        })?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.upload",
                entity: "invoice",
                entity_id: Some(invoice.id.to_string()),
                before: None,
                after: Some(json!({
                    "supplierId": input.supplier_id,
                    "restaurantId": input.restaurant_id,
                    "document": stored.key,
                    "kind": stored.kind.as_str(),
                    "size": stored.size,
                    "fileName": file_name,
                    "duplicate": !created,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        if created {
            self.start_extraction(invoice.id);
        }
        Ok(Uploaded { invoice, created })
    }

    /// Reads the invoice in the background (at most a few at once per process).
    fn start_extraction(&self, id: Uuid) {
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.extract(id).await {
                tracing::warn!(invoice = %id, error = ?error, "invoice extraction failed; the sweep tries again");
            }
        });
    }

    /// Invoices whose extraction never ran or died (the `extract-invoices` sweep): each is
    /// read now; returns how many were taken.
    pub async fn extract_waiting<F, Fut>(&self, limit: u64, report: F) -> Result<u64, AppError>
    where
        F: Fn(u64, u64) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let now = Utc::now();
        let waiting =
            repository::waiting(&self.db, now - SWEEP_GRACE, now - STALE_CLAIM, limit).await?;
        // Corrected invoices whose comparison never finished (its process stopped).
        for id in repository::stuck_extracted(&self.db, now - STALE_CLAIM, limit).await? {
            self.reconcile_invoice(id).await?;
        }
        let total = waiting.len() as u64;
        let mut done = 0;
        for batch in waiting.chunks(BATCH) {
            done += self.extract_batch(batch).await? as u64;
            report(done, total).await;
        }
        Ok(total)
    }

    /// Waits until an invoice is read and reconciled (or `timeout` passes): for callers that
    /// upload and then act on the result (the demo data).
    pub async fn wait_until_read(
        &self,
        id: Uuid,
        timeout: std::time::Duration,
    ) -> Result<Invoice, AppError> {
        let deadline = Instant::now() + timeout;
        loop {
            let invoice = repository::find(&self.db, id)
                .await?
                .ok_or_else(|| AppError::not_found("Invoice", id))?;
            let reading = matches!(
                invoice.status,
                InvoiceStatus::Uploaded | InvoiceStatus::Extracted
            );
            if !reading || Instant::now() >= deadline {
                return Ok(invoice);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Reads one uploaded invoice and reconciles it. Does nothing when another extraction
    /// holds it or it was read already.
    #[tracing::instrument(skip(self))]
    pub async fn extract(&self, id: Uuid) -> Result<(), AppError> {
        // The permit first, then the claim: a claim ages only while its work is done.
        let _permit = self
            .extractions
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let now = Utc::now();
        let Some(invoice) = repository::claim(
            &self.db,
            &[id],
            now,
            now - STALE_CLAIM,
            json!({ "progress": progress("READING", 1) }),
        )
        .await?
        .into_iter()
        .next() else {
            return Ok(());
        };
        match self.read_claimed(invoice.clone()).await {
            Ok(Some(read)) => self.reconcile_all(vec![read]).await.map(|_| ()),
            Ok(None) => Ok(()),
            Err(error) => self.failed(&invoice, error).await,
        }
    }

    /// Sends an invoice whose reading failed for an internal reason to review (logged).
    async fn failed(&self, invoice: &Invoice, error: AppError) -> Result<(), AppError> {
        tracing::error!(invoice = %invoice.id, error = ?error, "reading an invoice failed");
        EXTRACTION_METRICS
            .errors
            .with_label_values(&["internal"])
            .inc();
        self.unreadable(
            invoice,
            "the document could not be read (an internal error, logged): read it again later",
            None,
            Instant::now(),
        )
        .await
    }

    /// Reads uploaded invoices (those no other extraction holds) and reconciles them: the
    /// documents are read at once (as many as the extraction permits allow), then the
    /// batch's orders, order lines and tolerances are read together, and what was read and how
    /// it compares is written in one transaction. Returns how many were taken.
    async fn extract_batch(&self, ids: &[Uuid]) -> Result<usize, AppError> {
        let now = Utc::now();
        // One statement takes them and says so (READING).
        let claimed = repository::claim(
            &self.db,
            ids,
            now,
            now - STALE_CLAIM,
            json!({ "progress": progress("READING", 1) }),
        )
        .await?;
        let taken = claimed.len();
        let read: Vec<(Invoice, Result<Option<ReadInvoice>, AppError>)> =
            futures_util::stream::iter(claimed)
                .map(|invoice| async move {
                    let result = self.read_one(invoice.clone()).await;
                    (invoice, result)
                })
                .buffer_unordered(self.permits)
                .collect()
                .await;
        let mut ready = Vec::with_capacity(read.len());
        for (invoice, result) in read {
            match result {
                Ok(Some(read)) => ready.push(read),
                Ok(None) => {}
                // One document's failure is its own: it goes to review, the batch goes on.
                Err(error) => self.failed(&invoice, error).await?,
            }
        }
        if !ready.is_empty() {
            self.reconcile_all(ready).await?;
        }
        Ok(taken)
    }

    /// Reads one claimed invoice's document (one of the extraction permits held meanwhile);
    /// `None` when it could not be read (recorded as NEEDS_REVIEW with the reason).
    async fn read_one(&self, invoice: Invoice) -> Result<Option<ReadInvoice>, AppError> {
        let _permit = self
            .extractions
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        self.read_claimed(invoice).await
    }

    /// Reads a claimed invoice's document (the caller holds a permit).
    async fn read_claimed(&self, invoice: Invoice) -> Result<Option<ReadInvoice>, AppError> {
        let started = Instant::now();
        let id = invoice.id;
        let Some(bytes) = self.deps.storage.read(&invoice.document.key).await? else {
            EXTRACTION_METRICS
                .errors
                .with_label_values(&["missing_document"])
                .inc();
            self.unreadable(
                &invoice,
                "the document is missing from storage",
                None,
                started,
            )
            .await?;
            return Ok(None);
        };
        let kind = DocumentKind::parse(&invoice.document.kind).unwrap_or(DocumentKind::Text);
        if !matches!(kind, DocumentKind::Xml | DocumentKind::Text) {
            // Templates and OCR take a while: members waiting see it.
            repository::set_extraction(
                &self.db,
                id,
                json!({ "progress": progress("EXTRACTING", 2) }),
                Utc::now(),
            )
            .await?;
        }
        let Reading { result, text } = self.read_document(&invoice, kind, bytes).await?;
        let read = match result {
            Ok(read) => read,
            Err((error_type, Unreadable(reason))) => {
                EXTRACTION_METRICS
                    .errors
                    .with_label_values(&[error_type])
                    .inc();
                self.unreadable(&invoice, &reason, text.as_deref(), started)
                    .await?;
                return Ok(None);
            }
        };
        let confidence = read.confidence();
        let uncertain = (confidence < CONFIDENCE_THRESHOLD).then(|| {
            EXTRACTION_METRICS
                .errors
                .with_label_values(&["low_confidence"])
                .inc();
            let weak: Vec<String> = read
                .fields
                .iter()
                .filter(|(_, f)| f.confidence < CONFIDENCE_THRESHOLD)
                .map(|(name, f)| format!("{name} from {}", f.from))
                .collect();
            format!(
                "read with confidence {} (below {}){}: check the lines",
                Decimal::new(i64::from(confidence), 3).normalize(),
                Decimal::new(i64::from(CONFIDENCE_THRESHOLD), 3).normalize(),
                if weak.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", weak.join(", "))
                }
            )
        });
        let lines: Vec<InvoiceLine> = read
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| InvoiceLine {
                id: Uuid::now_v7(),
                invoice_id: id,
                line_number: i as i32 + 1,
                sku: l.sku.clone(),
                gtin: l.gtin.clone(),
                description: l.description.chars().take(500).collect(),
                unit: l.unit.as_ref().map(|u| u.chars().take(16).collect()),
                quantity: l.quantity,
                unit_price: l.unit_price,
                line_total: l.line_total,
                tax_rate: l.tax_rate,
                source: read.source,
                confidence: Decimal::new(i64::from(l.confidence), 3),
                order_line_id: None,
                product_id: None,
                matched_by: None,
                outcome: None,
                expected_quantity: None,
                expected_unit_price: None,
                corrected_by: None,
                corrected_at: None,
            })
            .collect();
        let cut = |s: &Option<String>, n: usize| s.as_ref().map(|s| s.chars().take(n).collect());
        // Lines exist already when it was read before (read again, say).
        let replace_lines = invoice.source.is_some();
        let mut extracted = invoice;
        extracted.status = InvoiceStatus::Extracted;
        extracted.source = Some(read.source);
        extracted.invoice_number = cut(&read.invoice_number, 100);
        extracted.issue_date = read.issue_date;
        extracted.due_date = read.due_date;
        extracted.order_reference = cut(&read.order_reference, 100);
        extracted.currency = Some(
            read.currency
                .clone()
                .unwrap_or_else(|| money::DEFAULT_CURRENCY.to_owned()),
        );
        extracted.subtotal = read.stated.subtotal;
        extracted.tax = read.stated.tax;
        extracted.total = read.stated.total;
        extracted.confidence = Some(Decimal::new(i64::from(confidence), 3).normalize());
        extracted.extraction = json!({
            "progress": progress("RECONCILING", 3),
            "fields": read.fields,
            "seller": read.seller,
            "buyer": read.buyer,
            "text": text.as_deref().map(shown_text),
        });
        Ok(Some(ReadInvoice {
            invoice: extracted,
            lines,
            uncertain,
            replace_lines,
            started,
        }))
    }

    /// Reads a document: UBL and CSV as they are; a PDF's text layer, or a scan's recognised
    /// text, through the first of the supplier's templates whose keywords it contains.
    async fn read_document(
        &self,
        invoice: &Invoice,
        kind: DocumentKind,
        bytes: Vec<u8>,
    ) -> Result<Reading, AppError> {
        let failed = |error_type: &'static str, e: Unreadable, text: Option<String>| Reading {
            result: Err((error_type, e)),
            text,
        };
        let (text, source, confidence) = match kind {
            DocumentKind::Xml | DocumentKind::Text => {
                let result = tokio::task::spawn_blocking(move || {
                    extract::structured(kind, &bytes).and_then(|mut read| {
                        storable(&mut read)?;
                        Ok(read)
                    })
                })
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
                return Ok(Reading {
                    result: result.map_err(|e| ("unreadable", e)),
                    text: None,
                });
            }
            DocumentKind::Pdf => {
                let (bytes, layer) = tokio::task::spawn_blocking(move || {
                    let layer = pdf::text(&bytes);
                    (bytes, layer)
                })
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
                match layer {
                    Err(e) => return Ok(failed("unreadable", e, None)),
                    Ok(text) if pdf::has_text(&text) => (text, Source::Pdf, 1000),
                    // A scan: no text layer to speak of.
                    Ok(_) => match self.recognise(kind, &bytes).await {
                        Ok(seen) => (seen.text, Source::Ocr, seen.confidence),
                        Err(e) => return Ok(failed("ocr", e, None)),
                    },
                }
            }
            DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff => {
                match self.recognise(kind, &bytes).await {
                    Ok(seen) => (seen.text, Source::Ocr, seen.confidence),
                    Err(Unreadable(e)) => {
                        return Ok(failed(
                            "ocr",
                            Unreadable(format!(
                                "the {} image could not be read: {e}",
                                kind.as_str()
                            )),
                            None,
                        ));
                    }
                }
            }
        };
        let templates = repository::templates_of(&self.db, invoice.supplier_id).await?;
        let Some(template) = templates::choose(&templates, &text) else {
            return Ok(failed(
                "no_template",
                Unreadable(format!(
                    "no invoice template of the supplier matches this document ({} template{} checked: each names keywords its text must contain); a member of the supplier adds one (saveInvoiceTemplate), or the lines are corrected by hand",
                    templates.len(),
                    if templates.len() == 1 { "" } else { "s" }
                )),
                Some(text),
            ));
        };
        // Patterns over a long text take a while: off the async workers.
        let template = template.clone();
        let (text, result) = tokio::task::spawn_blocking(move || {
            let result =
                templates::apply(&template, &text, source, confidence).and_then(|mut read| {
                    storable(&mut read)?;
                    Ok(read)
                });
            (text, result)
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
        let result = result.map_err(|e| ("unreadable", e));
        Ok(Reading {
            result,
            text: Some(text),
        })
    }

    /// OCR of one document, within [`OCR_DEADLINE`] (well inside a claim's life).
    async fn recognise(
        &self,
        kind: DocumentKind,
        bytes: &[u8],
    ) -> Result<super::ocr::RecognisedText, Unreadable> {
        tokio::time::timeout(OCR_DEADLINE, self.deps.ocr.recognise(kind, bytes))
            .await
            .unwrap_or_else(|_| {
                Err(Unreadable(format!(
                    "recognising its text took longer than {} minutes",
                    OCR_DEADLINE.as_secs() / 60
                )))
            })
    }

    /// Records that an invoice could not be read: NEEDS_REVIEW with the reason (and the text
    /// that was found, for writing a template).
    async fn unreadable(
        &self,
        invoice: &Invoice,
        reason: &str,
        text: Option<&str>,
        started: Instant,
    ) -> Result<(), AppError> {
        let now = Utc::now();
        // Only while it is still being read (not read again or changed meanwhile).
        repository::update_in(
            &self.db,
            invoices::ActiveModel {
                id: Set(invoice.id),
                status: Set(InvoiceStatus::NeedsReview.as_str().to_owned()),
                review_reason: Set(Some(reason.to_owned())),
                extraction: Set(json!({
                    "progress": progress("FAILED", 3),
                    "error": reason,
                    "text": text.map(shown_text),
                })),
                claimed_at: Set(None),
                updated_at: Set(now),
                ..Default::default()
            },
            &[InvoiceStatus::Uploaded],
        )
        .await?;
        EXTRACTION_METRICS
            .duration
            .with_label_values(&["FAILED"])
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// The order of an invoice that does not name one by its id: its number `R-…` (or the
    /// first 8 or more characters of its id), else the parties' order closest in amount within the tolerance, placed in the 90
    /// days up to the invoice's date and not invoiced already.
    async fn find_order(
        &self,
        invoice: &Invoice,
        lines: &[InvoiceLine],
        tolerance: Tolerance,
    ) -> Result<Option<(Order, &'static str)>, AppError> {
        let system = Caller::system();
        let page = self
            .deps
            .orders
            .list(
                &system,
                &OrderFilter {
                    supplier_id: Some(invoice.supplier_id),
                    restaurant_id: Some(invoice.restaurant_id),
                    ..OrderFilter::default()
                },
                OrderSort {
                    field: OrderSortField::CreatedAt,
                    direction: Direction::Desc,
                },
                PageRequest::offset(Some(0), Some(100))?,
            )
            .await?;
        let latest = invoice
            .issue_date
            .unwrap_or_else(|| invoice.created_at.date_naive());
        let candidates: Vec<Order> = page
            .items
            .into_iter()
            .filter(|o| !matches!(o.status, OrderStatus::Cancelled | OrderStatus::Rejected))
            .filter(|o| {
                let placed = o.created_at.date_naive();
                placed <= latest + Duration::days(1)
                    && placed >= latest - Duration::days(ORDER_WINDOW_DAYS)
            })
            .collect();
        if let Some(reference) = invoice.order_reference.as_deref() {
            // The order's number as receipts print it (`R-3F2A9C1B`), or its id's start.
            let trimmed = reference.trim();
            let short = trimmed
                .strip_prefix("R-")
                .or_else(|| trimmed.strip_prefix("r-"))
                .unwrap_or(trimmed)
                .to_ascii_lowercase();
            // Only an unambiguous one: orders placed within a minute share their first digits.
            let named: Vec<&Order> = candidates
                .iter()
                .filter(|o| short.len() >= 8 && o.id.simple().to_string().starts_with(&short))
                .collect();
            if let [order] = named.as_slice() {
                return Ok(Some(((*order).clone(), "REFERENCE")));
            }
        }
        let taken = repository::invoiced_orders(
            &self.db,
            &candidates.iter().map(|o| o.id).collect::<Vec<_>>(),
            invoice.id,
        )
        .await?;
        let computed =
            reconcile::reconcile(&invoiced(lines), &InvoiceTotals::default(), &[], tolerance).total;
        let amount = invoice.total.unwrap_or(computed);
        Ok(candidates
            .into_iter()
            .filter(|o| !taken.contains(&o.id) && tolerance.admits(amount, o.total))
            .min_by_key(|o| ((amount - o.total).abs(), std::cmp::Reverse(o.created_at)))
            .map(|o| (o, "AMOUNT")))
    }

    /// Compares a stored invoice (its lines as stored) with its order again; returns the
    /// status it took.
    async fn reconcile_invoice(&self, id: Uuid) -> Result<InvoiceStatus, AppError> {
        let invoice = repository::find(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Invoice", id))?;
        let lines = repository::lines_of(&self.db, &[id]).await?;
        let statuses = self
            .reconcile_all(vec![ReadInvoice {
                invoice,
                lines,
                uncertain: None,
                replace_lines: true,
                started: Instant::now(),
            }])
            .await?;
        Ok(statuses
            .into_iter()
            .next()
            .unwrap_or(InvoiceStatus::NeedsReview))
    }

    /// Compares invoices (as read, or as corrected) with their orders and writes the invoices,
    /// their lines and the outcomes in one transaction; returns the statuses they took.
    async fn reconcile_all(&self, read: Vec<ReadInvoice>) -> Result<Vec<InvoiceStatus>, AppError> {
        // What the batch needs, read together: tolerances, the orders named by id, their lines.
        let mut suppliers: Vec<Uuid> = read.iter().map(|r| r.invoice.supplier_id).collect();
        suppliers.sort();
        suppliers.dedup();
        let tolerances = repository::tolerances_of(&self.db, &suppliers).await?;
        let named: Vec<Uuid> = read
            .iter()
            .filter_map(|r| {
                r.invoice
                    .order_reference
                    .as_deref()
                    .and_then(|reference| Uuid::parse_str(reference.trim()).ok())
            })
            .collect();
        let named: HashMap<Uuid, Order> = self
            .deps
            .orders
            .by_ids(&named)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let mut found = Vec::with_capacity(read.len());
        for r in &read {
            let invoice = &r.invoice;
            let tolerance = tolerances
                .get(&invoice.supplier_id)
                .copied()
                .map(Tolerance::ppm)
                .unwrap_or_default();
            let by_id = invoice
                .order_reference
                .as_deref()
                .and_then(|reference| Uuid::parse_str(reference.trim()).ok())
                .and_then(|id| named.get(&id))
                .filter(|o| {
                    o.supplier_id == invoice.supplier_id && o.restaurant_id == invoice.restaurant_id
                });
            let order = match by_id {
                Some(order) => Some((order.clone(), "REFERENCE")),
                None => self.find_order(invoice, &r.lines, tolerance).await?,
            };
            found.push((order, tolerance));
        }
        let order_ids: Vec<Uuid> = found
            .iter()
            .filter_map(|(o, _)| o.as_ref().map(|(o, _)| o.id))
            .collect();
        let mut order_lines = self.deps.orders.lines_by_order(&order_ids).await?;
        // An order is invoiced once: another live invoice of it (stored, or earlier in this
        // batch) sends this one to review.
        let mut invoices_of: HashMap<Uuid, Vec<(Uuid, Option<String>)>> = HashMap::new();
        for (order, invoice, number) in repository::invoices_of_orders(&self.db, &order_ids).await?
        {
            invoices_of
                .entry(order)
                .or_default()
                .push((invoice, number));
        }
        let now = Utc::now();
        let mut statuses = Vec::with_capacity(read.len());
        let mut updates = Vec::with_capacity(read.len());
        let mut events = Vec::new();
        let mut line_rows = Vec::new();
        let mut replaced = Vec::new();
        for (r, (found, tolerance)) in read.into_iter().zip(found) {
            let ReadInvoice {
                invoice,
                mut lines,
                uncertain,
                replace_lines,
                started,
            } = r;
            let id = invoice.id;
            let order_lines = match &found {
                Some((order, _)) => order_lines.remove(&order.id).unwrap_or_default(),
                None => Vec::new(),
            };
            let stated = InvoiceTotals {
                subtotal: invoice.subtotal,
                tax: invoice.tax,
                total: invoice.total,
            };
            let result = reconcile::reconcile(
                &invoiced(&lines),
                &stated,
                &ordered(&order_lines),
                tolerance,
            );
            let mut problems = result.problems.clone();
            if found.is_none() {
                for line in &mut lines {
                    line.outcome = None;
                }
                problems.insert(
                0,
                format!(
                    "no order of this restaurant with this supplier matches the invoice's reference ({}) or its amount ({}) within ±{} %",
                    invoice.order_reference.as_deref().unwrap_or("none"),
                    invoice.total.unwrap_or(result.total),
                    tolerance.percent()
                ),
            );
            }
            if let Some((order, _)) = &found
                && let Some(currency) = &invoice.currency
                && currency != order.currency.as_str()
            {
                problems.push(format!(
                    "the invoice is in {currency}, the order in {}",
                    order.currency.as_str()
                ));
            }
            if found.is_some() {
                for (line, outcome) in lines.iter_mut().zip(&result.lines) {
                    line.order_line_id = outcome.order_line;
                    line.product_id = outcome.product_id;
                    line.matched_by = outcome.matched_by;
                    line.outcome = Some(outcome.outcome);
                    line.expected_quantity = outcome.expected_quantity;
                    line.expected_unit_price = outcome.expected_unit_price;
                }
            }
            if let Some((order, _)) = &found {
                let earlier = invoices_of
                    .get(&order.id)
                    .and_then(|others| others.iter().find(|(other, _)| *other != id))
                    .cloned();
                if let Some((other, number)) = earlier {
                    problems.push(format!(
                        "the order is invoiced already (invoice {})",
                        number.unwrap_or_else(|| other.to_string())
                    ));
                }
                invoices_of
                    .entry(order.id)
                    .or_default()
                    .push((id, invoice.invoice_number.clone()));
            }
            let matched = problems.is_empty() && uncertain.is_none();
            let status = if matched {
                InvoiceStatus::Matched
            } else {
                InvoiceStatus::NeedsReview
            };
            let mut reasons: Vec<String> = uncertain.into_iter().collect();
            reasons.extend(problems.iter().take(REASONS_SHOWN).cloned());
            if problems.len() > REASONS_SHOWN {
                reasons.push(format!("and {} more", problems.len() - REASONS_SHOWN));
            }
            let reconciliation = json!({
                "orderId": found.as_ref().map(|(o, _)| o.id),
                "orderFoundBy": found.as_ref().map(|(_, how)| *how),
                "tolerancePercent": tolerance.percent().to_string(),
                "subtotal": result.subtotal.to_string(),
                "tax": result.tax.to_string(),
                "total": result.total.to_string(),
                "orderTotal": found.as_ref().map(|(o, _)| o.total.to_string()),
                "taxes": result.taxes,
                "missingLines": if found.is_some() { json!(result.missing) } else { json!([]) },
                "problems": problems,
                "reconciledAt": Utc::now(),
            });
            let mut extraction = invoice.extraction.clone();
            extraction["progress"] = progress("DONE", 3);
            // Matched the first time it was reconciled (supplier metrics' invoice accuracy).
            // Counted only once compared with an order (junk uploads do not count against it).
            let first_time = match (&invoice.matched_first_time, &found) {
                (Some(earlier), _) => Some(*earlier),
                (None, Some(_)) => Some(matched),
                (None, None) => None,
            };
            let review_reason = (!reasons.is_empty()).then(|| reasons.join("; "));
            let milli = |d: Option<Decimal>| d.and_then(|d| to_milli(d).ok());
            updates.push((
                id,
                invoices::ActiveModel {
                    id: Set(id),
                    order_id: Set(found.as_ref().map(|(o, _)| o.id)),
                    status: Set(status.as_str().to_owned()),
                    source: Set(invoice.source.map(|s| s.as_str().to_owned())),
                    review_reason: Set(review_reason.clone()),
                    invoice_number: Set(invoice.invoice_number.clone()),
                    issue_date: Set(invoice.issue_date),
                    due_date: Set(invoice.due_date),
                    order_reference: Set(invoice.order_reference.clone()),
                    currency: Set(invoice.currency.clone()),
                    subtotal_milli: Set(milli(invoice.subtotal)),
                    tax_milli: Set(milli(invoice.tax)),
                    total_milli: Set(milli(invoice.total)),
                    confidence_permille: Set(invoice.confidence.and_then(|c| {
                        use rust_decimal::prelude::ToPrimitive;
                        (c * Decimal::from(1000)).round().to_i32()
                    })),
                    reconciliation: Set(Some(reconciliation)),
                    matched_first_time: Set(first_time),
                    extraction: Set(extraction),
                    claimed_at: Set(None),
                    updated_at: Set(now),
                    ..Default::default()
                },
            ));
            if replace_lines {
                replaced.push(id);
            }
            line_rows.extend(lines.iter().map(|l| (id, line_row(id, l.line_number, l))));
            if matched {
                let updated = Invoice {
                    order_id: found.as_ref().map(|(o, _)| o.id),
                    status,
                    review_reason,
                    matched_first_time: first_time,
                    updated_at: now,
                    ..invoice
                };
                events.push((id, json!({ "invoice": payload(&updated) })));
            }
            EXTRACTION_METRICS
                .duration
                .with_label_values(&[status.as_str()])
                .observe(started.elapsed().as_secs_f64());
            statuses.push(status);
        }
        let txn = begin_write(&self.db).await?;
        // Each invoice is written only while it is still being read (or corrected); one another
        // change got to first keeps that change, and its lines.
        let mut written = std::collections::HashSet::new();
        for (id, update) in updates {
            if repository::update_in(
                &txn,
                update,
                &[InvoiceStatus::Uploaded, InvoiceStatus::Extracted],
            )
            .await?
            {
                written.insert(id);
            }
        }
        replaced.retain(|id| written.contains(id));
        line_rows.retain(|(id, _)| written.contains(id));
        events.retain(|(id, _)| written.contains(id));
        repository::delete_lines(&txn, &replaced).await?;
        repository::insert_lines(&txn, line_rows.into_iter().map(|(_, row)| row).collect()).await?;
        let matched = !events.is_empty();
        outbox::record_many(&txn, outbox::INVOICE_MATCHED, "invoice", events, now).await?;
        txn.commit().await?;
        if matched {
            self.deps.waker.wake();
        }
        Ok(statuses)
    }

    /// An invoice the caller may see (NOT_FOUND otherwise).
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Invoice, AppError> {
        signed_in(caller)?;
        repository::find(&self.db, id)
            .await?
            .filter(|i| may_view(&caller.principal, i))
            .ok_or_else(|| AppError::not_found("Invoice", id))
    }

    /// The caller's invoices (a restaurant's received, a supplier's sent; all for admins),
    /// newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &InvoiceFilter,
        page: PageRequest,
    ) -> Result<Page<Invoice>, AppError> {
        signed_in(caller)?;
        let scope = match &caller.principal {
            p if p.is_admin() => Scope::All,
            Principal::Account(a) => Scope::Of {
                restaurants: a.restaurants.keys().copied().collect(),
                suppliers: a.suppliers.keys().copied().collect(),
            },
            _ => Scope::Of {
                restaurants: Vec::new(),
                suppliers: Vec::new(),
            },
        };
        repository::list(&self.db, scope, filter, &page).await
    }

    /// Lines of invoices the caller resolved already (for dataloaders), by invoice.
    pub async fn lines_by_invoice(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<InvoiceLine>>, AppError> {
        let lines = repository::lines_of(&self.db, ids).await?;
        Ok(by_invoice(lines, |l| l.invoice_id))
    }

    /// Disputes of invoices the caller resolved already, oldest first, by invoice.
    pub async fn disputes_by_invoice(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Dispute>>, AppError> {
        let disputes = repository::disputes_of(&self.db, ids).await?;
        Ok(by_invoice(disputes, |d| d.invoice_id))
    }

    /// The document an invoice was read from: its bytes and media type.
    pub async fn document(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<(Invoice, Vec<u8>, &'static str), AppError> {
        let invoice = self.get(caller, id).await?;
        let bytes = self
            .deps
            .storage
            .read(&invoice.document.key)
            .await?
            .ok_or_else(|| AppError::not_found("Invoice document", id))?;
        let media = DocumentKind::parse(&invoice.document.kind)
            .map(DocumentKind::media_type)
            .unwrap_or("application/octet-stream");
        Ok((invoice, bytes, media))
    }

    /// A supplier's matching tolerance.
    pub async fn tolerance(&self, caller: &Caller, supplier: Uuid) -> Result<Tolerance, AppError> {
        signed_in(caller)?;
        Ok(repository::tolerance_of(&self.db, supplier)
            .await?
            .map(Tolerance::ppm)
            .unwrap_or_default())
    }

    /// Sets a supplier's tolerance (its owners and admins).
    pub async fn set_tolerance(
        &self,
        caller: &Caller,
        supplier: Uuid,
        percent: Decimal,
    ) -> Result<Tolerance, AppError> {
        signed_in(caller)?;
        let p = &caller.principal;
        if !(p.is_admin() || p.supplier_role(supplier) == Some(MemberRole::Owner)) {
            return Err(AppError::Forbidden(
                "only the supplier's owners (and admins) set its invoice tolerance".into(),
            ));
        }
        if self.deps.suppliers.by_ids(&[supplier]).await?.is_empty() {
            return Err(AppError::not_found("Supplier", supplier));
        }
        let tolerance = Tolerance::from_percent(percent)
            .map_err(|e| AppError::validation("tolerancePercent", e))?;
        let before = self.tolerance(caller, supplier).await?;
        let txn = begin_write(&self.db).await?;
        repository::set_tolerance(&txn, supplier, tolerance.as_ppm(), Utc::now()).await?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.tolerance.set",
                entity: "supplier",
                entity_id: Some(supplier.to_string()),
                before: Some(json!({ "tolerancePercent": before.percent().to_string() })),
                after: Some(json!({ "tolerancePercent": tolerance.percent().to_string() })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(tolerance)
    }

    /// Approves an invoice for payment (the restaurant's members). One that disagrees with its
    /// order needs a reason for overriding (`RECONCILIATION_FAILED` without one).
    pub async fn approve(
        &self,
        caller: &Caller,
        id: Uuid,
        override_reason: Option<String>,
    ) -> Result<Invoice, AppError> {
        let invoice = self.get(caller, id).await?;
        buyer(caller, &invoice, "approve its invoices")?;
        let reason = match override_reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => Some(
                validation::text(r, 1000).map_err(|e| AppError::validation("overrideReason", e))?,
            ),
            _ => None,
        };
        match invoice.status {
            InvoiceStatus::Approved => {
                return Err(AppError::Conflict("the invoice is approved already".into()));
            }
            InvoiceStatus::Uploaded | InvoiceStatus::Extracted => {
                return Err(AppError::Conflict(
                    "the invoice is still being read: approve it once it is MATCHED or NEEDS_REVIEW"
                        .into(),
                ));
            }
            InvoiceStatus::Disputed => {
                return Err(AppError::Conflict(
                    "the invoice's dispute is open: wait for the supplier's answer".into(),
                ));
            }
            InvoiceStatus::NeedsReview if reason.is_none() => {
                return Err(AppError::ReconciliationFailed(format!(
                    "the invoice does not match its order ({}): approve it with an overrideReason, or dispute it",
                    invoice.review_reason.as_deref().unwrap_or("needs review")
                )));
            }
            InvoiceStatus::Matched | InvoiceStatus::NeedsReview => {}
        }
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        transition(
            &txn,
            invoices::ActiveModel {
                id: Set(id),
                status: Set(InvoiceStatus::Approved.as_str().to_owned()),
                approved_by: Set(caller.principal.account_id()),
                approved_at: Set(Some(now)),
                override_reason: Set(reason.clone()),
                updated_at: Set(now),
                ..Default::default()
            },
            &[invoice.status],
        )
        .await?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.approve",
                entity: "invoice",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "status": invoice.status.as_str() })),
                after: Some(json!({ "status": "APPROVED", "overrideReason": reason })),
            },
        )
        .await?;
        txn.commit().await?;
        self.get(caller, id).await
    }

    /// Disputes an invoice (the restaurant's members): a credit request listing each
    /// difference that costs the restaurant, with its amount.
    pub async fn dispute(
        &self,
        caller: &Caller,
        id: Uuid,
        message: &str,
    ) -> Result<Dispute, AppError> {
        let invoice = self.get(caller, id).await?;
        buyer(caller, &invoice, "dispute its invoices")?;
        let message = validation::text(message.trim(), 2000)
            .map_err(|e| AppError::validation("message", e))?;
        if message.is_empty() {
            return Err(AppError::validation("message", "must not be empty"));
        }
        if invoice.status != InvoiceStatus::NeedsReview {
            return Err(AppError::Conflict(format!(
                "only an invoice that needs review is disputed; this one is {}",
                invoice.status.as_str()
            )));
        }
        let lines = repository::lines_of(&self.db, &[id]).await?;
        let items = credit_items(&lines, invoice.order_id.is_some());
        if items.is_empty() {
            return Err(AppError::Conflict(
                "nothing to credit: no line charges more than the order (correct the lines, or approve with an override reason)".into(),
            ));
        }
        let credit: Decimal = items.iter().map(|i| i.amount).sum::<Decimal>().normalize();
        let now = Utc::now();
        let dispute = Dispute {
            id: Uuid::now_v7(),
            invoice_id: id,
            opened_by: caller.principal.account_id(),
            message,
            items,
            currency: invoice
                .currency
                .clone()
                .unwrap_or_else(|| money::DEFAULT_CURRENCY.to_owned()),
            credit_requested: credit,
            status: DisputeStatus::Open,
            answer: None,
            answered_by: None,
            answered_at: None,
            created_at: now,
        };
        let txn = begin_write(&self.db).await?;
        repository::insert_dispute(
            &txn,
            invoice_disputes::ActiveModel {
                id: Set(dispute.id),
                invoice_id: Set(id),
                opened_by: Set(dispute.opened_by),
                message: Set(dispute.message.clone()),
                items: Set(json!(dispute.items)),
                currency: Set(dispute.currency.clone()),
                credit_requested_milli: Set(to_milli(credit).map_err(|e| {
                    AppError::Internal(anyhow::anyhow!("credit of {credit}: {}", e.rule()))
                })?),
                status: Set(DisputeStatus::Open.as_str().to_owned()),
                answer: Set(None),
                answered_by: Set(None),
                answered_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            },
        )
        .await?;
        transition(
            &txn,
            invoices::ActiveModel {
                id: Set(id),
                status: Set(InvoiceStatus::Disputed.as_str().to_owned()),
                updated_at: Set(now),
                ..Default::default()
            },
            &[InvoiceStatus::NeedsReview],
        )
        .await?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.dispute",
                entity: "invoice",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "status": invoice.status.as_str() })),
                after: Some(json!({
                    "status": "DISPUTED",
                    "disputeId": dispute.id,
                    "creditRequested": credit.to_string(),
                })),
            },
        )
        .await?;
        let mut disputed = invoice.clone();
        disputed.status = InvoiceStatus::Disputed;
        outbox::record(
            &txn,
            outbox::INVOICE_DISPUTED,
            "invoice",
            id,
            json!({ "invoice": payload(&disputed), "dispute": dispute_payload(&dispute) }),
            now,
        )
        .await?;
        txn.commit().await?;
        self.deps.waker.wake();
        Ok(dispute)
    }

    /// The supplier's answer to a dispute (its members): accepted (a credit note will follow)
    /// or rejected with a reason. The invoice goes back to the restaurant's review.
    pub async fn answer_dispute(
        &self,
        caller: &Caller,
        dispute_id: Uuid,
        accept: bool,
        reason: Option<String>,
    ) -> Result<Dispute, AppError> {
        signed_in(caller)?;
        let dispute = repository::find_dispute(&self.db, dispute_id)
            .await?
            .ok_or_else(|| AppError::not_found("Invoice dispute", dispute_id))?;
        let invoice = self
            .get(caller, dispute.invoice_id)
            .await
            .map_err(|_| AppError::not_found("Invoice dispute", dispute_id))?;
        let p = &caller.principal;
        if !(p.is_admin() || p.supplier_role(invoice.supplier_id).is_some()) {
            return Err(AppError::Forbidden(
                "only the supplier's members (and admins) answer disputes of its invoices".into(),
            ));
        }
        let reason = match reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => {
                Some(validation::text(r, 2000).map_err(|e| AppError::validation("reason", e))?)
            }
            _ => None,
        };
        if !accept && reason.is_none() {
            return Err(AppError::validation(
                "reason",
                "is required when rejecting a dispute",
            ));
        }
        let status = if accept {
            DisputeStatus::Accepted
        } else {
            DisputeStatus::Rejected
        };
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        if !repository::answer_dispute(
            &txn,
            dispute_id,
            status,
            reason.clone(),
            p.account_id(),
            now,
        )
        .await?
        {
            return Err(AppError::Conflict("the dispute is answered already".into()));
        }
        transition(
            &txn,
            invoices::ActiveModel {
                id: Set(invoice.id),
                status: Set(InvoiceStatus::NeedsReview.as_str().to_owned()),
                updated_at: Set(now),
                ..Default::default()
            },
            &[InvoiceStatus::Disputed],
        )
        .await?;
        audit::record(
            &txn,
            caller,
            p.account_id(),
            AuditEntry {
                action: "invoice.dispute.answer",
                entity: "invoice_dispute",
                entity_id: Some(dispute_id.to_string()),
                before: Some(json!({ "status": "OPEN" })),
                after: Some(json!({ "status": status.as_str(), "reason": reason })),
            },
        )
        .await?;
        let answered = repository::find_dispute(&txn, dispute_id)
            .await?
            .ok_or_else(|| AppError::not_found("Invoice dispute", dispute_id))?;
        let mut reviewed = invoice.clone();
        reviewed.status = InvoiceStatus::NeedsReview;
        outbox::record(
            &txn,
            outbox::INVOICE_DISPUTE_ANSWERED,
            "invoice",
            invoice.id,
            json!({ "invoice": payload(&reviewed), "dispute": dispute_payload(&answered) }),
            now,
        )
        .await?;
        txn.commit().await?;
        self.deps.waker.wake();
        Ok(answered)
    }

    /// Corrects (or adds, with the next line number) one line of an invoice, by a member of
    /// either party; the invoice is reconciled again.
    pub async fn correct_line(
        &self,
        caller: &Caller,
        id: Uuid,
        line_number: i32,
        correction: LineCorrection,
    ) -> Result<Invoice, AppError> {
        let invoice = self.get(caller, id).await?;
        match invoice.status {
            InvoiceStatus::Approved => {
                return Err(AppError::Conflict(
                    "an approved invoice is not corrected".into(),
                ));
            }
            InvoiceStatus::Disputed => {
                return Err(AppError::Conflict(
                    "the invoice's dispute is open: wait for the supplier's answer".into(),
                ));
            }
            InvoiceStatus::Uploaded | InvoiceStatus::Extracted => {
                return Err(AppError::Conflict(
                    "the invoice is still being read: correct it once it is read".into(),
                ));
            }
            InvoiceStatus::Matched | InvoiceStatus::NeedsReview => {}
        }
        let lines = repository::lines_of(&self.db, &[id]).await?;
        let next = lines.iter().map(|l| l.line_number).max().unwrap_or(0) + 1;
        let existing = repository::line(&self.db, id, line_number).await?;
        if existing.is_none() && line_number != next {
            return Err(AppError::validation(
                "lineNumber",
                format!("must be an existing line, or {next} to add one"),
            ));
        }
        let mut v = Violations::default();
        let sku = match correction.sku.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(s) => v.check("sku", validation::text(s, 64)).map(Some),
            None => None,
        };
        let description = correction
            .description
            .as_deref()
            .and_then(|d| v.check("description", validation::text(d.trim(), 500)));
        if description.as_deref() == Some("") {
            v.check::<()>("description", Err("must not be empty".into()));
        }
        let positive = |field: &str, value: Option<Decimal>, v: &mut Violations| {
            value.and_then(|d| {
                let m = milli(field, d, v)?;
                if m <= 0 {
                    v.check::<()>(field, Err("must be more than 0".into()));
                    return None;
                }
                Some(d)
            })
        };
        let quantity = positive("quantity", correction.quantity, &mut v);
        let unit_price = positive("unitPrice", correction.unit_price, &mut v);
        let tax_rate = correction.tax_rate.and_then(|r| {
            v.check(
                "taxRate",
                (r >= Decimal::ZERO && r <= Decimal::from(100) && to_bp(r).is_some())
                    .then_some(r)
                    .ok_or_else(|| {
                        "must be a percentage from 0 to 100 with at most 2 decimals".to_owned()
                    }),
            )
        });
        if existing.is_none() {
            for (field, missing) in [
                ("description", description.is_none()),
                ("quantity", quantity.is_none()),
                ("unitPrice", unit_price.is_none()),
            ] {
                if missing {
                    v.check::<()>(field, Err("is required for a new line".into()));
                }
            }
        }
        v.finish()?;
        let now = Utc::now();
        let before = lines.iter().find(|l| l.line_number == line_number).cloned();
        let mut line = before.clone().unwrap_or_else(|| InvoiceLine {
            id: Uuid::now_v7(),
            invoice_id: id,
            line_number,
            sku: None,
            gtin: None,
            description: String::new(),
            unit: None,
            quantity: Decimal::ONE,
            unit_price: Decimal::ZERO,
            line_total: Decimal::ZERO,
            tax_rate: None,
            source: Source::Manual,
            confidence: Decimal::ONE,
            order_line_id: None,
            product_id: None,
            matched_by: None,
            outcome: None,
            expected_quantity: None,
            expected_unit_price: None,
            corrected_by: None,
            corrected_at: None,
        });
        if let Some(sku) = sku {
            line.sku = sku;
        }
        if let Some(description) = description {
            line.description = description;
        }
        if let Some(quantity) = quantity {
            line.quantity = quantity;
        }
        if let Some(unit_price) = unit_price {
            line.unit_price = unit_price;
        }
        if tax_rate.is_some() {
            line.tax_rate = tax_rate;
        }
        line.line_total = line_amount(line.quantity, line.unit_price);
        line.source = Source::Manual;
        line.confidence = Decimal::ONE;
        line.corrected_by = caller.principal.account_id();
        line.corrected_at = Some(now);
        let summary = |l: &InvoiceLine| {
            json!({
                "sku": l.sku, "description": l.description, "quantity": l.quantity.to_string(),
                "unitPrice": l.unit_price.to_string(),
                "taxRate": l.tax_rate.map(|r| r.to_string()),
            })
        };
        let txn = begin_write(&self.db).await?;
        if existing.is_some() {
            repository::update_line(&txn, line_row(id, line_number, &line)).await?;
        } else {
            repository::replace_lines(
                &txn,
                id,
                lines
                    .iter()
                    .chain(std::iter::once(&line))
                    .map(|l| line_row(id, l.line_number, l))
                    .collect(),
            )
            .await?;
        }
        // The document's own totals no longer hold once a line changed: the lines decide.
        transition(
            &txn,
            invoices::ActiveModel {
                id: Set(id),
                status: Set(InvoiceStatus::Extracted.as_str().to_owned()),
                source: Set(Some(
                    invoice.source.unwrap_or(Source::Manual).as_str().to_owned(),
                )),
                currency: Set(Some(
                    invoice
                        .currency
                        .clone()
                        .unwrap_or_else(|| money::DEFAULT_CURRENCY.to_owned()),
                )),
                subtotal_milli: Set(None),
                tax_milli: Set(None),
                total_milli: Set(None),
                updated_at: Set(now),
                ..Default::default()
            },
            &[invoice.status],
        )
        .await?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.line.correct",
                entity: "invoice",
                entity_id: Some(id.to_string()),
                before: before.as_ref().map(summary),
                after: Some(json!({ "lineNumber": line_number, "line": summary(&line) })),
            },
        )
        .await?;
        txn.commit().await?;
        self.reconcile_invoice(id).await?;
        self.get(caller, id).await
    }

    /// Reads an invoice that needs review again from its document (after its supplier added
    /// a template, say), by a member of either party. Corrections by hand are replaced by
    /// what is read. Audited.
    pub async fn extract_again(&self, caller: &Caller, id: Uuid) -> Result<Invoice, AppError> {
        let invoice = self.get(caller, id).await?;
        if invoice.status != InvoiceStatus::NeedsReview {
            return Err(AppError::Conflict(format!(
                "only an invoice that needs review is read again; this one is {}",
                invoice.status.as_str()
            )));
        }
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        transition(
            &txn,
            invoices::ActiveModel {
                id: Set(id),
                status: Set(InvoiceStatus::Uploaded.as_str().to_owned()),
                review_reason: Set(None),
                claimed_at: Set(None),
                extraction: Set(json!({ "progress": progress("READING", 0) })),
                updated_at: Set(now),
                ..Default::default()
            },
            &[InvoiceStatus::NeedsReview],
        )
        .await?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.extract_again",
                entity: "invoice",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "status": invoice.status.as_str() })),
                after: Some(json!({ "status": "UPLOADED" })),
            },
        )
        .await?;
        txn.commit().await?;
        self.start_extraction(id);
        self.get(caller, id).await
    }

    /// Per supplier: (invoices that matched their order the first time, invoices reconciled
    /// against an order) — supplier metrics' invoice accuracy.
    pub async fn first_time_matches(
        &self,
        suppliers: &[Uuid],
    ) -> Result<HashMap<Uuid, (i64, i64)>, AppError> {
        repository::first_time_matches(&self.db, suppliers).await
    }

    /// Members of the supplier (and admins) keep its templates.
    fn template_keeper(&self, caller: &Caller, supplier: Uuid) -> Result<(), AppError> {
        signed_in(caller)?;
        let p = &caller.principal;
        if p.is_admin() || p.supplier_role(supplier).is_some() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only the supplier's members (and admins) keep its invoice templates".into(),
            ))
        }
    }

    /// A supplier's invoice templates, oldest first (the first that matches reads).
    pub async fn templates(
        &self,
        caller: &Caller,
        supplier: Uuid,
    ) -> Result<Vec<Template>, AppError> {
        self.template_keeper(caller, supplier)?;
        repository::templates_of(&self.db, supplier).await
    }

    /// Creates a template of `supplier`, or replaces template `id`'s content. Audited.
    pub async fn save_template(
        &self,
        caller: &Caller,
        supplier: Uuid,
        id: Option<Uuid>,
        input: TemplateInput,
    ) -> Result<Template, AppError> {
        self.template_keeper(caller, supplier)?;
        if self.deps.suppliers.by_ids(&[supplier]).await?.is_empty() {
            return Err(AppError::not_found("Supplier", supplier));
        }
        let before = match id {
            Some(id) => Some(
                repository::find_template(&self.db, id)
                    .await?
                    .filter(|t| t.supplier_id == supplier)
                    .ok_or_else(|| AppError::not_found("Invoice template", id))?,
            ),
            None => None,
        };
        let input = templates::validate(&input)?;
        let id = id.unwrap_or_else(Uuid::now_v7);
        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        repository::save_template(
            &txn,
            id,
            supplier,
            &input,
            caller.principal.account_id(),
            now,
            before.is_none(),
        )
        .await?;
        let summary = |name: &str, keywords: &[String], line: &str| json!({ "name": name, "keywords": keywords, "linePattern": line });
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.template.save",
                entity: "invoice_template",
                entity_id: Some(id.to_string()),
                before: before
                    .as_ref()
                    .map(|t| summary(&t.name, &t.keywords, &t.line_pattern)),
                after: Some(summary(&input.name, &input.keywords, &input.line_pattern)),
            },
        )
        .await?;
        txn.commit().await?;
        repository::find_template(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Invoice template", id))
    }

    /// Replaces template `id`'s content (its supplier's members, admins). Audited.
    pub async fn update_template(
        &self,
        caller: &Caller,
        id: Uuid,
        input: TemplateInput,
    ) -> Result<Template, AppError> {
        signed_in(caller)?;
        let template = repository::find_template(&self.db, id)
            .await?
            .filter(|t| self.template_keeper(caller, t.supplier_id).is_ok())
            .ok_or_else(|| AppError::not_found("Invoice template", id))?;
        self.save_template(caller, template.supplier_id, Some(id), input)
            .await
    }

    /// Deletes a template (soft). Audited.
    pub async fn delete_template(&self, caller: &Caller, id: Uuid) -> Result<Template, AppError> {
        signed_in(caller)?;
        let template = repository::find_template(&self.db, id)
            .await?
            .filter(|t| self.template_keeper(caller, t.supplier_id).is_ok())
            .ok_or_else(|| AppError::not_found("Invoice template", id))?;
        let txn = begin_write(&self.db).await?;
        repository::delete_template(&txn, id, Utc::now()).await?;
        audit::record(
            &txn,
            caller,
            caller.principal.account_id(),
            AuditEntry {
                action: "invoice.template.delete",
                entity: "invoice_template",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "name": template.name })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(template)
    }

    /// Deletes invoices created before `cutoff` (the financial retention period) with their
    /// lines and disputes, and their documents where no other invoice holds them; returns
    /// (invoices, documents) deleted.
    pub async fn purge_created_before(
        &self,
        cutoff: chrono::DateTime<Utc>,
    ) -> Result<(u64, u64), AppError> {
        let txn = begin_write(&self.db).await?;
        let keys = repository::purge_created_before(&txn, cutoff).await?;
        let invoices = keys.len() as u64;
        let free = repository::unreferenced(&txn, keys).await?;
        txn.commit().await?;
        for key in &free {
            self.deps.storage.delete(key).await?;
        }
        Ok((invoices, free.len() as u64))
    }
}

/// An invoice as read, ready to be compared with its order.
struct ReadInvoice {
    invoice: Invoice,
    lines: Vec<InvoiceLine>,
    /// Why the reading needs a person's eye, if it does (low confidence).
    uncertain: Option<String>,
    /// Its stored lines go first (it was read before).
    replace_lines: bool,
    started: Instant,
}

/// What reading a document gave: its content or why not, and the text read from a PDF or a
/// scan (shown to members writing a template).
struct Reading {
    result: Result<Extracted, (&'static str, Unreadable)>,
    text: Option<String>,
}

/// Writes `row` in `txn` while the invoice is still in one of `from` (as the caller read it);
/// CONFLICT when another change got there first, and the transaction goes no further.
async fn transition(
    txn: &impl sea_orm::ConnectionTrait,
    row: invoices::ActiveModel,
    from: &[InvoiceStatus],
) -> Result<(), AppError> {
    if repository::update_in(txn, row, from).await? {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "the invoice changed meanwhile: read it again and retry".into(),
        ))
    }
}

/// `items` grouped by their invoice, in their order.
fn by_invoice<T>(items: Vec<T>, invoice: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut by: HashMap<Uuid, Vec<T>> = HashMap::new();
    for item in items {
        by.entry(invoice(&item)).or_default().push(item);
    }
    by
}

/// Text kept with an invoice's extraction: the first 20,000 characters.
fn shown_text(text: &str) -> String {
    text.chars().take(20_000).collect()
}

fn dispute_payload(dispute: &Dispute) -> serde_json::Value {
    json!({
        "id": dispute.id,
        "status": dispute.status.as_str(),
        "message": dispute.message,
        "creditRequested": dispute.credit_requested.to_string(),
        "currency": dispute.currency,
        "items": dispute.items,
        "answer": dispute.answer,
    })
}

/// What a restaurant asks back: each line charged above the order (price or quantity), and
/// each line not ordered, before VAT, to the cent.
fn credit_items(lines: &[InvoiceLine], reconciled: bool) -> Vec<DisputeItem> {
    let cents = |d: Decimal| {
        d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    lines
        .iter()
        .filter_map(|l| {
            let outcome = l
                .outcome
                .or((!reconciled).then_some(LineOutcome::NotOrdered))?;
            let amount = match outcome {
                // What was charged over the lesser of what was ordered and what was invoiced, at
                // the lesser price (both may be off).
                LineOutcome::PriceMismatch | LineOutcome::QuantityMismatch => {
                    let quantity = l.quantity.min(l.expected_quantity?);
                    let price = l.unit_price.min(l.expected_unit_price?);
                    l.line_total - cents(quantity * price)
                }
                LineOutcome::NotOrdered => l.line_total,
                LineOutcome::Matched | LineOutcome::MissingFromInvoice => return None,
            };
            (amount > Decimal::ZERO).then(|| DisputeItem {
                line_number: Some(l.line_number),
                description: l.description.clone(),
                outcome: outcome.as_str().to_owned(),
                invoiced_quantity: Some(l.quantity),
                invoiced_unit_price: Some(l.unit_price),
                expected_quantity: l.expected_quantity,
                expected_unit_price: l.expected_unit_price,
                amount: amount.normalize(),
            })
        })
        .collect()
}
