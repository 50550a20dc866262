//! One index per sort order a list offers, ending with the id: keyset pages seek in them
//! (`WHERE (key, id) > (…) ORDER BY key, id LIMIT n`), so page 200 costs what page 1 costs.
//! Text sorts compare by code point on both backends (`COLLATE "C"` on Postgres, SQLite's
//! BINARY), and so do their indexes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns); `{text}` marks a text column's collation.
const INDEXES: [(&str, &str, &str); 12] = [
    (
        "ix_orders_delivery_date",
        "orders",
        "requested_delivery_date, id",
    ),
    ("ix_orders_total", "orders", "total_milli, id"),
    ("ix_products_name_id", "products", "name_folded{text}, id"),
    ("ix_products_price_id", "products", "unit_price_milli, id"),
    ("ix_products_created", "products", "created_at, id"),
    ("ix_suppliers_name_id", "suppliers", "name_folded{text}, id"),
    (
        "ix_suppliers_city_name",
        "suppliers",
        "city_folded{text}, name_folded{text}, id",
    ),
    ("ix_suppliers_created", "suppliers", "created_at, id"),
    (
        "ix_restaurants_name_id",
        "restaurants",
        "name_folded{text}, id",
    ),
    ("ix_audit_log_at_id", "audit_log", "at, id"),
    (
        "ix_notifications_account_created",
        "notifications",
        "account_id, created_at, id",
    ),
    (
        "ix_products_supplier_name",
        "products",
        "supplier_id, name_folded{text}, id",
    ),
];

/// Indexes the new ones make redundant.
const REPLACED: [&str; 4] = [
    "ix_products_price",
    "ix_restaurants_name_folded",
    "ix_audit_log_at",
    "ix_notifications_account",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let collation = match manager.get_database_backend() {
            DatabaseBackend::Postgres => " COLLATE \"C\"",
            _ => "",
        };
        for (name, table, columns) in INDEXES {
            let columns = columns.replace("{text}", collation);
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({columns})"))
                .await?;
        }
        for name in REPLACED {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in [
            "CREATE INDEX ix_products_price ON products (unit_price_milli)",
            "CREATE INDEX ix_restaurants_name_folded ON restaurants (name_folded)",
            "CREATE INDEX ix_audit_log_at ON audit_log (at)",
            "CREATE INDEX ix_notifications_account ON notifications (account_id, created_at)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        for (name, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
