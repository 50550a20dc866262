//! `webhook_endpoints`: where an organisation wants events sent, and the secret that signs them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SUPPLIER or RESTAURANT.
    pub owner_type: String,
    pub owner_id: Uuid,
    pub url: String,
    /// JSON array of event types.
    pub event_types: Json,
    pub enabled: bool,
    /// The `whsec_<base64>` signing secret (Standard Webhooks), sealed: `enc:v1:<key id>:…`
    /// (AES-256-GCM under `SECRET_KEYS`, see `domain::platform::secrets`); never shown after
    /// creation or rotation.
    pub secret: String,
    /// When deliveries started failing without a success since.
    pub failing_since: Option<DateTimeUtc>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
