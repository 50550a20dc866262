//! Memberships of organisations: who belongs to which supplier or restaurant, as OWNER or STAFF.

use chrono::Utc;
use entity::{accounts, restaurant_members, restaurants, supplier_members, suppliers};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::service::{IdentityService, find_or_provision, role_of};
use crate::{
    auth::{Caller, MemberRole, Principal, Role},
    domain::{
        kernel::validation,
        platform::audit::{self, AuditEntry},
    },
    error::AppError,
};

/// An organisation an account can belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Organisation {
    Supplier(Uuid),
    Restaurant(Uuid),
}

impl Organisation {
    pub fn id(self) -> Uuid {
        match self {
            Organisation::Supplier(id) | Organisation::Restaurant(id) => id,
        }
    }

    /// SUPPLIER or RESTAURANT.
    pub fn kind(self) -> &'static str {
        match self {
            Organisation::Supplier(_) => "SUPPLIER",
            Organisation::Restaurant(_) => "RESTAURANT",
        }
    }

    /// The organisation of a kind (`SUPPLIER` / `RESTAURANT`) and id.
    pub fn of_kind(kind: &str, id: Uuid) -> Option<Organisation> {
        match kind {
            "SUPPLIER" => Some(Organisation::Supplier(id)),
            "RESTAURANT" => Some(Organisation::Restaurant(id)),
            _ => None,
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Organisation::Supplier(_) => "supplier_member",
            Organisation::Restaurant(_) => "restaurant_member",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Organisation::Supplier(_) => "Supplier",
            Organisation::Restaurant(_) => "Restaurant",
        }
    }

    /// The account role a member of this kind of organisation has.
    fn member_role(self) -> Role {
        match self {
            Organisation::Supplier(_) => Role::Supplier,
            Organisation::Restaurant(_) => Role::Restaurant,
        }
    }

    /// The role the principal holds in it, if any.
    pub fn role_of(self, principal: &Principal) -> Option<MemberRole> {
        match self {
            Organisation::Supplier(id) => principal.supplier_role(id),
            Organisation::Restaurant(id) => principal.restaurant_role(id),
        }
    }
}

/// One account's membership of one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub organisation: Organisation,
    pub account_id: Uuid,
    pub email: String,
    pub role: MemberRole,
}

/// Only the organisation's owners and admins manage its members. Anyone else learns nothing
/// about the organisation (NOT_FOUND), unless they are a member (FORBIDDEN).
fn authorize_management(caller: &Caller, organisation: Organisation) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to manage members".into(),
        )),
        p if p.is_admin() => Ok(()),
        p => match organisation.role_of(p) {
            Some(MemberRole::Owner) => Ok(()),
            Some(MemberRole::Staff) => Err(AppError::Forbidden(format!(
                "only owners of the {} manage its members",
                organisation.label().to_lowercase()
            ))),
            None => Err(AppError::not_found(organisation.label(), organisation.id())),
        },
    }
}

async fn organisation_exists(
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

pub(crate) async fn current_role(
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

async fn owner_count(
    db: &impl ConnectionTrait,
    organisation: Organisation,
) -> Result<u64, AppError> {
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

/// Inserts or changes a membership row (no checks; callers authorize).
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

impl IdentityService {
    /// Adds the account with `email` to the organisation with `role`, or changes its role if it
    /// is a member already. An account that has never signed in is created, ready for its first
    /// sign-in.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn add_member(
        &self,
        caller: &Caller,
        organisation: Organisation,
        email: &str,
        role: MemberRole,
    ) -> Result<Membership, AppError> {
        authorize_management(caller, organisation)?;
        let email = validation::email(email).map_err(|rule| AppError::validation("email", rule))?;
        let txn = crate::infra::db::begin_write(self.db()).await?;
        if !organisation_exists(&txn, organisation).await? {
            return Err(AppError::not_found(organisation.label(), organisation.id()));
        }
        let (account, _) = find_or_provision(&txn, &email, organisation.member_role()).await?;
        if role_of(&account) != organisation.member_role() {
            return Err(AppError::validation(
                "email",
                format!(
                    "belongs to a {} account; members of a {} must be {} accounts",
                    role_of(&account).as_str(),
                    organisation.label().to_lowercase(),
                    organisation.member_role().as_str()
                ),
            ));
        }
        let before = current_role(&txn, organisation, account.id).await?;
        if before == Some(MemberRole::Owner)
            && role != MemberRole::Owner
            && owner_count(&txn, organisation).await? <= 1
        {
            return Err(AppError::Conflict(format!(
                "the {} must keep at least one OWNER",
                organisation.label().to_lowercase()
            )));
        }
        put_membership(&txn, organisation, account.id, role, before.is_some()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: if before.is_some() {
                    "membership.role_change"
                } else {
                    "membership.add"
                },
                entity: organisation.entity(),
                entity_id: Some(format!("{}:{}", organisation.id(), account.id)),
                before: before.map(|r| json!({ "role": r.as_str() })),
                after: Some(json!({ "role": role.as_str(), "email": account.email })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Membership {
            organisation,
            account_id: account.id,
            email: account.email,
            role,
        })
    }

    /// Removes an account from the organisation.
    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn remove_member(
        &self,
        caller: &Caller,
        organisation: Organisation,
        account: Uuid,
    ) -> Result<(), AppError> {
        authorize_management(caller, organisation)?;
        let txn = crate::infra::db::begin_write(self.db()).await?;
        let Some(before) = current_role(&txn, organisation, account).await? else {
            return Err(AppError::not_found("Membership", account));
        };
        if before == MemberRole::Owner && owner_count(&txn, organisation).await? <= 1 {
            return Err(AppError::Conflict(format!(
                "the {} must keep at least one OWNER",
                organisation.label().to_lowercase()
            )));
        }
        match organisation {
            Organisation::Supplier(id) => {
                supplier_members::Entity::delete_many()
                    .filter(supplier_members::Column::SupplierId.eq(id))
                    .filter(supplier_members::Column::AccountId.eq(account))
                    .exec(&txn)
                    .await?;
            }
            Organisation::Restaurant(id) => {
                restaurant_members::Entity::delete_many()
                    .filter(restaurant_members::Column::RestaurantId.eq(id))
                    .filter(restaurant_members::Column::AccountId.eq(account))
                    .exec(&txn)
                    .await?;
            }
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "membership.remove",
                entity: organisation.entity(),
                entity_id: Some(format!("{}:{account}", organisation.id())),
                before: Some(json!({ "role": before.as_str() })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Whether the principal may see the e-mail of `account`: its owner, admins, and people who
    /// share an organisation with it.
    pub async fn may_see_email(
        &self,
        principal: &Principal,
        account: Uuid,
    ) -> Result<bool, AppError> {
        if principal.is_admin() || principal.account_id() == Some(account) {
            return Ok(true);
        }
        self.share_an_organisation(principal, account).await
    }

    /// Whether two accounts share an organisation (for e-mail visibility).
    pub async fn share_an_organisation(
        &self,
        a: &Principal,
        other: Uuid,
    ) -> Result<bool, AppError> {
        let Some(identity) = a.account() else {
            return Ok(false);
        };
        let suppliers: Vec<Uuid> = identity.suppliers.keys().copied().collect();
        let restaurants: Vec<Uuid> = identity.restaurants.keys().copied().collect();
        let in_supplier = !suppliers.is_empty()
            && supplier_members::Entity::find()
                .filter(supplier_members::Column::AccountId.eq(other))
                .filter(supplier_members::Column::SupplierId.is_in(suppliers))
                .count(self.db())
                .await?
                > 0;
        let in_restaurant = !restaurants.is_empty()
            && restaurant_members::Entity::find()
                .filter(restaurant_members::Column::AccountId.eq(other))
                .filter(restaurant_members::Column::RestaurantId.is_in(restaurants))
                .count(self.db())
                .await?
                > 0;
        Ok(in_supplier || in_restaurant)
    }

    /// Accounts by id (for showing members), live ones only.
    pub async fn accounts_by_ids(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, String, String)>, AppError> {
        Ok(accounts::Entity::find()
            .filter(accounts::Column::Id.is_in(ids.to_vec()))
            .filter(accounts::Column::DeletedAt.is_null())
            .all(self.db())
            .await?
            .into_iter()
            .map(|a| (a.id, a.email, a.display_name))
            .collect())
    }
}
