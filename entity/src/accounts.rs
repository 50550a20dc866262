//! `accounts`: people who use Iris. No password or hash: identity providers hold those.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    /// `email` lower-cased; unique among live accounts.
    pub email_folded: String,
    /// The identity provider's subject (`sub`), when the account came from one.
    pub external_id: Option<String>,
    /// ADMIN | SUPPLIER | RESTAURANT
    pub role: String,
    pub display_name: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
