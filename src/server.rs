//! `vcfq serve`: a local mirror of the hosted endpoint
//! `GET /api/v2/sample-genomic-variants/{sample_id}`, answering from the sample store with
//! exactly the bytes `vcfq query` prints. HTTP here, the query engine below it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request as HttpRequest, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::engine::Sample;
use crate::error::{Error, ErrorKind};
use crate::request::Request;
use crate::response::{error_body, ResponseOptions, Schema, API_PATH};
use crate::store::{open_stored, SampleId, Store, StoredSample};
use crate::RsidMap;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub store: PathBuf,
    pub bind: SocketAddr,
    pub dbsnp: Option<PathBuf>,
    /// API keys (one per line in the file); `None` serves without authentication.
    pub api_keys: Option<Vec<String>>,
    /// Requests per second allowed per key (or per client address without keys).
    pub rate_limit: Option<u32>,
    pub schema: Schema,
    pub limits: Limits,
}

/// What one client may hold: slow or abusive clients are cut off, everyone else is served.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request's headers must arrive within this time (also the keep-alive idle limit).
    pub header_timeout: Duration,
    /// A query taking longer than this is answered with 408 and its connection freed.
    pub request_timeout: Duration,
    /// At most this many open connections; more wait in the listen queue.
    pub max_connections: usize,
    /// Request line plus headers larger than this get 431 (at least 8 KiB).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
        }
    }
}

struct OpenSample {
    sample: Arc<Sample>,
    stored: StoredSample,
    /// The VCF's and its position index's fingerprints when it was opened.
    fingerprint: SampleFingerprint,
}

struct ServerState {
    store: Store,
    options: ResponseOptions,
    api_keys: Option<Vec<Vec<u8>>>,
    rate_limit: Option<u32>,
    samples: Mutex<HashMap<SampleId, Arc<OpenSample>>>,
    /// The store file's fingerprint when read, and its samples.
    store_cache: Mutex<Option<(StoreFingerprint, HashMap<String, StoredSample>)>>,
    /// Access-log lines go to a writer thread, which batches them.
    access_log: std::sync::mpsc::Sender<String>,
    windows: Mutex<HashMap<String, (u64, u32)>>,
    /// Bounds the queries running at once (each holds a reader). A query's slot is held
    /// by its blocking work, so a query cut at the request timeout keeps its slot until
    /// that work ends: slow queries cannot pile up beyond the bound.
    queries: Arc<Semaphore>,
    started: Instant,
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn detail(status: StatusCode, message: &str) -> Response {
    json_response(status, error_body(message))
}

fn error_response(error: &Error) -> Response {
    let status = StatusCode::from_u16(error.class().http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    detail(status, &error.to_string())
}

/// Compares without stopping at the first differing byte, so timing does not leak how
/// much of a key was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes access-log lines to stderr from one thread, flushing whenever it has caught up,
/// so that requests never wait on the terminal or a log file.
fn spawn_access_log() -> std::sync::mpsc::Sender<String> {
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::Write;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stderr());
        while let Ok(line) = receiver.recv() {
            let _ = out.write_all(line.as_bytes());
            while let Ok(line) = receiver.try_recv() {
                let _ = out.write_all(line.as_bytes());
            }
            let _ = out.flush();
        }
    });
    sender
}

type StoreFingerprint = Option<FileFingerprint>;

/// A file's size, modification time and inode, to notice it changed or was replaced.
type FileFingerprint = (u64, Option<SystemTime>, u64);

fn fingerprint(path: &std::path::Path) -> Option<FileFingerprint> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|metadata| (metadata.len(), metadata.modified().ok(), metadata.ino()))
}

/// A sample's VCF and its position index (if any): a change to either reopens it, so a
/// position index written or rebuilt while serving is used from the next request.
type SampleFingerprint = (FileFingerprint, Option<FileFingerprint>);

fn sample_fingerprint(vcf: &std::path::Path) -> Option<SampleFingerprint> {
    Some((
        fingerprint(vcf)?,
        fingerprint(&crate::blocks::index_path(vcf)),
    ))
}

impl ServerState {
    /// `Err` is the response to send instead: 401 without a valid key.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Option<String>, Box<Response>> {
        let Some(keys) = &self.api_keys else {
            return Ok(None);
        };
        let unauthorized = |message: &str| {
            let mut response = detail(StatusCode::UNAUTHORIZED, message);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Api-Key"),
            );
            Box::new(response)
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "Authentication credentials were not provided.",
            ));
        };
        let given = value
            .as_bytes()
            .strip_prefix(b"Api-Key ")
            .unwrap_or_default();
        // Check every key, so that the time taken does not say which one came close.
        let matched = keys.iter().fold(None, |found, key| {
            if constant_time_eq(key, given) {
                Some(key)
            } else {
                found
            }
        });
        match matched {
            Some(key) => Ok(Some(String::from_utf8_lossy(key).into_owned())),
            None => Err(unauthorized("Incorrect authentication credentials.")),
        }
    }

    /// A fixed one-second window per key (or client address): `Err` is the 429.
    fn throttle(&self, who: String) -> Result<(), Box<Response>> {
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        let second = self.started.elapsed().as_secs();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (window, _)| *window == second);
        }
        let entry = windows.entry(who).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        if entry.1 > limit {
            let mut response = detail(
                StatusCode::TOO_MANY_REQUESTS,
                "Request was throttled. Expected available in 1 second.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(Box::new(response));
        }
        Ok(())
    }

    /// The store's record of `id`. The store file is read again only when it changed
    /// (one `stat` per request), so `vcfq sample add` takes effect without a restart.
    fn stored(&self, id: &SampleId) -> Result<StoredSample, Error> {
        let current = fingerprint(&self.store.dir().join("samples.json"));
        let mut cache = self
            .store_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.as_ref().map(|(seen, _)| *seen) != Some(current) {
            let samples = self
                .store
                .list()?
                .into_iter()
                .map(|stored| (stored.id.clone(), stored))
                .collect();
            *cache = Some((current, samples));
        }
        let samples = cache.as_ref().map(|(_, samples)| samples);
        samples
            .and_then(|samples| samples.get(id.as_str()).cloned())
            .ok_or_else(|| ErrorKind::SampleNotFound { id: id.to_string() }.into())
    }

    /// The opened sample for `id`, reopened (and re-checked) when its VCF changed.
    fn sample(&self, id: &SampleId) -> Result<Arc<OpenSample>, Error> {
        let stored = self.stored(id)?;
        let current = sample_fingerprint(&stored.vcf);
        {
            let samples = self
                .samples
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(open) = samples.get(id) {
                if current.is_some()
                    && current == Some(open.fingerprint)
                    && open.stored.vcf == stored.vcf
                {
                    return Ok(Arc::clone(open));
                }
            }
        }
        let sample = open_stored(&stored)?;
        if let Some(note) = sample.position_index_note() {
            let _ = self
                .access_log
                .send(format!("vcfq serve: note: sample {id}: {note}\n"));
        }
        // Readers for parallel rsID loci when the server is not busy.
        sample.open_readers(2)?;
        let open = Arc::new(OpenSample {
            sample: Arc::new(sample),
            fingerprint: current.unwrap_or(((0, None, 0), None)),
            stored,
        });
        self.samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id.clone(), Arc::clone(&open));
        Ok(open)
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: HttpRequest<Body>,
) -> Response {
    let started = Instant::now();
    let (parts, _body) = request.into_parts();
    let method = parts.method.clone();
    let uri = parts.uri.clone();
    let response = answer(&state, client, &parts).await;
    let bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .map_or_else(|| "-".to_string(), |n| n.to_string());
    // One line per request; the Authorization header is never logged.
    let _ = state.access_log.send(format!(
        "{client} \"{method} {}\" {} {bytes} {:.2}ms\n",
        uri.path_and_query().map_or("", |p| p.as_str()),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

async fn answer(
    state: &Arc<ServerState>,
    client: SocketAddr,
    request: &axum::http::request::Parts,
) -> Response {
    let path = request.uri.path();
    let Some(raw_id) = path.strip_prefix(API_PATH) else {
        return detail(StatusCode::NOT_FOUND, "Not found.");
    };
    if request.method != Method::GET && request.method != Method::HEAD {
        let mut response = detail(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("Method \"{}\" not allowed.", request.method),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let key = match state.authenticate(&request.headers) {
        Ok(key) => key,
        Err(response) => return *response,
    };
    if let Err(response) = state.throttle(key.unwrap_or_else(|| client.ip().to_string())) {
        return *response;
    }
    // The id is validated before anything else sees it; it never becomes a path.
    let id = match SampleId::parse(raw_id.strip_suffix('/').unwrap_or(raw_id)) {
        Ok(id) => id,
        Err(error) => return error_response(&error),
    };
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let base_url = format!("http://{host}{path}");
    let query = request.uri.query().unwrap_or("").to_string();
    let Ok(permit) = Arc::clone(&state.queries).acquire_owned().await else {
        return detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.",
        );
    };
    let state = Arc::clone(state);
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Error> {
        let _permit = permit;
        let open = state.sample(&id)?;
        let request = Request::parse(&query).map_err(Error::from)?;
        let options = ResponseOptions {
            base_url,
            ..state.options.clone()
        };
        open.sample.respond(&request, &options)
    })
    .await;
    match result {
        Ok(Ok(body)) => json_response(StatusCode::OK, body),
        Ok(Err(error)) => error_response(&error),
        Err(_) => detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A server error occurred.",
        ),
    }
}

fn server_state(options: &ServeOptions) -> Result<Arc<ServerState>, Error> {
    let dbsnp = RsidMap::open_if_given(options.dbsnp.as_deref())?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(Arc::new(ServerState {
        store: Store::new(&options.store),
        options: ResponseOptions {
            schema: options.schema,
            base_url: String::new(),
            dbsnp,
        },
        api_keys: options
            .api_keys
            .clone()
            .map(|keys| keys.into_iter().map(String::into_bytes).collect()),
        rate_limit: options.rate_limit,
        samples: Mutex::new(HashMap::new()),
        store_cache: Mutex::new(None),
        access_log: spawn_access_log(),
        windows: Mutex::new(HashMap::new()),
        queries: Arc::new(Semaphore::new(threads * 2)),
        started: Instant::now(),
    }))
}

fn router(state: Arc<ServerState>, limits: &Limits) -> Router {
    Router::new().fallback(handle).with_state(state).layer(
        tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ),
    )
}

/// Serves one HTTP/1 connection with the server's limits; once `stopping` turns true the
/// connection finishes the request in flight and closes.
async fn serve_connection<I>(
    io: I,
    app: Router,
    client: SocketAddr,
    limits: Arc<Limits>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: HttpRequest<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(client));
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
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Serves until SIGINT or SIGTERM. Prints `listening on http://ADDR` to stderr first.
pub fn serve(options: ServeOptions) -> Result<(), Error> {
    let state = server_state(&options)?;
    let samples = state.store.list()?.len();
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
        eprintln!(
            "vcfq serve: listening on http://{address} (store {}, {samples} samples)",
            options.store.display()
        );
        let limits = Arc::new(options.limits.clone());
        let app = router(state, &limits);
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let shutdown = shutdown_signal();
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
            let app = app.clone();
            let limits = Arc::clone(&limits);
            let stopping = stopping.clone();
            tasks.spawn(async move {
                serve_connection(stream, app, client, limits, stopping).await;
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

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Drives the whole HTTP path (hyper's parser, the router, the handler, the engine) with
/// raw bytes from the fuzzer, over an in-memory connection.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
                schema: Schema::Docs,
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
                    SocketAddr::from(([127, 0, 0, 1], 9)),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn a_query_past_the_request_timeout_gets_408_and_its_slot_is_held_until_its_work_ends() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let options = ServeOptions {
            store: dir.path().to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            dbsnp: None,
            api_keys: None,
            rate_limit: None,
            schema: Schema::Docs,
            limits: Limits {
                request_timeout: Duration::from_millis(300),
                ..Limits::default()
            },
        };
        let state = server_state(&options).unwrap();
        let app = router(Arc::clone(&state), &options.limits);
        let request = || {
            let mut request = HttpRequest::get(format!(
                "{API_PATH}3f2b6c1e-9a7d-4c1e-8f3a-2b6c1e9a7d4c/?chromosome=chr19&position=1"
            ))
            .body(Body::empty())
            .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
            request
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Every query slot taken (slow queries in flight): this one waits past the
            // limit and gets 408 at the limit, not when a slot frees.
            let slots = u32::try_from(state.queries.available_permits()).unwrap();
            let taken = state.queries.acquire_many(slots).await.unwrap();
            let started = Instant::now();
            let response =
                tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(request()))
                    .await
                    .expect("no answer within 5 s")
                    .unwrap();
            let waited = started.elapsed();
            assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
            assert!(
                waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
                "{waited:?}"
            );
            // The timed-out query gave up its wait: once the slots free, the next query
            // is answered (here: no such sample).
            drop(taken);
            assert_eq!(state.queries.available_permits(), slots as usize);
            let response = app.clone().oneshot(request()).await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND);

            // A query whose work is still running at the limit (here: held up on the store
            // cache's lock) gets 408, and its work keeps its slot until it ends.
            let (locked, wait_locked) = std::sync::mpsc::channel();
            let (release, wait_release) = std::sync::mpsc::channel::<()>();
            let holder = {
                let state = Arc::clone(&state);
                std::thread::spawn(move || {
                    let _cache = state.store_cache.lock().unwrap();
                    locked.send(()).unwrap();
                    let _ = wait_release.recv();
                })
            };
            wait_locked.recv().unwrap();
            let response = app.clone().oneshot(request()).await.unwrap();
            assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
            assert_eq!(state.queries.available_permits(), slots as usize - 1);
            release.send(()).unwrap();
            holder.join().unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while state.queries.available_permits() < slots as usize {
                assert!(Instant::now() < deadline, "the slot was not given back");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    #[test]
    fn kinds_map_to_statuses() {
        let error: Error = ErrorKind::SampleNotFound { id: "x".into() }.into();
        assert_eq!(error_response(&error).status(), StatusCode::NOT_FOUND);
        let error: Error = ErrorKind::NoDbsnpMap.into();
        assert_eq!(error_response(&error).status(), StatusCode::BAD_REQUEST);
    }
}
