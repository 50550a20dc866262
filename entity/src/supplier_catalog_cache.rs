//! `supplier_catalog_cache`: a connection's mirror of its wholesaler's catalog as the last sync
//! saw it, normalized (price in thousandths, unit and pack parsed), mapped to an Iris product
//! where the wholesaler sells on Iris too. Replaced as a whole by each sync.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supplier_catalog_cache")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connection_id: Uuid,
    pub external_id: String,
    pub name: String,
    pub price_milli: Option<i64>,
    pub currency: String,
    pub unit: String,
    /// The pack as the portal wrote it (`6x1 l`).
    pub pack: Option<String>,
    /// The pack's content in thousandths of `pack_unit` (6x1 l → 6000 L).
    pub pack_quantity_milli: Option<i64>,
    pub pack_unit: Option<String>,
    pub stock: Option<i64>,
    pub in_stock: Option<bool>,
    pub gtin: Option<String>,
    pub mapped_product_id: Option<Uuid>,
    pub synced_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
