//! GraphQL subscriptions over websockets at `/graphql/ws`.
//!
//! Speaks `graphql-transport-ws` (graphql-ws `PROTOCOL.md`) and the legacy `graphql-ws`
//! (subscriptions-transport-ws), chosen by `Sec-WebSocket-Protocol`. async-graphql runs the
//! protocol; this driver adds what the protocol demands around it:
//! - no `connection_init` within `WS_INIT_TIMEOUT_MS` → close 4408;
//! - (graphql-transport-ws) `subscribe` before `connection_init` → close 4401, a second
//!   `subscribe` with an id in use → close 4409, a non-text/non-JSON message → close 4400;
//! - server shutdown → close 1001 with a close frame, then the task ends (shutdown waits for it).

use std::collections::HashSet;

use async_graphql::{
    Data,
    http::{WebSocket as GraphqlWebSocket, WebSocketProtocols, WsMessage},
};
use axum::{
    Extension,
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket},
    },
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument as _;

use super::RequestContext;
use crate::{app::AppState, auth::Principal, error::AppError, infra::telemetry::RequestId};

/// Type and id of a client message: all the driver needs to enforce the protocol's rules.
#[derive(Deserialize)]
struct ClientEnvelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// `GET /graphql/ws`: upgrades to a websocket speaking the requested subprotocol.
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        return AppError::BadRequest(
            "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws".into(),
        )
        .into_response();
    };
    let span = tracing::Span::current();
    let token = state.websockets.token();
    upgrade
        .protocols([protocol.sec_websocket_protocol()])
        .max_message_size(state.config.max_body_bytes)
        .on_upgrade(move |socket| {
            async move {
                tracing::debug!(
                    protocol = protocol.sec_websocket_protocol(),
                    "websocket opened"
                );
                serve(socket, state, protocol, request_id).await;
                tracing::debug!("websocket closed");
                drop(token);
            }
            .instrument(span)
        })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }))
}

/// What a client message means for the driver, before async-graphql sees it.
enum Verdict {
    Forward,
    Close(u16, String),
}

#[derive(Default)]
struct ProtocolState {
    init_received: bool,
    active_ids: HashSet<String>,
    /// Operations answered with `error`: the protocol sends no `complete` after it.
    errored_ids: HashSet<String>,
}

impl ProtocolState {
    fn inspect_client(&mut self, protocol: WebSocketProtocols, text: &str) -> Verdict {
        let Ok(envelope) = serde_json::from_str::<ClientEnvelope>(text) else {
            return match protocol {
                WebSocketProtocols::GraphQLWS => {
                    Verdict::Close(4400, "Invalid message received".into())
                }
                // The legacy protocol answers with its own error message.
                WebSocketProtocols::SubscriptionsTransportWS => Verdict::Forward,
            };
        };
        match envelope.kind.as_str() {
            "connection_init" => self.init_received = true,
            "subscribe" | "start" if protocol == WebSocketProtocols::GraphQLWS => {
                if !self.init_received {
                    return Verdict::Close(4401, "Unauthorized".into());
                }
                if let Some(id) = envelope.id
                    && !self.active_ids.insert(id.clone())
                {
                    return Verdict::Close(4409, format!("Subscriber for {id} already exists"));
                }
            }
            "complete" | "stop" => {
                if let Some(id) = envelope.id {
                    self.active_ids.remove(&id);
                }
            }
            _ => {}
        }
        Verdict::Forward
    }

    /// The message to send for one async-graphql produced, or `None` to send nothing.
    ///
    /// async-graphql reports a subscription the document rejects as `next` + `complete`;
    /// graphql-transport-ws specifies a single `error` message carrying the errors.
    fn inspect_server(&mut self, protocol: WebSocketProtocols, text: String) -> Option<String> {
        let Ok(envelope) = serde_json::from_str::<ClientEnvelope>(&text) else {
            return Some(text);
        };
        let Some(id) = envelope.id else {
            return Some(text);
        };
        match envelope.kind.as_str() {
            "complete" => {
                self.active_ids.remove(&id);
                (!self.errored_ids.remove(&id)).then_some(text)
            }
            "next" if protocol == WebSocketProtocols::GraphQLWS => {
                let Ok(message) = serde_json::from_str::<serde_json::Value>(&text) else {
                    return Some(text);
                };
                let payload = &message["payload"];
                let request_error = payload["data"].is_null()
                    && payload["errors"].as_array().is_some_and(|errors| {
                        !errors.is_empty() && errors.iter().all(|e| e.get("path").is_none())
                    });
                if !request_error {
                    return Some(text);
                }
                self.active_ids.remove(&id);
                self.errored_ids.insert(id.clone());
                Some(
                    serde_json::json!({ "id": id, "type": "error", "payload": payload["errors"] })
                        .to_string(),
                )
            }
            _ => Some(text),
        }
    }
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: WebSocketProtocols,
    request_id: RequestId,
) {
    let (mut sink, mut stream) = socket.split();
    let (to_graphql, from_client) = mpsc::channel::<String>(32);
    let connection_data = {
        let mut data = Data::default();
        data.insert(RequestContext {
            request_id,
            principal: Principal::Anonymous,
        });
        data
    };
    let graphql = GraphqlWebSocket::new(
        state.schema.clone(),
        ReceiverStream::new(from_client),
        protocol,
    )
    .connection_data(connection_data);
    tokio::pin!(graphql);

    let init_deadline = tokio::time::sleep(state.config.graphql.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut shutdown = state.shutdown.clone();
    let mut protocol_state = ProtocolState::default();

    let closing: Option<Message> = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match protocol_state.inspect_client(protocol, text.as_str()) {
                        Verdict::Forward => {
                            if to_graphql.send(text.as_str().to_owned()).await.is_err() {
                                break None;
                            }
                        }
                        Verdict::Close(code, reason) => break Some(close(code, &reason)),
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    break Some(close(4400, "Binary messages are not supported"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
            },
            outgoing = graphql.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    if let Some(text) = protocol_state.inspect_server(protocol, text)
                        && sink.send(Message::Text(text.into())).await.is_err()
                    {
                        break None;
                    }
                }
                Some(WsMessage::Close(code, reason)) => break Some(close(code, &reason)),
                None => break Some(close(1000, "Normal closure")),
            },
            () = &mut init_deadline, if !protocol_state.init_received => {
                break Some(close(4408, "Connection initialisation timeout"));
            },
            () = shutdown.wait() => {
                break Some(close(1001, "Server is shutting down"));
            },
        }
    };
    if let Some(frame) = closing {
        let _ = sink.send(frame).await;
        let _ = sink.close().await;
    }
}
