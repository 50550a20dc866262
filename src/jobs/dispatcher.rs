//! The always-on background loops: the outbox dispatcher and the webhook sender. Each works
//! until nothing is due, then sleeps until the bus says something was written (`OutboxWritten`)
//! or the poll interval passes — so a lost wake-up (or a crash) only delays work, never loses
//! it.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::{
    app::Shutdown,
    domain::{Services, outbox::OutboxWritten},
    infra::bus::EventBus,
};

/// Starts both loops; they stop when `shutdown` fires (an attempt in flight finishes first).
pub fn start(
    services: Services,
    bus: EventBus,
    poll: Duration,
    shutdown: Shutdown,
) -> Vec<JoinHandle<()>> {
    let outbox = {
        let services = services.clone();
        worker("outbox", bus.clone(), poll, shutdown.clone(), move || {
            let services = services.clone();
            async move { services.outbox.dispatch_due(100).await }
        })
    };
    let webhooks = worker("webhooks", bus, poll, shutdown, move || {
        let services = services.clone();
        async move { services.webhook_sender.deliver_due(20).await }
    });
    vec![outbox, webhooks]
}

fn worker<F, Fut>(
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
        let mut wake = bus.subscribe::<OutboxWritten>().boxed();
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
                _ = wake.next() => {}
                () = tokio::time::sleep(poll) => {}
                () = shutdown.wait() => break,
            }
        }
        tracing::debug!(worker = name, "stopped");
    })
}
