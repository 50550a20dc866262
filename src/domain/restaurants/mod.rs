//! Restaurants: organisations buying on the marketplace.
//!
//! Rules: admins and RESTAURANT accounts create restaurants (a restaurant account becomes the
//! OWNER of the one it creates); anyone signed in sees a restaurant's name and city; its contact
//! e-mail and delivery preferences are for its members, admins, and the suppliers it has ordered
//! from.

use crate::infra::db::Db;
use chrono::{DateTime, NaiveTime, Utc};
use entity::restaurants::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder as _,
    sea_query::{Expr, ExprTrait as _},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{Caller, MemberRole, Principal, Role},
    domain::{
        identity::Organisation,
        kernel::{
            pagination::{Page, PageRequest},
            validation::{self, Violations},
            weekday::Weekday,
        },
        platform::audit::{self, AuditEntry},
        repository::fetch_page,
    },
    error::AppError,
    infra::db::text_order,
};

/// When and how a restaurant wants deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPrefs {
    pub days: Vec<Weekday>,
    /// Earliest delivery time, local `HH:MM`.
    pub earliest: Option<String>,
    /// Latest delivery time, local `HH:MM`.
    pub latest: Option<String>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restaurant {
    pub id: Uuid,
    pub name: String,
    pub contact_email: String,
    pub city: String,
    pub delivery_prefs: DeliveryPrefs,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct NewRestaurant {
    pub name: String,
    pub contact_email: String,
    pub city: String,
    pub delivery_prefs: DeliveryPrefs,
}

fn to_domain(m: restaurants::Model) -> Restaurant {
    Restaurant {
        id: m.id,
        name: m.name,
        contact_email: m.contact_email,
        city: m.city,
        delivery_prefs: serde_json::from_value(m.delivery_prefs).unwrap_or_default(),
        active: m.active,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn time_of_day(raw: &str) -> Result<String, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map(|t| t.format("%H:%M").to_string())
        .map_err(|_| "must be a time of day such as 06:30".into())
}

/// Whether the principal may see a restaurant's contact details and delivery preferences: its
/// members, admins, and members of a supplier it has ordered from (`trades_with_caller`, see
/// `OrderService::restaurants_trading_with_caller`).
pub fn may_see_private(principal: &Principal, restaurant: Uuid, trades_with_caller: bool) -> bool {
    principal.is_admin() || principal.restaurant_role(restaurant).is_some() || trades_with_caller
}

/// Which restaurants to list; all conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct RestaurantFilter {
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    /// Case-insensitive city.
    pub city: Option<String>,
}

#[derive(Clone)]
pub struct RestaurantService {
    db: Db,
}

impl RestaurantService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller))]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewRestaurant,
    ) -> Result<Restaurant, AppError> {
        let creator = match &caller.principal {
            Principal::Anonymous => {
                return Err(AppError::Unauthenticated(
                    "sign in to create a restaurant".into(),
                ));
            }
            p if p.is_admin() => None,
            p if p.has_role(Role::Restaurant) => p.account_id(),
            _ => {
                return Err(AppError::Forbidden(
                    "only admins and restaurant accounts create restaurants".into(),
                ));
            }
        };
        let mut v = Violations::default();
        let name = v.check("name", validation::text(&input.name, 200));
        let email = v.check("contactEmail", validation::email(&input.contact_email));
        let city = v.check("city", validation::text(&input.city, 100));
        let earliest = match &input.delivery_prefs.earliest {
            Some(t) => v.check("deliveryPrefs.earliest", time_of_day(t)),
            None => None,
        };
        let latest = match &input.delivery_prefs.latest {
            Some(t) => v.check("deliveryPrefs.latest", time_of_day(t)),
            None => None,
        };
        if let (Some(e), Some(l)) = (&earliest, &latest)
            && e >= l
        {
            v.check::<()>("deliveryPrefs.latest", Err("must be after earliest".into()));
        }
        let notes = match &input.delivery_prefs.notes {
            Some(n) if !n.trim().is_empty() => {
                v.check("deliveryPrefs.notes", validation::text(n, 1000))
            }
            _ => None,
        };
        v.finish()?;
        let (Some(name), Some(email), Some(city)) = (name, email, city) else {
            return Err(anyhow::anyhow!("validated fields missing").into());
        };
        let mut days = input.delivery_prefs.days.clone();
        days.sort();
        days.dedup();
        let prefs = DeliveryPrefs {
            days,
            earliest,
            latest,
            notes,
        };
        let now = Utc::now();
        let id = Uuid::now_v7();
        let txn = crate::infra::db::begin_write(&self.db).await?;
        Entity::insert(restaurants::ActiveModel {
            id: Set(id),
            name_folded: Set(name.to_lowercase()),
            name: Set(name),
            contact_email: Set(email),
            city_folded: Set(city.to_lowercase()),
            city: Set(city),
            delivery_prefs: Set(json!(prefs)),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        if let Some(owner) = creator {
            crate::domain::identity::put_membership(
                &txn,
                Organisation::Restaurant(id),
                owner,
                MemberRole::Owner,
                false,
            )
            .await?;
        }
        let restaurant = Entity::find_by_id(id)
            .one(&txn)
            .await?
            .map(to_domain)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("inserted restaurant vanished")))?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "restaurant.create",
                entity: "restaurant",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(
                    json!({ "name": restaurant.name, "city": restaurant.city, "owner": creator }),
                ),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(restaurant)
    }

    /// A restaurant, for anyone signed in.
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Restaurant, AppError> {
        if matches!(caller.principal, Principal::Anonymous) {
            return Err(AppError::Unauthenticated(
                "sign in to see restaurants".into(),
            ));
        }
        Entity::find_by_id(id)
            .filter(Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .map(to_domain)
            .ok_or_else(|| AppError::not_found("Restaurant", id))
    }

    /// Restaurants by name, for anyone signed in (private fields are the adapters' to guard).
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &RestaurantFilter,
        page: PageRequest,
    ) -> Result<Page<Restaurant>, AppError> {
        if matches!(caller.principal, Principal::Anonymous) {
            return Err(AppError::Unauthenticated(
                "sign in to see restaurants".into(),
            ));
        }
        let mut select = Entity::find().filter(Column::DeletedAt.is_null());
        if let Some(name) = filter
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let escaped = name
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            select = select.filter(
                Expr::col(Column::NameFolded)
                    .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
            );
        }
        if let Some(city) = filter
            .city
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            select = select.filter(Column::CityFolded.eq(city.to_lowercase()));
        }
        let backend = self.db.get_database_backend();
        fetch_page(
            &self.db,
            select,
            page,
            |s| {
                s.order_by(text_order(backend, "name_folded"), sea_orm::Order::Asc)
                    .order_by_asc(Column::Id)
            },
            to_domain,
        )
        .await
    }

    /// Whether any restaurant row exists, deleted or not (seeding checks this).
    pub async fn any_exist(&self) -> Result<bool, AppError> {
        Ok(Entity::find().one(&self.db).await?.is_some())
    }

    /// Several restaurants by id (for memberships), live ones only.
    pub async fn by_ids(&self, ids: &[Uuid]) -> Result<Vec<Restaurant>, AppError> {
        Ok(Entity::find()
            .filter(Column::Id.is_in(ids.to_vec()))
            .filter(Column::DeletedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect())
    }
}
