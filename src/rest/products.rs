//! `/api/v1/products` and `/api/v1/suppliers/{id}/products`: the catalog over REST.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    MoneyDto, PaginationDto,
    extract::{ApiJson, ApiPath, ApiQuery},
    parse_sort,
};
use crate::{
    domain::catalog::{
        Allergen, DietaryTag, Product, ProductFilter, ProductInput, ProductSort, ProductSortField,
    },
    error::{AppError, ErrorEnvelope},
    web::{
        ApiState,
        extract::{Authenticated, SignedIn},
    },
};

/// Something a supplier sells.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDto {
    id: Uuid,
    supplier_id: Uuid,
    sku: String,
    name: String,
    description: Option<String>,
    category: String,
    /// KG, G, L, CL, PIECE, PACK, BOX or CASE.
    unit: &'static str,
    unit_price: MoneyDto,
    stock_on_hand: i64,
    #[schema(value_type = Vec<String>, example = json!(["FISH"]))]
    allergens: Vec<Allergen>,
    #[schema(value_type = Vec<String>, example = json!(["GLUTEN_FREE"]))]
    dietary_tags: Vec<DietaryTag>,
    /// VAT rate in percent.
    #[schema(value_type = String, example = "12")]
    tax_rate: Decimal,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// One unit's price for the restaurant asked about (`?restaurantId`), its price lists
    /// applied; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<super::pricing::ResolvedPriceDto>,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            id: p.id,
            supplier_id: p.supplier_id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            category: p.category,
            unit: p.unit.as_str(),
            unit_price: p.unit_price.into(),
            stock_on_hand: p.stock_on_hand,
            allergens: p.allergens,
            dietary_tags: p.dietary_tags,
            tax_rate: p.tax_rate,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
            price: None,
        }
    }
}

/// A page of products.
#[derive(Serialize, ToSchema)]
pub struct ProductListResponse {
    data: Vec<ProductDto>,
    pagination: PaginationDto,
}

/// One product.
#[derive(Serialize, ToSchema)]
pub struct ProductResponse {
    data: ProductDto,
}

/// Products as stored after an upsert, in request order.
#[derive(Serialize, ToSchema)]
pub struct ProductsResponse {
    data: Vec<ProductDto>,
}

/// Paging, search, filters and sort of the product list.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListProductsParams {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Items to skip.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// `pagination.nextCursor` of the previous page (its last item's id): the page after that
    /// item, `offset` then skipping further. NOT_FOUND when the item left the list.
    cursor: Option<Uuid>,
    /// Search text (names, typo-tolerant, and SKUs).
    q: Option<String>,
    supplier_id: Option<Uuid>,
    category: Option<String>,
    /// Lowest unit price, a decimal with at most 3 decimals, e.g. `12.5`.
    #[param(value_type = Option<String>, pattern = r"^-?[0-9]{1,15}(\.[0-9]{1,3})?$")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    min_price: Option<Decimal>,
    /// Highest unit price, as `minPrice`.
    #[param(value_type = Option<String>, pattern = r"^-?[0-9]{1,15}(\.[0-9]{1,3})?$")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    max_price: Option<Decimal>,
    in_stock: Option<bool>,
    /// Comma-separated allergens the products must not contain, e.g. `FISH,GLUTEN`.
    #[param(
        pattern = r"^(GLUTEN|CRUSTACEANS|EGGS|FISH|PEANUTS|SOYBEANS|MILK|NUTS|CELERY|MUSTARD|SESAME|SULPHITES|LUPIN|MOLLUSCS)(,(GLUTEN|CRUSTACEANS|EGGS|FISH|PEANUTS|SOYBEANS|MILK|NUTS|CELERY|MUSTARD|SESAME|SULPHITES|LUPIN|MOLLUSCS))*$"
    )]
    excludes_allergens: Option<String>,
    /// Comma-separated tags the products must all have, e.g. `VEGAN`.
    #[param(
        pattern = r"^(VEGAN|VEGETARIAN|GLUTEN_FREE|LACTOSE_FREE|ORGANIC|HALAL|KOSHER)(,(VEGAN|VEGETARIAN|GLUTEN_FREE|LACTOSE_FREE|ORGANIC|HALAL|KOSHER))*$"
    )]
    dietary_tags: Option<String>,
    /// `relevance` (default), `name`, `price` or `createdAt`; prefix `-` for descending.
    #[param(pattern = r"^-?(relevance|name|price|createdAt)$")]
    sort: Option<String>,
    /// Price every product as this restaurant pays (its members and admins): `price`.
    restaurant_id: Option<Uuid>,
}

fn list_of<T: for<'de> Deserialize<'de>>(
    field: &str,
    raw: Option<&str>,
) -> Result<Vec<T>, AppError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|s| {
            if s.is_empty() {
                return Err(AppError::validation(
                    field,
                    "must list values separated by single commas",
                ));
            }
            serde_json::from_value(serde_json::Value::String(s.to_ascii_uppercase()))
                .map_err(|_| AppError::validation(field, format!("`{s}` is not a known value")))
        })
        .collect()
}

/// Browse and search products.
#[utoipa::path(
    get, path = "/api/v1/products", tag = "catalog",
    params(ListProductsParams),
    responses(
        (status = 200, description = "A page of products", body = ProductListResponse),
        (status = 400, description = "Malformed query string", body = ErrorEnvelope),
        (status = 422, description = "A parameter breaks a rule", body = ErrorEnvelope),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<ListProductsParams>,
) -> Result<Json<ProductListResponse>, AppError> {
    let page = super::page_request(params.offset, params.limit, params.cursor)?;
    if let Some(restaurant) = params.restaurant_id {
        state
            .services
            .pricing
            .authorize_restaurant(&caller, restaurant)?;
    }
    let filter = ProductFilter {
        query: params.q,
        supplier_id: params.supplier_id,
        category: params.category,
        min_price: params.min_price,
        max_price: params.max_price,
        in_stock: params.in_stock,
        excludes_allergens: list_of("excludesAllergens", params.excludes_allergens.as_deref())?,
        dietary_tags: list_of("dietaryTags", params.dietary_tags.as_deref())?,
        include_inactive: false,
    };
    let sort = parse_sort(
        params.sort.as_deref(),
        &[
            ("relevance", ProductSortField::Relevance),
            ("name", ProductSortField::Name),
            ("price", ProductSortField::Price),
            ("createdAt", ProductSortField::CreatedAt),
        ],
    )?
    .map(|(field, direction)| ProductSort { field, direction })
    .unwrap_or_default();
    let result = state
        .services
        .products
        .list(&filter, sort, page.clone())
        .await?;
    let prices = match params.restaurant_id {
        Some(restaurant) => Some(
            state
                .services
                .pricing
                .resolve_products(
                    restaurant,
                    &result.items.iter().map(|p| (p, 1)).collect::<Vec<_>>(),
                )
                .await?,
        ),
        None => None,
    };
    let pagination = PaginationDto::of(&page, &result);
    let mut data: Vec<ProductDto> = result.items.into_iter().map(ProductDto::from).collect();
    if let Some(prices) = prices {
        for (dto, price) in data.iter_mut().zip(prices) {
            dto.price = Some(super::pricing::ResolvedPriceDto::of(price, 1));
        }
    }
    Ok(Json(ProductListResponse { pagination, data }))
}

/// Get one product.
#[utoipa::path(
    get, path = "/api/v1/products/{id}", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductResponse),
        (status = 404, description = "No such product", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<ApiState>,
    Authenticated(_caller): Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ProductResponse>, AppError> {
    let product = state.services.products.get(id).await?;
    Ok(Json(ProductResponse {
        data: product.into(),
    }))
}

/// One product of an upsert.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductRequest {
    /// Letters, digits, `-`, `_`, `.` and `/`; unique per supplier.
    #[schema(format = "iris-sku", max_length = 64)]
    sku: String,
    #[schema(format = "iris-text", max_length = 200)]
    name: String,
    /// Blank means none.
    #[schema(format = "iris-optional-text", max_length = 2000)]
    description: Option<String>,
    #[schema(format = "iris-text", max_length = 100)]
    category: String,
    /// KG, G, L, CL, PIECE, PACK, BOX or CASE.
    #[schema(pattern = "^(KG|G|L|CL|PIECE|PACK|BOX|CASE)$")]
    unit: String,
    /// Decimal string, at least 0.001.
    #[schema(value_type = String, format = "iris-price", example = "32.50")]
    #[serde(deserialize_with = "super::exact_decimal_required")]
    unit_price: Decimal,
    #[schema(pattern = "^(SEK|NOK|DKK|EUR|ISK|GBP|USD|CHF|PLN)$")]
    currency: Option<String>,
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    stock_on_hand: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Vec<AllergenName>)]
    allergens: Vec<Allergen>,
    #[serde(default)]
    #[schema(value_type = Vec<DietaryTagName>)]
    dietary_tags: Vec<DietaryTag>,
    /// VAT rate in percent (decimal string), 0–100; 12 for a new product when absent.
    #[schema(value_type = Option<String>, format = "iris-tax-rate", example = "12")]
    #[serde(default, deserialize_with = "super::exact_decimal")]
    tax_rate: Option<Decimal>,
    active: Option<bool>,
}

/// One of the 14 allergens EU food law requires to be declared.
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: requests parse into `catalog::Allergen`.
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AllergenName {
    Gluten,
    Crustaceans,
    Eggs,
    Fish,
    Peanuts,
    Soybeans,
    Milk,
    Nuts,
    Celery,
    Mustard,
    Sesame,
    Sulphites,
    Lupin,
    Molluscs,
}

/// A dietary property of a product.
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: requests parse into `catalog::DietaryTag`.
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DietaryTagName {
    Vegan,
    Vegetarian,
    GlutenFree,
    LactoseFree,
    Organic,
    Halal,
    Kosher,
}

/// Products to create or update, all or nothing.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpsertProductsRequest {
    /// 1 to 1000 products, keyed by SKU.
    #[schema(min_items = 1, max_items = 1000)]
    products: Vec<ProductRequest>,
}

/// Create or update a supplier's products by SKU (its members and admins), all or nothing.
#[utoipa::path(
    put, path = "/api/v1/suppliers/{id}/products", tag = "catalog",
    params(("id" = Uuid, Path, description = "Supplier id")),
    request_body = UpsertProductsRequest,
    responses(
        (status = 200, description = "The products as stored", body = ProductsResponse),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Not a member of the supplier", body = ErrorEnvelope),
        (status = 422, description = "Products break rules; every one is named as products[i].field", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn upsert(
    State(state): State<ApiState>,
    SignedIn(caller): SignedIn,
    ApiPath(supplier): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpsertProductsRequest>,
) -> Result<Json<ProductsResponse>, AppError> {
    let items = body
        .products
        .into_iter()
        .map(|p| ProductInput {
            sku: p.sku,
            name: p.name,
            description: p.description,
            category: p.category,
            unit: p.unit,
            unit_price: p.unit_price,
            currency: p.currency,
            stock_on_hand: p.stock_on_hand,
            allergens: p.allergens,
            dietary_tags: p.dietary_tags,
            tax_rate: p.tax_rate,
            active: p.active,
        })
        .collect();
    let products = state
        .services
        .products
        .upsert(&caller, supplier, items)
        .await
        // The service names GraphQL's `items[i]`; this body calls them `products[i]`.
        .map_err(|error| match error {
            AppError::Validation(mut fields) => {
                for violation in &mut fields {
                    if let Some(rest) = violation.field.strip_prefix("items") {
                        violation.field = format!("products{rest}");
                    }
                }
                AppError::Validation(fields)
            }
            other => other,
        })?;
    Ok(Json(ProductsResponse {
        data: products.into_iter().map(ProductDto::from).collect(),
    }))
}
