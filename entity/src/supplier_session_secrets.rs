//! `supplier_session_secrets`: the session a connection holds at its portal (cookies), sealed
//! with AES-256-GCM (`enc:v1:<key id>:…`); never a credential. Deleted on disconnect and expiry.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supplier_session_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connection_id: Uuid,
    /// The sealed session (context `supplier_session_secrets.token:<id>`).
    pub token: String,
    /// The key that sealed `token` when it was written.
    pub key_id: String,
    /// The user agent the session was opened with (kept for its lifetime).
    pub user_agent: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
