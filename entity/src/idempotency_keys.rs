//! `idempotency_keys`: a caller's key for one operation, the hash of the request it came with,
//! and the stored result replayed to retries (for 24 hours).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose key it is, e.g. `account:<uuid>`.
    pub scope: String,
    pub operation: String,
    pub key: String,
    /// SHA-256 (hex) of the normalised request.
    pub request_hash: String,
    pub response: Json,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
