//! The OpenAPI 3.1 document of the REST shim (`/openapi.json`) and its Swagger UI (`/docs`).
//!
//! Paths, parameters and bodies come from the handlers' `#[utoipa::path]` and the request and
//! response types (the same types that parse and validate). What every operation shares is
//! added here from its shape ([`ErrorResponses`]), so no operation can forget a status it can
//! return: 401 (a bad, expired or ended token anywhere; no token where the operation needs
//! one), 403 where it needs one, 400/404 with a path parameter, 400/422 with query
//! parameters, 400/413/415/422 with a body, and 429/503 everywhere — each with the Iris error
//! envelope. Operations that need no sign-in say so (`security: [{}, {bearer: []}]`).
//! Every free-text string carries the edge text rule every string passes
//! (`validation::edge_text`: no C0 control but tab, line feed and carriage return) as its
//! `pattern` ([`EdgeTextRule`]); fields whose rule is stricter name it with a `format`
//! (`iris-text`, `iris-amount`, …) that [`FieldRules`] turns into the rule's JSON Schema,
//! written once here beside the validation it mirrors.

use utoipa::{
    OpenApi,
    openapi::{
        Content, RefOr, Response, ResponseBuilder,
        path::{Operation, ParameterIn},
        schema::{ArrayItems, Object, Ref, Schema, SchemaFormat, SchemaType, Type},
        security::SecurityRequirement,
    },
};
use utoipa_swagger_ui::SwaggerUi;

use super::{
    admin, analytics, auth, carts, integrations, inventory, invoices, orders, planning, pricing,
    products, restaurants, suppliers,
};
use crate::domain::identity::AuthProvider;

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
        pricing::lists,
        pricing::create,
        pricing::get,
        pricing::update,
        pricing::delete,
        pricing::assign,
        pricing::unassign,
        pricing::set_group,
        pricing::price,
        pricing::history,
        pricing::rules,
        pricing::save_rule,
        pricing::delete_rule,
        pricing::preview,
        pricing::recommended,
        integrations::connectors,
        integrations::connect,
        integrations::status,
        integrations::disconnect,
        integrations::sync,
        integrations::pull_invoices,
        integrations::prefill,
        integrations::run,
        restaurants::list,
        restaurants::get,
        inventory::list,
        inventory::create,
        inventory::update,
        inventory::delete,
        inventory::movements,
        inventory::usage,
        inventory::waste,
        inventory::stocktake,
        invoices::upload,
        invoices::list,
        invoices::get,
        invoices::document,
        invoices::correct_line,
        invoices::extract_again,
        invoices::approve,
        invoices::dispute,
        invoices::answer_dispute,
        invoices::settings,
        invoices::set_settings,
        invoices::templates,
        invoices::create_template,
        invoices::update_template,
        invoices::delete_template,
        planning::set_policy,
        planning::policies,
        planning::suggestions,
        planning::apply,
        planning::restaurant_forecast,
        planning::supplier_forecast,
        analytics::spend,
        analytics::price_variance,
        analytics::cover,
        analytics::restaurant_accuracy,
        analytics::sales,
        analytics::supplier_accuracy,
        carts::get,
        carts::add,
        carts::set,
        carts::remove,
        carts::clear,
        carts::checkout,
        orders::list,
        orders::get,
        orders::receipt,
        orders::receipt_pdf,
        orders::place,
        orders::confirm,
        orders::reject,
        orders::ship,
        orders::deliver,
        orders::cancel,
    ),
    modifiers(&BearerAuth, &ErrorResponses, &FieldRules, &EdgeTextRule),
    tags(
        (name = "auth", description = "Sign-in and the current account"),
        (name = "suppliers", description = "Wholesale suppliers"),
        (name = "catalog", description = "Products: browse, search, and upkeep by suppliers"),
        (name = "restaurants", description = "Restaurants buying on the marketplace"),
        (name = "carts", description = "A restaurant's cart and its checkout"),
        (name = "inventory", description = "A restaurant's inventory: items, on-hand as of any moment, the movement ledger"),
        (name = "invoices", description = "Suppliers' invoices: upload, extraction, reconciliation against orders, approval and disputes"),
        (name = "planning", description = "Demand forecasts, reorder policies and reorder suggestions"),
        (name = "pricing", description = "Price lists, customer groups, dynamic price rules, a restaurant's prices, price history and supplier recommendations"),
        (name = "integrations", description = "Supplier connectors: a restaurant's consented connection to its account at a wholesaler's portal, the mirrored catalog, cart prefill and invoice pull"),
        (name = "analytics", description = "Spend and sales, price variance, days of cover and stock-outs, forecast accuracy"),
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

/// `/openapi.json` and the Swagger UI at `/docs`, served from the binary. Its validator badge
/// is off: by default the bundle sends the spec's address to validator.swagger.io, and nothing
/// on `/docs` may load from another host.
pub fn docs(provider: AuthProvider) -> SwaggerUi {
    SwaggerUi::new("/docs")
        .url("/openapi.json", document(provider))
        .config(utoipa_swagger_ui::Config::default().validator_url("none"))
}

/// The document of this deployment: only the sign-in routes its identity provider serves.
pub fn document(provider: AuthProvider) -> utoipa::openapi::OpenApi {
    let mut openapi = ApiDoc::openapi();
    let absent: &[&str] = match provider {
        AuthProvider::Local => &["/api/v1/auth/register"],
        AuthProvider::Oidc => &[
            "/api/v1/auth/dev/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/logout",
        ],
    };
    openapi
        .paths
        .paths
        .retain(|path, _| !absent.contains(&path.as_str()));
    openapi
}

/// Adds the error responses every operation can give, from its shape (see the module doc).
struct ErrorResponses;

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations_mut(openapi) {
            document_errors(operation);
        }
    }
}

/// Every operation of the document.
fn operations_mut(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// Calls `visit` on every object schema inside `schema` (properties, array items,
/// compositions); the components it refers to join `refs`.
fn visit_objects(
    schema: &mut RefOr<Schema>,
    refs: &mut Vec<String>,
    visit: &mut impl FnMut(&mut Object),
) {
    let schema = match schema {
        RefOr::T(schema) => schema,
        RefOr::Ref(reference) => {
            refs.push(schema_name(reference));
            return;
        }
    };
    match schema {
        Schema::Object(object) => {
            visit(object);
            for property in object.properties.values_mut() {
                visit_objects(property, refs, visit);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                visit_objects(items, refs, visit);
            }
        }
        Schema::OneOf(one) => one
            .items
            .iter_mut()
            .for_each(|s| visit_objects(s, refs, visit)),
        Schema::AllOf(all) => all
            .items
            .iter_mut()
            .for_each(|s| visit_objects(s, refs, visit)),
        Schema::AnyOf(any) => any
            .items
            .iter_mut()
            .for_each(|s| visit_objects(s, refs, visit)),
        _ => {}
    }
}

fn document_errors(operation: &mut Operation) {
    let signed_in = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    if !signed_in {
        // Anyone may call it; a token, when sent, must be good.
        operation.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
    let has = |place: ParameterIn| {
        operation.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == place,
            RefOr::Ref(_) => false,
        })
    };
    let (path, query, body) = (
        has(ParameterIn::Path),
        has(ParameterIn::Query),
        operation.request_body.is_some(),
    );
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(envelope(description)));
    };
    if signed_in {
        add(
            "401",
            "Not signed in, or the bearer token is invalid, expired or of an ended session",
        );
        add("403", "The caller may not do this");
    } else {
        add(
            "401",
            "The bearer token sent is invalid, expired or of an ended session",
        );
    }
    if path || query || body {
        add(
            "400",
            "Malformed request: a path parameter that is not a UUID, a query string or JSON body that does not parse",
        );
    }
    let cursor = operation.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.name == "cursor",
        RefOr::Ref(_) => false,
    });
    if path {
        add("404", "No such resource, or not visible to the caller");
    } else if cursor {
        add("404", "The `cursor` item is not in the list (any more)");
    }
    if query || body {
        add(
            "422",
            "A parameter or field breaks a rule (`fields` names each one)",
        );
    }
    if body {
        add("413", "The body is larger than MAX_BODY_BYTES");
        add("415", "The body is not `application/json`");
    }
    add(
        "429",
        "Too many requests: retry after `Retry-After` seconds",
    );
    add(
        "503",
        "A dependency is down: retry after `Retry-After` seconds",
    );
}

/// A response with the Iris error envelope.
fn envelope(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
        )
        .build()
}

/// The edge text rule as a JSON Schema pattern (ECMA-262): what `validation::edge_text` lets
/// through.
pub const EDGE_TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$";

/// Puts [`EDGE_TEXT_PATTERN`] on every string a caller sends without a format, enum or
/// pattern of its own: in request bodies (and the schemas they refer to) and in parameters.
struct EdgeTextRule;

impl utoipa::Modify for EdgeTextRule {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut pending: Vec<String> = Vec::new();
        for item in openapi.paths.paths.values() {
            for operation in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                let Some(RefOr::T(body)) = &operation.request_body else {
                    continue;
                };
                for content in body.content.values() {
                    if let RefOr::T(content) = content
                        && let Some(RefOr::Ref(reference)) = &content.schema
                    {
                        pending.push(schema_name(reference));
                    }
                }
            }
        }
        let mut done = std::collections::BTreeSet::new();
        if let Some(components) = openapi.components.as_mut() {
            while let Some(name) = pending.pop() {
                if !done.insert(name.clone()) {
                    continue;
                }
                if let Some(schema) = components.schemas.get_mut(&name) {
                    visit_objects(schema, &mut pending, &mut edge_text);
                }
            }
        }
        for operation in operations_mut(openapi) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && let Some(schema) = parameter.schema.as_mut()
                {
                    visit_objects(schema, &mut Vec::new(), &mut edge_text);
                }
            }
        }
    }
}

/// `Name` of `#/components/schemas/Name`.
fn schema_name(reference: &Ref) -> String {
    reference
        .ref_location
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The edge text rule on one string schema without a rule of its own.
fn edge_text(object: &mut Object) {
    let string = match &object.schema_type {
        SchemaType::Type(Type::String) => true,
        SchemaType::Array(types) => types.contains(&Type::String),
        _ => false,
    };
    if string && object.format.is_none() && object.enum_values.is_none() && object.pattern.is_none()
    {
        object.pattern = Some(EDGE_TEXT_PATTERN.to_owned());
    }
}

/// Characters `str::trim` removes that the edge rule lets through (Unicode White_Space but
/// vertical tab and form feed), as a regex class body.
const TRIMMED: &str =
    "\\t\\n\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
/// What `validation::text` refuses inside a text: control characters and format characters
/// but the joiners. The server also refuses the few astral format characters (U+110BD,
/// U+110CD, U+13430–1343F, U+1BCA0–1BCA3, U+1D173–1D17A, tags U+E0001 and U+E0020–E007F),
/// which a pattern cannot name without the `u` flag many JavaScript clients compile it
/// without.
const REFUSED: &str = "\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2\\u180E\\u200B\\u200E\\u200F\\u202A-\\u202E\\u2060-\\u2064\\u2066-\\u206F\\uFEFF\\uFFF9-\\uFFFB";

/// `validation::text`: after trimming, at least one character, none of them refused.
fn text_pattern() -> String {
    format!("^[{TRIMMED}]*[^{TRIMMED}{REFUSED}]([^{REFUSED}]*[^{TRIMMED}{REFUSED}])?[{TRIMMED}]*$")
}

/// A non-negative amount as `money::to_milli` takes it: at most 15 significant digits before
/// the point and 3 decimals (trailing zeros aside).
const AMOUNT_PATTERN: &str = "^0*[0-9]{1,15}(\\.([0-9]{1,3}0*)?)?$";
/// An amount of at least 0.001 (a unit price).
const PRICE_PATTERN: &str =
    "^(0*[1-9][0-9]{0,14}(\\.([0-9]{1,3}0*)?)?|0*\\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9])0*)$";
/// A VAT rate in percent, 0–100 with at most two decimals (`catalog::tax_rate_bp`).
const TAX_RATE_PATTERN: &str = "^(100(\\.0{1,2})?|[0-9]{1,2}(\\.[0-9]{1,2})?)$";
/// An invoice matching tolerance in percent, 0–10 with at most 4 decimals
/// (`invoicing::reconcile::Tolerance`).
const TOLERANCE_PATTERN: &str = "^(10(\\.0{1,4})?|[0-9](\\.[0-9]{1,4})?)$";
/// A service level for safety stock, 0.5–0.999 (`planning::policies`).
const SERVICE_LEVEL_PATTERN: &str = "^0\\.[5-9][0-9]{0,2}0*$";
/// A SKU (`catalog::sku`): 1–64 of letters, digits, `-`, `_`, `.` and `/`, trimmed.
fn sku_pattern() -> String {
    format!("^[{TRIMMED}]*[A-Za-z0-9._/-]{{1,64}}[{TRIMMED}]*$")
}
/// A Swedish organisation number's shape (`validation::organisation_number`); its Luhn check
/// digit is the `se-organisation-number` format's (fuzzers learn it from a hook).
const ORGANISATION_NUMBER_PATTERN: &str = "^(16)?[0-9]{6}-?[0-9]{4}$";

/// Turns the `iris-…` formats request fields carry into their rules.
struct FieldRules;

impl utoipa::Modify for FieldRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            for schema in components.schemas.values_mut() {
                visit_objects(schema, &mut Vec::new(), &mut apply_rule);
            }
        }
    }
}

fn apply_rule(object: &mut Object) {
    let Some(SchemaFormat::Custom(format)) = object.format.clone() else {
        return;
    };
    let nullable =
        matches!(&object.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
    let with_null = |t: Type| {
        if nullable {
            SchemaType::Array(vec![t, Type::Null])
        } else {
            SchemaType::Type(t)
        }
    };
    match format.as_str() {
        "iris-text" => {
            object.format = None;
            object.pattern = Some(text_pattern());
            object.min_length = Some(1);
        }
        // Blank means none.
        "iris-optional-text" => {
            object.format = None;
            object.pattern = Some(format!("^[{TRIMMED}]*$|{}", text_pattern()));
        }
        "iris-sku" => {
            object.format = None;
            object.pattern = Some(sku_pattern());
        }
        // Decimal strings, or whole numbers (JSON floats are refused: inexact).
        "iris-amount" | "iris-price" => {
            let price = format == "iris-price";
            object.format = None;
            object.schema_type = if nullable {
                SchemaType::Array(vec![Type::String, Type::Integer, Type::Null])
            } else {
                SchemaType::Array(vec![Type::String, Type::Integer])
            };
            object.pattern = Some(if price { PRICE_PATTERN } else { AMOUNT_PATTERN }.to_owned());
            object.minimum = Some(if price { 1 } else { 0 }.into());
            object.maximum = Some(999_999_999_999_999_i64.into());
        }
        "iris-tax-rate" => {
            object.format = None;
            object.schema_type = if nullable {
                SchemaType::Array(vec![Type::String, Type::Integer, Type::Null])
            } else {
                SchemaType::Array(vec![Type::String, Type::Integer])
            };
            object.pattern = Some(TAX_RATE_PATTERN.to_owned());
            object.minimum = Some(0.into());
            object.maximum = Some(100.into());
        }
        // An invoice matching tolerance in percent, 0–10 with at most 4 decimals.
        "iris-tolerance" => {
            object.format = None;
            object.schema_type = if nullable {
                SchemaType::Array(vec![Type::String, Type::Integer, Type::Null])
            } else {
                SchemaType::Array(vec![Type::String, Type::Integer])
            };
            object.pattern = Some(TOLERANCE_PATTERN.to_owned());
            object.minimum = Some(0.into());
            object.maximum = Some(10.into());
        }
        // A service level, 0.5–0.999.
        "iris-service-level" => {
            object.format = None;
            object.schema_type = with_null(Type::String);
            object.pattern = Some(SERVICE_LEVEL_PATTERN.to_owned());
        }
        "se-organisation-number" => {
            object.schema_type = with_null(Type::String);
            object.pattern = Some(ORGANISATION_NUMBER_PATTERN.to_owned());
        }
        _ => {}
    }
}
