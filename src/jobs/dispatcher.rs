//! The always-on background loops: the outbox dispatcher and the webhook sender. Each works
//! until nothing is due, then sleeps until the bus wakes it (`OutboxWritten` after a change
//! committed events; `DeliveriesDue` after a dispatch) or the poll interval passes — so a lost wake-up (or a crash) only delays work, never loses
//! it.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::{
    domain::{Services, platform::outbox::OutboxWritten},
    infra::{
        bus::{Event, EventBus},
        shutdown::Shutdown,
    },
};

/// Deliveries may be due: wakes the webhook senders.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveriesDue;

impl Event for DeliveriesDue {
    const TOPIC: &'static str = "webhooks.due";
}

/// Starts both loops; they stop when `shutdown` fires (an attempt in flight finishes first).
pub fn start(
    services: Services,
    bus: EventBus,
    poll: Duration,
    shutdown: Shutdown,
) -> Vec<JoinHandle<()>> {
    let outbox = {
        let (services, bus_after) = (services.clone(), bus.clone());
        worker::<_, _, OutboxWritten>("outbox", bus.clone(), poll, shutdown.clone(), move || {
            let (services, bus) = (services.clone(), bus_after.clone());
            async move {
                let dispatched = services.outbox.dispatch_due(100).await?;
                if dispatched > 0 {
                    // Fan-out may have created deliveries: wake the sender (everywhere).
                    let _ = bus.publish(&DeliveriesDue).await;
                }
                Ok(dispatched)
            }
        })
    };
    let webhooks = worker::<_, _, DeliveriesDue>("webhooks", bus, poll, shutdown, move || {
        let services = services.clone();
        async move { services.webhook_sender.deliver_due(20).await }
    });
    vec![outbox, webhooks]
}

fn worker<F, Fut, Wake: Event>(
    name: &'static str,
    bus: EventBus,
    poll: Duration,
    mut shutdown: Shutdown,
    work: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<u64, crate::error::AppError>> + Send,
{
    tokio::spawn(async move {
        let mut wake = bus.subscribe::<Wake>().boxed();
        // Set when the bus lost events: work now, listen again after a poll interval (so a bus
        // that stays down is not resubscribed in a loop).
        let mut deaf = false;
        loop {
            // Work until idle (or shutdown).
            while !shutdown.is_triggered() {
                match work().await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(worker = name, error = ?error, "background work failed");
                        break;
                    }
                }
            }
            tokio::select! {
                event = wake.next(), if !deaf => deaf = !matches!(event, Some(Ok(_))),
                () = tokio::time::sleep(poll) => {
                    if deaf {
                        wake = bus.subscribe::<Wake>().boxed();
                        deaf = false;
                    }
                }
                () = shutdown.wait() => break,
            }
        }
        tracing::debug!(worker = name, "stopped");
    })
}
