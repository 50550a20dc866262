//! `invitations`: an invitation to join a supplier or restaurant, answered once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SUPPLIER or RESTAURANT.
    pub organisation_type: String,
    pub organisation_id: Uuid,
    /// The invitee's address as the inviter typed it (validated).
    pub email: String,
    /// Lower-cased, for finding an account's invitations.
    pub email_folded: String,
    /// OWNER or STAFF: the role accepting gives.
    pub role: String,
    /// SHA-256 (hex) of the single-use token; the token itself is never stored.
    pub token_hash: String,
    /// PENDING, ACCEPTED, DECLINED or REVOKED (a pending one past `expires_at` is expired).
    pub status: String,
    pub invited_by: Option<Uuid>,
    /// The account that accepted or declined.
    pub answered_by: Option<Uuid>,
    pub expires_at: DateTimeUtc,
    pub answered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
