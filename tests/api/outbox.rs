//! The outbox dispatcher against a real database: events go in batches, and a handler that
//! fails holds back only its own event.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::outbox;
use iris::{
    domain::platform::outbox::{OutboxEvent, OutboxHandler, OutboxService},
    error::AppError,
    infra::db::{DatabaseSettings, Db, connect, migrate_up},
};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait};
use uuid::Uuid;

use crate::helpers::Backend;

/// Fails for one aggregate; records every event it handled in a transaction that committed.
struct Picky {
    fails_for: Uuid,
    committed: Arc<Mutex<Vec<Uuid>>>,
}

#[async_trait::async_trait]
impl OutboxHandler for Picky {
    fn name(&self) -> &'static str {
        "picky"
    }

    async fn handle(
        &self,
        _txn: &DatabaseTransaction,
        event: &OutboxEvent,
    ) -> Result<(), AppError> {
        if event.aggregate_id == self.fails_for {
            return Err(AppError::Internal(anyhow::anyhow!("refused on purpose")));
        }
        Ok(())
    }

    async fn after_commit(&self, event: &OutboxEvent) {
        self.committed.lock().unwrap().push(event.aggregate_id);
    }
}

/// A fresh migrated database holding `n` due events, one per new aggregate, oldest first.
async fn queue(n: usize) -> (Backend, DatabaseConnection, Vec<Uuid>, DateTime<Utc>) {
    let backend = Backend::fresh().await;
    let pool = connect(&DatabaseSettings {
        url: backend.database_url.clone(),
        max_connections: 2,
        background_connections: 1,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .expect("database");
    migrate_up(&pool).await.expect("migrations");
    let now = Utc::now();
    let aggregates: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    outbox::Entity::insert_many(aggregates.iter().map(|aggregate| outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_type: Set("order.placed".into()),
        aggregate_type: Set("order".into()),
        aggregate_id: Set(*aggregate),
        payload: Set(serde_json::json!({})),
        occurred_at: Set(now),
        available_at: Set(now),
        attempts: Set(0),
        last_error: Set(None),
        dispatched_at: Set(None),
    }))
    .exec_without_returning(&pool)
    .await
    .expect("events written");
    (backend, pool, aggregates, now)
}

#[tokio::test]
async fn a_failing_event_waits_for_its_retry_and_the_rest_of_its_batch_goes_through() {
    let (_backend, pool, aggregates, now) = queue(7).await;

    let committed = Arc::new(Mutex::new(Vec::new()));
    let service = OutboxService::new(
        Db::new(pool.clone()),
        vec![Arc::new(Picky {
            fails_for: aggregates[3],
            committed: committed.clone(),
        })],
    );
    // The whole queue is one batch; the fourth event fails it, so the seven go one by one.
    assert_eq!(service.dispatch_due(100).await.expect("dispatch"), 7);
    assert_eq!(
        service.dispatch_due(100).await.expect("dispatch"),
        0,
        "the failed event waits"
    );

    let rows = outbox::Entity::find().all(&pool).await.expect("outbox");
    for row in &rows {
        if row.aggregate_id == aggregates[3] {
            assert!(
                row.dispatched_at.is_none(),
                "the failing event is not dispatched"
            );
            assert_eq!(row.attempts, 1);
            assert!(row.available_at > now, "it is retried later");
            let error = row.last_error.as_deref().unwrap_or_default();
            assert!(
                error.contains("picky"),
                "the error names the handler: {error}"
            );
        } else {
            assert!(
                row.dispatched_at.is_some(),
                "{} is dispatched",
                row.aggregate_id
            );
            assert_eq!(row.attempts, 1, "one attempt that counted");
        }
    }
    let mut done = committed.lock().unwrap().clone();
    done.sort();
    let mut expected: Vec<Uuid> = aggregates.clone();
    expected.remove(3);
    expected.sort();
    assert_eq!(
        done, expected,
        "each other event was committed exactly once"
    );
    assert_eq!(service.pending().await.expect("pending"), 1);
}

#[tokio::test]
async fn a_busy_queue_drains_in_batches_oldest_first() {
    let (_backend, pool, aggregates, _) = queue(120).await;
    let committed = Arc::new(Mutex::new(Vec::new()));
    let service = OutboxService::new(
        Db::new(pool.clone()),
        vec![Arc::new(Picky {
            fails_for: Uuid::nil(),
            committed: committed.clone(),
        })],
    );
    // A limit below the queue stops there, at a batch boundary or inside one.
    assert_eq!(service.dispatch_due(70).await.expect("dispatch"), 70);
    assert_eq!(service.dispatch_due(100).await.expect("dispatch"), 50);
    assert_eq!(
        *committed.lock().unwrap(),
        aggregates,
        "dispatched oldest first, each once"
    );
    assert_eq!(service.pending().await.expect("pending"), 0);
}
