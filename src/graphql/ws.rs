//! GraphQL subscriptions over websockets at `/graphql/ws`.
//!
//! Speaks `graphql-transport-ws` (graphql-ws `PROTOCOL.md`) and the legacy `graphql-ws`
//! (subscriptions-transport-ws), chosen by `Sec-WebSocket-Protocol`. async-graphql runs the
//! protocol; this driver adds what the protocol demands around it:
//! - no `connection_init` within `WS_INIT_TIMEOUT_MS` → close 4408;
//! - (graphql-transport-ws) `subscribe` before `connection_init` → close 4401, a second
//!   `subscribe` with an id in use → close 4409, a message that is not one of the protocol's
//!   → close 4400; a rejected document → one `error` message (no `complete`);
//! - at most 100 subscriptions per connection; a client that does not read its messages is
//!   dropped; a browser page from an origin `CORS_ORIGINS` does not allow is refused (403);
//! - the access token expires, or its session ends (logout, refresh-token reuse, on any
//!   process) → every subscription gets an UNAUTHENTICATED `error`, then close 4401;
//! - server shutdown → close 1001 with a close frame, then the task ends (shutdown waits for it).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

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
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument as _;

use super::GraphqlState;
use super::{
    RequestContext,
    errors::{self, transport_error},
    loaders::Loaders,
};
use crate::{
    auth::{Caller, RequestMeta},
    domain::identity::SESSION_ENDED,
    error::AppError,
    infra::telemetry::RequestId,
    web::extract::request_meta,
};

/// Subscriptions one connection may hold open at once.
const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;
/// Bytes read from a websocket at a time (tungstenite allocates this per connection).
const WS_READ_BUFFER: usize = 4 * 1024;
/// A client that does not take a message within this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The fields of a client message the driver checks before async-graphql sees it.
#[derive(Deserialize)]
struct ClientEnvelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<serde_json::Value>,
}

/// The fields of a server message the driver checks, borrowed from its text.
#[derive(Deserialize)]
struct ServerEnvelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// `GET /graphql/ws`: upgrades to a websocket speaking the requested subprotocol.
pub async fn upgrade(
    State(state): State<GraphqlState>,
    Extension(request_id): Extension<RequestId>,
    parts: Parts,
    upgrade: WebSocketUpgrade,
) -> Response {
    let meta = request_meta(
        &parts.headers,
        &parts.extensions,
        state.api.config.trusted_proxy_hops,
    );
    let headers = parts.headers;
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
    // Browsers send Origin on websockets and CORS does not apply to them: check it here, so a
    // page from another site cannot open a socket with the user's credentials.
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin
        && !state.api.config.allows_origin(origin, host)
    {
        return AppError::Forbidden(format!("Origin {origin} may not open websockets here"))
            .into_response();
    }
    let span = tracing::Span::current();
    let token = state.api.websockets.token();
    upgrade
        .protocols([protocol.sec_websocket_protocol()])
        .max_message_size(state.api.config.max_body_bytes)
        .max_frame_size(state.api.config.max_body_bytes)
        // Small buffers: an idle subscriber costs a few kilobytes, not the 256 KiB of
        // tungstenite's defaults (messages larger than a buffer still pass, in pieces).
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            async move {
                tracing::debug!(
                    protocol = protocol.sec_websocket_protocol(),
                    "websocket opened"
                );
                serve(socket, state, protocol, request_id, meta).await;
                tracing::debug!("websocket closed");
                drop(token);
            }
            .instrument(span)
        })
}

/// A close frame; the reason is cut to the 123 bytes a control frame can carry.
fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..end]),
    }))
}

/// Ends every subscription with an UNAUTHENTICATED `error` saying `reason`; the connection
/// then closes with 4401.
async fn unauthenticated(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    protocol: WebSocketProtocols,
    protocol_state: &mut ProtocolState,
    reason: &str,
) -> Ending {
    let mut error = transport_error(reason, "UNAUTHENTICATED", 401);
    errors::finish(std::slice::from_mut(&mut error), None);
    for id in protocol_state.active_ids.drain() {
        let payload = if protocol == WebSocketProtocols::GraphQLWS {
            serde_json::json!([error])
        } else {
            serde_json::json!(error)
        };
        let message = serde_json::json!({ "id": id, "type": "error", "payload": payload });
        let _ = tokio::time::timeout(
            SEND_TIMEOUT,
            sink.send(Message::Text(message.to_string().into())),
        )
        .await;
    }
    Ending::Send(close(4401, &format!("Unauthorized: {reason}")))
}

/// When the connection's access token expires, and the session it belongs to.
type TokenValidity = (DateTime<Utc>, Option<Uuid>);

/// How a connection ends: with our close frame, by completing the client's close handshake,
/// or silently (the client is gone).
enum Ending {
    Send(Message),
    Echo,
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
    /// Operations answered with `error`, or completed by the client: the protocol sends no
    /// further `complete` for them.
    silenced_ids: HashSet<String>,
}

impl ProtocolState {
    fn inspect_client(&mut self, protocol: WebSocketProtocols, text: &str) -> Verdict {
        let transport_ws = protocol == WebSocketProtocols::GraphQLWS;
        let Ok(envelope) = serde_json::from_str::<ClientEnvelope>(text) else {
            return Verdict::Close(4400, "Invalid message received".into());
        };
        match envelope.kind.as_str() {
            "connection_init" => self.init_received = true,
            "subscribe" | "start" => {
                // The text, or a persisted-query id that `prepare_subscribe` resolves.
                let has_query = envelope.payload.as_ref().is_some_and(|p| {
                    p.get("query").is_some_and(serde_json::Value::is_string)
                        || p.pointer("/extensions/persistedQuery").is_some()
                });
                let Some(id) = envelope.id.filter(|id| !id.is_empty()) else {
                    return Verdict::Close(4400, "Invalid message received".into());
                };
                if !has_query {
                    return Verdict::Close(4400, "Invalid message received".into());
                }
                // Both subprotocols: an operation before `connection_init` is the client's
                // fault (4401), not a server error.
                if !self.init_received {
                    return Verdict::Close(4401, "Unauthorized".into());
                }
                if self.active_ids.contains(&id) {
                    return if transport_ws {
                        Verdict::Close(4409, format!("Subscriber for {id} already exists"))
                    } else {
                        Verdict::Close(4400, "Operation id already in use".into())
                    };
                }
                if self.active_ids.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
                    return Verdict::Close(
                        4400,
                        format!(
                            "Too many subscriptions: at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} per connection"
                        ),
                    );
                }
                self.silenced_ids.remove(&id);
                self.active_ids.insert(id);
            }
            "complete" | "stop" => {
                if let Some(id) = envelope.id
                    && self.active_ids.remove(&id)
                {
                    self.silenced_ids.insert(id);
                }
            }
            "ping" | "pong" if transport_ws => {}
            "connection_terminate" if !transport_ws => {}
            _ => return Verdict::Close(4400, "Invalid message received".into()),
        }
        Verdict::Forward
    }

    /// The message to send for one async-graphql produced, or `None` to send nothing.
    ///
    /// async-graphql reports a subscription the document rejects as `next` + `complete`;
    /// graphql-transport-ws specifies a single `error` message carrying the errors.
    ///
    /// Every event of every subscriber passes here, so the message is read without its
    /// payload (skipped, not built); only a `next` that carries errors is read whole.
    fn inspect_server(&mut self, protocol: WebSocketProtocols, text: String) -> Option<String> {
        let Ok(envelope) = serde_json::from_str::<ServerEnvelope>(&text) else {
            return Some(text);
        };
        let Some(id) = envelope.id else {
            return Some(text);
        };
        match envelope.kind.as_ref() {
            "complete" => {
                self.active_ids.remove(id.as_ref());
                (!self.silenced_ids.remove(id.as_ref())).then_some(text)
            }
            "next" if protocol == WebSocketProtocols::GraphQLWS && text.contains("\"errors\"") => {
                let id = id.into_owned();
                let Ok(ClientEnvelope { payload, .. }) = serde_json::from_str(&text) else {
                    return Some(text);
                };
                let payload = payload.unwrap_or_default();
                let request_error = payload["data"].is_null()
                    && payload["errors"].as_array().is_some_and(|errors| {
                        !errors.is_empty() && errors.iter().all(|e| e.get("path").is_none())
                    });
                if !request_error {
                    return Some(text);
                }
                self.active_ids.remove(&id);
                self.silenced_ids.insert(id.clone());
                Some(
                    serde_json::json!({ "id": id, "type": "error", "payload": payload["errors"] })
                        .to_string(),
                )
            }
            _ => Some(text),
        }
    }
}

/// A `subscribe`/`start` message with its document resolved by the document policy
/// (persisted queries, trusted documents); other messages unchanged. `Err` carries the
/// operation id and the request error.
async fn prepare_subscribe(
    state: &GraphqlState,
    text: &str,
    caller: &Caller,
) -> Result<String, (String, async_graphql::ServerError)> {
    let Ok(mut message) = serde_json::from_str::<serde_json::Value>(text) else {
        return Ok(text.to_owned());
    };
    if !matches!(message["type"].as_str(), Some("subscribe" | "start")) {
        return Ok(text.to_owned());
    }
    let id = message["id"].as_str().unwrap_or_default().to_owned();
    // Every subscription spends the caller's API budget, as a request does.
    if let Err(err) = state.api.services.identity.check_api_rate(caller).await {
        return Err((
            id,
            async_graphql::Error::from(err).into_server_error(Default::default()),
        ));
    }
    let payload = &mut message["payload"];
    let mut query = payload["query"].as_str().unwrap_or_default().to_owned();
    let extensions = match payload.get("extensions") {
        Some(value) => serde_json::from_value::<
            std::collections::HashMap<String, async_graphql::Value>,
        >(value.clone())
        .map_err(|_| {
            (
                id.clone(),
                transport_error("extensions must be an object", "BAD_REQUEST", 400),
            )
        })?,
        None => Default::default(),
    };
    // Persisted queries are registered over HTTP only (as Apollo's link does).
    state
        .documents
        .resolve(&mut query, &extensions, caller.principal.is_admin())
        .await
        .map_err(|error| (id.clone(), error))?;
    payload["query"] = serde_json::Value::String(query);
    Ok(message.to_string())
}

async fn serve(
    socket: WebSocket,
    state: GraphqlState,
    protocol: WebSocketProtocols,
    request_id: RequestId,
    meta: RequestMeta,
) {
    let (mut sink, mut stream) = socket.split();
    let (to_graphql, from_client) = mpsc::channel::<String>(32);
    // `connection_init` carries the token (`{"authorization": "Bearer …"}`, any case).
    let identity = state.api.services.identity.clone();
    let services = state.api.services.clone();
    let token_validity: Arc<Mutex<Option<TokenValidity>>> = Arc::default();
    let validity_slot = token_validity.clone();
    // Listening from the start: a session ended while `connection_init` is answered is seen.
    let sessions = state.api.services.identity.sessions().clone();
    let mut session_endings = sessions.endings();
    // Who the connection speaks for, once `connection_init` said so (anonymous before).
    let connection_caller = Arc::new(Mutex::new(Caller::anonymous(meta.clone())));
    let caller_slot = connection_caller.clone();
    let connection_request_id = request_id.clone();
    let graphql = GraphqlWebSocket::new(
        state.executor.clone(),
        ReceiverStream::new(from_client),
        protocol,
    )
    .on_connection_init(move |payload: serde_json::Value| async move {
        let authorization = payload.as_object().and_then(|fields| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, value)| value.as_str().map(str::to_owned))
        });
        let principal = identity
            .authenticate(authorization.as_deref())
            .await
            .map_err(|err| async_graphql::Error::new(err.message()))?;
        if let Some(account) = principal.account()
            && let Ok(mut slot) = validity_slot.lock()
        {
            *slot = Some((account.expires_at, account.session_id));
        }
        let caller = Caller { principal, meta };
        if let Ok(mut slot) = caller_slot.lock() {
            *slot = caller.clone();
        }
        // Opening a subscription connection spends the caller's API budget like a request.
        identity
            .check_api_rate(&caller)
            .await
            .map_err(|err| async_graphql::Error::new(err.message()))?;
        let mut data = Data::default();
        data.insert(Loaders::for_connection(&services, &caller.principal));
        data.insert(RequestContext {
            request_id: request_id.clone(),
            caller,
        });
        Ok(data)
    });
    tokio::pin!(graphql);
    let mut acknowledged = false;
    // Fires when the connection's access token expires (set once the connection is acked).
    let expiry = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(expiry);
    let mut expiry_armed = false;
    // The session whose end closes the connection (set once the connection is acked).
    let mut session: Option<Uuid> = None;

    let init_deadline = tokio::time::sleep(state.api.config.graphql.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut shutdown = state.api.shutdown.clone();
    let mut protocol_state = ProtocolState::default();

    // A client message waiting for room in the channel. While one waits, the socket is not
    // read (backpressure) but async-graphql keeps being polled, so it drains the channel.
    let mut pending: Option<String> = None;
    let closing: Option<Ending> = loop {
        tokio::select! {
            permit = to_graphql.reserve(), if pending.is_some() => match permit {
                Ok(permit) => permit.send(pending.take().unwrap_or_default()),
                Err(_) => break None,
            },
            incoming = stream.next(), if pending.is_none() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match protocol_state.inspect_client(protocol, text.as_str()) {
                        Verdict::Forward => {
                            let caller = connection_caller
                                .lock()
                                .map(|caller| caller.clone())
                                .unwrap_or_else(|_| Caller::anonymous(RequestMeta::default()));
                            match prepare_subscribe(&state, text.as_str(), &caller).await {
                                Ok(message) => pending = Some(message),
                                Err((id, mut error)) => {
                                    // Refused before it started: one `error`, no `complete`.
                                    protocol_state.active_ids.remove(&id);
                                    errors::finish(std::slice::from_mut(&mut error), Some(connection_request_id.as_str()));
                                    let payload = if protocol == WebSocketProtocols::GraphQLWS {
                                        serde_json::json!([error])
                                    } else {
                                        serde_json::json!(error)
                                    };
                                    let message = serde_json::json!({ "id": id, "type": "error", "payload": payload });
                                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(message.to_string().into()))).await;
                                    if !matches!(sent, Ok(Ok(()))) {
                                        break None;
                                    }
                                }
                            }
                        }
                        Verdict::Close(code, reason) => break Some(Ending::Send(close(code, &reason))),
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    break Some(Ending::Send(close(4400, "Binary messages are not supported")));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // The client closes: the reply (tungstenite queued it, echoing the client's
                // code) is flushed below, so the client sees its own code, not 1006.
                Some(Ok(Message::Close(_))) => break Some(Ending::Echo),
                Some(Err(_)) | None => break None,
            },
            outgoing = graphql.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    if !acknowledged && text.contains("\"connection_ack\"") {
                        acknowledged = true;
                        let validity = token_validity.lock().ok().and_then(|slot| *slot);
                        if let Some((expires_at, session_id)) = validity {
                            let left = (expires_at - Utc::now()).to_std().unwrap_or_default();
                            expiry.as_mut().reset(tokio::time::Instant::now() + left);
                            expiry_armed = true;
                            session = session_id;
                        }
                    }
                    if let Some(text) = protocol_state.inspect_server(protocol, text) {
                        let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            break None;
                        }
                    }
                }
                // A rejected connection_init: graphql-transport-ws says 4403 Forbidden.
                Some(WsMessage::Close(1002, reason))
                    if !acknowledged && protocol == WebSocketProtocols::GraphQLWS =>
                {
                    break Some(Ending::Send(close(4403, &format!("Forbidden: {reason}"))));
                }
                Some(WsMessage::Close(code, reason)) => break Some(Ending::Send(close(code, &reason))),
                None => break Some(Ending::Send(close(1000, "Normal closure"))),
            },
            () = &mut expiry, if expiry_armed => {
                let reason = "The access token has expired; sign in again";
                break Some(unauthenticated(&mut sink, protocol, &mut protocol_state, reason).await);
            },
            ended = session_endings.recv(), if session.is_some() => {
                let over = match ended {
                    Ok(id) => Some(id) == session,
                    Err(RecvError::Lagged(_)) => session.is_some_and(|s| sessions.has_ended(s)),
                    Err(RecvError::Closed) => {
                        session = None;
                        false
                    }
                };
                if over {
                    break Some(unauthenticated(&mut sink, protocol, &mut protocol_state, SESSION_ENDED).await);
                }
            },
            () = &mut init_deadline, if !protocol_state.init_received => {
                break Some(Ending::Send(close(4408, "Connection initialisation timeout")));
            },
            () = shutdown.wait() => {
                break Some(Ending::Send(close(1001, "Server is shutting down")));
            },
        }
    };
    match closing {
        Some(Ending::Send(frame)) => {
            let _ = tokio::time::timeout(SEND_TIMEOUT, async {
                let _ = sink.send(frame).await;
                let _ = sink.close().await;
            })
            .await;
        }
        Some(Ending::Echo) => {
            let _ = tokio::time::timeout(SEND_TIMEOUT, sink.close()).await;
        }
        None => {}
    }
}
