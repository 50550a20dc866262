//! The HTTP server loop: HTTP/1.1 (with upgrades, for websockets) over hyper,
//! with the peer address as `ConnectInfo`, `TCP_NODELAY`, and graceful shutdown.
//!
//! Served here rather than through `axum::serve` for one setting: hyper answers a header
//! section larger than its read buffer with a bare 431 and no body. The buffer here holds
//! [`HEADER_BUFFER_BYTES`] (and up to 1,000 header lines), so such headers reach Iris, whose
//! limits (`MAX_HEADER_BYTES`, at most 100 header lines) answer with the JSON error envelope.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt as _;

/// hyper's read buffer per connection: the largest header section that reaches Iris (a bit
/// over 1 MiB, so a 1 MB header still gets the envelope). Memory is taken only as a client's
/// headers need it, and a client gets [`HEADER_READ_TIMEOUT`] to send them.
pub const HEADER_BUFFER_BYTES: usize = 1_310_720;
/// Headers hyper parses per request (more: its bare 431); Iris answers past `MAX_HEADERS`.
const PARSED_HEADERS: usize = 1_000;

/// The longest a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `signal` resolves, then stops accepting, lets every open
/// connection finish its requests (websockets until they close), and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    // Connections hold `close_rx` until they end; `signal_tx.closed()` tells them to finish.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = signal_tx.closed() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request.map(Body::new)
            });
        let service = TowerToHyperService::new(service);
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .max_buf_size(HEADER_BUFFER_BYTES)
                .max_headers(PARSED_HEADERS)
                // A client that trickles its headers (slowloris) is dropped.
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(error = %error, "connection ended with an error");
                        }
                        break;
                    }
                    () = signal_tx.closed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}
