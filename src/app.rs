//! Composition root: builds every piece from the configuration, wires the axum app, serves it,
//! and stops it gracefully.
//!
//! The listener is bound in [`Application::build`], so callers (tests) can start Iris on port 0
//! and read the port before serving.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::response::IntoResponse as _;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, header},
    middleware,
    routing::get,
};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
};

use crate::{
    config::Config,
    domain::{Services, Settings, platform::job_runs::JobRegistry},
    error::AppError,
    graphql::{self, GraphqlState, documents::DocumentPolicy},
    infra::{
        apq::QueryCache,
        bus::{EventBus, RedisBus},
        db::{self, Db},
        metrics::{self, ApiMetrics},
        ratelimit::{RateLimiter, RedisCounters},
        redis::RedisClient,
        server,
        shutdown::Shutdown,
        telemetry,
    },
    jobs, ops, rest, seed,
    web::ApiState,
};

/// A built, bound, not yet serving Iris.
pub struct Application {
    listener: TcpListener,
    state: ApiState,
    graphql: GraphqlState,
    background_db: Db,
}

/// What every process of Iris runs on: database (migrated as configured), bus, services and
/// metrics — shared by the server, the worker and the CLI.
pub struct Core {
    /// The request pool.
    pub db: Db,
    pub bus: EventBus,
    /// The services requests call, on the request pool.
    pub services: Services,
    /// The same services on the background pool, for the dispatcher, the webhook sender and
    /// the jobs: background work neither starves requests nor is starved by them.
    pub background: Services,
    /// The background pool.
    pub background_db: Db,
    pub metrics: Arc<ApiMetrics>,
    /// Redis, when `REDIS_URL` is set.
    pub redis: Option<RedisClient>,
}

impl Core {
    pub async fn build(config: &Config) -> anyhow::Result<Core> {
        let metrics = Arc::new(ApiMetrics::new(config.metrics_max_operations)?);
        let extraction = &crate::domain::invoicing::EXTRACTION_METRICS;
        metrics.register(Box::new(extraction.duration.clone()))?;
        metrics.register(Box::new(extraction.errors.clone()))?;
        for collector in crate::domain::integrations::CONNECTOR_METRICS.collectors() {
            metrics.register(collector)?;
        }
        let mut pool = db::connect(&config.database()).await?;
        metrics.instrument(&mut pool, "request");
        if config.migrate_on_start {
            match &config.database_url_direct {
                // Past the pooler, on a connection of their own.
                Some(_) => {
                    let direct = db::connect(&config.migrations_database()).await?;
                    db::migrate_up(&direct).await?;
                    direct
                        .close()
                        .await
                        .context("closing the migrations connection")?;
                }
                None => db::migrate_up(&pool).await?,
            }
        }
        let mut background_pool = db::connect_background(&config.database()).await?;
        metrics.instrument(&mut background_pool, "background");
        let (db, background_db) = (Db::new(pool), Db::new(background_pool));
        let redis = match &config.redis_url {
            Some(url) => Some(RedisClient::connect(url, &config.redis_prefix).await?),
            None => None,
        };
        let (bus, limiter) = match &redis {
            Some(redis) => (
                EventBus::new(Arc::new(RedisBus::connect(redis.clone()).await?)),
                RateLimiter::new(Arc::new(RedisCounters::new(redis.clone()))),
            ),
            None => (EventBus::memory(), RateLimiter::in_memory()),
        };
        let services_on = |db: Db| {
            Services::new(
                db,
                bus.clone(),
                Settings {
                    auth: &config.auth,
                    webhooks: &config.webhooks,
                    retention: &config.retention,
                    weather: &config.weather,
                    storage: &config.storage,
                    invoicing: &config.invoicing,
                    pricing: &config.pricing,
                    integrations: &config.integrations,
                },
                Arc::new(config.secret_keys.clone()),
                limiter.clone(),
            )
        };
        let services = services_on(db.clone())?;
        let background = services_on(background_db.clone())?;
        // Secrets stored before they were sealed at rest are sealed before anything reads them.
        services
            .secrets
            .seal_plaintext()
            .await
            .map_err(AppError::into_anyhow)
            .context("sealing secrets stored in plaintext")?;
        // Authentication runs on the request services: their caller cache follows changes
        // made by every process.
        services.identity.callers().follow_changes();
        services
            .identity
            .sessions()
            .follow()
            .await
            .map_err(AppError::into_anyhow)
            .context("loading ended sessions")?;
        Ok(Core {
            db,
            bus,
            services,
            background,
            background_db,
            metrics,
            redis,
        })
    }

    /// Closes both pools.
    pub async fn close(&self) -> anyhow::Result<()> {
        self.background_db
            .pool()
            .close_by_ref()
            .await
            .context("closing the background database pool")?;
        self.db
            .pool()
            .close_by_ref()
            .await
            .context("closing the database pool")
    }

    /// The job registry over the background services.
    pub fn jobs(&self, config: &Config) -> anyhow::Result<JobRegistry> {
        JobRegistry::new(
            self.background.clone(),
            self.metrics.clone(),
            jobs::catalog(),
            &config.jobs.schedules,
        )
    }
}

/// `iris worker`: background work only — the cron scheduler, the outbox dispatcher and the
/// webhook sender — until `signal` resolves.
pub async fn run_worker(
    config: Config,
    signal: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let core = Core::build(&config).await?;
    let jobs = core.jobs(&config)?;
    let shutdown = Shutdown::new();
    let scheduler = jobs::scheduler::start(jobs, shutdown.clone()).await?;
    let loops = jobs::dispatcher::start(
        core.background.clone(),
        core.bus.clone(),
        config.jobs.poll_interval,
        shutdown.clone(),
    );
    tracing::info!(
        bus = core.bus.backend(),
        "Iris worker started: running background jobs"
    );
    signal.await;
    tracing::info!("shutdown requested: no new job runs");
    shutdown.trigger();
    let _ = scheduler.await;
    for handle in loops {
        let _ = handle.await;
    }
    core.close().await?;
    tracing::info!("stopped");
    Ok(())
}

impl Application {
    /// Connects the database (migrating and seeding as configured) and the bus, builds the
    /// services and the schema, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let core = Core::build(&config).await?;
        let jobs = core.jobs(&config)?;
        let Core {
            db,
            bus,
            services,
            background,
            background_db,
            metrics,
            redis,
        } = core;
        if config.seed_on_start
            && !services
                .suppliers
                .any_exist()
                .await
                .map_err(AppError::into_anyhow)?
        {
            seed::demo_data_then_history(&services, config.auth.demo_users).await?;
            tracing::info!(
                "first start: demo marketplace seeded (its history follows in the background)"
            );
        }
        let executor = graphql::build_executor(services.clone(), jobs.clone(), &config.graphql);
        let documents = Arc::new(DocumentPolicy::new(
            &config.graphql,
            services.documents.clone(),
            QueryCache::new(redis),
        ));
        let shutdown = Shutdown::new();
        if config.jobs.scheduler_enabled {
            jobs::scheduler::start(jobs.clone(), shutdown.clone()).await?;
            jobs::dispatcher::start(
                background.clone(),
                bus.clone(),
                config.jobs.poll_interval,
                shutdown.clone(),
            );
        }
        let listener = TcpListener::bind((config.host, config.port))
            .await
            .with_context(|| {
                format!(
                    "HOST/PORT: cannot listen on {}:{}",
                    config.host, config.port
                )
            })?;
        let state = ApiState {
            config: Arc::new(config),
            db,
            bus,
            services,
            metrics,
            shutdown,
            websockets: TaskTracker::new(),
        };
        Ok(Self {
            listener,
            background_db,
            graphql: GraphqlState {
                api: state.clone(),
                executor,
                documents,
            },
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The state every handler shares.
    pub fn state(&self) -> &ApiState {
        &self.state
    }

    /// Serves until `signal` resolves, then stops accepting, lets in-flight requests finish
    /// within `SHUTDOWN_TIMEOUT_SECS`, closes websockets with a close frame (1001), and closes
    /// the database pool.
    pub async fn run_until_stopped(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            state,
            graphql,
            background_db,
        } = self;
        let grace = state.config.shutdown_timeout;
        let shutdown = state.shutdown.clone();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                signal.await;
                tracing::info!(
                    "shutdown requested: no new connections, draining in-flight requests"
                );
                shutdown.trigger();
            }
        });

        let mut stopped = shutdown.clone();
        let server = server::serve(listener, router(state.clone(), graphql), async move {
            stopped.wait().await;
        });
        let mut stopped = shutdown.clone();
        let grace_over = async move {
            stopped.wait().await;
            tokio::time::sleep(grace).await;
        };
        // The drain is bounded: grace for in-flight requests, then at most 5 s for websocket
        // close frames (sent since the signal) and 2 s for the pool. Whatever still runs is
        // abandoned: the caller returns, and the process exit (or runtime drop) ends it.
        tokio::select! {
            () = server => {}
            () = grace_over => tracing::warn!(
                grace_secs = grace.as_secs(),
                "in-flight requests did not finish within the grace period; abandoning them"
            ),
        }
        state.websockets.close();
        if tokio::time::timeout(Duration::from_secs(5), state.websockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some websockets did not close in time");
        }
        let close_pools = async {
            background_db.pool().close_by_ref().await?;
            state.db.pool().close_by_ref().await
        };
        match tokio::time::timeout(Duration::from_secs(2), close_pools).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "closing the database pool failed"),
            Err(_) => tracing::warn!("database connections still busy; abandoning them"),
        }
        tracing::info!("stopped");
        Ok(())
    }
}

fn cors(config: &Config) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600));
    if config.cors_origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

/// The whole HTTP surface.
pub fn router(state: ApiState, graphql: GraphqlState) -> Router {
    let config = state.config.clone();
    Router::new()
        .merge(graphql::router(graphql))
        .nest(
            "/api/v1",
            rest::router(
                config.auth.provider,
                config.storage.max_bytes.saturating_add(64 * 1024),
            ),
        )
        .merge(rest::docs(config.auth.provider))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(
            telemetry::RequestLimits {
                timeout: config.request_timeout,
                db_concurrency: config.database_request_concurrency,
                max_header_bytes: config.max_header_bytes,
            },
            telemetry::request_span,
        ))
        // Outermost, so every answer (timeouts included) carries the CORS headers.
        .layer(cors(&config))
        .with_state(state)
}

/// A panic in a handler is a bug: log it and answer the 500 envelope, never drop the connection.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
