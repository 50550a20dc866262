//! SeaORM entities of Iris: one module per table and nothing else.
//!
//! Entities mirror the tables; they carry no business rules and are never exposed on the wire.
//! Domain repositories (`iris::domain::*`) convert them to domain types, which is also where
//! storage encodings are undone (money as thousandths in `BIGINT`, weekday bitmasks, JSON).

pub mod accounts;
pub mod audit_log;
pub mod cart_items;
pub mod carts;
pub mod connector_runs;
pub mod connector_states;
pub mod customer_group_members;
pub mod forecast_points;
pub mod forecast_series;
pub mod idempotency_keys;
pub mod inventory_items;
pub mod inventory_movements;
pub mod invitations;
pub mod invoice_disputes;
pub mod invoice_lines;
pub mod invoice_settings;
pub mod invoice_templates;
pub mod invoices;
pub mod job_runs;
pub mod notifications;
pub mod order_events;
pub mod order_lines;
pub mod orders;
pub mod outbox;
pub mod price_changes;
pub mod price_list_assignments;
pub mod price_list_entries;
pub mod price_lists;
pub mod price_rules;
pub mod products;
pub mod refresh_tokens;
pub mod reorder_policies;
pub mod restaurant_members;
pub mod restaurants;
pub mod supplier_catalog_cache;
pub mod supplier_connections;
pub mod supplier_connector_documents;
pub mod supplier_members;
pub mod supplier_metrics;
pub mod supplier_session_secrets;
pub mod suppliers;
pub mod trusted_documents;
pub mod weather_days;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
