//! The GraphQL surface: schema assembly, HTTP and websocket transports, GraphiQL.
//!
//! One `XxxQuery` / `XxxMutation` / `XxxSubscription` per context, merged here. Resolvers
//! parse arguments, call one domain service with the caller's `Principal`, and map the result
//! to GraphQL types defined in this module tree (never entities). Errors are `AppError`s, mapped
//! once by `crate::error`; [`errors`] stamps every error with `timestamp` and `requestId`.

pub mod analytics;
pub mod carts;
pub mod common;
pub mod connection;
pub mod cost;
pub mod documents;
pub mod errors;
pub mod executor;
pub mod graphiql;
pub mod http;
pub mod identity;
pub mod integrations;
pub mod inventory;
pub mod invitations;
pub mod invoices;
pub mod jobs;
pub mod limits;
pub mod loaders;
pub mod notifications;
pub mod orders;
pub mod planning;
pub mod pricing;
pub mod privacy;
pub mod products;
pub mod restaurants;
pub mod suppliers;
pub mod webhooks;
pub mod ws;

use std::sync::Arc;

use async_graphql::{
    Context, MergedObject, MergedSubscription, Schema, SchemaBuilder, ValidationMode,
};
use axum::{Router, extract::FromRef, routing::get};

use crate::{
    auth::{Caller, RequestMeta},
    config::GraphqlConfig,
    domain::{Services, platform::job_runs::JobRegistry},
    error::AppError,
    infra::telemetry::RequestId,
    web::ApiState,
};

/// Everything Iris answers: the marketplace's lists and objects.
#[derive(MergedObject, Default)]
pub struct Query(
    identity::IdentityQuery,
    invitations::InvitationQuery,
    inventory::InventoryQuery,
    planning::PlanningQuery,
    invoices::InvoiceQuery,
    pricing::PricingQuery,
    integrations::IntegrationQuery,
    analytics::AnalyticsQuery,
    suppliers::SupplierQuery,
    restaurants::RestaurantQuery,
    products::ProductQuery,
    carts::CartQuery,
    orders::OrderQuery,
    jobs::JobQuery,
    webhooks::WebhookQuery,
    notifications::NotificationQuery,
);

/// Every change Iris accepts. Each mutation takes one `input` object and returns a payload;
/// a failed mutation changes nothing.
#[derive(MergedObject, Default)]
pub struct Mutation(
    identity::IdentityMutation,
    invitations::InvitationMutation,
    inventory::InventoryMutation,
    planning::PlanningMutation,
    invoices::InvoiceMutation,
    pricing::PricingMutation,
    integrations::IntegrationMutation,
    suppliers::SupplierMutation,
    restaurants::RestaurantMutation,
    products::ProductMutation,
    carts::CartMutation,
    orders::OrderMutation,
    jobs::JobMutation,
    webhooks::WebhookMutation,
    notifications::NotificationMutation,
    privacy::PrivacyMutation,
);

/// Live events over `/graphql/ws` (graphql-transport-ws or the legacy graphql-ws protocol).
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    suppliers::SupplierSubscription,
    orders::OrderSubscription,
    notifications::NotificationSubscription,
    integrations::IntegrationSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// What the GraphQL transports reach: the shared state, the schema, and which documents may
/// run.
#[derive(Clone)]
pub struct GraphqlState {
    pub api: ApiState,
    /// Checks and runs documents (HTTP and websocket alike).
    pub executor: executor::GraphqlExecutor,
    /// Which documents requests may run (persisted queries, trusted documents).
    pub documents: Arc<documents::DocumentPolicy>,
}

impl FromRef<GraphqlState> for ApiState {
    fn from_ref(state: &GraphqlState) -> Self {
        state.api.clone()
    }
}

/// `/graphql` (GET and POST, GraphiQL in a browser), `/graphql/ws`, and GraphiQL's assets.
pub fn router<S: Clone + Send + Sync + 'static>(state: GraphqlState) -> Router<S> {
    Router::new()
        // The POST handler reads its body itself: uploads (multipart) may be as large as a
        // stored document, every other body is held to the usual limit.
        .route("/graphql", get(http::get).post(http::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphiql/{version}/{file}", get(graphiql::asset))
        .with_state(state)
}

/// Per-request (or per-websocket) data every resolver can read.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: RequestId,
    pub caller: Caller,
}

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The schemas served by a running Iris, with their limits and switches from configuration:
/// one checks documents against the limits, the other runs what was checked
/// ([`executor::GraphqlExecutor`]).
pub fn build_executor(
    services: Services,
    jobs: JobRegistry,
    config: &GraphqlConfig,
) -> executor::GraphqlExecutor {
    let limits = Arc::new(limits::Limits::from(config));
    let switches = |mut builder: SchemaBuilder<Query, Mutation, Subscription>| {
        if !config.introspection {
            // "Did you mean …" would spell out the schema that introspection hides.
            builder = builder.disable_introspection().disable_suggestions();
        }
        builder
    };
    let checker = switches(builder())
        .extension(limits::DocumentLimits::new(limits.clone()))
        .finish();
    // No extension, so a resolved field pays for no hook; the document was validated in full
    // by the checker, so only what execution needs is recomputed.
    let runner = switches(builder())
        .data(services)
        .data(jobs)
        .validation_mode(ValidationMode::Fast)
        .finish();
    executor::GraphqlExecutor::new(checker, runner, limits)
}

/// The SDL, exactly as committed in `schema.graphql` (a test fails when they drift).
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The domain services, from the schema data.
pub(crate) fn services<'a>(ctx: &Context<'a>) -> Result<&'a Services, AppError> {
    ctx.data::<Services>()
        .map_err(|_| anyhow::anyhow!("domain services missing from the GraphQL schema data").into())
}

/// The caller; anonymous when the request carried no identity.
pub(crate) fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    static ANONYMOUS: std::sync::LazyLock<Caller> =
        std::sync::LazyLock::new(|| Caller::anonymous(RequestMeta::default()));
    ctx.data_opt::<RequestContext>()
        .map(|c| &c.caller)
        .unwrap_or(&ANONYMOUS)
}
