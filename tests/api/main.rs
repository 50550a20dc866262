//! Black-box tests of Iris over real HTTP and websockets, against a real database.
//!
//! Each test starts its own Iris on port 0 with its own database: a fresh SQLite file by
//! default, a fresh Postgres database when `IRIS_TEST_DATABASE_URL` is set, and the Redis bus
//! with its own prefix when `IRIS_TEST_REDIS_URL` is set. Unreachable services fail the test.

mod access;
mod analytics;
mod architecture;
mod cli;
mod graphql;
mod helpers;
mod identity;
mod integrations;
mod inventory;
mod invitations;
mod invoices;
mod jobs;
mod money;
mod multi_process;
mod notifications;
mod oidc;
mod ops;
mod orders;
mod orders_live;
mod outbox;
mod paging;
mod performance;
mod planning;
mod portal;
mod pricing;
mod privacy;
mod products;
mod resilience;
mod rest;
mod secrets;
mod sessions;
mod shutdown;
mod storage;
mod webhooks;
mod websocket;
