//! Notifications: news for accounts — orders placed with their supplier, status changes of
//! their restaurant's orders, disabled webhook endpoints — listed, marked read, and pushed live
//! (`notificationReceived`) and to a push provider.
//!
//! Rules: an account sees and marks only its own notifications. Order notifications are
//! written by the outbox handler in the dispatch transaction (so exactly once per event) and
//! announced after it commits.

use crate::infra::db::Db;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{
    notifications::{self, Column, Entity},
    restaurant_members, restaurants, supplier_members, suppliers,
};
use futures_util::{Stream, StreamExt};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{Caller, MemberRole, Principal},
    domain::{
        identity::Organisation,
        kernel::pagination::{Page, PageRequest},
        platform::outbox::{self, OutboxEvent, OutboxHandler},
        repository::fetch_page,
    },
    error::AppError,
    infra::bus::{Event, EventBus},
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: Uuid,
    pub account_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

fn to_domain(m: notifications::Model) -> Notification {
    Notification {
        id: m.id,
        account_id: m.account_id,
        kind: m.kind,
        title: m.title,
        body: m.body,
        data: m.data,
        created_at: m.created_at,
        read_at: m.read_at,
    }
}

/// A notification was created (published after its transaction committed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotificationCreated(pub Notification);

impl Event for NotificationCreated {
    const TOPIC: &'static str = "notifications.created";
}

/// Where mobile and desktop push notifications go (FCM, APNs, … plug in here).
#[async_trait]
pub trait PushProvider: Send + Sync + 'static {
    async fn push(&self, notification: &Notification) -> anyhow::Result<()>;
}

/// Logs what it would push: the provider until a real one is configured.
pub struct LoggingPush;

#[async_trait]
impl PushProvider for LoggingPush {
    async fn push(&self, notification: &Notification) -> anyhow::Result<()> {
        tracing::info!(
            account_id = %notification.account_id,
            kind = %notification.kind,
            title = %notification.title,
            "push notification (logging provider)"
        );
        Ok(())
    }
}

/// What to tell an organisation's members.
pub(crate) struct Notice {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub data: serde_json::Value,
}

/// Writes `notice` for the members of `organisation` (OWNERs only with `owners_only`), in the
/// caller's transaction; returns the new notifications' ids.
pub(crate) async fn notify_members(
    txn: &impl ConnectionTrait,
    organisation: Organisation,
    owners_only: bool,
    notice: &Notice,
    source_event: Option<Uuid>,
) -> Result<Vec<Uuid>, AppError> {
    let accounts: Vec<Uuid> = match organisation {
        Organisation::Supplier(id) => supplier_members::Entity::find()
            .filter(supplier_members::Column::SupplierId.eq(id))
            .all(txn)
            .await?
            .into_iter()
            .filter(|m| !owners_only || m.role == MemberRole::Owner.as_str())
            .map(|m| m.account_id)
            .collect(),
        Organisation::Restaurant(id) => restaurant_members::Entity::find()
            .filter(restaurant_members::Column::RestaurantId.eq(id))
            .all(txn)
            .await?
            .into_iter()
            .filter(|m| !owners_only || m.role == MemberRole::Owner.as_str())
            .map(|m| m.account_id)
            .collect(),
    };
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let ids: Vec<Uuid> = accounts.iter().map(|_| Uuid::now_v7()).collect();
    let rows: Vec<notifications::ActiveModel> = accounts
        .iter()
        .zip(&ids)
        .map(|(account, id)| notifications::ActiveModel {
            id: Set(*id),
            account_id: Set(*account),
            kind: Set(notice.kind.clone()),
            title: Set(notice.title.clone()),
            body: Set(notice.body.clone()),
            data: Set(notice.data.clone()),
            source_event_id: Set(source_event),
            created_at: Set(now),
            read_at: Set(None),
        })
        .collect();
    Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(ids)
}

#[derive(Clone)]
pub struct NotificationService {
    db: Db,
    bus: EventBus,
    push: Arc<dyn PushProvider>,
}

fn account_of(caller: &Caller) -> Result<Uuid, AppError> {
    match &caller.principal {
        Principal::Account(a) => Ok(a.account_id),
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to see notifications".into(),
        )),
        _ => Err(AppError::Forbidden(
            "notifications belong to accounts".into(),
        )),
    }
}

impl NotificationService {
    pub fn new(db: Db, bus: EventBus, push: Arc<dyn PushProvider>) -> Self {
        Self { db, bus, push }
    }

    /// The caller's notifications, newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<Page<Notification>, AppError> {
        let account = account_of(caller)?;
        let mut select = Entity::find().filter(Column::AccountId.eq(account));
        if unread_only {
            select = select.filter(Column::ReadAt.is_null());
        }
        fetch_page(
            &self.db,
            select,
            page,
            |s| s.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id),
            to_domain,
        )
        .await
    }

    pub async fn unread_count(&self, caller: &Caller) -> Result<u64, AppError> {
        let account = account_of(caller)?;
        Ok(Entity::find()
            .filter(Column::AccountId.eq(account))
            .filter(Column::ReadAt.is_null())
            .count(&self.db)
            .await?)
    }

    /// Marks the caller's notifications read: these ones, or all with `None`; returns how many
    /// changed. Others' ids are ignored.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        ids: Option<Vec<Uuid>>,
    ) -> Result<u64, AppError> {
        let account = account_of(caller)?;
        let mut update = Entity::update_many()
            .col_expr(Column::ReadAt, Expr::value(Utc::now()))
            .filter(Column::AccountId.eq(account))
            .filter(Column::ReadAt.is_null());
        if let Some(ids) = ids {
            if ids.len() > 1000 {
                return Err(AppError::validation("ids", "must hold at most 1000 ids"));
            }
            update = update.filter(Column::Id.is_in(ids));
        }
        Ok(update.exec(&self.db).await?.rows_affected)
    }

    /// The caller's new notifications, live.
    pub fn received(
        &self,
        caller: &Caller,
    ) -> Result<impl Stream<Item = Result<Notification, AppError>> + Send + use<>, AppError> {
        let account = account_of(caller)?;
        Ok(self
            .bus
            .subscribe::<NotificationCreated>()
            .filter_map(move |event| {
                std::future::ready(match event {
                    Ok(NotificationCreated(n)) => (n.account_id == account).then_some(Ok(n)),
                    Err(missed) => Some(Err(AppError::from(missed))),
                })
            }))
    }

    /// Announces notifications that were just committed: live subscribers and the push provider.
    pub async fn announce(&self, ids: &[Uuid]) {
        let found = Entity::find()
            .filter(Column::Id.is_in(ids.to_vec()))
            .all(&self.db)
            .await;
        self.announce_rows(found).await;
    }

    async fn announce_rows(&self, found: Result<Vec<notifications::Model>, sea_orm::DbErr>) {
        let rows = match found {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(error = %error, "loading notifications to announce failed");
                return;
            }
        };
        for row in rows {
            let notification = to_domain(row);
            if let Err(error) = self
                .bus
                .publish(&NotificationCreated(notification.clone()))
                .await
            {
                tracing::warn!(error = ?error, "publishing a notification failed");
            }
            if let Err(error) = self.push.push(&notification).await {
                tracing::warn!(error = ?error, "pushing a notification failed");
            }
        }
    }

    /// Announces every notification an outbox event caused.
    pub async fn announce_event(&self, event: Uuid) {
        let found = Entity::find()
            .filter(Column::SourceEventId.eq(event))
            .all(&self.db)
            .await;
        self.announce_rows(found).await;
    }
}

/// Turns order events into notifications for the other party's members.
pub struct NotificationFanout(pub NotificationService);

async fn name_of(
    txn: &DatabaseTransaction,
    organisation: Organisation,
) -> Result<String, AppError> {
    Ok(match organisation {
        Organisation::Supplier(id) => suppliers::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map(|s| s.name),
        Organisation::Restaurant(id) => restaurants::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map(|r| r.name),
    }
    .unwrap_or_else(|| "A former member".to_owned()))
}

#[async_trait]
impl OutboxHandler for NotificationFanout {
    fn name(&self) -> &'static str {
        "notifications"
    }

    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
        if event.aggregate_type != "order" || event.event_type == outbox::DELIVERY_MARKED {
            return Ok(());
        }
        let order = &event.payload["order"];
        let id = |field: &str| order[field].as_str().and_then(|s| Uuid::parse_str(s).ok());
        let (Some(order_id), Some(restaurant), Some(supplier)) =
            (id("id"), id("restaurantId"), id("supplierId"))
        else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "order event {} names no parties",
                event.id
            )));
        };
        let (restaurant, supplier) = (
            Organisation::Restaurant(restaurant),
            Organisation::Supplier(supplier),
        );
        let to = event.payload["to"].as_str().unwrap_or_default();
        let total = format!(
            "{} {}",
            order["total"].as_str().unwrap_or_default(),
            order["currency"].as_str().unwrap_or_default()
        );
        let date = order["requestedDeliveryDate"].as_str().unwrap_or_default();
        let data = json!({ "orderId": order_id, "status": to });
        let (recipient, notice) = match (event.event_type.as_str(), to) {
            (outbox::ORDER_PLACED, _) => {
                let from = name_of(txn, restaurant).await?;
                (
                    supplier,
                    Notice {
                        kind: "order.placed".into(),
                        title: format!("New order from {from}"),
                        body: format!("{from} ordered for {total}, for delivery on {date}."),
                        data,
                    },
                )
            }
            (_, "CANCELLED") => {
                let from = name_of(txn, restaurant).await?;
                (
                    supplier,
                    Notice {
                        kind: "order.cancelled".into(),
                        title: format!("{from} cancelled an order"),
                        body: format!("The order for {total} (delivery {date}) is cancelled."),
                        data,
                    },
                )
            }
            (_, "CONFIRMED" | "SHIPPED" | "DELIVERED" | "REJECTED") => {
                let by = name_of(txn, supplier).await?;
                let reason = event.payload["reason"]
                    .as_str()
                    .map(|r| format!(" Reason: {r}"))
                    .unwrap_or_default();
                (
                    restaurant,
                    Notice {
                        kind: format!("order.{}", to.to_ascii_lowercase()),
                        title: format!("Order {} by {by}", to.to_ascii_lowercase()),
                        body: format!(
                            "Your order for {total} (delivery {date}) is {}.{reason}",
                            to.to_ascii_lowercase()
                        ),
                        data,
                    },
                )
            }
            _ => return Ok(()),
        };
        notify_members(txn, recipient, false, &notice, Some(event.id)).await?;
        Ok(())
    }

    async fn after_commit(&self, event: &OutboxEvent) {
        self.0.announce_event(event.id).await;
    }
}
