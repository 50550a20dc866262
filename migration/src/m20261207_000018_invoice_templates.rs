//! Invoice templates: per supplier, the regular expressions that read its PDF (and scanned)
//! invoices — header fields and line rows — in the spirit of invoice2data.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InvoiceTemplates {
    Table,
    Id,
    SupplierId,
    Name,
    Keywords,
    Fields,
    LinePattern,
    LinesStart,
    LinesEnd,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InvoiceTemplates::Table)
                    .col(
                        ColumnDef::new(InvoiceTemplates::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(InvoiceTemplates::SupplierId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InvoiceTemplates::Name)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(InvoiceTemplates::Keywords).json().not_null())
                    .col(ColumnDef::new(InvoiceTemplates::Fields).json().not_null())
                    .col(
                        ColumnDef::new(InvoiceTemplates::LinePattern)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(InvoiceTemplates::LinesStart).text().null())
                    .col(ColumnDef::new(InvoiceTemplates::LinesEnd).text().null())
                    .col(ColumnDef::new(InvoiceTemplates::UpdatedBy).uuid().null())
                    .col(
                        ColumnDef::new(InvoiceTemplates::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InvoiceTemplates::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InvoiceTemplates::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoice_templates_by_supplier")
                    .table(InvoiceTemplates::Table)
                    .col(InvoiceTemplates::SupplierId)
                    .col(InvoiceTemplates::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(InvoiceTemplates::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
