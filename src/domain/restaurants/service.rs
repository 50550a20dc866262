//! The restaurant service: the only way anything creates or reads restaurants.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::{DeliveryPrefs, NewRestaurant, Restaurant, RestaurantFilter, repository, time_of_day};
use crate::{
    auth::{Caller, MemberRole, Principal, Role},
    domain::{
        identity::{CallerCache, Organisation},
        kernel::{
            pagination::{Page, PageRequest},
            validation::{self, Violations},
        },
        platform::audit::{self, AuditEntry},
    },
    error::AppError,
    infra::db::Db,
};

#[derive(Clone)]
pub struct RestaurantService {
    db: Db,
    callers: CallerCache,
}

impl RestaurantService {
    pub fn new(db: Db, callers: CallerCache) -> Self {
        Self { db, callers }
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
        repository::insert(&txn, id, name, email, city, &prefs, now).await?;
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
        let restaurant = repository::find_including_deleted(&txn, id)
            .await?
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
        if let Some(owner) = creator {
            self.callers.account_changed(owner).await;
        }
        Ok(restaurant)
    }

    /// A restaurant, for anyone signed in.
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Restaurant, AppError> {
        if matches!(caller.principal, Principal::Anonymous) {
            return Err(AppError::Unauthenticated(
                "sign in to see restaurants".into(),
            ));
        }
        repository::find_live(&self.db, id)
            .await?
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
        repository::list_live(&self.db, filter, &page).await
    }

    /// Whether any restaurant row exists, deleted or not (seeding checks this).
    pub async fn any_exist(&self) -> Result<bool, AppError> {
        repository::any_exist(&self.db).await
    }

    /// How many restaurants are live (the connectors' adoption figure).
    pub async fn count_live(&self) -> Result<u64, AppError> {
        repository::count_live(&self.db).await
    }

    /// Several restaurants by id (for memberships), live ones only.
    pub async fn by_ids(&self, ids: &[Uuid]) -> Result<Vec<Restaurant>, AppError> {
        repository::find_many_live(&self.db, ids).await
    }

    /// Sets where it is (latitude and longitude in degrees), or clears it with `None`: its
    /// owners and admins (audited).
    pub async fn set_location(
        &self,
        caller: &Caller,
        id: Uuid,
        degrees: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    ) -> Result<(), AppError> {
        match &caller.principal {
            Principal::Anonymous => {
                return Err(AppError::Unauthenticated(
                    "sign in to change restaurants".into(),
                ));
            }
            p if p.is_admin() || p.restaurant_role(id) == Some(MemberRole::Owner) => {}
            _ => {
                return Err(AppError::Forbidden(
                    "only the restaurant's owners and admins change it".into(),
                ));
            }
        }
        let location = degrees
            .map(|(lat, lon)| crate::domain::kernel::geo::Location::from_degrees(lat, lon))
            .transpose()?;
        let txn = crate::infra::db::begin_write(&self.db).await?;
        if !repository::set_location(&txn, id, location, Utc::now()).await? {
            return Err(AppError::not_found("Restaurant", id));
        }
        audit::record(
            &txn,
            caller,
            None,
            audit::AuditEntry {
                action: "restaurant.locate",
                entity: "restaurant",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(serde_json::json!({
                    "latitude": location.map(|l| l.latitude().to_string()),
                    "longitude": location.map(|l| l.longitude().to_string()),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
