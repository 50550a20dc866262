//! Notifications over GraphQL: `notifications`, `unreadNotificationCount`,
//! `markNotificationsRead`, and the live `notificationReceived`.

use async_graphql::{
    Context, ID, InputObject, Json, Object, SimpleObject, Subscription,
    futures_util::{Stream, StreamExt},
};
use chrono::{DateTime, Utc};

use super::{
    caller,
    common::parse_id,
    connection::{self, RelayConnection},
    services,
};
use crate::{domain::platform::notifications::Notification, error::AppError};

/// News for the signed-in account.
#[derive(SimpleObject)]
#[graphql(name = "Notification")]
pub struct NotificationObject {
    /// Unique identifier (UUID).
    id: ID,
    /// What happened: `order.placed`, `order.confirmed`, `order.shipped`, `order.delivered`,
    /// `order.rejected`, `order.cancelled`, `webhook.disabled`.
    kind: String,
    /// One line.
    title: String,
    /// A sentence or two.
    body: String,
    /// Ids to link to, e.g. `{"orderId": "…", "status": "CONFIRMED"}`.
    data: Json<serde_json::Value>,
    /// When (UTC).
    created_at: DateTime<Utc>,
    /// When it was marked read (UTC); null while unread.
    read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationObject {
    fn from(n: Notification) -> Self {
        NotificationObject {
            id: ID(n.id.to_string()),
            kind: n.kind,
            title: n.title,
            body: n.body,
            data: Json(n.data),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// Which notifications to mark read.
#[derive(InputObject)]
pub struct MarkNotificationsReadInput {
    /// These (at most 1000); others' ids are ignored.
    ids: Option<Vec<ID>>,
    /// Every unread one (instead of `ids`).
    #[graphql(default)]
    all: bool,
}

/// Result of `markNotificationsRead`.
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// How many changed from unread to read.
    marked: u64,
    /// Unread notifications left.
    unread_count: u64,
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The signed-in account's notifications, newest first.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first n items after `after` (0–100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "The last n items before `before` (0–100).")] last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(default, desc = "Only unread ones.")] unread_only: bool,
    ) -> async_graphql::Result<RelayConnection<NotificationObject>> {
        let page = connection::page_request(ctx, first, after, last, before)?;
        let result = services(ctx)?
            .notifications
            .list(caller(ctx), unread_only, page)
            .await?;
        Ok(connection::connection(result, NotificationObject::from))
    }

    /// How many of the signed-in account's notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(services(ctx)?
            .notifications
            .unread_count(caller(ctx))
            .await?)
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks the signed-in account's notifications read: `ids`, or `all`.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationsReadInput,
    ) -> async_graphql::Result<MarkNotificationsReadPayload> {
        let ids = match (input.all, input.ids) {
            (true, None) => None,
            (false, Some(ids)) => Some(
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| parse_id(&format!("ids[{i}]"), id))
                    .collect::<Result<Vec<_>, AppError>>()?,
            ),
            _ => {
                return Err(AppError::validation("ids", "give either ids or all: true").into());
            }
        };
        let service = &services(ctx)?.notifications;
        let marked = service.mark_read(caller(ctx), ids).await?;
        Ok(MarkNotificationsReadPayload {
            marked,
            unread_count: service.unread_count(caller(ctx)).await?,
        })
    }
}

#[derive(Default)]
pub struct NotificationSubscription;

#[Subscription]
impl NotificationSubscription {
    /// The signed-in account's new notifications, live. When some may have been missed (the
    /// event bus was unreachable), the stream ends with SERVICE_UNAVAILABLE: resubscribe, then
    /// refetch `notifications`.
    async fn notification_received(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<NotificationObject>> + use<>>
    {
        let stream = services(ctx)?.notifications.received(caller(ctx))?;
        Ok(stream.map(|item| {
            item.map(NotificationObject::from)
                .map_err(async_graphql::Error::from)
        }))
    }
}
