//! `price_changes`: every change of a product's list price by a dynamic rule — old and new
//! price (thousandths), the rule, the job run, why, and the signals it saw.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub supplier_id: Uuid,
    pub rule_id: Option<Uuid>,
    pub job_run_id: Option<Uuid>,
    pub old_price_milli: i64,
    pub new_price_milli: i64,
    pub reason: String,
    pub signals: Json,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
