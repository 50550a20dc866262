//! # Iris
//!
//! The GraphQL-first backend of a B2B food-service marketplace: restaurants buy from wholesale
//! suppliers. This page maps the crate.
//!
//! ```text
//!   HTTP / websocket clients            cron, outbox wake-ups        operators
//!          │                                   │                         │
//!   ┌──────▼──────────────────────────┐ ┌──────▼──────────────┐ ┌───────▼──────┐
//!   │ graphql/  /graphql, /graphql/ws │ │ jobs/  one module   │ │ ops  /healthz│
//!   │ rest/     /api/v1, /openapi.json│ │ per job, scheduler, │ │ /readyz      │
//!   │           (web/: shared state,  │ │ outbox loops        │ │ /metrics     │
//!   │            who is calling)      │ │                     │ │              │
//!   └──────┬──────────────────────────┘ └──────┬──────────────┘ └───────┬──────┘
//!          │   adapters: parse, call ONE service, map — never each other │
//!   ┌──────▼───────────────────────────────────▼───────────────────────────────┐
//!   │ domain/   kernel/     money, paging, validation, weekdays (pure)         │
//!   │           <context>/  mod.rs (types, rules) · service · repository (SQL) │
//!   │           platform/   audit, outbox, notifications, webhooks, job runs,  │
//!   │                       privacy, trusted documents                         │
//!   └──────┬──────────────────┬────────────────────────────────────────────────┘
//!          │ auth/            │ infra/  db, bus (memory | Redis), Redis, rate limits,
//!          │ (principals,     │         metrics, telemetry, server loop, shutdown
//!          │  tokens, OIDC)   │
//!   ┌──────▼──────┐    ┌──────▼──────┐
//!   │ entity/     │    │ error       │   AppError and its one mapping to the wire
//!   │ (SeaORM)    │    └─────────────┘
//!   └──────┬──────┘
//!      SQLite | Postgres  (migration/)
//! ```
//!
//! - [`app`] — the composition root: [`app::Application`] builds, binds, serves and stops Iris;
//!   [`app::run_worker`] runs the background work alone. The only module that imports every
//!   other.
//! - [`config`] — settings from the environment, validated once, built into the types each
//!   layer defines (`domain::identity::AuthConfig`, `infra::db::DatabaseSettings`, …).
//! - [`graphql`], [`rest`], [`ops`] — the HTTP adapters; [`jobs`] — the background adapter.
//!   They never import each other.
//! - [`web`] — what the HTTP adapters share: [`web::ApiState`] and who is calling.
//! - [`domain`] — business rules in three kinds of rooms (kernel, contexts, platform); imports
//!   no adapter, no `config`, neither axum nor async-graphql.
//! - [`auth`] — principals and roles, token issuing and verification, identity providers.
//! - [`infra`] — database, bus, Redis, metrics, telemetry, the server loop; no business rule;
//!   imports nothing of Iris but [`error`].
//! - [`error`] — [`error::AppError`] and its one mapping to GraphQL errors and REST envelopes;
//!   imports nothing of Iris.
//! - [`seed`] — demo data.
//!
//! Imports run one way, downwards in the picture: no two top-level modules import each other
//! (`tests/api/architecture.rs` checks it on the source).

pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod infra;
pub mod jobs;
pub mod ops;
pub mod rest;
pub mod seed;
pub mod web;
