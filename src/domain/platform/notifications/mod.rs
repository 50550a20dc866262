//! Notifications: news for accounts — orders placed with their supplier, status changes of
//! their restaurant's orders, disabled webhook endpoints, invitations to an organisation — listed, marked read, and pushed live
//! (`notificationReceived`) and to a push provider.
//!
//! Rules: an account sees and marks only its own notifications. Order notifications are
//! written by the outbox handler in the dispatch transaction (so exactly once per event) and
//! announced after it commits.

mod repository;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{Caller, Principal},
    domain::{
        identity::{INVITATION_CREATED, Organisation},
        kernel::pagination::{Page, PageRequest},
        platform::outbox::{self, OutboxEvent, OutboxHandler},
    },
    error::AppError,
    infra::{
        bus::{Event, EventBus},
        db::Db,
    },
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
    let accounts = repository::member_accounts(txn, organisation, owners_only).await?;
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let rows: Vec<Notification> = accounts
        .into_iter()
        .map(|account_id| Notification {
            id: Uuid::now_v7(),
            account_id,
            kind: notice.kind.clone(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            data: notice.data.clone(),
            created_at: now,
            read_at: None,
        })
        .collect();
    let ids = rows.iter().map(|n| n.id).collect();
    repository::insert_all(txn, rows, source_event).await?;
    Ok(ids)
}

/// Writes `notice` for every admin, in the caller's transaction; returns the new
/// notifications' ids.
pub(crate) async fn notify_admins(
    txn: &impl ConnectionTrait,
    notice: &Notice,
) -> Result<Vec<Uuid>, AppError> {
    let now = Utc::now();
    let rows: Vec<Notification> = repository::admin_accounts(txn)
        .await?
        .into_iter()
        .map(|account_id| Notification {
            id: Uuid::now_v7(),
            account_id,
            kind: notice.kind.clone(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            data: notice.data.clone(),
            created_at: now,
            read_at: None,
        })
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = rows.iter().map(|n| n.id).collect();
    repository::insert_all(txn, rows, None).await?;
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
        repository::list_for_account(&self.db, account, unread_only, &page).await
    }

    pub async fn unread_count(&self, caller: &Caller) -> Result<u64, AppError> {
        let account = account_of(caller)?;
        repository::count_unread(&self.db, account).await
    }

    /// Marks the caller's notifications read: these ones, or all with `None`; returns how many
    /// changed. Others' ids are ignored.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        ids: Option<Vec<Uuid>>,
    ) -> Result<u64, AppError> {
        let account = account_of(caller)?;
        if ids.as_ref().is_some_and(|ids| ids.len() > 1000) {
            return Err(AppError::validation("ids", "must hold at most 1000 ids"));
        }
        repository::mark_read(&self.db, account, ids, Utc::now()).await
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
        let found = repository::find_many(&self.db, ids).await;
        self.announce_all(found).await;
    }

    async fn announce_all(&self, found: Result<Vec<Notification>, AppError>) {
        let notifications = match found {
            Ok(notifications) => notifications,
            Err(error) => {
                tracing::warn!(error = ?error, "loading notifications to announce failed");
                return;
            }
        };
        for notification in notifications {
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
        let found = repository::find_by_source_event(&self.db, event).await;
        self.announce_all(found).await;
    }
}

/// Turns order events into notifications for the other party's members.
pub struct NotificationFanout(pub NotificationService);

async fn name_of(
    txn: &DatabaseTransaction,
    organisation: Organisation,
) -> Result<String, AppError> {
    Ok(repository::organisation_name(txn, organisation)
        .await?
        .unwrap_or_else(|| "A former member".to_owned()))
}

/// Tells the account with an invited address, if there is one, of its invitation.
async fn invitation_received(
    txn: &DatabaseTransaction,
    event: &OutboxEvent,
) -> Result<(), AppError> {
    let invitation = &event.payload["invitation"];
    let text = |field: &str| invitation[field].as_str().unwrap_or_default();
    let Some(account_id) = repository::live_account_with_email(txn, text("email")).await? else {
        return Ok(());
    };
    let expires = text("expiresAt").get(..10).unwrap_or_default();
    let notification = Notification {
        id: Uuid::now_v7(),
        account_id,
        kind: "invitation.received".into(),
        title: format!("You are invited to join {}", text("organisationName")),
        body: format!(
            "{} invites you to join as {}. Accept or decline by {expires}.",
            text("organisationName"),
            text("role")
        ),
        data: json!({
            "invitationId": invitation["id"],
            "organisationType": invitation["organisationType"],
            "organisationId": invitation["organisationId"],
            "role": invitation["role"],
        }),
        created_at: Utc::now(),
        read_at: None,
    };
    repository::insert_all(txn, vec![notification], Some(event.id)).await
}

/// Tells the party that must act of an invoice event: the restaurant of a match and of an
/// answer, the supplier of a dispute.
async fn invoice_notice(txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
    let invoice = &event.payload["invoice"];
    let id = |field: &str| {
        invoice[field]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let (Some(invoice_id), Some(restaurant), Some(supplier)) =
        (id("id"), id("restaurantId"), id("supplierId"))
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "invoice event {} names no parties",
            event.id
        )));
    };
    let (restaurant, supplier) = (
        Organisation::Restaurant(restaurant),
        Organisation::Supplier(supplier),
    );
    let number = invoice["invoiceNumber"]
        .as_str()
        .unwrap_or("without a number");
    let dispute = &event.payload["dispute"];
    let credit = format!(
        "{} {}",
        dispute["creditRequested"].as_str().unwrap_or_default(),
        dispute["currency"].as_str().unwrap_or_default()
    );
    let data = json!({ "invoiceId": invoice_id, "disputeId": dispute["id"] });
    let (recipient, notice) = match event.event_type.as_str() {
        outbox::INVOICE_MATCHED => {
            let from = name_of(txn, supplier).await?;
            (
                restaurant,
                Notice {
                    kind: "invoice.matched".into(),
                    title: format!("Invoice {number} from {from} matches its order"),
                    body: format!(
                        "Every line of invoice {number} ({} {}) agrees with the order: it is ready to approve.",
                        invoice["total"].as_str().unwrap_or("-"),
                        invoice["currency"].as_str().unwrap_or_default()
                    ),
                    data,
                },
            )
        }
        outbox::INVOICE_DISPUTED => {
            let from = name_of(txn, restaurant).await?;
            (
                supplier,
                Notice {
                    kind: "invoice.disputed".into(),
                    title: format!("{from} disputes invoice {number}"),
                    body: format!(
                        "{from} asks for a credit of {credit}: {}",
                        dispute["message"].as_str().unwrap_or_default()
                    ),
                    data,
                },
            )
        }
        outbox::INVOICE_DISPUTE_ANSWERED => {
            let by = name_of(txn, supplier).await?;
            let accepted = dispute["status"].as_str() == Some("ACCEPTED");
            (
                restaurant,
                Notice {
                    kind: "invoice.dispute_answered".into(),
                    title: format!(
                        "{by} {} your dispute of invoice {number}",
                        if accepted { "accepted" } else { "rejected" }
                    ),
                    body: if accepted {
                        format!("A credit note of {credit} is to follow.")
                    } else {
                        format!("Reason: {}", dispute["answer"].as_str().unwrap_or_default())
                    },
                    data,
                },
            )
        }
        _ => return Ok(()),
    };
    notify_members(txn, recipient, false, &notice, Some(event.id)).await?;
    Ok(())
}

/// A product's list price moved: its recent buyers hear of it (orders already placed keep
/// their price).
async fn price_notice(txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
    let p = &event.payload;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let (name, currency) = (text(&p["product"]["name"]), text(&p["currency"]));
    let (old, new) = (text(&p["oldPrice"]), text(&p["newPrice"]));
    let notice = Notice {
        kind: "product.price_changed".into(),
        title: format!("{name}: new price {new} {currency}"),
        body: format!(
            "The list price of {name} (SKU {}) changed from {old} to {new} {currency}. Orders already placed keep their price.",
            text(&p["product"]["sku"])
        ),
        data: json!({ "productId": p["product"]["id"], "oldPrice": old, "newPrice": new }),
    };
    for restaurant in event.routed_restaurants() {
        notify_members(
            txn,
            Organisation::Restaurant(restaurant),
            false,
            &notice,
            Some(event.id),
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl OutboxHandler for NotificationFanout {
    fn name(&self) -> &'static str {
        "notifications"
    }

    async fn handle(&self, txn: &DatabaseTransaction, event: &OutboxEvent) -> Result<(), AppError> {
        if event.event_type == INVITATION_CREATED {
            return invitation_received(txn, event).await;
        }
        if event.aggregate_type == "invoice" {
            return invoice_notice(txn, event).await;
        }
        if event.event_type == outbox::PRODUCT_PRICE_CHANGED {
            return price_notice(txn, event).await;
        }
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
