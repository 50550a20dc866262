//! Sessions that end: a sign-in is a session (its id is the refresh-token family's, and every
//! access token issued in it carries it as `sid`). Logout and refresh-token reuse end it; its
//! access tokens are refused from the next request on, on every process, and open websockets
//! speaking for it close with 4401.
//!
//! Every process keeps the sessions that ended within an access token's lifetime (older ones
//! have no live access token left) in memory, so the check costs no statement: it loads them
//! at start-up and after any gap in the bus, and learns of new ends through the bus
//! ([`SessionEnded`]). The process that ends a session knows at once, before it answers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::repository;
use crate::{
    error::AppError,
    infra::{
        bus::{Event, EventBus},
        db::Db,
    },
};

/// A session ended at `ended_at`: its access tokens are no longer accepted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionEnded {
    pub session_id: Uuid,
    pub ended_at: DateTime<Utc>,
}

impl Event for SessionEnded {
    const TOPIC: &'static str = "identity.session_ended";
}

struct Inner {
    /// Ended sessions and when they ended.
    ended: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    /// Local news of ended sessions, for open websockets.
    news: broadcast::Sender<Uuid>,
    /// An access token's lifetime: how long an ended session must be remembered.
    remember: chrono::Duration,
}

impl Inner {
    fn ended(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, DateTime<Utc>>> {
        self.ended
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn note(&self, session: Uuid, ended_at: DateTime<Utc>) {
        let horizon = Utc::now() - self.remember;
        {
            let mut ended = self.ended();
            ended.retain(|_, at| *at > horizon);
            ended.insert(session, ended_at);
        }
        let _ = self.news.send(session);
    }
}

/// The process's record of ended sessions.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
    bus: EventBus,
    db: Db,
}

impl Sessions {
    /// Remembers ended sessions for `access_ttl` (plus the tokens' clock leeway).
    pub fn new(db: Db, bus: EventBus, access_ttl: Duration) -> Self {
        let remember = chrono::Duration::from_std(access_ttl)
            .unwrap_or(chrono::Duration::hours(24))
            + chrono::Duration::minutes(1);
        Self {
            inner: Arc::new(Inner {
                ended: Mutex::default(),
                news: broadcast::channel(1024).0,
                remember,
            }),
            bus,
            db,
        }
    }

    /// Whether `session` has ended.
    pub fn has_ended(&self, session: Uuid) -> bool {
        self.inner.ended().contains_key(&session)
    }

    /// Ids of sessions as they end in this process or any other.
    pub fn endings(&self) -> broadcast::Receiver<Uuid> {
        self.inner.news.subscribe()
    }

    /// After a committed end of `session`: refuses it here at once and tells every process.
    pub async fn ended(&self, session: Uuid, ended_at: DateTime<Utc>) {
        self.inner.note(session, ended_at);
        let notice = SessionEnded {
            session_id: session,
            ended_at,
        };
        if let Err(error) = self.bus.publish(&notice).await {
            // The failed publish is a gap: other processes reload from the database once the
            // bus is back.
            tracing::warn!(%error, %session, "could not tell other processes that a session ended");
        }
    }

    /// Loads the sessions that ended within an access token's lifetime.
    async fn load(inner: &Inner, db: &Db) -> Result<(), AppError> {
        let since = Utc::now() - inner.remember;
        for (session, ended_at) in repository::sessions_ended_since(db, since).await? {
            inner.note(session, ended_at);
        }
        Ok(())
    }

    /// Loads what ended recently, then follows other processes' ends until the registry is
    /// dropped, loading again after every gap in the bus.
    pub async fn follow(&self) -> Result<tokio::task::JoinHandle<()>, AppError> {
        let mut changes = Box::pin(self.bus.subscribe::<SessionEnded>());
        Self::load(&self.inner, &self.db).await?;
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let (bus, db) = (self.bus.clone(), self.db.clone());
        Ok(tokio::spawn(async move {
            // Gaps in quick succession (the bus is down) back off to 5 s between reloads.
            let mut pause = Duration::from_millis(200);
            loop {
                let listening = tokio::time::Instant::now();
                while let Some(change) = changes.next().await {
                    let Some(inner) = weak.upgrade() else {
                        return;
                    };
                    match change {
                        Ok(SessionEnded {
                            session_id,
                            ended_at,
                        }) => inner.note(session_id, ended_at),
                        Err(_missed) => break,
                    }
                }
                // A gap: listen again first, then read what may have been missed.
                if listening.elapsed() > Duration::from_secs(10) {
                    pause = Duration::from_millis(200);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                changes = Box::pin(bus.subscribe::<SessionEnded>());
                loop {
                    let Some(inner) = weak.upgrade() else {
                        return;
                    };
                    match Self::load(&inner, &db).await {
                        Ok(()) => break,
                        Err(error) => {
                            tracing::warn!(error = ?error, "could not reload ended sessions after a bus gap; retrying");
                            drop(inner);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        }))
    }
}
