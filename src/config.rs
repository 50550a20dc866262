//! Settings from the environment (and `.env`, loaded by the binary), validated once at start-up.
//!
//! Every variable is documented in `.env.example`. Parsing collects *all* problems and reports
//! each with the variable's name and the rule it broke, so an operator fixes a bad deployment in
//! one round. Production (`IRIS_ENV=production`) refuses development conveniences it did not
//! ask for explicitly.

use std::{collections::HashMap, fmt, net::IpAddr, str::FromStr, time::Duration};

use crate::{auth::Role, infra::ratelimit::Limit};
pub use crate::{
    auth::oidc::OidcConfig,
    domain::identity::{AuthConfig, AuthProvider, DevUser},
    domain::platform::secrets::Keyring,
    infra::telemetry::LogFormat,
};

/// The deployment environment; production refuses unsafe defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Limits and switches of the GraphQL surface.
#[derive(Clone, Debug)]
pub struct GraphqlConfig {
    pub max_depth: usize,
    /// The most a document may cost (fields, multiplied through lists: `graphql::cost`).
    pub max_cost: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// Directives on one field or fragment.
    pub max_directives: usize,
    /// Errors in one response; the rest are counted in one more.
    pub max_errors: usize,
    /// The largest response body `/graphql` sends, in bytes.
    pub max_response_bytes: usize,
    /// When a document's root fields still running are cancelled (nine tenths of
    /// `REQUEST_TIMEOUT_SECS`, so the answer with what is done leaves before the hard cut).
    pub time_budget: Duration,
    pub introspection: bool,
    pub graphiql: bool,
    /// A websocket client must send `connection_init` within this time or is closed with 4408.
    pub ws_init_timeout: Duration,
    /// Which documents are served (`GRAPHQL_TRUSTED_DOCUMENTS`).
    pub trusted_documents: TrustedDocumentsMode,
    /// With `require`: admins may still send documents that are not registered.
    pub admin_adhoc: bool,
}

/// Which GraphQL documents Iris serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustedDocumentsMode {
    /// Any document; automatic persisted queries register documents on demand.
    Off,
    /// Any document, and registered documents by id (`iris documents push`).
    Allow,
    /// Registered documents only (admins too, unless `GRAPHQL_ADMIN_ADHOC`).
    Require,
}

/// The password of the built-in demo users (development only).
pub const DEMO_PASSWORD: &str = "iris-demo";
/// bcrypt of [`DEMO_PASSWORD`].
const DEMO_HASH: &str = "$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtW";
/// The demo users: an admin, a supplier owner, a restaurant owner.
pub const DEMO_USERS: [(&str, Role); 3] = [
    ("admin@iris.local", Role::Admin),
    ("supplier@iris.local", Role::Supplier),
    ("chef@iris.local", Role::Restaurant),
];
const DEVELOPMENT_SECRET: &str = "iris-development-secret-not-for-production-use";

fn parse_dev_users(raw: &str) -> Result<Vec<DevUser>, String> {
    let mut users = Vec::new();
    for (i, entry) in raw
        .split([';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let n = i + 1;
        let mut parts = entry.splitn(3, ':');
        let (Some(email), Some(role), Some(hash)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("entry {n} is not `email:role:hash`"));
        };
        if crate::domain::kernel::validation::email(email).is_err() {
            return Err(format!("entry {n}: `{email}` is not an e-mail address"));
        }
        let Some(role) = Role::parse(role) else {
            return Err(format!(
                "entry {n}: role must be ADMIN, SUPPLIER or RESTAURANT"
            ));
        };
        if !crate::auth::passwords::is_supported_hash(hash.trim()) {
            return Err(format!(
                "entry {n}: the hash must be bcrypt ($2b$…) or argon2 (PHC $argon2id$…)"
            ));
        }
        users.push(DevUser {
            email: email.trim().to_ascii_lowercase(),
            role,
            password_hash: hash.trim().to_owned(),
        });
    }
    if users.is_empty() {
        return Err("lists no user".into());
    }
    Ok(users)
}

/// The validated configuration of one Iris process.
#[derive(Clone, Debug)]
pub struct Config {
    pub env: Environment,
    pub host: IpAddr,
    pub port: u16,
    pub database_url: String,
    /// `DATABASE_URL_DIRECT`: the database itself, where `DATABASE_URL` goes through a
    /// connection pooler (PgBouncer in transaction mode cannot run migrations' DDL and
    /// advisory locks); migrations use it when set.
    pub database_url_direct: Option<String>,
    pub database_max_connections: u32,
    /// Connections of the background pool (outbox, webhooks, jobs), beside the request pool.
    pub database_background_connections: u32,
    /// Statements one request may have in flight at once (its share of the request pool).
    pub database_request_concurrency: usize,
    /// How long a statement waits for a pooled connection (or for the database to accept a
    /// new one) before the request is answered 503.
    pub database_acquire_timeout: Duration,
    pub migrate_on_start: bool,
    pub seed_on_start: bool,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel Iris uses (lets several deployments share a Redis).
    pub redis_prefix: String,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub graphql: GraphqlConfig,
    /// Largest request body accepted on `/graphql` and `/api/v1`, in bytes.
    pub max_body_bytes: usize,
    /// Largest header section answered (bigger: 431 with the error envelope).
    pub max_header_bytes: usize,
    /// A request still running after this long is answered 503.
    pub request_timeout: Duration,
    /// After SIGINT/SIGTERM, in-flight requests get this long before connections are dropped.
    pub shutdown_timeout: Duration,
    /// Browser origins allowed by CORS; empty means same-origin only, `*` any (development only).
    pub cors_origins: Vec<String>,
    /// Distinct GraphQL operation names tracked as metric labels before others share `__other`.
    pub metrics_max_operations: usize,
    /// `METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>`
    /// (required in production: the metrics describe the traffic).
    pub metrics_token: Option<String>,
    /// Reverse proxies in front of Iris that append to `X-Forwarded-For` (0: clients connect
    /// directly, the TCP peer is the client).
    pub trusted_proxy_hops: usize,
    pub auth: AuthConfig,
    pub jobs: JobsConfig,
    pub webhooks: crate::domain::platform::webhooks::WebhookConfig,
    pub retention: crate::domain::platform::privacy::RetentionPolicy,
    /// `SECRET_KEYS`: the keys sealing secrets at rest, newest first (development without it:
    /// a key derived from `APP_SECRET`; production refuses to start without it).
    pub secret_keys: Keyring,
    /// `OPENWEATHER_API_KEY` (weather off without it), `OPENWEATHER_API_URL`,
    /// `WEATHER_DEFAULT_CITY` (Stockholm).
    pub weather: crate::domain::planning::weather::WeatherConfig,
    /// `STORAGE_URL`, `DATA_DIR`, `STORAGE_MAX_BYTES`: where documents are kept.
    pub storage: crate::domain::platform::storage::StorageConfig,
    /// `INVOICE_EXTRACTIONS`, and `TESSERACT_PATH`, `PDFTOPPM_PATH`, `OCR_LANGUAGES`,
    /// `OCR_TIMEOUT_SECS`, `OCR_MAX_PAGES`: how invoices (scanned ones too) are read.
    pub invoicing: crate::domain::invoicing::ExtractionConfig,
    /// `RECOMMENDATION_WEIGHTS`: how the supplier recommendation weighs its components.
    pub pricing: crate::domain::pricing::PricingConfig,
    /// `CONNECTOR_CONFIG_DIR`, `CHROMIUM_PATH`: supplier connectors' configurations and the
    /// browser of the browser driver.
    pub integrations: crate::domain::integrations::IntegrationsConfig,
}

/// Background jobs.
#[derive(Clone, Debug, Default)]
pub struct JobsConfig {
    /// Whether `iris serve` runs the cron scheduler (`iris worker` always does).
    pub scheduler_enabled: bool,
    /// Schedules overridden by `JOB_<NAME>_SCHEDULE`, by job name; validated.
    pub schedules: HashMap<&'static str, String>,
    /// How often the outbox and webhook dispatchers look for due work when nothing woke them.
    pub poll_interval: Duration,
}

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub variable: &'static str,
    pub problem: String,
}

/// Every problem found in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration:")?;
        for p in &self.0 {
            write!(f, "\n  {}: {}", p.variable, p.problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://iris.db?mode=rwc";

impl Config {
    /// The database settings `infra::db` connects with.
    pub fn database(&self) -> crate::infra::db::DatabaseSettings {
        crate::infra::db::DatabaseSettings {
            url: self.database_url.clone(),
            max_connections: self.database_max_connections,
            background_connections: self.database_background_connections,
            acquire_timeout: self.database_acquire_timeout,
        }
    }

    /// Where migrations run: `DATABASE_URL_DIRECT` when set (past the pooler), else
    /// `DATABASE_URL`; one connection.
    pub fn migrations_database(&self) -> crate::infra::db::DatabaseSettings {
        crate::infra::db::DatabaseSettings {
            url: self
                .database_url_direct
                .clone()
                .unwrap_or_else(|| self.database_url.clone()),
            max_connections: 1,
            ..self.database()
        }
    }
    /// Reads the process environment (the binary loads `.env` into it first).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings from a map; tests build their configuration through the same validation.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup: &lookup,
            problems: Vec::new(),
        };

        let env = r.parse_with("IRIS_ENV", Environment::Development, |v| {
            match v.to_ascii_lowercase().as_str() {
                "development" | "dev" => Ok(Environment::Development),
                "production" | "prod" => Ok(Environment::Production),
                _ => Err("expected `development` or `production`".into()),
            }
        });
        let dev = env == Environment::Development;

        let host = r.parse(
            "HOST",
            IpAddr::from([127, 0, 0, 1]),
            "an IP address such as 0.0.0.0",
        );
        let port = r.parse("PORT", 8080u16, "a port number between 0 and 65535");

        let database_url = match r.get("DATABASE_URL") {
            Some(url)
                if url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://") =>
            {
                url
            }
            Some(_) => {
                r.problem("DATABASE_URL", "expected a `sqlite:` or `postgres://` URL");
                DEFAULT_DATABASE_URL.to_owned()
            }
            None => DEFAULT_DATABASE_URL.to_owned(),
        };
        let database_url_direct = match r.get("DATABASE_URL_DIRECT") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                if !database_url.starts_with("postgres") {
                    r.problem(
                        "DATABASE_URL_DIRECT",
                        "is for a Postgres DATABASE_URL behind a pooler; DATABASE_URL is not Postgres",
                    );
                }
                Some(url)
            }
            Some(_) => {
                r.problem(
                    "DATABASE_URL_DIRECT",
                    "expected a `postgres://` URL (the database itself, not its pooler)",
                );
                None
            }
            None => None,
        };
        let database_max_connections = r.parse_range("DATABASE_MAX_CONNECTIONS", 10u32, 1, 1000);
        let database_background_connections =
            r.parse_range("DATABASE_BACKGROUND_CONNECTIONS", 3u32, 1, 1000);
        let database_request_concurrency = r.parse_range(
            "DATABASE_REQUEST_CONCURRENCY",
            3usize.min(database_max_connections as usize),
            1,
            1000,
        );
        let database_acquire_timeout =
            Duration::from_secs(r.parse_range("DATABASE_ACQUIRE_TIMEOUT_SECS", 5u64, 1, 600));
        let migrate_on_start = r.flag("MIGRATE_ON_START", true);
        let seed_on_start = r.flag("SEED_ON_START", dev);

        let redis_url = match r.get("REDIS_URL") {
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url),
            Some(_) => {
                r.problem("REDIS_URL", "expected a `redis://` or `rediss://` URL");
                None
            }
            None => None,
        };
        let redis_prefix = r.get("REDIS_PREFIX").unwrap_or_else(|| "iris".into());
        if redis_prefix.is_empty()
            || !redis_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            r.problem("REDIS_PREFIX", "expected letters, digits, `-`, `_` or `.`");
        }

        let log_format = r.parse_with(
            "LOG_FORMAT",
            if dev {
                LogFormat::Pretty
            } else {
                LogFormat::Json
            },
            |v| match v.to_ascii_lowercase().as_str() {
                "pretty" | "text" => Ok(LogFormat::Pretty),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected `pretty` or `json`".into()),
            },
        );
        let log_filter = r
            .get("RUST_LOG")
            .unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".into());

        let mut graphql = GraphqlConfig {
            time_budget: Duration::ZERO,
            max_depth: r.parse_range("GRAPHQL_MAX_DEPTH", 15usize, 1, 1000),
            max_cost: r.parse_range("GRAPHQL_MAX_COST", 50_000usize, 1, 100_000_000),
            max_aliases: r.parse_range("GRAPHQL_MAX_ALIASES", 30usize, 0, 100_000),
            max_root_fields: r.parse_range("GRAPHQL_MAX_ROOT_FIELDS", 20usize, 1, 100_000),
            max_directives: r.parse_range("GRAPHQL_MAX_DIRECTIVES", 5usize, 0, 1000),
            max_errors: r.parse_range("GRAPHQL_MAX_ERRORS", 20usize, 1, 100_000),
            max_response_bytes: r.parse_range(
                "GRAPHQL_MAX_RESPONSE_BYTES",
                8_388_608usize,
                1024,
                1 << 30,
            ),
            introspection: r.flag("GRAPHQL_INTROSPECTION", dev),
            graphiql: r.flag("GRAPHIQL", dev),
            ws_init_timeout: Duration::from_millis(r.parse_range(
                "WS_INIT_TIMEOUT_MS",
                3000u64,
                100,
                600_000,
            )),
            trusted_documents: r.parse_with(
                "GRAPHQL_TRUSTED_DOCUMENTS",
                TrustedDocumentsMode::Allow,
                |v| match v.to_ascii_lowercase().as_str() {
                    "off" => Ok(TrustedDocumentsMode::Off),
                    "allow" => Ok(TrustedDocumentsMode::Allow),
                    "require" => Ok(TrustedDocumentsMode::Require),
                    _ => Err("expected `off`, `allow` or `require`".into()),
                },
            ),
            admin_adhoc: r.flag("GRAPHQL_ADMIN_ADHOC", true),
        };
        let max_body_bytes = r.parse_range("MAX_BODY_BYTES", 1_048_576usize, 1024, 1 << 30);
        let max_header_bytes = r.parse_range(
            "MAX_HEADER_BYTES",
            32_768usize,
            1024,
            crate::infra::server::HEADER_BUFFER_BYTES / 2,
        );
        let request_timeout =
            Duration::from_secs(r.parse_range("REQUEST_TIMEOUT_SECS", 30u64, 1, 3600));
        graphql.time_budget = request_timeout * 9 / 10;
        let shutdown_timeout =
            Duration::from_secs(r.parse_range("SHUTDOWN_TIMEOUT_SECS", 20u64, 0, 3600));
        let cors_origins: Vec<String> = r
            .get("CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            if origin == "*" {
                if !dev {
                    r.problem(
                        "CORS_ORIGINS",
                        "`*` is refused in production; list the origins",
                    );
                }
            } else if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || axum::http::HeaderValue::from_str(origin).is_err()
            {
                r.problem(
                    "CORS_ORIGINS",
                    format!("`{origin}` is not an origin such as https://app.example.com"),
                );
            }
        }
        let metrics_max_operations = r.parse_range("METRICS_MAX_OPERATIONS", 200usize, 1, 10_000);
        let metrics_token = match r.get("METRICS_TOKEN") {
            Some(token) if token.chars().count() >= 16 && !token.contains(char::is_whitespace) => {
                Some(token)
            }
            Some(_) => {
                r.problem(
                    "METRICS_TOKEN",
                    "must be at least 16 characters without spaces",
                );
                None
            }
            None if dev => None,
            None => {
                r.problem(
                    "METRICS_TOKEN",
                    "must be set in production: Prometheus scrapes /metrics with it as a bearer token",
                );
                None
            }
        };
        let trusted_proxy_hops = r.parse_range("TRUSTED_PROXY_HOPS", 0usize, 0, 10);

        let provider = match r.get("AUTH_PROVIDER").map(|v| v.to_ascii_lowercase()) {
            None if !dev => {
                r.problem("AUTH_PROVIDER", "must be set in production");
                AuthProvider::Local
            }
            None => AuthProvider::Local,
            Some(v) if v == "local" => {
                // Local sign-in (bcrypt hashes in DEV_USERS) is for development and demos; a
                // production deployment signs in through its identity provider unless it says
                // otherwise, knowingly.
                if !dev && !r.flag("ALLOW_LOCAL_AUTH_IN_PRODUCTION", false) {
                    r.problem(
                        "AUTH_PROVIDER",
                        "`local` is refused in production: use `oidc`, or set ALLOW_LOCAL_AUTH_IN_PRODUCTION=true for a demo stack",
                    );
                }
                AuthProvider::Local
            }
            // Clerk is OpenID Connect with Clerk's conventions (see `read_oidc`).
            Some(v) if v == "oidc" || v == "clerk" => AuthProvider::Oidc,
            Some(v) => {
                r.problem(
                    "AUTH_PROVIDER",
                    format!("expected `local`, `oidc` or `clerk`, got `{v}`"),
                );
                AuthProvider::Local
            }
        };
        let app_secret = match r.get("APP_SECRET") {
            Some(secret) if secret.chars().count() >= 32 => secret,
            Some(_) => {
                r.problem("APP_SECRET", "must be at least 32 characters");
                DEVELOPMENT_SECRET.into()
            }
            None if dev => DEVELOPMENT_SECRET.into(),
            None => {
                r.problem(
                    "APP_SECRET",
                    "must be set in production (at least 32 random characters)",
                );
                DEVELOPMENT_SECRET.into()
            }
        };
        let secret_keys = match r.get("SECRET_KEYS") {
            Some(raw) => match Keyring::parse(&raw) {
                // A development database keeps what the derived key sealed.
                Ok(keys) if dev => keys.with_development_fallback(&app_secret),
                Ok(keys) => keys,
                Err(problem) => {
                    r.problem("SECRET_KEYS", problem);
                    Keyring::development(&app_secret)
                }
            },
            None if dev => Keyring::development(&app_secret),
            None => {
                r.problem(
                    "SECRET_KEYS",
                    "must be set in production: `<key id>:<base64 of 32 random bytes>` (`iris secrets new-key` prints one)",
                );
                Keyring::development(&app_secret)
            }
        };
        let clerk = r
            .get("AUTH_PROVIDER")
            .is_some_and(|v| v.eq_ignore_ascii_case("clerk"));
        let oidc = (provider == AuthProvider::Oidc).then(|| read_oidc(&mut r, dev, clerk));
        let (dev_users, demo_users) = match r.get("DEV_USERS") {
            Some(raw) => match parse_dev_users(&raw) {
                Ok(users) => (users, false),
                Err(problem) => {
                    r.problem("DEV_USERS", problem);
                    (Vec::new(), false)
                }
            },
            None if dev && provider == AuthProvider::Local => (
                DEMO_USERS
                    .iter()
                    .map(|(email, role)| DevUser {
                        email: (*email).into(),
                        role: *role,
                        password_hash: DEMO_HASH.into(),
                    })
                    .collect(),
                true,
            ),
            None => {
                if provider == AuthProvider::Local {
                    r.problem(
                        "DEV_USERS",
                        "must list the users of AUTH_PROVIDER=local in production",
                    );
                }
                (Vec::new(), false)
            }
        };
        let service_tokens = match r.get("SERVICE_TOKENS") {
            None => Vec::new(),
            Some(raw) => {
                let mut tokens = Vec::new();
                for (i, entry) in raw
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .enumerate()
                {
                    match entry.split_once(':') {
                        Some((name, hash))
                            if !name.is_empty()
                                && hash.len() == 64
                                && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
                        {
                            tokens.push((name.to_owned(), hash.to_ascii_lowercase()));
                        }
                        _ => r.problem(
                            "SERVICE_TOKENS",
                            format!("entry {} is not `name:<sha256 hex of the token>` (see `iris service-token`)", i + 1),
                        ),
                    }
                }
                tokens
            }
        };
        let rate_window =
            Duration::from_secs(r.parse_range("RATE_LIMIT_WINDOW_SECS", 60u64, 1, 86_400));
        let auth = AuthConfig {
            provider,
            app_secret,
            access_ttl: Duration::from_secs(r.parse_range(
                "ACCESS_TOKEN_TTL_SECS",
                900u64,
                1,
                86_400,
            )),
            refresh_ttl: Duration::from_secs(r.parse_range(
                "REFRESH_TOKEN_TTL_SECS",
                604_800u64,
                60,
                90 * 86_400,
            )),
            dev_users,
            demo_users,
            oidc,
            service_tokens,
            login_limit_per_email: Limit {
                max: r.parse_range("LOGIN_RATE_LIMIT", 5u64, 1, 1_000_000),
                window: rate_window,
            },
            login_limit_per_ip: Limit {
                max: r.parse_range("LOGIN_RATE_LIMIT_PER_IP", 20u64, 1, 1_000_000),
                window: rate_window,
            },
            api_limit: Limit {
                max: r.parse_range("API_RATE_LIMIT", 600u64, 1, 100_000_000),
                window: rate_window,
            },
            caller_cache_ttl: Duration::from_secs(r.parse_range(
                "CALLER_CACHE_TTL_SECS",
                10u64,
                0,
                3600,
            )),
        };

        let mut schedules = HashMap::new();
        for spec in crate::jobs::SPECS {
            if let Some(expression) = r.get(spec.env) {
                match crate::domain::platform::job_runs::parse_schedule(&expression) {
                    Ok(_) => {
                        schedules.insert(spec.name, expression);
                    }
                    Err(rule) => r.problem(spec.env, format!("{rule}, got `{expression}`")),
                }
            }
        }
        let jobs = JobsConfig {
            scheduler_enabled: r.flag("SCHEDULER_ENABLED", true),
            schedules,
            poll_interval: Duration::from_millis(r.parse_range(
                "OUTBOX_POLL_MS",
                1000u64,
                50,
                60_000,
            )),
        };
        let weather = crate::domain::planning::weather::WeatherConfig {
            api_key: r.get("OPENWEATHER_API_KEY"),
            api_url: r.parse_with(
                "OPENWEATHER_API_URL",
                "https://api.openweathermap.org".to_owned(),
                |v| match v.starts_with("http://") || v.starts_with("https://") {
                    true => Ok(v.to_owned()),
                    false => Err("expected an http(s) URL".into()),
                },
            ),
            default_city: r
                .get("WEATHER_DEFAULT_CITY")
                .unwrap_or_else(|| "Stockholm".into()),
            timeout: Duration::from_secs(r.parse_range("OPENWEATHER_TIMEOUT_SECS", 10u64, 1, 120)),
        };
        let ocr = crate::domain::invoicing::ocr::OcrConfig {
            tesseract: r
                .get("TESSERACT_PATH")
                .unwrap_or_else(|| "tesseract".into()),
            pdftoppm: r.get("PDFTOPPM_PATH").unwrap_or_else(|| "pdftoppm".into()),
            languages: r.parse_with("OCR_LANGUAGES", "swe+eng".to_owned(), |v| {
                let ok = !v.is_empty()
                    && v.split('+').all(|l| {
                        !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    });
                match ok {
                    true => Ok(v.to_owned()),
                    false => Err("expected Tesseract languages such as swe+eng".into()),
                }
            }),
            timeout: Duration::from_secs(r.parse_range("OCR_TIMEOUT_SECS", 60u64, 1, 600)),
            max_pages: r.parse_range("OCR_MAX_PAGES", 10u32, 1, 100),
        };
        let pricing = crate::domain::pricing::PricingConfig {
            weights: r.parse_with(
                "RECOMMENDATION_WEIGHTS",
                crate::domain::pricing::recommend::Weights::default(),
                crate::domain::pricing::recommend::Weights::parse,
            ),
        };
        let integrations = crate::domain::integrations::IntegrationsConfig {
            config_dir: r.get("CONNECTOR_CONFIG_DIR").map(std::path::PathBuf::from),
            chromium: r.get("CHROMIUM_PATH").unwrap_or_else(|| "chromium".into()),
        };
        let invoicing = crate::domain::invoicing::ExtractionConfig {
            concurrency: r.parse_range("INVOICE_EXTRACTIONS", 4usize, 1, 64),
            ocr,
        };
        let storage = crate::domain::platform::storage::StorageConfig {
            url: r.get("STORAGE_URL"),
            data_dir: std::path::PathBuf::from(r.get("DATA_DIR").unwrap_or_else(|| "data".into())),
            max_bytes: r.parse_range(
                "STORAGE_MAX_BYTES",
                25 * 1024 * 1024usize,
                1024,
                2 * 1024 * 1024 * 1024,
            ),
            s3: crate::domain::platform::storage::S3Settings {
                endpoint: r.get("AWS_ENDPOINT_URL"),
                region: r.get("AWS_REGION").or_else(|| r.get("AWS_DEFAULT_REGION")),
                access_key_id: r.get("AWS_ACCESS_KEY_ID"),
                secret_access_key: r.get("AWS_SECRET_ACCESS_KEY"),
                allow_http: r.flag("AWS_ALLOW_HTTP", false),
            },
        };
        let webhooks = crate::domain::platform::webhooks::WebhookConfig {
            allow_private_targets: r.flag("WEBHOOK_ALLOW_PRIVATE_TARGETS", false),
            timeout: Duration::from_secs(r.parse_range("WEBHOOK_TIMEOUT_SECS", 10u64, 1, 120)),
            max_attempts: r.parse_range("WEBHOOK_MAX_ATTEMPTS", 8i32, 1, 50),
            retry_base: Duration::from_millis(r.parse_range(
                "WEBHOOK_RETRY_BASE_MS",
                30_000u64,
                10,
                3_600_000,
            )),
            disable_after: Duration::from_secs(r.parse_range(
                "WEBHOOK_DISABLE_AFTER_SECS",
                432_000u64,
                0,
                90 * 86_400,
            )),
            max_response_bytes: r.parse_range(
                "WEBHOOK_MAX_RESPONSE_BYTES",
                65_536usize,
                0,
                10 * 1024 * 1024,
            ),
            concurrency: r.parse_range("WEBHOOK_CONCURRENCY", 20usize, 1, 500),
        };

        let days = |r: &mut Reader<'_, _>, name: &'static str, default: i64| {
            chrono::Duration::days(r.parse_range(name, default, 1, 36_500))
        };
        let retention = crate::domain::platform::privacy::RetentionPolicy {
            audit: days(&mut r, "RETENTION_AUDIT_DAYS", 365),
            financial: days(&mut r, "RETENTION_FINANCIAL_DAYS", 2557),
            deleted: days(&mut r, "RETENTION_DELETED_DAYS", 30),
            operational: days(&mut r, "RETENTION_OPERATIONAL_DAYS", 90),
        };

        if !dev && r.get("DATABASE_URL").is_none() {
            r.problem(
                "DATABASE_URL",
                "must be set in production (the embedded SQLite default is for development)",
            );
        }

        if !r.problems.is_empty() {
            return Err(ConfigError(r.problems));
        }
        Ok(Config {
            env,
            host,
            port,
            database_url,
            database_url_direct,
            database_max_connections,
            database_background_connections,
            database_request_concurrency,
            database_acquire_timeout,
            migrate_on_start,
            seed_on_start,
            redis_url,
            redis_prefix,
            log_format,
            log_filter,
            graphql,
            max_body_bytes,
            max_header_bytes,
            request_timeout,
            shutdown_timeout,
            cors_origins,
            metrics_max_operations,
            metrics_token,
            trusted_proxy_hops,
            auth,
            jobs,
            webhooks,
            retention,
            secret_keys,
            weather,
            storage,
            invoicing,
            pricing,
            integrations,
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    pub fn uses_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// Whether a browser page from `origin` may use the API: the same site as `host`, or an
    /// origin `CORS_ORIGINS` lists (or `*`).
    pub fn allows_origin(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/');
        let same_site = host.is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        });
        same_site
            || self
                .cors_origins
                .iter()
                .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

fn http_url(raw: &str, dev: bool) -> Result<String, String> {
    let url = raw.trim_end_matches('/').to_owned();
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if url.starts_with("https://") || (url.starts_with("http://") && (dev || loopback)) {
        Ok(url)
    } else {
        Err("expected an https:// URL".into())
    }
}

/// The OpenID Connect settings. With `clerk` (AUTH_PROVIDER=clerk) Clerk's conventions are the
/// defaults: the role in the session token's `public_metadata.role` (Clerk keeps app roles in
/// public metadata); the issuer, audience and JWKS are read as for any issuer.
fn read_oidc<L: Fn(&str) -> Option<String>>(
    r: &mut Reader<'_, L>,
    dev: bool,
    clerk: bool,
) -> OidcConfig {
    let issuer = match r.get("OIDC_ISSUER").map(|v| http_url(&v, dev)) {
        Some(Ok(url)) => url,
        Some(Err(rule)) => {
            r.problem("OIDC_ISSUER", rule);
            String::new()
        }
        None => {
            r.problem("OIDC_ISSUER", "must be set when AUTH_PROVIDER=oidc");
            String::new()
        }
    };
    let audience = r.get("OIDC_AUDIENCE").unwrap_or_else(|| {
        r.problem(
            "OIDC_AUDIENCE",
            "must be set when AUTH_PROVIDER=oidc (the `aud` tokens carry)",
        );
        String::new()
    });
    let jwks_url = match r.get("OIDC_JWKS_URL").map(|v| http_url(&v, dev)) {
        Some(Ok(url)) => url,
        Some(Err(rule)) => {
            r.problem("OIDC_JWKS_URL", rule);
            String::new()
        }
        None => format!("{issuer}/.well-known/jwks.json"),
    };
    let algorithm = r.parse_with("OIDC_ALGORITHM", jsonwebtoken::Algorithm::RS256, |v| {
        use jsonwebtoken::Algorithm::*;
        match v.to_ascii_uppercase().as_str() {
            "RS256" => Ok(RS256),
            "RS384" => Ok(RS384),
            "RS512" => Ok(RS512),
            "PS256" => Ok(PS256),
            "ES256" => Ok(ES256),
            "ES384" => Ok(ES384),
            "EDDSA" => Ok(EdDSA),
            _ => Err("expected an asymmetric algorithm: RS256, RS384, RS512, PS256, ES256, ES384 or EdDSA".into()),
        }
    });
    let default_role = r.parse_with("OIDC_DEFAULT_ROLE", None, |v| match Role::parse(v) {
        Some(Role::Admin) => Err("admins cannot be the default role".into()),
        Some(role) => Ok(Some(role)),
        None => Err("expected SUPPLIER or RESTAURANT".into()),
    });
    let users_api_url = match r.get("CLERK_API_URL").map(|v| http_url(&v, dev)) {
        Some(Ok(url)) => url,
        Some(Err(rule)) => {
            r.problem("CLERK_API_URL", rule);
            String::new()
        }
        None => "https://api.clerk.com/v1".into(),
    };
    OidcConfig {
        issuer,
        audience,
        jwks_url,
        algorithm,
        email_claim: r.get("OIDC_EMAIL_CLAIM").unwrap_or_else(|| "email".into()),
        role_claim: r.get("OIDC_ROLE_CLAIM").unwrap_or_else(|| {
            if clerk {
                "public_metadata.role".into()
            } else {
                "role".into()
            }
        }),
        default_role,
        users_api_url,
        users_api_key: r.get("CLERK_SECRET_KEY"),
        require_verified_email: r.flag("OIDC_REQUIRE_VERIFIED_EMAIL", true),
        admin_emails: r
            .get("OIDC_ADMIN_EMAILS")
            .map(|v| {
                v.split([',', ';'])
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        jwks_min_refetch: Duration::from_secs(r.parse_range(
            "OIDC_JWKS_MIN_REFETCH_SECS",
            30u64,
            0,
            3600,
        )),
    }
}

struct Reader<'a, L: Fn(&str) -> Option<String>> {
    lookup: &'a L,
    problems: Vec<ConfigProblem>,
}

impl<L: Fn(&str) -> Option<String>> Reader<'_, L> {
    /// The trimmed value, treating an empty value as unset.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn problem(&mut self, variable: &'static str, problem: impl Into<String>) {
        self.problems.push(ConfigProblem {
            variable,
            problem: problem.into(),
        });
    }

    fn parse_with<T>(
        &mut self,
        name: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        match self.get(name) {
            None => default,
            Some(raw) => match parse(&raw) {
                Ok(v) => v,
                Err(rule) => {
                    self.problem(name, format!("{rule}, got `{raw}`"));
                    default
                }
            },
        }
    }

    fn parse<T: FromStr>(&mut self, name: &'static str, default: T, expected: &str) -> T {
        self.parse_with(name, default, |v| {
            v.parse().map_err(|_| format!("expected {expected}"))
        })
    }

    fn parse_range<T>(&mut self, name: &'static str, default: T, min: T, max: T) -> T
    where
        T: FromStr + PartialOrd + Copy + fmt::Display,
    {
        self.parse_with(name, default, |v| match v.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(format!("expected a whole number from {min} to {max}")),
        })
    }

    fn flag(&mut self, name: &'static str, default: bool) -> bool {
        self.parse_with(name, default, |v| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected `true` or `false`".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_map(&map)
    }

    #[test]
    fn defaults_are_the_embedded_development_setup() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.env, Environment::Development);
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.port, 8080);
        assert!(c.graphql.graphiql && c.graphql.introspection && c.seed_on_start);
        assert_eq!(c.graphql.ws_init_timeout, Duration::from_secs(3));
        assert!(c.redis_url.is_none());
    }

    #[test]
    fn every_bad_variable_is_named_with_its_rule() {
        let err = config(&[
            ("PORT", "eighty"),
            ("GRAPHQL_MAX_DEPTH", "0"),
            ("REDIS_URL", "localhost:6379"),
            ("LOG_FORMAT", "xml"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(
            names,
            ["PORT", "REDIS_URL", "LOG_FORMAT", "GRAPHQL_MAX_DEPTH"]
        );
        let text = err.to_string();
        assert!(text.contains("PORT: expected a port number between 0 and 65535, got `eighty`"));
        assert!(
            text.contains("GRAPHQL_MAX_DEPTH: expected a whole number from 1 to 1000, got `0`")
        );
    }

    #[test]
    fn dev_users_are_parsed_and_checked() {
        let argon = "$argon2id$v=19$m=65536,t=3,p=4$2U0kOvBI+hWYMZM1eujnLw$DgTIc6PqkAVL0hvjdIksKSWp2uiQTsQXSNVkIW/51yg";
        let c = config(&[(
            "DEV_USERS",
            &format!("A@X.se:admin:{argon}; b@x.se:RESTAURANT:{DEMO_HASH}"),
        )])
        .unwrap();
        assert_eq!(c.auth.dev_users.len(), 2);
        assert_eq!(c.auth.dev_users[0].email, "a@x.se");
        let err = config(&[("DEV_USERS", "a@x.se:CHEF:$2b$10$x")]).unwrap_err();
        assert!(
            err.to_string().contains("DEV_USERS: entry 1: role must be"),
            "{err}"
        );
        let err = config(&[("DEV_USERS", "a@x.se:ADMIN:plaintext")]).unwrap_err();
        assert!(err.to_string().contains("the hash must be bcrypt"), "{err}");
        assert!(config(&[]).unwrap().auth.demo_users);
    }

    #[test]
    fn oidc_needs_an_issuer_and_an_audience_and_pins_an_asymmetric_algorithm() {
        let err = config(&[("AUTH_PROVIDER", "oidc"), ("OIDC_ALGORITHM", "HS256")]).unwrap_err();
        let names: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(names, ["OIDC_ISSUER", "OIDC_AUDIENCE", "OIDC_ALGORITHM"]);
        let c = config(&[
            ("AUTH_PROVIDER", "oidc"),
            ("OIDC_ISSUER", "https://clerk.iris.example/"),
            ("OIDC_AUDIENCE", "iris"),
        ])
        .unwrap();
        let oidc = c.auth.oidc.unwrap();
        assert_eq!(
            oidc.jwks_url,
            "https://clerk.iris.example/.well-known/jwks.json"
        );
        assert_eq!(oidc.role_claim, "role");
        assert!(c.auth.dev_users.is_empty());

        // The Clerk preset: OpenID Connect with the role in public metadata.
        let c = config(&[
            ("AUTH_PROVIDER", "clerk"),
            ("OIDC_ISSUER", "https://clerk.iris.example/"),
            ("OIDC_AUDIENCE", "iris"),
        ])
        .unwrap();
        assert_eq!(c.auth.provider, AuthProvider::Oidc);
        assert_eq!(c.auth.oidc.unwrap().role_claim, "public_metadata.role");
        let err = config(&[("AUTH_PROVIDER", "clerk")]).unwrap_err();
        let names: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(names, ["OIDC_ISSUER", "OIDC_AUDIENCE"]);
    }

    #[test]
    fn env_example_documents_every_variable() {
        let example = include_str!("../.env.example");
        let names: Vec<&str> = include_str!("config.rs")
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                // Variable names: upper-case with an underscore, or the three without one.
                (s.contains('_') || matches!(*s, "HOST" | "PORT" | "GRAPHIQL"))
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        assert!(names.contains(&"DATABASE_URL") && names.contains(&"SERVICE_TOKENS"));
        for name in names {
            assert!(
                example.contains(&format!("{name}=")),
                "{name} is read but not documented in .env.example"
            );
        }
    }

    #[test]
    fn origins_are_same_site_or_listed() {
        let c = config(&[("CORS_ORIGINS", "https://app.iris.example")]).unwrap();
        assert!(c.allows_origin("http://localhost:8080", Some("localhost:8080")));
        assert!(c.allows_origin("https://app.iris.example", Some("api.iris.example")));
        assert!(!c.allows_origin("https://evil.example", Some("api.iris.example")));
        assert!(!c.allows_origin("null", Some("api.iris.example")));
    }

    #[test]
    fn production_refuses_development_conveniences() {
        let err = config(&[("IRIS_ENV", "production"), ("CORS_ORIGINS", "*")]).unwrap_err();
        let names: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(
            names,
            [
                "CORS_ORIGINS",
                "METRICS_TOKEN",
                "AUTH_PROVIDER",
                "APP_SECRET",
                "SECRET_KEYS",
                "DEV_USERS",
                "DATABASE_URL"
            ]
        );

        let c = config(&[
            ("IRIS_ENV", "production"),
            ("DATABASE_URL", "postgres://iris@db/iris"),
            ("AUTH_PROVIDER", "local"),
            ("ALLOW_LOCAL_AUTH_IN_PRODUCTION", "true"),
            ("APP_SECRET", "0123456789abcdef0123456789abcdef"),
            ("DEV_USERS", "ops@iris.example:ADMIN:$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtW"),
            ("METRICS_TOKEN", "scrape-0123456789abcdef"),
            ("SECRET_KEYS", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        ])
        .expect("valid production config");
        // Production opens only what its own keys sealed: no key derived from APP_SECRET.
        assert_eq!(c.secret_keys.ids(), ["k1"]);
        assert!(!c.auth.demo_users);
        assert_eq!(c.auth.dev_users[0].role, Role::Admin);
        assert!(!c.graphql.graphiql && !c.graphql.introspection && !c.seed_on_start);
        assert_eq!(c.log_format, LogFormat::Json);

        // Local sign-in in production only when the deployment says so.
        let err = config(&[
            ("IRIS_ENV", "production"),
            ("DATABASE_URL", "postgres://iris@db/iris"),
            ("AUTH_PROVIDER", "local"),
            ("APP_SECRET", "0123456789abcdef0123456789abcdef"),
            ("DEV_USERS", "ops@iris.example:ADMIN:$2b$10$pp7L7TN/MQmBT13XXnOfBOjIfzg3jwBMC1IRq/apBE9oOlklEMKtW"),
            ("METRICS_TOKEN", "scrape-0123456789abcdef"),
            ("SECRET_KEYS", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].variable, "AUTH_PROVIDER");
        assert!(err.0[0].problem.contains("ALLOW_LOCAL_AUTH_IN_PRODUCTION"));
    }
}
