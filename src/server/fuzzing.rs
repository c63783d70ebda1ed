//! Drives the whole HTTP path (hyper's parser, the router, the handler, the engine) with
//! raw bytes from the fuzzer, over an in-memory connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::handler::router;
use super::listener::serve_connection;
use super::{server_state, Limits, ServeOptions};
use crate::response::Schema;
use axum::Router;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server over a store, driven through an in-memory connection.
pub struct HttpFixture {
    runtime: tokio::runtime::Runtime,
    app: Router,
    limits: Limits,
}

impl HttpFixture {
    /// A server over the store in `store` (rate limit and keys as given).
    pub fn new(store: &std::path::Path, api_keys: Option<Vec<String>>) -> HttpFixture {
        let options = ServeOptions {
            store: store.to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            dbsnp: None,
            api_keys,
            rate_limit: None,
            page_size: None,
            schema: Schema::Docs,
            allowed_hosts: None,
            limits: Limits {
                header_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(10),
                ..Limits::default()
            },
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let state = server_state(&options).expect("server state");
        let app = router(state, &options.limits);
        HttpFixture {
            runtime,
            app,
            limits: options.limits,
        }
    }

    /// Sends `raw` as the client's bytes, closes the client's side, and returns what
    /// the server answered. Every answer must be well-formed HTTP/1.1.
    pub fn exchange(&self, raw: &[u8]) -> Vec<u8> {
        self.runtime.block_on(async {
            let (mut client, server) = tokio::io::duplex(1 << 16);
            let (_stop, stopping) = tokio::sync::watch::channel(false);
            let connection = tokio::spawn(serve_connection(
                server,
                self.app.clone(),
                (
                    SocketAddr::from(([127, 0, 0, 1], 9)),
                    SocketAddr::from(([127, 0, 0, 1], 8080)),
                ),
                Arc::new(self.limits.clone()),
                stopping,
            ));
            let _ = client.write_all(raw).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            let read =
                tokio::time::timeout(Duration::from_secs(20), client.read_to_end(&mut answer))
                    .await;
            assert!(read.is_ok(), "the server held a closed connection open");
            let _ = connection.await;
            if !answer.is_empty() {
                assert!(
                    answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
                    "not an HTTP answer: {:?}",
                    String::from_utf8_lossy(&answer)
                );
            }
            answer
        })
    }
}
