//! Storage of trusted documents: registering one and finding one by its id or its body's
//! SHA-256. Rows are never changed or deleted here (documents are immutable).

use chrono::{DateTime, Utc};
use entity::trusted_documents::{self, ActiveModel, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use super::{ManifestEntry, TrustedDocument};
use crate::error::AppError;

fn to_domain(m: trusted_documents::Model) -> TrustedDocument {
    TrustedDocument {
        document_id: m.document_id,
        sha256: m.sha256,
        body: m.body,
    }
}

/// The document registered under this document id.
pub(super) async fn find_by_document_id(
    db: &impl ConnectionTrait,
    document_id: &str,
) -> Result<Option<TrustedDocument>, AppError> {
    Ok(Entity::find()
        .filter(Column::DocumentId.eq(document_id))
        .one(db)
        .await?
        .map(to_domain))
}

/// A document whose id is `document_id` or whose body's SHA-256 is `sha256`.
pub(super) async fn find_by_document_id_or_sha256(
    db: &impl ConnectionTrait,
    document_id: &str,
    sha256: &str,
) -> Result<Option<TrustedDocument>, AppError> {
    Ok(Entity::find()
        .filter(
            Condition::any()
                .add(Column::DocumentId.eq(document_id))
                .add(Column::Sha256.eq(sha256)),
        )
        .one(db)
        .await?
        .map(to_domain))
}

/// Registers a manifest entry whose body hashes to `sha256`, pushed by `client`.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    entry: &ManifestEntry,
    sha256: String,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    Entity::insert(ActiveModel {
        id: Set(Uuid::now_v7()),
        document_id: Set(entry.id.clone()),
        sha256: Set(sha256),
        body: Set(entry.body.clone()),
        operation_name: Set(entry.operation_name.clone()),
        client: Set(client.map(str::to_owned)),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await?;
    Ok(())
}
