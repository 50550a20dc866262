//! Invoicing: supplier invoices as received (the stored document, what was extracted from it,
//! how it reconciled against the order), their lines, disputes, and each supplier's invoicing
//! settings (matching tolerance).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    SupplierId,
    RestaurantId,
    OrderId,
    UploadedBy,
    DocumentKey,
    DocumentSha256,
    DocumentKind,
    DocumentSize,
    FileName,
    Status,
    Source,
    ReviewReason,
    InvoiceNumber,
    IssueDate,
    DueDate,
    OrderReference,
    Currency,
    SubtotalMilli,
    TaxMilli,
    TotalMilli,
    ConfidencePermille,
    Extraction,
    Reconciliation,
    MatchedFirstTime,
    ClaimedAt,
    ApprovedBy,
    ApprovedAt,
    OverrideReason,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Id,
    InvoiceId,
    LineNumber,
    Sku,
    Gtin,
    Description,
    Unit,
    QuantityMilli,
    UnitPriceMilli,
    LineTotalMilli,
    TaxRateBp,
    Source,
    ConfidencePermille,
    OrderLineId,
    ProductId,
    MatchedBy,
    Outcome,
    ExpectedQuantityMilli,
    ExpectedUnitPriceMilli,
    CorrectedBy,
    CorrectedAt,
}

#[derive(DeriveIden)]
enum InvoiceDisputes {
    Table,
    Id,
    InvoiceId,
    OpenedBy,
    Message,
    Items,
    Currency,
    CreditRequestedMilli,
    Status,
    Answer,
    AnsweredBy,
    AnsweredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InvoiceSettings {
    Table,
    SupplierId,
    TolerancePpm,
    UpdatedAt,
}

fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn optional_at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn text(column: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(column).string_len(len).not_null().to_owned()
}

fn optional_text(column: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(column).string_len(len).null().to_owned()
}

fn optional_milli(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invoices::Table)
                    .col(ColumnDef::new(Invoices::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Invoices::SupplierId).uuid().not_null())
                    .col(ColumnDef::new(Invoices::RestaurantId).uuid().not_null())
                    .col(ColumnDef::new(Invoices::OrderId).uuid().null())
                    .col(ColumnDef::new(Invoices::UploadedBy).uuid().null())
                    .col(text(Invoices::DocumentKey, 100))
                    .col(text(Invoices::DocumentSha256, 64))
                    .col(text(Invoices::DocumentKind, 8))
                    .col(
                        ColumnDef::new(Invoices::DocumentSize)
                            .big_integer()
                            .not_null(),
                    )
                    .col(optional_text(Invoices::FileName, 255))
                    .col(text(Invoices::Status, 16))
                    .col(optional_text(Invoices::Source, 8))
                    .col(ColumnDef::new(Invoices::ReviewReason).text().null())
                    .col(optional_text(Invoices::InvoiceNumber, 100))
                    .col(ColumnDef::new(Invoices::IssueDate).date().null())
                    .col(ColumnDef::new(Invoices::DueDate).date().null())
                    .col(optional_text(Invoices::OrderReference, 100))
                    .col(optional_text(Invoices::Currency, 3))
                    .col(optional_milli(Invoices::SubtotalMilli))
                    .col(optional_milli(Invoices::TaxMilli))
                    .col(optional_milli(Invoices::TotalMilli))
                    .col(
                        ColumnDef::new(Invoices::ConfidencePermille)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(Invoices::Extraction).json().not_null())
                    .col(ColumnDef::new(Invoices::Reconciliation).json().null())
                    .col(ColumnDef::new(Invoices::MatchedFirstTime).boolean().null())
                    .col(optional_at(Invoices::ClaimedAt))
                    .col(ColumnDef::new(Invoices::ApprovedBy).uuid().null())
                    .col(optional_at(Invoices::ApprovedAt))
                    .col(ColumnDef::new(Invoices::OverrideReason).text().null())
                    .col(at(Invoices::CreatedAt))
                    .col(at(Invoices::UpdatedAt))
                    .col(optional_at(Invoices::DeletedAt))
                    .to_owned(),
            )
            .await?;
        // One invoice per document and pair of parties: a re-upload finds the first.
        manager
            .create_index(
                Index::create()
                    .name("invoices_document_once")
                    .table(Invoices::Table)
                    .col(Invoices::SupplierId)
                    .col(Invoices::RestaurantId)
                    .col(Invoices::DocumentSha256)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, first) in [
            ("invoices_by_restaurant", Invoices::RestaurantId),
            ("invoices_by_supplier", Invoices::SupplierId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Invoices::Table)
                        .col(first)
                        .col(Invoices::CreatedAt)
                        .col(Invoices::Id)
                        .to_owned(),
                )
                .await?;
        }
        // The listing's keyset (newest first) and the extraction sweep (by status).
        manager
            .create_index(
                Index::create()
                    .name("invoices_by_created")
                    .table(Invoices::Table)
                    .col(Invoices::CreatedAt)
                    .col(Invoices::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoices_by_status")
                    .table(Invoices::Table)
                    .col(Invoices::Status)
                    .col(Invoices::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoices_by_order")
                    .table(Invoices::Table)
                    .col(Invoices::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InvoiceLines::Table)
                    .col(
                        ColumnDef::new(InvoiceLines::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InvoiceLines::InvoiceId).uuid().not_null())
                    .col(
                        ColumnDef::new(InvoiceLines::LineNumber)
                            .integer()
                            .not_null(),
                    )
                    .col(optional_text(InvoiceLines::Sku, 64))
                    .col(optional_text(InvoiceLines::Gtin, 14))
                    .col(text(InvoiceLines::Description, 500))
                    .col(optional_text(InvoiceLines::Unit, 16))
                    .col(
                        ColumnDef::new(InvoiceLines::QuantityMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InvoiceLines::UnitPriceMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InvoiceLines::LineTotalMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(InvoiceLines::TaxRateBp).integer().null())
                    .col(text(InvoiceLines::Source, 8))
                    .col(
                        ColumnDef::new(InvoiceLines::ConfidencePermille)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(InvoiceLines::OrderLineId).uuid().null())
                    .col(ColumnDef::new(InvoiceLines::ProductId).uuid().null())
                    .col(optional_text(InvoiceLines::MatchedBy, 8))
                    .col(optional_text(InvoiceLines::Outcome, 24))
                    .col(optional_milli(InvoiceLines::ExpectedQuantityMilli))
                    .col(optional_milli(InvoiceLines::ExpectedUnitPriceMilli))
                    .col(ColumnDef::new(InvoiceLines::CorrectedBy).uuid().null())
                    .col(optional_at(InvoiceLines::CorrectedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoice_lines_by_invoice")
                    .table(InvoiceLines::Table)
                    .col(InvoiceLines::InvoiceId)
                    .col(InvoiceLines::LineNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InvoiceDisputes::Table)
                    .col(
                        ColumnDef::new(InvoiceDisputes::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InvoiceDisputes::InvoiceId).uuid().not_null())
                    .col(ColumnDef::new(InvoiceDisputes::OpenedBy).uuid().null())
                    .col(ColumnDef::new(InvoiceDisputes::Message).text().not_null())
                    .col(ColumnDef::new(InvoiceDisputes::Items).json().not_null())
                    .col(text(InvoiceDisputes::Currency, 3))
                    .col(
                        ColumnDef::new(InvoiceDisputes::CreditRequestedMilli)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(InvoiceDisputes::Status, 16))
                    .col(ColumnDef::new(InvoiceDisputes::Answer).text().null())
                    .col(ColumnDef::new(InvoiceDisputes::AnsweredBy).uuid().null())
                    .col(optional_at(InvoiceDisputes::AnsweredAt))
                    .col(at(InvoiceDisputes::CreatedAt))
                    .col(at(InvoiceDisputes::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoice_disputes_by_invoice")
                    .table(InvoiceDisputes::Table)
                    .col(InvoiceDisputes::InvoiceId)
                    .col(InvoiceDisputes::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InvoiceSettings::Table)
                    .col(
                        ColumnDef::new(InvoiceSettings::SupplierId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(InvoiceSettings::TolerancePpm)
                            .integer()
                            .not_null(),
                    )
                    .col(at(InvoiceSettings::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            InvoiceSettings::Table.into_iden(),
            InvoiceDisputes::Table.into_iden(),
            InvoiceLines::Table.into_iden(),
            Invoices::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
