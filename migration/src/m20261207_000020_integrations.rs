//! Supplier connectors: restaurants' consented connections to their wholesalers' portals, the
//! sealed sessions they hold (never credentials), the mirrored catalogs, every sync, prefill
//! and invoice pull, the state of each connector (the DOM watcher's fingerprints), and the
//! documents pulled.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SupplierConnections {
    Table,
    Id,
    RestaurantId,
    SupplierKey,
    Status,
    Scopes,
    ConsentVersion,
    ConsentedAt,
    ConsentedBy,
    LastSyncAt,
    LastSyncStatus,
    LastError,
    CatalogItems,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SupplierSessionSecrets {
    Table,
    Id,
    ConnectionId,
    Token,
    KeyId,
    UserAgent,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SupplierCatalogCache {
    Table,
    Id,
    ConnectionId,
    ExternalId,
    Name,
    PriceMilli,
    Currency,
    Unit,
    Pack,
    PackQuantityMilli,
    PackUnit,
    Stock,
    InStock,
    Gtin,
    MappedProductId,
    SyncedAt,
}

#[derive(DeriveIden)]
enum ConnectorRuns {
    Table,
    Id,
    ConnectionId,
    RestaurantId,
    SupplierKey,
    Kind,
    Status,
    OrderId,
    JobRunId,
    Items,
    Detail,
    Error,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ConnectorStates {
    Table,
    Id,
    SupplierKey,
    Status,
    SupplierId,
    Fingerprints,
    Failures,
    CheckedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SupplierConnectorDocuments {
    Table,
    Id,
    ConnectionId,
    ExternalId,
    DocumentKey,
    Sha256,
    Kind,
    Size,
    InvoiceId,
    PulledAt,
}

fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

fn uuid_or_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().null().to_owned()
}

fn text(column: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(column).string_len(len).not_null().to_owned()
}

fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn at_or_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SupplierConnections::Table)
                    .col(id(SupplierConnections::Id))
                    .col(uuid(SupplierConnections::RestaurantId))
                    .col(text(SupplierConnections::SupplierKey, 64))
                    .col(text(SupplierConnections::Status, 16))
                    .col(text(SupplierConnections::Scopes, 64))
                    .col(text(SupplierConnections::ConsentVersion, 16))
                    .col(at(SupplierConnections::ConsentedAt))
                    .col(uuid_or_null(SupplierConnections::ConsentedBy))
                    .col(at_or_null(SupplierConnections::LastSyncAt))
                    .col(
                        ColumnDef::new(SupplierConnections::LastSyncStatus)
                            .string_len(16)
                            .null(),
                    )
                    .col(ColumnDef::new(SupplierConnections::LastError).text().null())
                    .col(
                        ColumnDef::new(SupplierConnections::CatalogItems)
                            .big_integer()
                            .not_null(),
                    )
                    .col(at(SupplierConnections::CreatedAt))
                    .col(at(SupplierConnections::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "supplier_connections_by_restaurant",
                SupplierConnections::Table,
                &["restaurant_id", "supplier_key"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "supplier_connections_by_status",
                SupplierConnections::Table,
                &["status", "supplier_key"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SupplierSessionSecrets::Table)
                    .col(id(SupplierSessionSecrets::Id))
                    .col(uuid(SupplierSessionSecrets::ConnectionId))
                    .col(
                        ColumnDef::new(SupplierSessionSecrets::Token)
                            .text()
                            .not_null(),
                    )
                    .col(text(SupplierSessionSecrets::KeyId, 32))
                    .col(
                        ColumnDef::new(SupplierSessionSecrets::UserAgent)
                            .text()
                            .not_null(),
                    )
                    .col(at(SupplierSessionSecrets::ExpiresAt))
                    .col(at(SupplierSessionSecrets::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "supplier_session_secrets_by_connection",
                SupplierSessionSecrets::Table,
                &["connection_id"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SupplierCatalogCache::Table)
                    .col(id(SupplierCatalogCache::Id))
                    .col(uuid(SupplierCatalogCache::ConnectionId))
                    .col(text(SupplierCatalogCache::ExternalId, 128))
                    .col(ColumnDef::new(SupplierCatalogCache::Name).text().not_null())
                    .col(
                        ColumnDef::new(SupplierCatalogCache::PriceMilli)
                            .big_integer()
                            .null(),
                    )
                    .col(text(SupplierCatalogCache::Currency, 3))
                    .col(text(SupplierCatalogCache::Unit, 16))
                    .col(ColumnDef::new(SupplierCatalogCache::Pack).text().null())
                    .col(
                        ColumnDef::new(SupplierCatalogCache::PackQuantityMilli)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupplierCatalogCache::PackUnit)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupplierCatalogCache::Stock)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupplierCatalogCache::InStock)
                            .boolean()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SupplierCatalogCache::Gtin)
                            .string_len(14)
                            .null(),
                    )
                    .col(uuid_or_null(SupplierCatalogCache::MappedProductId))
                    .col(at(SupplierCatalogCache::SyncedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "supplier_catalog_cache_by_connection",
                SupplierCatalogCache::Table,
                &["connection_id", "external_id"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConnectorRuns::Table)
                    .col(id(ConnectorRuns::Id))
                    .col(uuid(ConnectorRuns::ConnectionId))
                    .col(uuid(ConnectorRuns::RestaurantId))
                    .col(text(ConnectorRuns::SupplierKey, 64))
                    .col(text(ConnectorRuns::Kind, 16))
                    .col(text(ConnectorRuns::Status, 16))
                    .col(uuid_or_null(ConnectorRuns::OrderId))
                    .col(uuid_or_null(ConnectorRuns::JobRunId))
                    .col(
                        ColumnDef::new(ConnectorRuns::Items)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConnectorRuns::Detail).json().not_null())
                    .col(ColumnDef::new(ConnectorRuns::Error).text().null())
                    .col(at(ConnectorRuns::StartedAt))
                    .col(at_or_null(ConnectorRuns::FinishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "connector_runs_by_connection",
                ConnectorRuns::Table,
                &["connection_id", "started_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "connector_runs_by_kind",
                ConnectorRuns::Table,
                &["kind", "started_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "connector_runs_by_order",
                ConnectorRuns::Table,
                &["order_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConnectorStates::Table)
                    .col(id(ConnectorStates::Id))
                    .col(text(ConnectorStates::SupplierKey, 64))
                    .col(text(ConnectorStates::Status, 16))
                    .col(uuid_or_null(ConnectorStates::SupplierId))
                    .col(
                        ColumnDef::new(ConnectorStates::Fingerprints)
                            .json()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConnectorStates::Failures).json().not_null())
                    .col(at_or_null(ConnectorStates::CheckedAt))
                    .col(at(ConnectorStates::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "connector_states_by_key",
                ConnectorStates::Table,
                &["supplier_key"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SupplierConnectorDocuments::Table)
                    .col(id(SupplierConnectorDocuments::Id))
                    .col(uuid(SupplierConnectorDocuments::ConnectionId))
                    .col(text(SupplierConnectorDocuments::ExternalId, 128))
                    .col(
                        ColumnDef::new(SupplierConnectorDocuments::DocumentKey)
                            .text()
                            .not_null(),
                    )
                    .col(text(SupplierConnectorDocuments::Sha256, 64))
                    .col(text(SupplierConnectorDocuments::Kind, 16))
                    .col(
                        ColumnDef::new(SupplierConnectorDocuments::Size)
                            .big_integer()
                            .not_null(),
                    )
                    .col(uuid_or_null(SupplierConnectorDocuments::InvoiceId))
                    .col(at(SupplierConnectorDocuments::PulledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "supplier_connector_documents_by_connection",
                SupplierConnectorDocuments::Table,
                &["connection_id", "external_id"],
                true,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SupplierConnectorDocuments::Table.into_iden(),
            ConnectorStates::Table.into_iden(),
            ConnectorRuns::Table.into_iden(),
            SupplierCatalogCache::Table.into_iden(),
            SupplierSessionSecrets::Table.into_iden(),
            SupplierConnections::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
