//! `/api/v1/restaurants`: restaurants over REST (private fields only for those who may see them).

use std::collections::HashSet;

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    PaginationDto,
    extract::{ApiPath, ApiQuery},
};
use crate::{
    auth::Caller,
    domain::restaurants::{DeliveryPrefs, Restaurant, RestaurantFilter, may_see_private},
    error::{AppError, ErrorEnvelope},
    web::{ApiState, extract::SignedIn},
};

/// A restaurant buying on the marketplace. `contactEmail` and `deliveryPrefs` appear only for
/// its members, the suppliers it orders from, and admins.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestaurantDto {
    id: Uuid,
    name: String,
    city: String,
    active: bool,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    delivery_prefs: Option<DeliveryPrefs>,
}

fn dto(r: Restaurant, private: bool) -> RestaurantDto {
    RestaurantDto {
        id: r.id,
        name: r.name,
        city: r.city,
        active: r.active,
        created_at: r.created_at,
        contact_email: private.then_some(r.contact_email),
        delivery_prefs: private.then_some(r.delivery_prefs),
    }
}

/// Which of `restaurants` the caller may see the private fields of.
async fn private_view(
    state: &ApiState,
    caller: &Caller,
    restaurants: &[Uuid],
) -> Result<HashSet<Uuid>, AppError> {
    let trading = state
        .services
        .orders
        .restaurants_trading_with_caller(&caller.principal, restaurants)
        .await?;
    Ok(restaurants
        .iter()
        .copied()
        .filter(|id| may_see_private(&caller.principal, *id, trading.contains(id)))
        .collect())
}

/// A page of restaurants.
#[derive(Serialize, ToSchema)]
pub struct RestaurantListResponse {
    data: Vec<RestaurantDto>,
    pagination: PaginationDto,
}

/// One restaurant.
#[derive(Serialize, ToSchema)]
pub struct RestaurantResponse {
    data: RestaurantDto,
}

/// Paging and filters of the restaurant list.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRestaurantsParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Items to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page (its last item's id): the page after that
    /// item, `offset` then skipping further. NOT_FOUND when the item left the list.
    cursor: Option<Uuid>,
    /// Case-insensitive part of the name.
    q: Option<String>,
    /// Case-insensitive city.
    city: Option<String>,
}

/// List restaurants by name (signed-in callers).
#[utoipa::path(
    get, path = "/api/v1/restaurants", tag = "restaurants",
    params(ListRestaurantsParams),
    responses(
        (status = 200, description = "A page of restaurants", body = RestaurantListResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 422, description = "A parameter breaks a rule", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiQuery(params): ApiQuery<ListRestaurantsParams>,
) -> Result<Json<RestaurantListResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    let filter = RestaurantFilter {
        name: params.q,
        city: params.city,
    };
    let result = state
        .services
        .restaurants
        .list(&caller, &filter, page.clone())
        .await?;
    let ids: Vec<Uuid> = result.items.iter().map(|r| r.id).collect();
    let private = private_view(&state, &caller, &ids).await?;
    Ok(Json(RestaurantListResponse {
        pagination: PaginationDto::of(&page, &result),
        data: result
            .items
            .into_iter()
            .map(|r| {
                let show = private.contains(&r.id);
                dto(r, show)
            })
            .collect(),
    }))
}

/// Get one restaurant (signed-in callers).
#[utoipa::path(
    get, path = "/api/v1/restaurants/{id}", tag = "restaurants",
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "The restaurant", body = RestaurantResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such restaurant", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RestaurantResponse>, AppError> {
    let restaurant = state.services.restaurants.get(&caller, id).await?;
    let private = private_view(&state, &caller, &[id]).await?;
    Ok(Json(RestaurantResponse {
        data: dto(restaurant, private.contains(&id)),
    }))
}
