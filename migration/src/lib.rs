//! Schema migrations of Iris: one migration per feature, backend-neutral (SQLite and Postgres),
//! Postgres-only extras guarded by the backend check. Applied at start-up (unless
//! `MIGRATE_ON_START=false`) and by `iris migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_suppliers;
mod m20261122_000002_identity;
mod m20261122_000003_products;
mod m20261122_000004_ordering;
mod m20261122_000005_jobs;
mod m20261122_000006_outbox;
mod m20261122_000007_webhooks;
mod m20261122_000008_notifications;
mod m20261122_000009_supplier_metrics;
mod m20261206_000010_trusted_documents;
mod m20261207_000011_keyset_indexes;
mod m20261207_000012_ended_sessions;
mod m20261207_000013_sealed_secrets;
mod m20261207_000014_invitations;
mod m20261207_000015_inventory;
mod m20261207_000016_planning;
mod m20261207_000017_invoicing;
mod m20261207_000018_invoice_templates;
mod m20261207_000019_pricing;
mod m20261207_000020_integrations;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_suppliers::Migration),
            Box::new(m20261122_000002_identity::Migration),
            Box::new(m20261122_000003_products::Migration),
            Box::new(m20261122_000004_ordering::Migration),
            Box::new(m20261122_000005_jobs::Migration),
            Box::new(m20261122_000006_outbox::Migration),
            Box::new(m20261122_000007_webhooks::Migration),
            Box::new(m20261122_000008_notifications::Migration),
            Box::new(m20261122_000009_supplier_metrics::Migration),
            Box::new(m20261206_000010_trusted_documents::Migration),
            Box::new(m20261207_000011_keyset_indexes::Migration),
            Box::new(m20261207_000012_ended_sessions::Migration),
            Box::new(m20261207_000013_sealed_secrets::Migration),
            Box::new(m20261207_000014_invitations::Migration),
            Box::new(m20261207_000015_inventory::Migration),
            Box::new(m20261207_000016_planning::Migration),
            Box::new(m20261207_000017_invoicing::Migration),
            Box::new(m20261207_000018_invoice_templates::Migration),
            Box::new(m20261207_000019_pricing::Migration),
            Box::new(m20261207_000020_integrations::Migration),
        ]
    }
}
