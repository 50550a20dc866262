//! `trusted_documents`: GraphQL operations a deployment allows, by the id clients send.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The id clients send: the body's SHA-256 (Apollo) or the manifest's own id (Relay).
    #[sea_orm(unique)]
    pub document_id: String,
    /// Lower-case hex SHA-256 of `body`.
    pub sha256: String,
    pub body: String,
    pub operation_name: Option<String>,
    /// Which manifest (client) registered it.
    pub client: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
