//! `vcfq serve`: a local mirror of the hosted endpoint
//! `GET /api/v2/sample-genomic-variants/{sample_id}`, answering from the sample store with
//! exactly the bytes `vcfq query` prints. HTTP here, the query engine below it.
//!
//! Its rooms: `auth` (API keys), `throttle` (the request rate), `samples` (the store and
//! the opened samples, reopened when their files change), `handler` (one request to one
//! response), `listener` (connections, limits, graceful stop).

mod auth;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
mod handler;
mod listener;
mod samples;
mod throttle;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::Error;
use crate::response::{ResponseOptions, Schema};
use crate::store::Store;
use crate::RsidMap;

pub use listener::serve;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The sample store directory.
    pub store: PathBuf,
    /// The address to listen on.
    pub bind: SocketAddr,
    /// A dbSNP map directory, for rsID queries and the `rsid` field.
    pub dbsnp: Option<PathBuf>,
    /// API keys (one per line in the file); `None` serves without authentication.
    pub api_keys: Option<Vec<String>>,
    /// Requests per second allowed per key (or per client address without keys).
    pub rate_limit: Option<u32>,
    /// The response shape.
    pub schema: Schema,
    /// What one client may hold.
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

/// What every request handler shares.
struct ServerState {
    options: ResponseOptions,
    auth: auth::ApiKeys,
    throttle: throttle::Throttle,
    samples: samples::Samples,
    /// Access-log lines go to a writer thread, which batches them.
    access_log: std::sync::mpsc::Sender<String>,
    /// Bounds the queries running at once (each holds a reader). A query's slot is held
    /// by its blocking work, so a query cut at the request timeout keeps its slot until
    /// that work ends: slow queries cannot pile up beyond the bound.
    queries: Arc<Semaphore>,
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

fn server_state(options: &ServeOptions) -> Result<Arc<ServerState>, Error> {
    let dbsnp = RsidMap::open_if_given(options.dbsnp.as_deref())?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let access_log = spawn_access_log();
    Ok(Arc::new(ServerState {
        options: ResponseOptions {
            schema: options.schema,
            base_url: String::new(),
            dbsnp,
        },
        auth: auth::ApiKeys::new(options.api_keys.clone()),
        throttle: throttle::Throttle::new(options.rate_limit),
        samples: samples::Samples::new(Store::new(&options.store), access_log.clone()),
        access_log,
        queries: Arc::new(Semaphore::new(threads * 2)),
    }))
}
