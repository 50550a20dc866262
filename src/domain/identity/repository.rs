//! Storage of identity: accounts, refresh tokens (sessions), memberships and invitations — SeaORM queries and the
//! conversions at the storage edge (case-folded e-mail, roles as text). Hides deleted accounts
//! where the function's name says "live".

use chrono::{DateTime, Utc};
use entity::{
    accounts, invitations, refresh_tokens, restaurant_members, restaurants, supplier_members,
    suppliers,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Account, Invitation, InvitationStatus, Organisation, RefreshToken, cache::CachedAccount,
    role_from_stored,
};
use crate::{
    auth::MemberRole,
    error::{AppError, DbResultExt as _},
    infra::db::placeholder,
};

fn to_account(model: accounts::Model) -> Account {
    Account {
        id: model.id,
        role: role_from_stored(&model.role),
        email: model.email,
        external_id: model.external_id,
        display_name: model.display_name,
        created_at: model.created_at,
    }
}

fn to_refresh_token(model: refresh_tokens::Model) -> RefreshToken {
    RefreshToken {
        account_id: model.account_id,
        family_id: model.family_id,
        used_at: model.used_at,
        revoked_at: model.revoked_at,
    }
}

// ---- accounts ----

/// The live account with this e-mail, compared case-insensitively.
pub(super) async fn find_live_account_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<Account>, AppError> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::EmailFolded.eq(email.to_ascii_lowercase()))
        .filter(accounts::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_account))
}

/// The live account linked to an identity provider's subject.
pub(super) async fn find_live_account_by_subject(
    db: &impl ConnectionTrait,
    subject: &str,
) -> Result<Option<Account>, AppError> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::ExternalId.eq(subject))
        .filter(accounts::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_account))
}

pub(super) async fn find_live_account(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Account>, AppError> {
    Ok(accounts::Entity::find_by_id(id)
        .filter(accounts::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_account))
}

/// How a caller names its account: by id (Iris's tokens) or by the identity provider's subject.
#[derive(Clone, Debug)]
pub(super) enum AccountKey<'a> {
    Id(Uuid),
    Subject(&'a str),
}

/// The live account with all its memberships, in one statement (it runs for every signed-in
/// request that misses the caller cache).
pub(super) async fn find_live_account_with_memberships(
    db: &impl ConnectionTrait,
    key: AccountKey<'_>,
) -> Result<Option<CachedAccount>, AppError> {
    let backend = db.get_database_backend();
    let (condition, value): (&str, sea_orm::Value) = match key {
        AccountKey::Id(id) => ("a.id", id.into()),
        AccountKey::Subject(subject) => ("a.external_id", subject.into()),
    };
    let sql = format!(
        "SELECT a.id, a.role, a.email, a.external_id, a.display_name, a.created_at, \
                m.kind, m.organisation_id, m.member_role \
         FROM accounts a \
         LEFT JOIN ( \
             SELECT 'S' AS kind, supplier_id AS organisation_id, role AS member_role, account_id \
             FROM supplier_members \
             UNION ALL \
             SELECT 'R', restaurant_id, role, account_id FROM restaurant_members \
         ) m ON m.account_id = a.id \
         WHERE {condition} = {} AND a.deleted_at IS NULL",
        placeholder(backend, 1)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [value]))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let account = Account {
        id: first.try_get("", "id")?,
        role: role_from_stored(&first.try_get::<String>("", "role")?),
        email: first.try_get("", "email")?,
        external_id: first.try_get("", "external_id")?,
        display_name: first.try_get("", "display_name")?,
        created_at: first.try_get("", "created_at")?,
    };
    let (mut suppliers, mut restaurants) = (Vec::new(), Vec::new());
    for row in &rows {
        let Some(kind) = row.try_get::<Option<String>>("", "kind")? else {
            continue;
        };
        let organisation: Uuid = row.try_get("", "organisation_id")?;
        let Some(role) = MemberRole::parse(&row.try_get::<String>("", "member_role")?) else {
            continue;
        };
        match kind.as_str() {
            "S" => suppliers.push((organisation, role)),
            _ => restaurants.push((organisation, role)),
        }
    }
    Ok(Some(CachedAccount {
        account,
        suppliers,
        restaurants,
    }))
}

/// Live accounts by id.
pub(super) async fn find_live_accounts(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Account>, AppError> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::Id.is_in(ids.to_vec()))
        .filter(accounts::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(to_account)
        .collect())
}

/// Inserts a new live account (updated when created). `Ok(false)` when a unique constraint
/// refuses it: the account was created concurrently.
pub(super) async fn insert_account_unless_taken(
    db: &impl ConnectionTrait,
    account: &Account,
) -> Result<bool, AppError> {
    let model = accounts::Model {
        id: account.id,
        email: account.email.clone(),
        email_folded: account.email.to_ascii_lowercase(),
        external_id: account.external_id.clone(),
        role: account.role.as_str().to_owned(),
        display_name: account.display_name.clone(),
        created_at: account.created_at,
        updated_at: account.created_at,
        deleted_at: None,
    };
    accounts::Entity::insert(accounts::ActiveModel::from(model))
        .exec_without_returning(db)
        .await
        .unless_unique_violation()
}

/// Links an account to an identity provider's subject, setting its display name and its
/// `updated_at` too when given.
pub(super) async fn link_account_to_subject(
    db: &impl ConnectionTrait,
    account: Uuid,
    subject: &str,
    display_name: Option<&str>,
    updated_at: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    let mut update = accounts::Entity::update_many()
        .col_expr(accounts::Column::ExternalId, Expr::value(subject));
    if let Some(name) = display_name {
        update = update.col_expr(accounts::Column::DisplayName, Expr::value(name));
    }
    if let Some(at) = updated_at {
        update = update.col_expr(accounts::Column::UpdatedAt, Expr::value(at));
    }
    update
        .filter(accounts::Column::Id.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

pub(super) async fn set_account_role(
    db: &impl ConnectionTrait,
    account: Uuid,
    role: crate::auth::Role,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    accounts::Entity::update_many()
        .col_expr(accounts::Column::Role, Expr::value(role.as_str()))
        .col_expr(accounts::Column::UpdatedAt, Expr::value(now))
        .filter(accounts::Column::Id.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

// ---- refresh tokens ----

/// Stores a newly issued refresh token (by its hash), unused and unrevoked.
pub(super) async fn insert_refresh_token(
    db: &impl ConnectionTrait,
    account: Uuid,
    family: Uuid,
    token_hash: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), AppError> {
    refresh_tokens::Entity::insert(refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account),
        family_id: Set(family),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(created_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Marks the token used at `now` if it is unused, unrevoked, unexpired and of a family nobody
/// revoked; `true` when this call claimed it. A write, so concurrent claims of one token cannot
/// both succeed.
pub(super) async fn claim_unused_live_refresh_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    Ok(refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .filter(refresh_tokens::Column::ExpiresAt.gt(now))
        // A family revoked by a concurrent reuse detection is dead even for the token that
        // detection could not see yet.
        .filter(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM refresh_tokens AS sibling \
             WHERE sibling.family_id = refresh_tokens.family_id \
             AND sibling.revoked_at IS NOT NULL)",
        ))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

pub(super) async fn find_refresh_token_by_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<RefreshToken>, AppError> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
        .map(to_refresh_token))
}

/// Sessions (refresh-token families) revoked since `since`, with when.
pub(super) async fn sessions_ended_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, AppError> {
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = refresh_tokens::Entity::find()
        .select_only()
        .column(refresh_tokens::Column::FamilyId)
        .column_as(refresh_tokens::Column::RevokedAt.max(), "ended_at")
        .filter(refresh_tokens::Column::RevokedAt.gte(since))
        .group_by(refresh_tokens::Column::FamilyId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(session, at)| Some((session, at?)))
        .collect())
}

/// Revokes every not yet revoked token of the family; how many that was.
pub(super) async fn revoke_refresh_token_family(
    db: &impl ConnectionTrait,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    Ok(refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

// ---- memberships ----

/// Whether the organisation exists and is not deleted.
pub(super) async fn live_organisation_exists(
    db: &impl ConnectionTrait,
    organisation: Organisation,
) -> Result<bool, AppError> {
    Ok(match organisation {
        Organisation::Supplier(id) => {
            suppliers::Entity::find_by_id(id)
                .filter(suppliers::Column::DeletedAt.is_null())
                .count(db)
                .await?
                > 0
        }
        Organisation::Restaurant(id) => {
            restaurants::Entity::find_by_id(id)
                .filter(restaurants::Column::DeletedAt.is_null())
                .count(db)
                .await?
                > 0
        }
    })
}

/// The account's role in the organisation, if it is a member.
pub(super) async fn current_role(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    account: Uuid,
) -> Result<Option<MemberRole>, AppError> {
    let role = match organisation {
        Organisation::Supplier(id) => supplier_members::Entity::find()
            .filter(supplier_members::Column::SupplierId.eq(id))
            .filter(supplier_members::Column::AccountId.eq(account))
            .one(db)
            .await?
            .map(|m| m.role),
        Organisation::Restaurant(id) => restaurant_members::Entity::find()
            .filter(restaurant_members::Column::RestaurantId.eq(id))
            .filter(restaurant_members::Column::AccountId.eq(account))
            .one(db)
            .await?
            .map(|m| m.role),
    };
    Ok(role.and_then(|r| MemberRole::parse(&r)))
}

/// How many OWNERs the organisation has, holding the organisation's row until the
/// transaction ends (on Postgres; SQLite's write transactions are exclusive already): of two
/// transactions each demoting or removing one of its last two OWNERs, the second counts after
/// the first committed, so the organisation always keeps one.
pub(super) async fn count_owners_locking(
    db: &impl ConnectionTrait,
    organisation: Organisation,
) -> Result<u64, AppError> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let table = match organisation {
            Organisation::Supplier(_) => "suppliers",
            Organisation::Restaurant(_) => "restaurants",
        };
        db.query_one_raw(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"),
            [organisation.id().into()],
        ))
        .await?;
    }
    let owner = MemberRole::Owner.as_str();
    Ok(match organisation {
        Organisation::Supplier(id) => {
            supplier_members::Entity::find()
                .filter(supplier_members::Column::SupplierId.eq(id))
                .filter(supplier_members::Column::Role.eq(owner))
                .count(db)
                .await?
        }
        Organisation::Restaurant(id) => {
            restaurant_members::Entity::find()
                .filter(restaurant_members::Column::RestaurantId.eq(id))
                .filter(restaurant_members::Column::Role.eq(owner))
                .count(db)
                .await?
        }
    })
}

/// Inserts (`exists == false`) or changes a membership row (no checks; callers authorize).
pub(crate) async fn put_membership(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    account: Uuid,
    role: MemberRole,
    exists: bool,
) -> Result<(), AppError> {
    let now = Utc::now();
    match (organisation, exists) {
        (Organisation::Supplier(id), false) => {
            supplier_members::Entity::insert(supplier_members::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(account),
                supplier_id: Set(id),
                role: Set(role.as_str().to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(db)
            .await?;
        }
        (Organisation::Restaurant(id), false) => {
            restaurant_members::Entity::insert(restaurant_members::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(account),
                restaurant_id: Set(id),
                role: Set(role.as_str().to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(db)
            .await?;
        }
        (Organisation::Supplier(id), true) => {
            supplier_members::Entity::update_many()
                .col_expr(supplier_members::Column::Role, Expr::value(role.as_str()))
                .col_expr(supplier_members::Column::UpdatedAt, Expr::value(now))
                .filter(supplier_members::Column::SupplierId.eq(id))
                .filter(supplier_members::Column::AccountId.eq(account))
                .exec(db)
                .await?;
        }
        (Organisation::Restaurant(id), true) => {
            restaurant_members::Entity::update_many()
                .col_expr(restaurant_members::Column::Role, Expr::value(role.as_str()))
                .col_expr(restaurant_members::Column::UpdatedAt, Expr::value(now))
                .filter(restaurant_members::Column::RestaurantId.eq(id))
                .filter(restaurant_members::Column::AccountId.eq(account))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn delete_membership(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    account: Uuid,
) -> Result<(), AppError> {
    match organisation {
        Organisation::Supplier(id) => {
            supplier_members::Entity::delete_many()
                .filter(supplier_members::Column::SupplierId.eq(id))
                .filter(supplier_members::Column::AccountId.eq(account))
                .exec(db)
                .await?;
        }
        Organisation::Restaurant(id) => {
            restaurant_members::Entity::delete_many()
                .filter(restaurant_members::Column::RestaurantId.eq(id))
                .filter(restaurant_members::Column::AccountId.eq(account))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Whether the account is a member of any of these suppliers.
pub(super) async fn is_member_of_any_supplier(
    db: &impl ConnectionTrait,
    account: Uuid,
    suppliers: Vec<Uuid>,
) -> Result<bool, AppError> {
    Ok(supplier_members::Entity::find()
        .filter(supplier_members::Column::AccountId.eq(account))
        .filter(supplier_members::Column::SupplierId.is_in(suppliers))
        .count(db)
        .await?
        > 0)
}

/// Whether the account is a member of any of these restaurants.
pub(super) async fn is_member_of_any_restaurant(
    db: &impl ConnectionTrait,
    account: Uuid,
    restaurants: Vec<Uuid>,
) -> Result<bool, AppError> {
    Ok(restaurant_members::Entity::find()
        .filter(restaurant_members::Column::AccountId.eq(account))
        .filter(restaurant_members::Column::RestaurantId.is_in(restaurants))
        .count(db)
        .await?
        > 0)
}

// ---- invitations ----

/// The organisation's name unless it is deleted.
pub(super) async fn live_organisation_name(
    db: &impl ConnectionTrait,
    organisation: Organisation,
) -> Result<Option<String>, AppError> {
    Ok(match organisation {
        Organisation::Supplier(id) => suppliers::Entity::find_by_id(id)
            .filter(suppliers::Column::DeletedAt.is_null())
            .one(db)
            .await?
            .map(|s| s.name),
        Organisation::Restaurant(id) => restaurants::Entity::find_by_id(id)
            .filter(restaurants::Column::DeletedAt.is_null())
            .one(db)
            .await?
            .map(|r| r.name),
    })
}

/// Invitations with their organisations' names (deleted organisations keep a placeholder).
async fn with_names(
    db: &impl ConnectionTrait,
    rows: Vec<invitations::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<Invitation>, AppError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(organisation) = Organisation::of_kind(&row.organisation_type, row.organisation_id)
        else {
            continue;
        };
        let organisation_name = live_organisation_name(db, organisation)
            .await?
            .unwrap_or_else(|| "A former organisation".to_owned());
        out.push(Invitation {
            id: row.id,
            organisation,
            organisation_name,
            email: row.email,
            role: MemberRole::parse(&row.role).unwrap_or(MemberRole::Staff),
            status: InvitationStatus::of_stored(&row.status, row.expires_at, now),
            invited_by: row.invited_by,
            expires_at: row.expires_at,
            answered_at: row.answered_at,
            created_at: row.created_at,
        });
    }
    Ok(out)
}

pub(super) async fn insert_invitation(
    db: &impl ConnectionTrait,
    invitation: &Invitation,
    token_hash: &str,
) -> Result<(), AppError> {
    invitations::Entity::insert(invitations::ActiveModel {
        id: Set(invitation.id),
        organisation_type: Set(invitation.organisation.kind().to_owned()),
        organisation_id: Set(invitation.organisation.id()),
        email: Set(invitation.email.clone()),
        email_folded: Set(invitation.email.to_ascii_lowercase()),
        role: Set(invitation.role.as_str().to_owned()),
        token_hash: Set(token_hash.to_owned()),
        status: Set(InvitationStatus::Pending.as_str().to_owned()),
        invited_by: Set(invitation.invited_by),
        answered_by: Set(None),
        expires_at: Set(invitation.expires_at),
        answered_at: Set(None),
        created_at: Set(invitation.created_at),
        updated_at: Set(invitation.created_at),
    })
    .exec_without_returning(db)
    .await
    .on_unique_violation(|| {
        AppError::Conflict("email: an invitation of this address is being sent; retry".into())
    })?;
    Ok(())
}

/// Marks the pending invitations `which` selects REVOKED at `now`; how many there were.
async fn revoke_pending(
    db: &impl ConnectionTrait,
    which: sea_orm::Condition,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    Ok(invitations::Entity::update_many()
        .col_expr(
            invitations::Column::Status,
            Expr::value(InvitationStatus::Revoked.as_str()),
        )
        .col_expr(invitations::Column::UpdatedAt, Expr::value(now))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .filter(which)
        .exec(db)
        .await?
        .rows_affected)
}

/// The organisation's invitations.
fn of_organisation(organisation: Organisation) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(invitations::Column::OrganisationType.eq(organisation.kind()))
        .add(invitations::Column::OrganisationId.eq(organisation.id()))
}

/// Revokes the organisation's pending invitations of `email` (a new one replaces them).
pub(super) async fn revoke_pending_invitations(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    email: &str,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let which = of_organisation(organisation)
        .add(invitations::Column::EmailFolded.eq(email.to_ascii_lowercase()));
    revoke_pending(db, which, now).await
}

/// Pending, unexpired invitations of an address, newest first.
pub(super) async fn pending_invitations_for(
    db: &impl ConnectionTrait,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Invitation>, AppError> {
    let rows = invitations::Entity::find()
        .filter(invitations::Column::EmailFolded.eq(email.to_ascii_lowercase()))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .filter(invitations::Column::ExpiresAt.gt(now))
        .order_by_desc(invitations::Column::CreatedAt)
        .limit(100)
        .all(db)
        .await?;
    with_names(db, rows, now).await
}

pub(super) async fn find_invitation(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Invitation>, AppError> {
    let rows = invitations::Entity::find_by_id(id).all(db).await?;
    Ok(with_names(db, rows, now).await?.pop())
}

pub(super) async fn find_invitation_by_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Invitation>, AppError> {
    let rows = invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(token_hash))
        .all(db)
        .await?;
    Ok(with_names(db, rows, now).await?.pop())
}

/// Records the answer if the invitation is still pending and unexpired; whether it was.
pub(super) async fn answer_invitation(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: InvitationStatus,
    account: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    Ok(invitations::Entity::update_many()
        .col_expr(invitations::Column::Status, Expr::value(status.as_str()))
        .col_expr(invitations::Column::AnsweredBy, Expr::value(account))
        .col_expr(invitations::Column::AnsweredAt, Expr::value(now))
        .col_expr(invitations::Column::UpdatedAt, Expr::value(now))
        .filter(invitations::Column::Id.eq(id))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .filter(invitations::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Revokes the invitation if it is still pending; whether it was.
pub(super) async fn revoke_invitation(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let which = sea_orm::Condition::all().add(invitations::Column::Id.eq(id));
    Ok(revoke_pending(db, which, now).await? == 1)
}

/// Revokes the organisation's pending invitations addressed to `email` or sent by `sender`
/// (a member leaving, or losing the role that let it invite).
pub(super) async fn revoke_pending_invitations_of_member(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    email: Option<&str>,
    sender: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut whose = sea_orm::Condition::any();
    if let Some(email) = email {
        whose = whose.add(invitations::Column::EmailFolded.eq(email.to_ascii_lowercase()));
    }
    if let Some(sender) = sender {
        whose = whose.add(invitations::Column::InvitedBy.eq(sender));
    }
    if whose.is_empty() {
        return Ok(0);
    }
    revoke_pending(db, of_organisation(organisation).add(whose), now).await
}

/// The organisation's pending, unexpired invitations, newest first (at most 200).
pub(super) async fn pending_invitations_of(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    now: DateTime<Utc>,
) -> Result<Vec<Invitation>, AppError> {
    let rows = invitations::Entity::find()
        .filter(of_organisation(organisation))
        .filter(invitations::Column::Status.eq(InvitationStatus::Pending.as_str()))
        .filter(invitations::Column::ExpiresAt.gt(now))
        .order_by_desc(invitations::Column::CreatedAt)
        .limit(200)
        .all(db)
        .await?;
    with_names(db, rows, now).await
}

/// The id of the live account with `email` if it is a member of the organisation (one
/// statement, whether or not the address has an account).
pub(super) async fn member_with_email(
    db: &impl ConnectionTrait,
    organisation: Organisation,
    email: &str,
) -> Result<Option<Uuid>, AppError> {
    let backend = db.get_database_backend();
    let (table, column) = match organisation {
        Organisation::Supplier(_) => ("supplier_members", "supplier_id"),
        Organisation::Restaurant(_) => ("restaurant_members", "restaurant_id"),
    };
    let sql = format!(
        "SELECT a.id FROM accounts a JOIN {table} m ON m.account_id = a.id \
         WHERE a.email_folded = {} AND a.deleted_at IS NULL AND m.{column} = {}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [email.to_ascii_lowercase().into(), organisation.id().into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("", "id")?),
        None => None,
    })
}
