//! Process lifecycle: the one signal every long-lived task (server, websockets, scheduler,
//! background loops) listens to.

use std::sync::Arc;

use tokio::sync::watch;

/// Fires once, when the process is asked to stop; everything long-lived listens to it.
#[derive(Clone)]
pub struct Shutdown {
    sender: Arc<watch::Sender<bool>>,
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new() -> Self {
        let (sender, receiver) = watch::channel(false);
        Self {
            sender: Arc::new(sender),
            receiver,
        }
    }

    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&mut self) {
        // The sender lives as long as any clone of `self`, so this only errs when no one can
        // trigger any more; treat that as shutdown too.
        let _ = self.receiver.wait_for(|stopped| *stopped).await;
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}
