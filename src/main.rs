//! The `iris` command: a thin shell over the library.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use iris::{app::Application, config::Config, error::AppError, infra, seed};
use migration::{Migrator, MigratorTrait};

/// jemalloc, with background threads purging what a burst freed once its decay (10 s) is
/// over: the server's footprint follows its load down as well as up. (glibc's malloc keeps
/// freed memory in its arenas.)
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Iris — the GraphQL-first backend of a B2B food-service marketplace.
///
/// Configuration comes from environment variables and `.env` (see `.env.example`).
#[derive(Parser)]
#[command(name = "iris", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server: GraphQL, websockets, REST, metrics (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Run background jobs only (the cron scheduler), without the HTTP server.
    Worker,
    /// List background jobs or run one now.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Register trusted GraphQL documents (see GRAPHQL_TRUSTED_DOCUMENTS).
    Documents {
        #[command(subcommand)]
        action: DocumentsAction,
    },
    /// Load the demo marketplace (skips what exists).
    Seed,
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Create a token for an internal worker (exempt from rate limits) and print it with the
    /// SERVICE_TOKENS entry that admits it.
    ServiceToken {
        /// The worker's name, e.g. `connector-menigo`.
        name: String,
    },
    /// The keys that seal secrets at rest (SECRET_KEYS).
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
}

#[derive(Subcommand)]
enum SecretsAction {
    /// Print a new random key as a SECRET_KEYS entry (put it first to seal with it).
    NewKey {
        /// The key's id, e.g. `2027-01`.
        id: String,
    },
    /// Seal every stored secret again under the newest key of SECRET_KEYS (and seal any
    /// stored before sealing existed); afterwards older keys may leave SECRET_KEYS.
    Rotate,
}

#[derive(Subcommand)]
enum JobsAction {
    /// Every job with its schedule, latest run and next run.
    List,
    /// Run a job now, in this process, and print how it ended.
    Run {
        /// The job's name, e.g. `expire-idempotency-keys`.
        name: String,
    },
}

#[derive(Subcommand)]
enum DocumentsAction {
    /// Register every operation of a persisted-query manifest: Apollo's
    /// (`generate-persisted-query-manifest`) or Relay's (`persistOutput`, id → text). All or
    /// nothing; registered documents are immutable.
    Push {
        /// The manifest file (JSON).
        file: std::path::PathBuf,
        /// Which client the documents belong to (kept with them), e.g. `restaurant-app`.
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the latest migrations.
    Down {
        /// How many migrations to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table and apply all migrations again (destroys all data).
    Fresh {
        /// Confirm that all data may be destroyed (required with IRIS_ENV=production).
        #[arg(long)]
        yes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Schema) => {
            print_stdout(&iris::graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Some(Command::ServiceToken { name }) => {
            let token = iris::auth::tokens::new_service_token();
            let hash = iris::auth::tokens::hash_refresh_token(&token);
            print_stdout(&format!(
                "token (give it to the worker; it is not stored anywhere):\n  {token}\nadd to SERVICE_TOKENS:\n  {name}:{hash}\n"
            ));
            return ExitCode::SUCCESS;
        }
        Some(Command::Secrets {
            action: SecretsAction::NewKey { id },
        }) => {
            return match iris::domain::platform::secrets::Keyring::new_entry(id) {
                Ok(entry) => {
                    print_stdout(&format!(
                        "add in front of SECRET_KEYS (keep the older keys until `iris secrets rotate` has run):\n  {entry}\n"
                    ));
                    ExitCode::SUCCESS
                }
                Err(problem) => {
                    eprintln!("error: {problem}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {}
    }
    // A missing .env is normal; a malformed one is reported by the variables it breaks.
    let _ = dotenvy::dotenv();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    infra::telemetry::init(config.log_format, &config.log_filter);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = ?error, "iris failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn print_stdout(text: &str) {
    print!("{text}");
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        // Answered in `main`, before any configuration is read.
        Command::Schema
        | Command::ServiceToken { .. }
        | Command::Secrets {
            action: SecretsAction::NewKey { .. },
        } => Ok(()),
        Command::Secrets {
            action: SecretsAction::Rotate,
        } => {
            let core = iris::app::Core::build(&config).await?;
            // Re-sealing is idempotent (each value is compared and set): when the database is
            // busy beyond its timeout (a serving Iris on the same SQLite file), try again.
            let mut attempt = 1;
            let done = loop {
                match core.services.secrets.rotate().await {
                    Err(AppError::Unavailable(reason)) if attempt < 5 => {
                        tracing::warn!(%reason, attempt, "the database is busy; rotating again");
                        tokio::time::sleep(std::time::Duration::from_secs(attempt)).await;
                        attempt += 1;
                    }
                    other => break other.map_err(AppError::into_anyhow)?,
                }
            };
            print_stdout(&format!(
                "sealed under key `{}`: {} re-sealed, {} already current, {} failed to open\n",
                core.services.secrets.sealer().sealing_key_id(),
                done.resealed,
                done.current,
                done.failed
            ));
            core.close().await?;
            anyhow::ensure!(
                done.failed == 0,
                "{} secret(s) did not open under SECRET_KEYS (see the log); add the key that sealed them and run again",
                done.failed
            );
            Ok(())
        }
        Command::Migrate { action } => migrate(action, &config).await,
        Command::Worker => iris::app::run_worker(config, iris::app::shutdown_signal()).await,
        Command::Jobs { action } => jobs(action, &config).await,
        Command::Documents {
            action: DocumentsAction::Push { file, client },
        } => push_documents(&file, client.as_deref(), &config).await,
        Command::Seed => {
            let db = infra::db::connect(&config.database()).await?;
            let services = iris::domain::Services::new(
                infra::db::Db::new(db),
                infra::bus::EventBus::memory(),
                iris::domain::Settings {
                    auth: &config.auth,
                    webhooks: &config.webhooks,
                    retention: &config.retention,
                    weather: &config.weather,
                    storage: &config.storage,
                    invoicing: &config.invoicing,
                    pricing: &config.pricing,
                    integrations: &config.integrations,
                },
                std::sync::Arc::new(config.secret_keys.clone()),
                infra::ratelimit::RateLimiter::in_memory(),
            )?;
            let report = seed::demo_data(&services, config.auth.demo_users).await?;
            // This process ends here: the scan is read before it does.
            if let Some(scan) = report.reading {
                services
                    .invoices
                    .wait_until_read(scan, std::time::Duration::from_secs(120))
                    .await
                    .map_err(iris::error::AppError::into_anyhow)?;
            }
            print_stdout(&format!(
                "demo data: {} supplier(s), {} restaurant(s), {} product(s), {} order(s), {} inventory movement(s), {} invoice(s) created\n",
                report.suppliers,
                report.restaurants,
                report.products,
                report.orders,
                report.movements,
                report.invoices
            ));
            Ok(())
        }
    }
}

async fn push_documents(
    file: &std::path::Path,
    client: Option<&str>,
    config: &Config,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the manifest {}", file.display()))?;
    let entries = iris::domain::platform::trusted_documents::parse_manifest(&text)
        .map_err(AppError::into_anyhow)?;
    // Only documents that parse are registered: a typo fails here, not in a client.
    for entry in &entries {
        async_graphql::parser::parse_query(&entry.body)
            .with_context(|| format!("document {} is not valid GraphQL", entry.id))?;
    }
    let core = iris::app::Core::build(config).await?;
    let report = core
        .services
        .documents
        .push(&entries, client)
        .await
        .map_err(AppError::into_anyhow)?;
    core.close().await?;
    print_stdout(&format!(
        "{} document(s) in {}: {} registered, {} already registered\n",
        entries.len(),
        file.display(),
        report.added,
        report.unchanged
    ));
    Ok(())
}

async fn jobs(action: JobsAction, config: &Config) -> anyhow::Result<()> {
    let core = iris::app::Core::build(config).await?;
    let jobs = core.jobs(config)?;
    let system = iris::auth::Caller::system();
    match action {
        JobsAction::List => {
            let listed = jobs.list(&system).map_err(AppError::into_anyhow)?;
            let names: Vec<&str> = listed.iter().map(|j| j.spec.name).collect();
            let last = core
                .services
                .job_runs
                .last_runs(&names)
                .await
                .map_err(AppError::into_anyhow)?;
            let mut out = format!(
                "{:<28} {:<16} {:<36} {}\n",
                "JOB", "SCHEDULE", "LAST RUN", "NEXT RUN"
            );
            for job in &listed {
                let last_run = last.get(job.spec.name).map_or_else(
                    || "never".to_owned(),
                    |r| {
                        format!(
                            "{} {}",
                            r.status.as_str(),
                            r.started_at.format("%Y-%m-%dT%H:%M:%SZ")
                        )
                    },
                );
                let next = job.next_run_at().map_or_else(
                    || "-".to_owned(),
                    |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                );
                out.push_str(&format!(
                    "{:<28} {:<16} {:<36} {}\n",
                    job.spec.name, job.schedule, last_run, next
                ));
            }
            print_stdout(&out);
        }
        JobsAction::Run { name } => {
            let run = jobs
                .run_now(&system, &name)
                .await
                .map_err(AppError::into_anyhow)?;
            print_stdout(&format!(
                "{} {} in {} ms: {}\n",
                run.job,
                run.status.as_str(),
                run.finished_at
                    .map_or(0, |f| (f - run.started_at).num_milliseconds()),
                run.error.unwrap_or_else(|| run.stats.to_string())
            ));
            if run.status != iris::domain::platform::job_runs::RunStatus::Succeeded {
                anyhow::bail!("the run did not succeed");
            }
        }
    }
    core.close().await?;
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let state = app.state();
    let addr = app.local_addr();
    let base = format!("http://{addr}");
    tracing::info!(
        env = ?state.config.env,
        database = %infra::db::redact_url(&state.config.database_url),
        bus = state.bus.backend(),
        "Iris is listening on {base}"
    );
    if state.config.graphql.graphiql {
        tracing::info!("GraphiQL:  {base}/graphql");
    }
    tracing::info!("GraphQL:   POST {base}/graphql · websocket ws://{addr}/graphql/ws");
    tracing::info!("REST:      {base}/api/v1 · OpenAPI {base}/openapi.json · docs {base}/docs");
    tracing::info!("Operators: {base}/healthz · {base}/readyz · {base}/metrics");
    if state.config.auth.demo_users {
        for (email, role) in iris::config::DEMO_USERS {
            tracing::info!(
                "Demo login: {email} / {} ({})",
                iris::config::DEMO_PASSWORD,
                role.as_str()
            );
        }
        tracing::info!(
            "Sign in with the `login` mutation or POST {base}/api/v1/auth/dev/login, then send `Authorization: Bearer <accessToken>`"
        );
    }
    app.run_until_stopped(iris::app::shutdown_signal()).await
}

async fn migrate(action: MigrateAction, config: &Config) -> anyhow::Result<()> {
    let db = infra::db::connect(&config.migrations_database()).await?;
    match action {
        MigrateAction::Up => {
            Migrator::up(&db, None).await.context("migrate up failed")?;
            print_stdout("all migrations applied\n");
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&db, Some(steps))
                .await
                .context("migrate down failed")?;
            print_stdout(&format!("rolled back {steps} migration(s)\n"));
        }
        MigrateAction::Status => {
            let migrations = Migrator::get_migration_with_status(&db)
                .await
                .context("reading migration status failed")?;
            let mut out = String::new();
            for m in migrations {
                out.push_str(&format!(
                    "{:<10} {}\n",
                    format!("{:?}", m.status()),
                    m.name()
                ));
            }
            print_stdout(&out);
        }
        MigrateAction::Fresh { yes } => {
            if config.is_production() && !yes {
                anyhow::bail!("refusing to drop every table in production without --yes");
            }
            drop(db);
            let db = infra::db::connect_for_rebuild(&config.migrations_database()).await?;
            Migrator::fresh(&db).await.context("migrate fresh failed")?;
            print_stdout("database recreated with all migrations applied\n");
        }
    }
    Ok(())
}
