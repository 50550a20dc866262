//! `price_rules`: a supplier's opt-in dynamic price rule for one product or a category, with
//! its bounds (JSON: `{"kind": "ABSOLUTE" | "PERCENT_OF_BASE", "value": "…"}`), its largest
//! step per run (basis points) and its target stock cover (thousandths of a day).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub product_id: Option<Uuid>,
    pub category: Option<String>,
    pub floor: Json,
    pub ceiling: Json,
    pub max_step_bp: i32,
    pub min_cover_milli: i64,
    pub max_cover_milli: i64,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
