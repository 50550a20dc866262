//! Storage of invoices, their lines, disputes and suppliers' invoicing settings. Amounts and
//! quantities are thousandths in `BIGINT`, VAT rates basis points, confidences per mille.

use chrono::{DateTime, Utc};
use entity::{invoice_disputes, invoice_lines, invoice_settings, invoice_templates, invoices};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

use super::{
    Dispute, DisputeItem, DisputeStatus, DocumentRef, Invoice, InvoiceFilter, InvoiceLine,
    InvoiceStatus, Source,
    reconcile::{LineOutcome, MatchedBy},
    templates::{Template, TemplateInput},
};
use crate::{
    domain::{
        kernel::{
            money::from_milli,
            pagination::{Direction, Page, PageRequest},
        },
        repository::{SortOrder, fetch_page},
    },
    error::AppError,
};

/// Percent → basis points (`12.5` → 1250); `None` when it is not a whole number of them.
pub(super) fn to_bp(rate: Decimal) -> Option<i32> {
    use rust_decimal::prelude::ToPrimitive;
    let bp = rate * Decimal::from(100);
    bp.fract().is_zero().then(|| bp.to_i32()).flatten()
}

fn from_bp(bp: i32) -> Decimal {
    (Decimal::from(bp) / Decimal::from(100)).normalize()
}

fn permille(confidence: i32) -> Decimal {
    (Decimal::from(confidence) / Decimal::from(1000)).normalize()
}

pub(super) fn to_invoice(m: invoices::Model) -> Invoice {
    Invoice {
        id: m.id,
        supplier_id: m.supplier_id,
        restaurant_id: m.restaurant_id,
        order_id: m.order_id,
        uploaded_by: m.uploaded_by,
        document: DocumentRef {
            key: m.document_key,
            sha256: m.document_sha256,
            kind: m.document_kind,
            size: m.document_size,
            file_name: m.file_name,
        },
        status: InvoiceStatus::parse(&m.status).unwrap_or(InvoiceStatus::NeedsReview),
        source: m.source.as_deref().and_then(Source::parse),
        review_reason: m.review_reason,
        invoice_number: m.invoice_number,
        issue_date: m.issue_date,
        due_date: m.due_date,
        order_reference: m.order_reference,
        currency: m.currency,
        subtotal: m.subtotal_milli.map(from_milli),
        tax: m.tax_milli.map(from_milli),
        total: m.total_milli.map(from_milli),
        confidence: m.confidence_permille.map(permille),
        extraction: m.extraction,
        reconciliation: m.reconciliation,
        matched_first_time: m.matched_first_time,
        approved_by: m.approved_by,
        approved_at: m.approved_at,
        override_reason: m.override_reason,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn to_line(m: invoice_lines::Model) -> InvoiceLine {
    InvoiceLine {
        id: m.id,
        invoice_id: m.invoice_id,
        line_number: m.line_number,
        sku: m.sku,
        gtin: m.gtin,
        description: m.description,
        unit: m.unit,
        quantity: from_milli(m.quantity_milli),
        unit_price: from_milli(m.unit_price_milli),
        line_total: from_milli(m.line_total_milli),
        tax_rate: m.tax_rate_bp.map(from_bp),
        source: Source::parse(&m.source).unwrap_or(Source::Manual),
        confidence: permille(m.confidence_permille),
        order_line_id: m.order_line_id,
        product_id: m.product_id,
        matched_by: m.matched_by.as_deref().and_then(MatchedBy::parse),
        outcome: m.outcome.as_deref().and_then(LineOutcome::parse),
        expected_quantity: m.expected_quantity_milli.map(from_milli),
        expected_unit_price: m.expected_unit_price_milli.map(from_milli),
        corrected_by: m.corrected_by,
        corrected_at: m.corrected_at,
    }
}

fn to_dispute(m: invoice_disputes::Model) -> Dispute {
    Dispute {
        id: m.id,
        invoice_id: m.invoice_id,
        opened_by: m.opened_by,
        message: m.message,
        items: serde_json::from_value::<Vec<DisputeItem>>(m.items).unwrap_or_default(),
        currency: m.currency,
        credit_requested: from_milli(m.credit_requested_milli),
        status: DisputeStatus::parse(&m.status).unwrap_or(DisputeStatus::Open),
        answer: m.answer,
        answered_by: m.answered_by,
        answered_at: m.answered_at,
        created_at: m.created_at,
    }
}

/// Inserts an invoice; `false` when the same document is already there for the parties.
pub(super) async fn insert_invoice(
    db: &impl ConnectionTrait,
    row: invoices::ActiveModel,
) -> Result<bool, AppError> {
    // ON CONFLICT DO NOTHING rather than a caught violation: on Postgres a violation would
    // abort the transaction the upload goes on in.
    let inserted = invoices::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                invoices::Column::SupplierId,
                invoices::Column::RestaurantId,
                invoices::Column::DocumentSha256,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

pub(super) async fn find_by_document(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    restaurant: Uuid,
    sha256: &str,
) -> Result<Option<Invoice>, AppError> {
    Ok(invoices::Entity::find()
        .filter(invoices::Column::SupplierId.eq(supplier))
        .filter(invoices::Column::RestaurantId.eq(restaurant))
        .filter(invoices::Column::DocumentSha256.eq(sha256))
        .filter(invoices::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_invoice))
}

pub(super) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Invoice>, AppError> {
    Ok(invoices::Entity::find_by_id(id)
        .filter(invoices::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_invoice))
}

/// Whose invoices a caller may list.
pub(super) enum Scope {
    All,
    Of {
        restaurants: Vec<Uuid>,
        suppliers: Vec<Uuid>,
    },
}

pub(super) async fn list(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &InvoiceFilter,
    page: &PageRequest,
) -> Result<Page<Invoice>, AppError> {
    let mut select = invoices::Entity::find().filter(invoices::Column::DeletedAt.is_null());
    if let Scope::Of {
        restaurants,
        suppliers,
    } = scope
    {
        select = select.filter(
            Condition::any()
                .add(invoices::Column::RestaurantId.is_in(restaurants))
                .add(invoices::Column::SupplierId.is_in(suppliers)),
        );
    }
    if !filter.statuses.is_empty() {
        select = select
            .filter(invoices::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(id) = filter.supplier_id {
        select = select.filter(invoices::Column::SupplierId.eq(id));
    }
    if let Some(id) = filter.restaurant_id {
        select = select.filter(invoices::Column::RestaurantId.eq(id));
    }
    if let Some(id) = filter.order_id {
        select = select.filter(invoices::Column::OrderId.eq(id));
    }
    let sort = SortOrder::<invoices::Model>::new("invoices.createdAt", Direction::Desc)
        .time(invoices::Column::CreatedAt, |i| i.created_at)
        .id(invoices::Column::Id, |i| i.id);
    fetch_page(db, select, page, sort, to_invoice).await
}

pub(super) async fn lines_of(
    db: &impl ConnectionTrait,
    invoice_ids: &[Uuid],
) -> Result<Vec<InvoiceLine>, AppError> {
    if invoice_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::InvoiceId.is_in(invoice_ids.iter().copied()))
        .order_by_asc(invoice_lines::Column::InvoiceId)
        .order_by_asc(invoice_lines::Column::LineNumber)
        .all(db)
        .await?
        .into_iter()
        .map(to_line)
        .collect())
}

pub(super) async fn disputes_of(
    db: &impl ConnectionTrait,
    invoice_ids: &[Uuid],
) -> Result<Vec<Dispute>, AppError> {
    if invoice_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(invoice_disputes::Entity::find()
        .filter(invoice_disputes::Column::InvoiceId.is_in(invoice_ids.iter().copied()))
        .order_by_asc(invoice_disputes::Column::CreatedAt)
        .order_by_asc(invoice_disputes::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_dispute)
        .collect())
}

pub(super) async fn find_dispute(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Dispute>, AppError> {
    Ok(invoice_disputes::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_dispute))
}

/// Takes UPLOADED invoices for extraction — unclaimed, or claimed before `stale` (their
/// extraction died) — recording `extraction` (their progress), and returns those taken (not
/// those another extraction holds or that moved on). One statement (`UPDATE … RETURNING`).
pub(super) async fn claim(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    now: DateTime<Utc>,
    stale: DateTime<Utc>,
    extraction: serde_json::Value,
) -> Result<Vec<Invoice>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let taken = invoices::Entity::update_many()
        .col_expr(invoices::Column::ClaimedAt, now.into())
        .col_expr(invoices::Column::Extraction, extraction.into())
        .col_expr(invoices::Column::UpdatedAt, now.into())
        .filter(invoices::Column::Id.is_in(ids.iter().copied()))
        .filter(invoices::Column::Status.eq(InvoiceStatus::Uploaded.as_str()))
        .filter(invoices::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(invoices::Column::ClaimedAt.is_null())
                .add(invoices::Column::ClaimedAt.lt(stale)),
        )
        .exec_with_returning(db)
        .await?;
    Ok(taken.into_iter().map(to_invoice).collect())
}

/// UPLOADED invoices nobody is extracting (never claimed, or claimed before `stale`), oldest
/// first.
pub(super) async fn waiting(
    db: &impl ConnectionTrait,
    created_before: DateTime<Utc>,
    stale: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>, AppError> {
    Ok(invoices::Entity::find()
        .select_only()
        .column(invoices::Column::Id)
        .filter(invoices::Column::Status.eq(InvoiceStatus::Uploaded.as_str()))
        .filter(invoices::Column::DeletedAt.is_null())
        .filter(invoices::Column::CreatedAt.lt(created_before))
        .filter(
            Condition::any()
                .add(invoices::Column::ClaimedAt.is_null())
                .add(invoices::Column::ClaimedAt.lt(stale)),
        )
        .order_by_asc(invoices::Column::CreatedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// EXTRACTED invoices unchanged since `before`: a correction whose comparison never finished.
pub(super) async fn stuck_extracted(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>, AppError> {
    Ok(invoices::Entity::find()
        .select_only()
        .column(invoices::Column::Id)
        .filter(invoices::Column::Status.eq(InvoiceStatus::Extracted.as_str()))
        .filter(invoices::Column::DeletedAt.is_null())
        .filter(invoices::Column::UpdatedAt.lt(before))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Records extraction progress.
pub(super) async fn set_extraction(
    db: &impl ConnectionTrait,
    id: Uuid,
    extraction: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // Progress renews the claim: a slow extraction is not taken for a dead one.
    invoices::Entity::update_many()
        .col_expr(invoices::Column::Extraction, extraction.into())
        .col_expr(invoices::Column::ClaimedAt, Some(now).into())
        .col_expr(invoices::Column::UpdatedAt, now.into())
        .filter(invoices::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Writes `row` only while the invoice is in one of `from`: `false` when it is not (any
/// more) — another change got there first.
pub(super) async fn update_in(
    db: &impl ConnectionTrait,
    row: invoices::ActiveModel,
    from: &[InvoiceStatus],
) -> Result<bool, AppError> {
    let id = match &row.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => *id,
        sea_orm::ActiveValue::NotSet => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "an invoice update without its id"
            )));
        }
    };
    let result = invoices::Entity::update_many()
        .set(row)
        .filter(invoices::Column::Id.eq(id))
        .filter(invoices::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .filter(invoices::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces an invoice's lines.
pub(super) async fn replace_lines(
    db: &impl ConnectionTrait,
    invoice: Uuid,
    lines: Vec<invoice_lines::ActiveModel>,
) -> Result<(), AppError> {
    delete_lines(db, &[invoice]).await?;
    insert_lines(db, lines).await
}

/// Deletes the lines of `invoices`.
pub(super) async fn delete_lines(
    db: &impl ConnectionTrait,
    invoices: &[Uuid],
) -> Result<(), AppError> {
    for chunk in invoices.chunks(1000) {
        invoice_lines::Entity::delete_many()
            .filter(invoice_lines::Column::InvoiceId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Inserts lines, in statements of at most 500 rows (SQLite allows 32,766 parameters, a line
/// has 22).
pub(super) async fn insert_lines(
    db: &impl ConnectionTrait,
    lines: Vec<invoice_lines::ActiveModel>,
) -> Result<(), AppError> {
    let mut lines = lines.into_iter().peekable();
    while lines.peek().is_some() {
        let chunk: Vec<_> = lines.by_ref().take(500).collect();
        invoice_lines::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

pub(super) async fn update_line(
    db: &impl ConnectionTrait,
    row: invoice_lines::ActiveModel,
) -> Result<(), AppError> {
    invoice_lines::Entity::update(row).exec(db).await?;
    Ok(())
}

pub(super) async fn line(
    db: &impl ConnectionTrait,
    invoice: Uuid,
    line_number: i32,
) -> Result<Option<invoice_lines::Model>, AppError> {
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::InvoiceId.eq(invoice))
        .filter(invoice_lines::Column::LineNumber.eq(line_number))
        .one(db)
        .await?)
}

pub(super) async fn insert_dispute(
    db: &impl ConnectionTrait,
    row: invoice_disputes::ActiveModel,
) -> Result<(), AppError> {
    invoice_disputes::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Answers an OPEN dispute; `false` when it was answered already.
pub(super) async fn answer_dispute(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: DisputeStatus,
    answer: Option<String>,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let result = invoice_disputes::Entity::update_many()
        .col_expr(invoice_disputes::Column::Status, status.as_str().into())
        .col_expr(invoice_disputes::Column::Answer, answer.into())
        .col_expr(invoice_disputes::Column::AnsweredBy, by.into())
        .col_expr(invoice_disputes::Column::AnsweredAt, Some(now).into())
        .col_expr(invoice_disputes::Column::UpdatedAt, now.into())
        .filter(invoice_disputes::Column::Id.eq(id))
        .filter(invoice_disputes::Column::Status.eq(DisputeStatus::Open.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The live invoices reconciled with `orders`: (order, invoice, its number).
pub(super) async fn invoices_of_orders(
    db: &impl ConnectionTrait,
    orders: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, Option<String>)>, AppError> {
    let mut found = Vec::new();
    for chunk in orders.chunks(1000) {
        let rows: Vec<(Option<Uuid>, Uuid, Option<String>)> = invoices::Entity::find()
            .select_only()
            .column(invoices::Column::OrderId)
            .column(invoices::Column::Id)
            .column(invoices::Column::InvoiceNumber)
            .filter(invoices::Column::OrderId.is_in(chunk.iter().copied()))
            .filter(invoices::Column::DeletedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        found.extend(
            rows.into_iter()
                .filter_map(|(order, id, number)| order.map(|o| (o, id, number))),
        );
    }
    Ok(found)
}

/// Orders already reconciled with another live invoice.
pub(super) async fn invoiced_orders(
    db: &impl ConnectionTrait,
    orders: &[Uuid],
    except: Uuid,
) -> Result<Vec<Uuid>, AppError> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Option<Uuid>> = invoices::Entity::find()
        .select_only()
        .column(invoices::Column::OrderId)
        .filter(invoices::Column::OrderId.is_in(orders.iter().copied()))
        .filter(invoices::Column::Id.ne(except))
        .filter(invoices::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// A supplier's tolerance in ppm, if it set one.
pub(super) async fn tolerance_of(
    db: &impl ConnectionTrait,
    supplier: Uuid,
) -> Result<Option<u32>, AppError> {
    Ok(tolerances_of(db, &[supplier]).await?.remove(&supplier))
}

/// The tolerances (ppm) the `suppliers` set.
pub(super) async fn tolerances_of(
    db: &impl ConnectionTrait,
    suppliers: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, u32>, AppError> {
    if suppliers.is_empty() {
        return Ok(Default::default());
    }
    Ok(invoice_settings::Entity::find()
        .filter(invoice_settings::Column::SupplierId.is_in(suppliers.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.supplier_id, s.tolerance_ppm.max(0) as u32))
        .collect())
}

pub(super) async fn set_tolerance(
    db: &impl ConnectionTrait,
    supplier: Uuid,
    ppm: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    invoice_settings::Entity::insert(invoice_settings::ActiveModel {
        supplier_id: Set(supplier),
        tolerance_ppm: Set(ppm as i32),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(invoice_settings::Column::SupplierId)
            .update_columns([
                invoice_settings::Column::TolerancePpm,
                invoice_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Invoices created before `cutoff` (past the financial retention period): deleted with their
/// lines and disputes; returns the document keys they held.
pub(super) async fn purge_created_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let old: Vec<(Uuid, String)> = invoices::Entity::find()
        .select_only()
        .column(invoices::Column::Id)
        .column(invoices::Column::DocumentKey)
        .filter(invoices::Column::CreatedAt.lt(cutoff))
        .into_tuple()
        .all(db)
        .await?;
    if old.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = old.iter().map(|(id, _)| *id).collect();
    for chunk in ids.chunks(500) {
        invoice_lines::Entity::delete_many()
            .filter(invoice_lines::Column::InvoiceId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
        invoice_disputes::Entity::delete_many()
            .filter(invoice_disputes::Column::InvoiceId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
        invoices::Entity::delete_many()
            .filter(invoices::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(old.into_iter().map(|(_, key)| key).collect())
}

/// Of `keys`, those no remaining invoice refers to (their documents may go).
pub(super) async fn unreferenced(
    db: &impl ConnectionTrait,
    keys: Vec<String>,
) -> Result<Vec<String>, AppError> {
    let mut free = Vec::new();
    for chunk in keys.chunks(500) {
        let held: Vec<String> = invoices::Entity::find()
            .select_only()
            .column(invoices::Column::DocumentKey)
            .filter(invoices::Column::DocumentKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        free.extend(chunk.iter().filter(|k| !held.contains(k)).cloned());
    }
    free.sort();
    free.dedup();
    Ok(free)
}

fn to_template(m: invoice_templates::Model) -> Template {
    Template {
        id: m.id,
        supplier_id: m.supplier_id,
        name: m.name,
        keywords: serde_json::from_value(m.keywords).unwrap_or_default(),
        fields: serde_json::from_value(m.fields).unwrap_or_default(),
        line_pattern: m.line_pattern,
        lines_start: m.lines_start,
        lines_end: m.lines_end,
        updated_at: m.updated_at,
    }
}

/// A supplier's live templates, oldest first (the first that matches a document reads it).
pub(super) async fn templates_of(
    db: &impl ConnectionTrait,
    supplier: Uuid,
) -> Result<Vec<Template>, AppError> {
    Ok(invoice_templates::Entity::find()
        .filter(invoice_templates::Column::SupplierId.eq(supplier))
        .filter(invoice_templates::Column::DeletedAt.is_null())
        .order_by_asc(invoice_templates::Column::CreatedAt)
        .order_by_asc(invoice_templates::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_template)
        .collect())
}

pub(super) async fn find_template(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Template>, AppError> {
    Ok(invoice_templates::Entity::find_by_id(id)
        .filter(invoice_templates::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_template))
}

/// Inserts or replaces a template's content.
pub(super) async fn save_template(
    db: &impl ConnectionTrait,
    id: Uuid,
    supplier: Uuid,
    input: &TemplateInput,
    by: Option<Uuid>,
    now: DateTime<Utc>,
    new: bool,
) -> Result<(), AppError> {
    let row = invoice_templates::ActiveModel {
        id: Set(id),
        supplier_id: Set(supplier),
        name: Set(input.name.clone()),
        keywords: Set(serde_json::json!(input.keywords)),
        fields: Set(serde_json::json!(input.fields)),
        line_pattern: Set(input.line_pattern.clone()),
        lines_start: Set(input.lines_start.clone()),
        lines_end: Set(input.lines_end.clone()),
        updated_by: Set(by),
        created_at: if new { Set(now) } else { Default::default() },
        updated_at: Set(now),
        deleted_at: if new { Set(None) } else { Default::default() },
    };
    if new {
        invoice_templates::Entity::insert(row)
            .exec_without_returning(db)
            .await?;
    } else {
        invoice_templates::Entity::update(row).exec(db).await?;
    }
    Ok(())
}

pub(super) async fn delete_template(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    invoice_templates::Entity::update_many()
        .col_expr(invoice_templates::Column::DeletedAt, Some(now).into())
        .col_expr(invoice_templates::Column::UpdatedAt, now.into())
        .filter(invoice_templates::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Per supplier: (reconciled invoices that matched the first time, reconciled invoices).
pub(super) async fn first_time_matches(
    db: &impl ConnectionTrait,
    suppliers: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, (i64, i64)>, AppError> {
    use sea_orm::sea_query::Expr;
    if suppliers.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Uuid, Option<i64>, i64)> = invoices::Entity::find()
        .select_only()
        .column(invoices::Column::SupplierId)
        .column_as(
            Expr::cust("CAST(SUM(CASE WHEN matched_first_time THEN 1 ELSE 0 END) AS BIGINT)"),
            "matched",
        )
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "reconciled")
        .filter(invoices::Column::SupplierId.is_in(suppliers.iter().copied()))
        .filter(invoices::Column::MatchedFirstTime.is_not_null())
        .filter(invoices::Column::OrderId.is_not_null())
        .filter(invoices::Column::DeletedAt.is_null())
        .group_by(invoices::Column::SupplierId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(supplier, matched, reconciled)| (supplier, (matched.unwrap_or(0), reconciled)))
        .collect())
}
