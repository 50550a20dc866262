//! Infrastructure: database, pub/sub bus, metrics, telemetry. Knows no business rule.

pub mod apq;
pub mod bus;
pub mod db;
pub mod metrics;
pub mod ratelimit;
pub mod redis;
pub mod server;
pub mod telemetry;
