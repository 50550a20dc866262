//! Platform services: what every business context uses, and what belongs to no one context.
//!
//! - [`audit`] — who changed what (written in the changing transaction);
//! - [`outbox`] — events committed with the change that caused them, dispatched after;
//! - [`notifications`] — in-app notifications and their live stream;
//! - [`webhooks`] — organisations' endpoints and signed, retried deliveries;
//! - [`job_runs`] — the job registry and the record of every run;
//! - [`privacy`] — erasure and retention;
//! - [`secrets`] — secrets Iris reads back, sealed at rest (AES-256-GCM) under rotating keys;
//! - [`trusted_documents`] — the GraphQL operations a deployment registers ahead of time.

pub mod audit;
pub mod job_runs;
pub mod notifications;
pub mod outbox;
pub mod privacy;
pub mod secrets;
pub mod storage;
pub mod trusted_documents;
pub mod webhooks;
