//! The shared kernel: the vocabulary every context speaks. Pure — no I/O, no database, no
//! service; a context may use any of it, and it uses no context.

pub mod geo;
pub mod money;
pub mod pagination;
pub mod validation;
pub mod weekday;
