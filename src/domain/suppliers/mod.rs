//! Suppliers: wholesale organisations selling on the marketplace.
//!
//! Rules: names and cities are non-empty text; the organisation number is a valid Swedish one
//! and unique among live suppliers; the contact e-mail is plausible; the minimum order value is
//! a non-negative exact amount in the supplier's currency; a supplier delivers on at least one
//! weekday. Deletion is soft: the row stays (for order history) but disappears from every read.
//! Every change publishes a [`SupplierChanged`] event after it is committed.

mod repository;
mod service;
mod types;

pub use service::SupplierService;

/// Live suppliers by id, on any connection (other contexts read them inside their transactions).
pub(crate) use repository::find_many_live;
pub use types::*;
