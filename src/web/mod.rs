//! What the HTTP adapters (`graphql`, `rest`, `ops`) share, below all of them: the state every
//! handler can reach ([`ApiState`]) and who is calling ([`extract`]). Imports no adapter; the
//! composition root (`app`) builds the state and the router.

pub mod extract;

use std::sync::Arc;

use tokio_util::task::TaskTracker;

use crate::{
    config::Config,
    domain::Services,
    infra::{bus::EventBus, db::Db, metrics::ApiMetrics, shutdown::Shutdown},
};

/// What every handler can reach (handlers take it as `State<ApiState>`; an adapter with more
/// state of its own wraps it).
#[derive(Clone)]
pub struct ApiState {
    pub config: Arc<Config>,
    pub db: Db,
    pub bus: EventBus,
    pub services: Services,
    pub metrics: Arc<ApiMetrics>,
    pub shutdown: Shutdown,
    /// Open websocket connections; shutdown waits for their close frames.
    pub websockets: TaskTracker,
}
