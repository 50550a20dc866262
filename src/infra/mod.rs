//! Infrastructure: database, pub/sub bus, Redis, rate-limit counters, metrics, telemetry, the
//! HTTP server loop, process lifecycle. Knows no business rule, and imports nothing of Iris but
//! `error`: what it needs (settings, limits) it takes as arguments.

pub mod apq;
pub mod bus;
pub mod crypto;
pub mod db;
pub mod metrics;
pub mod ratelimit;
pub mod redis;
pub mod server;
pub mod shutdown;
pub mod telemetry;
