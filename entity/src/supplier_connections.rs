//! `supplier_connections`: a restaurant's consented link to its account at a wholesaler's portal
//! (a connector, by key): status, scopes, the consent it gave, and its last sync.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supplier_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub supplier_key: String,
    /// ACTIVE | EXPIRED | FAILED | DISCONNECTED.
    pub status: String,
    /// Comma-separated subset of CATALOG, PRICES, ORDERS.
    pub scopes: String,
    pub consent_version: String,
    pub consented_at: DateTimeUtc,
    pub consented_by: Option<Uuid>,
    pub last_sync_at: Option<DateTimeUtc>,
    pub last_sync_status: Option<String>,
    pub last_error: Option<String>,
    pub catalog_items: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
