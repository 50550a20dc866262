//! The REST shim at `/api/v1`: legacy callers' JSON API over the same domain services as
//! GraphQL, with OpenAPI 3.1 at `/openapi.json` and Swagger UI (vendored) at `/docs`.
//!
//! Every error — including unknown routes, wrong methods and malformed JSON — is an Iris
//! envelope. Lists take `?limit&offset` (plus filters and `sort=-field`) and answer
//! `{"data": […], "pagination": {"limit", "offset", "total"}}`; single resources answer
//! `{"data": {…}}`.

pub mod admin;
pub mod auth;
pub mod carts;
pub mod extract;
pub mod orders;
pub mod products;
pub mod restaurants;
pub mod suppliers;

use axum::{
    Router,
    extract::OriginalUri,
    routing::{get, post, put},
};
use rust_decimal::Decimal;
use serde::{Deserializer, Serialize, de};
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::{
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
    /// Pass as `cursor` to read the page after this one (absent on the last page). Unlike
    /// `offset`, a cursor never skips or repeats items when the list changes in between.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl PaginationDto {
    /// Where `page` (fetched for `request`) sits in the list.
    pub fn of<T>(request: &PageRequest, page: &Page<T>) -> Self {
        let (limit, offset) = match request {
            PageRequest::Offset { offset, limit } => (*limit, Some(*offset)),
            PageRequest::Keyset(keyset) => (keyset.size(), None),
        };
        PaginationDto {
            limit,
            offset,
            total: page.total.unwrap_or_default(),
            next_cursor: page
                .has_next
                .then(|| page.end_cursor().map(|c| c.encode()))
                .flatten(),
        }
    }
}

/// A list's paging parameters: `limit` with `offset` or with `cursor` (not both).
pub fn page_request(
    offset: Option<u64>,
    limit: Option<u64>,
    cursor: Option<&str>,
) -> Result<PageRequest, AppError> {
    match cursor {
        None => PageRequest::offset(offset, limit),
        Some(_) if offset.is_some() => Err(AppError::validation(
            "offset",
            "cannot be combined with cursor",
        )),
        Some(cursor) => PageRequest::after_cursor(cursor, limit),
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
            Err(E::custom(format!(
                "send fractional amounts as strings, e.g. \"{v}\": a JSON float is inexact"
            )))
        }
    }
    deserializer.deserialize_option(Exact)
}

/// Deserializes a required exact amount (see [`exact_decimal`]).
pub fn exact_decimal_required<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decimal, D::Error> {
    exact_decimal(deserializer)?.ok_or_else(|| de::Error::custom("a decimal string is required"))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Iris REST API",
        description = "The legacy REST shim of Iris, the B2B food-service marketplace. GraphQL at /graphql is the primary API; this shim calls the same services. Errors use the Iris envelope {\"error\",\"message\",\"status\",\"timestamp\"}."
    ),
    paths(
        auth::dev_login,
        auth::register,
        auth::refresh,
        auth::logout,
        auth::me,
        admin::audit,
        suppliers::list,
        suppliers::get,
        suppliers::create,
        suppliers::update,
        suppliers::delete,
        products::list,
        products::get,
        products::upsert,
        restaurants::list,
        restaurants::get,
        carts::get,
        carts::add,
        carts::set,
        carts::remove,
        carts::clear,
        carts::checkout,
        orders::list,
        orders::get,
        orders::place,
        orders::confirm,
        orders::reject,
        orders::ship,
        orders::deliver,
        orders::cancel,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in and the current account"),
        (name = "suppliers", description = "Wholesale suppliers"),
        (name = "catalog", description = "Products: browse, search, and upkeep by suppliers"),
        (name = "restaurants", description = "Restaurants buying on the marketplace"),
        (name = "carts", description = "A restaurant's cart and its checkout"),
        (name = "orders", description = "Orders: place (idempotent), follow, and move through their statuses"),
        (name = "admin", description = "Operator reads (admins only)"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme (`Authorization: Bearer <access token>`).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The `/api/v1` router (to be nested).
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/auth/dev/login", post(auth::dev_login))
        .route("/auth/register", post(auth::register))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/admin/audit", get(admin::audit))
        .route("/products", get(products::list))
        .route("/products/{id}", get(products::get))
        .route("/suppliers/{id}/products", put(products::upsert))
        .route("/restaurants", get(restaurants::list))
        .route("/restaurants/{id}", get(restaurants::get))
        .route("/carts/{id}", get(carts::get).delete(carts::clear))
        .route("/carts/{id}/items", post(carts::add))
        .route(
            "/carts/{id}/items/{product}",
            put(carts::set).delete(carts::remove),
        )
        .route("/carts/{id}/checkout", post(carts::checkout))
        .route("/orders", get(orders::list).post(orders::place))
        .route("/orders/{id}", get(orders::get))
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

/// `/openapi.json` and the Swagger UI at `/docs`, served from the binary. Its validator badge
/// is off: by default the bundle sends the spec's address to validator.swagger.io, and nothing
/// on `/docs` may load from another host.
pub fn docs() -> SwaggerUi {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .config(utoipa_swagger_ui::Config::default().validator_url("none"))
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
