//! # Iris
//!
//! The GraphQL-first backend of a B2B food-service marketplace: restaurants buy from wholesale
//! suppliers. This page maps the crate.
//!
//! ```text
//!   HTTP / websocket clients   cron (jobs/)       operators
//!          │                                         │
//!   ┌──────▼───────────────────────────────┐   ┌─────▼──────┐
//!   │ graphql/   /graphql, /graphql/ws,    │   │ ops        │ /healthz /readyz /metrics
//!   │            GraphiQL                  │   └────────────┘
//!   │ rest/      /api/v1, /openapi.json,   │
//!   │            /docs                     │   adapters: parse, call ONE service, map
//!   └──────┬───────────────────────────────┘
//!          │  Principal + input
//!   ┌──────▼───────────────────────────────┐
//!   │ domain/<context>/  service →         │   rules, transactions, authorization, events
//!   │                    repository        │
//!   └──────┬──────────────────┬────────────┘
//!          │                  │ events (after commit)
//!   ┌──────▼──────┐    ┌──────▼──────────────┐
//!   │ entity/     │    │ infra/bus           │   memory | Redis pub/sub
//!   │ (SeaORM)    │    └─────────────────────┘
//!   └──────┬──────┘
//!      SQLite | Postgres  (migration/)
//! ```
//!
//! - [`config`] — settings from the environment, validated once.
//! - [`app`] — composition root: [`app::Application`] builds, binds, serves and stops Iris.
//! - [`error`] — [`error::AppError`] and its one mapping to GraphQL errors and REST envelopes.
//! - [`auth`] — who is calling ([`auth::Principal`]).
//! - [`domain`] — business rules per context; imports no adapter.
//! - [`graphql`], [`rest`] — the two API adapters; they never import each other.
//! - [`jobs`] — background jobs (the third adapter): registry, runner, cron scheduler.
//! - [`infra`] — database, bus, metrics, telemetry; no business rules.
//! - [`ops`] — health, readiness and metrics endpoints.
//! - [`seed`] — demo data.
//!
//! Data flows one way: adapter → domain service → repository → entity.

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
