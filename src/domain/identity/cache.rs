//! The caller cache: who an account is and where it belongs, kept for a short while so a busy
//! caller costs no statement per request.
//!
//! Every change of an account's role, memberships or existence forgets it here at once and
//! tells every other Iris process through the bus ([`AccountChanged`]), so the change holds on
//! the next request everywhere. A process that may have missed such a notice (a bus gap)
//! forgets everything; the time-to-live bounds what a lost notice could leave behind.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Account, AccountView};
use crate::{
    auth::{AccountIdentity, MemberRole},
    infra::bus::{Event, EventBus},
};

/// An account's role, memberships or existence changed; `None`: forget every account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountChanged {
    pub account_id: Option<Uuid>,
}

impl Event for AccountChanged {
    const TOPIC: &'static str = "identity.account_changed";
}

/// An account with its memberships, as the caller cache keeps it.
#[derive(Clone, Debug)]
pub(super) struct CachedAccount {
    pub account: Account,
    pub suppliers: Vec<(Uuid, MemberRole)>,
    pub restaurants: Vec<(Uuid, MemberRole)>,
}

impl CachedAccount {
    /// The account as a request's principal sees it, valid until `expires_at`.
    pub fn identity(
        &self,
        expires_at: chrono::DateTime<chrono::Utc>,
        session_id: Option<Uuid>,
    ) -> AccountIdentity {
        AccountIdentity {
            account_id: self.account.id,
            email: self.account.email.clone(),
            role: self.account.role,
            suppliers: self.suppliers.iter().copied().collect(),
            restaurants: self.restaurants.iter().copied().collect(),
            expires_at,
            session_id,
        }
    }

    /// The account as `me` shows it.
    pub fn view(&self) -> AccountView {
        AccountView {
            id: self.account.id,
            role: self.account.role,
            email: self.account.email.clone(),
            display_name: self.account.display_name.clone(),
            created_at: self.account.created_at,
            suppliers: self.suppliers.clone(),
            restaurants: self.restaurants.clone(),
        }
    }
}

struct Entry {
    loaded: Instant,
    value: Arc<CachedAccount>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<Uuid, Entry>,
    /// Identity providers' subjects of cached accounts.
    by_subject: HashMap<String, Uuid>,
}

struct Inner {
    entries: Mutex<Entries>,
    /// Bumped by every forget: a load that began before a forget must not store what it read.
    generation: AtomicU64,
    ttl: Duration,
    capacity: usize,
}

impl Inner {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets `account` (every account with `None`) in this process.
    fn forget(&self, account: Option<Uuid>) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match account {
            Some(id) => {
                entries.by_id.remove(&id);
                entries.by_subject.retain(|_, cached| *cached != id);
            }
            None => *entries = Entries::default(),
        }
    }
}

/// The process's cache of callers, and the way changes reach every process's cache.
#[derive(Clone)]
pub struct CallerCache {
    inner: Arc<Inner>,
    bus: EventBus,
}

/// What a load saw before reading, to store its result only if nothing was forgotten since.
pub(super) struct Ticket(u64);

impl CallerCache {
    /// Keeps up to `capacity` accounts for `ttl` each (`ttl` zero: keeps nothing).
    pub fn new(bus: EventBus, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(Entries::default()),
                generation: AtomicU64::new(0),
                ttl,
                capacity,
            }),
            bus,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.entries()
    }

    pub(super) fn ticket(&self) -> Ticket {
        Ticket(self.inner.generation.load(Ordering::Acquire))
    }

    pub(super) fn by_id(&self, id: Uuid) -> Option<Arc<CachedAccount>> {
        let entries = self.entries();
        let entry = entries.by_id.get(&id)?;
        (entry.loaded.elapsed() < self.inner.ttl).then(|| entry.value.clone())
    }

    pub(super) fn by_subject(&self, subject: &str) -> Option<Arc<CachedAccount>> {
        let id = *self.entries().by_subject.get(subject)?;
        self.by_id(id)
    }

    /// Stores what a load read, unless something was forgotten since its ticket.
    pub(super) fn store(&self, ticket: Ticket, value: Arc<CachedAccount>) {
        if self.inner.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if self.inner.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.by_id.len() >= self.inner.capacity {
            let ttl = self.inner.ttl;
            entries.by_id.retain(|_, e| e.loaded.elapsed() < ttl);
            if entries.by_id.len() >= self.inner.capacity {
                entries.by_id.clear();
            }
            let Entries { by_id, by_subject } = &mut *entries;
            by_subject.retain(|_, id| by_id.contains_key(id));
        }
        if let Some(subject) = &value.account.external_id {
            entries.by_subject.insert(subject.clone(), value.account.id);
        }
        entries.by_id.insert(
            value.account.id,
            Entry {
                loaded: Instant::now(),
                value,
            },
        );
    }

    /// After a committed change of `account`: forgets it here and tells every other process.
    pub async fn account_changed(&self, account: Uuid) {
        self.inner.forget(Some(account));
        let notice = AccountChanged {
            account_id: Some(account),
        };
        if let Err(error) = self.bus.publish(&notice).await {
            tracing::warn!(
                %error,
                %account,
                "could not tell other processes that an account changed; their caller caches keep it until it expires"
            );
        }
    }

    /// Follows other processes' changes until the cache is dropped: forgets what they changed,
    /// and everything after a gap in the bus (then listens again).
    pub fn follow_changes(&self) -> tokio::task::JoinHandle<()> {
        let cache: Weak<Inner> = Arc::downgrade(&self.inner);
        let bus = self.bus.clone();
        tokio::spawn(async move {
            loop {
                let mut changes = std::pin::pin!(bus.subscribe::<AccountChanged>());
                while let Some(change) = changes.next().await {
                    let Some(inner) = cache.upgrade() else {
                        return;
                    };
                    match change {
                        Ok(AccountChanged { account_id }) => inner.forget(account_id),
                        Err(_missed) => inner.forget(None),
                    }
                }
                let Some(inner) = cache.upgrade() else {
                    return;
                };
                inner.forget(None);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    }
}
