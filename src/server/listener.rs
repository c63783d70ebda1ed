//! Connections: the accept loop with its connection bound, hyper's per-connection limits
//! (header size and time), and the graceful stop on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request as HttpRequest;
use axum::Router;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::handler::router;
use super::{server_state, Limits, ServeOptions};
use crate::error::Error;

/// Serves one HTTP/1 connection with the server's limits; once `stopping` turns true the
/// connection finishes the request in flight and closes.
pub(super) async fn serve_connection<I>(
    io: I,
    app: Router,
    (client, local): (SocketAddr, SocketAddr),
    limits: Arc<Limits>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: HttpRequest<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(client));
            request.extensions_mut().insert(LocalAddress(local));
            let app = app.clone();
            async move { app.oneshot(request.map(Body::new)).await }
        });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A client that sends its request and closes its side still gets the answer.
        .half_close(true)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_header_size(limits.max_header_bytes)
        .serve_connection(
            hyper_util::rt::TokioIo::new(super::memory::WriteTimeout::new(
                io,
                limits.write_timeout,
            )),
            service,
        );
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// The address a connection came in on (a request extension, beside axum's `ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub(super) struct LocalAddress(pub(super) SocketAddr);

/// Serves until SIGINT, SIGTERM or SIGHUP. Prints `listening on http://ADDR` to stderr first.
pub fn serve(options: ServeOptions) -> Result<(), Error> {
    let descriptors = super::raise_descriptor_limit();
    let state = server_state(&options)?;
    let samples = state.samples.store().list()?.len();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .max_blocking_threads(threads * 2)
        .enable_all()
        .build()
        .map_err(|error| Error::io("starting the server runtime", error))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|error| Error::io(format!("binding {}", options.bind), error))?;
        let address = listener
            .local_addr()
            .map_err(|error| Error::io("reading the bound address", error))?;
        let shutdown = shutdown_signal();
        eprintln!(
            "vcfq serve: listening on http://{address} (store {}, {samples} samples; up to {} open at once, {descriptors} file descriptors)",
            options.store.display(),
            state.samples.capacity()
        );
        let limits = Arc::new(options.limits.clone());
        let app = router(state, &limits);
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            // Wait for a free connection slot first: at the limit, new clients queue in
            // the kernel's listen backlog instead of taking memory here.
            let permit = tokio::select! {
                permit = Arc::clone(&connections).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, client) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait and go on serving.
                        eprintln!("vcfq serve: accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().unwrap_or(address);
            let app = app.clone();
            let limits = Arc::clone(&limits);
            let stopping = stopping.clone();
            tasks.spawn(async move {
                serve_connection(stream, app, (client, local), limits, stopping).await;
                drop(permit);
            });
            // Reap finished connection tasks so the set stays small.
            while tasks.try_join_next().is_some() {}
        }
        drop(listener);
        let _ = stop.send(true);
        // Let requests in flight finish (bounded), then stop.
        let _ = tokio::time::timeout(limits.request_timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        eprintln!("vcfq serve: stopped");
        Ok(())
    })
}

/// Waits for SIGINT, SIGTERM or SIGHUP (a hang-up: the terminal closed). The handlers
/// are installed when this is called, not when it is first awaited, so a signal that
/// comes right after "listening" is printed is not missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    let hangup = signal(SignalKind::hangup()).ok();
    async fn received(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    async move {
        tokio::select! {
            () = received(interrupt) => {},
            () = received(terminate) => {},
            () = received(hangup) => {},
        }
    }
}
