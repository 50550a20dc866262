//! Who is calling. The identity issue adds tokens, providers and guards; for now every caller
//! is resolved to a [`Principal`] so domain services already take it.

use std::fmt;

/// The caller on whose behalf a domain service acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A request without credentials.
    Anonymous,
    /// Iris itself: seeding, background jobs, the CLI.
    System,
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::System => f.write_str("system"),
        }
    }
}
