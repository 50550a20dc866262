//! The REST shim at `/api/v1`: legacy callers' JSON API over the same domain services as
//! GraphQL, with OpenAPI 3.1 at `/openapi.json` and Swagger UI (vendored) at `/docs`.
//!
//! Every error — including unknown routes, wrong methods and malformed JSON — is an Iris
//! envelope. Lists take `?limit&offset` (plus filters and `sort=-field`) and answer
//! `{"data": […], "pagination": {"limit", "offset", "total"}}`; single resources answer
//! `{"data": {…}}`.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod carts;
pub mod extract;
pub mod integrations;
pub mod inventory;
pub mod invoices;
mod openapi;
pub mod orders;
pub mod planning;
pub mod pricing;
pub mod products;
pub mod restaurants;
pub mod suppliers;

use axum::{
    Router,
    extract::{DefaultBodyLimit, OriginalUri},
    handler::Handler as _,
    routing::{get, post, put},
};
use rust_decimal::Decimal;
use serde::{Deserializer, Serialize, de};
use utoipa::ToSchema;
use uuid::Uuid;

pub use openapi::{ApiDoc, docs, document};

use crate::{
    domain::identity::AuthProvider,
    domain::kernel::{
        money::Money,
        pagination::{Direction, Page, PageRequest},
    },
    error::AppError,
    web::ApiState,
};

/// Where a page sits in the whole list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaginationDto {
    /// Page size asked for.
    pub limit: u64,
    /// Items skipped (absent when paging by `cursor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Items matching the filters, across all pages.
    pub total: u64,
    /// Pass as `cursor` to read the page after this one (absent on the last page): the id of
    /// this page's last item. Unlike `offset` alone, a cursor never skips or repeats items
    /// when the list changes in between.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Uuid>,
}

impl PaginationDto {
    /// Where `page` (fetched for `request`) sits in the list.
    pub fn of<T>(request: &PageRequest, page: &Page<T>) -> Self {
        let (limit, offset) = match request {
            PageRequest::Offset { offset, limit }
            | PageRequest::AfterItem { offset, limit, .. } => (*limit, Some(*offset)),
            PageRequest::Keyset(keyset) => (keyset.size(), None),
        };
        PaginationDto {
            limit,
            offset,
            total: page.total.unwrap_or_default(),
            next_cursor: page.has_next.then(|| page.end_id()).flatten(),
        }
    }
}

/// A list's paging parameters: `limit` items after skipping `offset`, counted from the start
/// or from the item `cursor`.
pub fn page_request(
    offset: Option<u64>,
    limit: Option<u64>,
    cursor: Option<Uuid>,
) -> Result<PageRequest, AppError> {
    match cursor {
        None => PageRequest::offset(offset, limit),
        Some(cursor) => PageRequest::after_item(cursor, offset, limit),
    }
}

/// Parses `sort=field` / `sort=-field` against the list's `(name, field)` pairs; `None` when
/// the parameter is absent.
pub fn parse_sort<F: Copy>(
    raw: Option<&str>,
    fields: &[(&str, F)],
) -> Result<Option<(F, Direction)>, AppError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let (direction, name) = match raw.strip_prefix('-') {
        Some(name) => (Direction::Desc, name),
        None => (Direction::Asc, raw),
    };
    fields
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, field)| Some((*field, direction)))
        .ok_or_else(|| {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            AppError::validation(
                "sort",
                format!(
                    "must be one of {}, optionally prefixed with -",
                    names.join(", ")
                ),
            )
        })
}

/// An exact amount of money: a decimal string and its ISO 4217 currency.
#[derive(Serialize, ToSchema)]
pub struct MoneyDto {
    #[schema(value_type = String, example = "1500.5")]
    pub amount: Decimal,
    #[schema(example = "SEK")]
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(m: Money) -> Self {
        MoneyDto {
            amount: m.amount,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

/// Deserializes an optional exact amount from a decimal string or an integer. JSON floats are
/// refused: `0.1` as a float is not 0.1.
pub fn exact_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    struct Exact;
    impl<'de> de::Visitor<'de> for Exact {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a decimal string such as \"12.50\"")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            crate::domain::kernel::money::parse_decimal(v)
                .map(Some)
                .map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(Decimal::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(Decimal::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // A whole number written as a float (`12.0`, `1e3`) is exact; fractions are not.
            match whole(v) {
                Some(n) => Ok(Some(Decimal::from(n))),
                None => Err(E::custom(format!(
                    "send fractional amounts as strings, e.g. \"{v}\": a JSON float is inexact"
                ))),
            }
        }
    }
    deserializer.deserialize_option(Exact)
}

/// `v` as an integer, when it is a whole number an `f64` holds exactly.
fn whole(v: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    (v.fract() == 0.0 && v.abs() <= EXACT).then_some(v as i64)
}

/// Deserializes a whole number, also when written as a float without a fraction (`3.0`,
/// `1e2`), as JSON Schema's `integer` allows.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    optional_whole_number(deserializer)?
        .ok_or_else(|| de::Error::custom("a whole number is required"))
}

/// [`whole_number`], optional.
pub fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    struct Whole;
    impl<'de> de::Visitor<'de> for Whole {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("is out of range"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            whole(v)
                .map(Some)
                .ok_or_else(|| E::custom(format!("must be a whole number, got {v}")))
        }
    }
    deserializer.deserialize_option(Whole)
}

/// Deserializes a required exact amount (see [`exact_decimal`]).
pub fn exact_decimal_required<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decimal, D::Error> {
    exact_decimal(deserializer)?.ok_or_else(|| de::Error::custom("a decimal string is required"))
}

/// The `/api/v1` router (to be nested); `upload_limit` is the largest body an upload takes.
pub fn router(provider: AuthProvider, upload_limit: usize) -> Router<ApiState> {
    // Sign-in routes exist where they work: Iris's own sign-in, refresh and sign-out with
    // local accounts; registration at the identity provider with OIDC.
    let sign_in = match provider {
        AuthProvider::Local => Router::new()
            .route("/auth/dev/login", post(auth::dev_login))
            .route("/auth/refresh", post(auth::refresh))
            .route("/auth/logout", post(auth::logout)),
        AuthProvider::Oidc => Router::new().route("/auth/register", post(auth::register)),
    };
    sign_in
        .route("/me", get(auth::me))
        .route("/admin/audit", get(admin::audit))
        .route("/products", get(products::list))
        .route("/products/{id}", get(products::get))
        .route("/products/{id}/price", get(pricing::price))
        .route("/products/{id}/price-history", get(pricing::history))
        .route(
            "/suppliers/{id}/price-lists",
            get(pricing::lists).post(pricing::create),
        )
        .route(
            "/suppliers/{id}/price-lists/{listId}",
            get(pricing::get)
                .patch(pricing::update)
                .delete(pricing::delete),
        )
        .route(
            "/suppliers/{id}/price-lists/{listId}/assign",
            post(pricing::assign),
        )
        .route(
            "/suppliers/{id}/price-lists/{listId}/unassign",
            post(pricing::unassign),
        )
        .route(
            "/suppliers/{id}/customer-groups/{name}",
            put(pricing::set_group),
        )
        .route(
            "/suppliers/{id}/price-rules",
            get(pricing::rules).post(pricing::save_rule),
        )
        .route("/suppliers/{id}/price-rules/preview", get(pricing::preview))
        .route(
            "/suppliers/{id}/price-rules/{ruleId}",
            axum::routing::delete(pricing::delete_rule),
        )
        .route(
            "/restaurants/{id}/recommended-suppliers",
            get(pricing::recommended),
        )
        .route("/integrations", get(integrations::connectors))
        .route(
            "/integrations/{supplier}",
            axum::routing::delete(integrations::disconnect),
        )
        .route(
            "/integrations/{supplier}/connect",
            post(integrations::connect),
        )
        .route("/integrations/{supplier}/status", get(integrations::status))
        .route("/integrations/{supplier}/sync", post(integrations::sync))
        .route(
            "/integrations/{supplier}/cart/prefill",
            post(integrations::prefill),
        )
        .route(
            "/integrations/{supplier}/invoices/pull",
            post(integrations::pull_invoices),
        )
        .route("/connector-runs/{id}", get(integrations::run))
        .route("/suppliers/{id}/products", put(products::upsert))
        .route("/restaurants", get(restaurants::list))
        .route("/restaurants/{id}", get(restaurants::get))
        .route(
            "/restaurants/{id}/inventory",
            get(inventory::list).post(inventory::create),
        )
        .route(
            "/restaurants/{id}/inventory/{itemId}",
            axum::routing::patch(inventory::update).delete(inventory::delete),
        )
        .route(
            "/restaurants/{id}/inventory/{itemId}/movements",
            get(inventory::movements),
        )
        .route(
            "/restaurants/{id}/inventory/{itemId}/usage",
            post(inventory::usage),
        )
        .route(
            "/restaurants/{id}/inventory/{itemId}/waste",
            post(inventory::waste),
        )
        .route(
            "/restaurants/{id}/inventory/{itemId}/stocktake",
            post(inventory::stocktake),
        )
        .route(
            "/restaurants/{id}/inventory/{itemId}/reorder-policy",
            put(planning::set_policy),
        )
        .route(
            "/restaurants/{id}/reorder-policies",
            get(planning::policies),
        )
        .route(
            "/restaurants/{id}/reorder-suggestions",
            get(planning::suggestions),
        )
        .route(
            "/restaurants/{id}/reorder-suggestions/apply",
            post(planning::apply),
        )
        .route(
            "/restaurants/{id}/forecasts/{productId}",
            get(planning::restaurant_forecast),
        )
        .route(
            "/suppliers/{id}/forecasts/{productId}",
            get(planning::supplier_forecast),
        )
        .route("/analytics/restaurants/{id}/spend", get(analytics::spend))
        .route(
            "/analytics/restaurants/{id}/price-variance",
            get(analytics::price_variance),
        )
        .route("/analytics/restaurants/{id}/cover", get(analytics::cover))
        .route(
            "/analytics/restaurants/{id}/forecast-accuracy",
            get(analytics::restaurant_accuracy),
        )
        .route("/analytics/suppliers/{id}/sales", get(analytics::sales))
        .route(
            "/analytics/suppliers/{id}/forecast-accuracy",
            get(analytics::supplier_accuracy),
        )
        .route("/carts/{id}", get(carts::get).delete(carts::clear))
        .route("/carts/{id}/items", post(carts::add))
        .route(
            "/carts/{id}/items/{product}",
            put(carts::set).delete(carts::remove),
        )
        .route("/carts/{id}/checkout", post(carts::checkout))
        .route(
            "/invoices",
            get(invoices::list).post(invoices::upload.layer(DefaultBodyLimit::max(upload_limit))),
        )
        .route("/invoices/{id}", get(invoices::get))
        .route("/invoices/{id}/document", get(invoices::document))
        .route(
            "/invoices/{id}/lines/{lineNumber}",
            put(invoices::correct_line),
        )
        .route("/invoices/{id}/extract", post(invoices::extract_again))
        .route("/invoices/{id}/approve", post(invoices::approve))
        .route("/invoices/{id}/disputes", post(invoices::dispute))
        .route(
            "/invoice-disputes/{id}/answer",
            post(invoices::answer_dispute),
        )
        .route(
            "/suppliers/{id}/invoice-templates",
            get(invoices::templates).post(invoices::create_template),
        )
        .route(
            "/invoice-templates/{id}",
            put(invoices::update_template).delete(invoices::delete_template),
        )
        .route(
            "/suppliers/{id}/invoice-settings",
            get(invoices::settings).put(invoices::set_settings),
        )
        .route("/orders", get(orders::list).post(orders::place))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/receipt", get(orders::receipt))
        .route("/orders/{id}/receipt.pdf", get(orders::receipt_pdf))
        .route("/orders/{id}/confirm", post(orders::confirm))
        .route("/orders/{id}/reject", post(orders::reject))
        .route("/orders/{id}/ship", post(orders::ship))
        .route("/orders/{id}/deliver", post(orders::deliver))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/suppliers", get(suppliers::list).post(suppliers::create))
        .route(
            "/suppliers/{id}",
            get(suppliers::get)
                .patch(suppliers::update)
                .delete(suppliers::delete),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

pub async fn not_found(OriginalUri(uri): OriginalUri) -> AppError {
    let path: String = uri.path().chars().take(200).collect();
    AppError::NotFound {
        entity: "Route",
        id: path,
    }
}

pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
