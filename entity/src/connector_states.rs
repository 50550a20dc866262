//! `connector_states`: what Iris knows of each configured connector — OK or DEGRADED (a
//! selector stopped matching), the page fingerprints the DOM watcher last saw, and the Iris
//! supplier the wholesaler is, where it sells on Iris too.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub supplier_key: String,
    /// OK | DEGRADED.
    pub status: String,
    pub supplier_id: Option<Uuid>,
    pub fingerprints: Json,
    pub failures: Json,
    pub checked_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
