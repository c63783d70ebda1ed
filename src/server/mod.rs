//! `vcfq serve`: a local mirror of the hosted endpoint
//! `GET /api/v2/sample-genomic-variants/{sample_id}`, answering from the sample store with
//! exactly the bytes `vcfq query` prints. HTTP here, the query engine below it.
//!
//! Its rooms: `auth` (API keys), `throttle` (the request rate), `samples` (the store and
//! the opened samples, reopened when their files change), `handler` (one request to one
//! response), `listener` (connections, limits, graceful stop).

mod auth;
mod drf;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
mod handler;
mod host;
mod listener;
mod map;
mod memory;
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

pub use auth::read_api_keys;
pub use host::AllowedHosts;
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
    /// DRF's `PAGE_SIZE`: the page of a request without a usable `limit` (`None`: all).
    pub page_size: Option<u64>,
    /// The response shape.
    pub schema: Schema,
    /// The `Host` values answered (Django's `ALLOWED_HOSTS`); `None`: `localhost` and the
    /// bound address.
    pub allowed_hosts: Option<AllowedHosts>,
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
    /// A client that reads none of its response for this long has its connection closed
    /// (and the response's memory freed).
    pub write_timeout: Duration,
    /// Response bodies waiting to be written to their clients take at most this many
    /// bytes in all; more wait (a body larger than this waits for all of it).
    pub max_response_memory: usize,
    /// Samples kept open at once (the least recently used is closed to open another);
    /// `None` sizes it from the process's file descriptor limit (at most 1,024).
    pub max_open_samples: Option<usize>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
            write_timeout: Duration::from_secs(30),
            max_response_memory: 1 << 30,
            max_open_samples: None,
        }
    }
}

/// What every request handler shares.
struct ServerState {
    /// How to answer; its `dbsnp` is `None`: the map comes from `dbsnp` per request.
    options: ResponseOptions,
    /// The dbSNP map (`--dbsnp`), checked before each request.
    dbsnp: Option<map::MapSlot>,
    /// `--page-size`.
    page_size: Option<u64>,
    allowed_hosts: AllowedHosts,
    auth: auth::ApiKeys,
    throttle: throttle::Throttle,
    samples: samples::Samples,
    /// Access-log lines go to a writer thread, which batches them.
    access_log: AccessLog,
    /// Bounds the memory of responses not yet written.
    response_memory: memory::ResponseMemory,
    /// Bounds the queries running at once (each holds a reader). A query's slot is held
    /// by its blocking work, so a query cut at the request timeout keeps its slot until
    /// that work ends: slow queries cannot pile up beyond the bound.
    queries: Arc<Semaphore>,
}

/// The access log: lines go to a writer thread, which batches them to stderr, so that
/// requests never wait on the terminal or a log file. At most `ACCESS_LOG_BACKLOG` lines
/// wait; when stderr is not read fast enough (a full pipe) later lines are dropped and
/// counted, and the count is written once stderr takes lines again, so memory stays
/// bounded.
#[derive(Clone)]
pub(crate) struct AccessLog {
    lines: std::sync::mpsc::SyncSender<String>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

/// Access-log lines that may wait for stderr.
const ACCESS_LOG_BACKLOG: usize = 10_000;

impl AccessLog {
    fn spawn() -> AccessLog {
        use std::sync::atomic::Ordering;
        let (lines, receiver) = std::sync::mpsc::sync_channel::<String>(ACCESS_LOG_BACKLOG);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Arc::clone(&dropped);
        std::thread::spawn(move || {
            use std::io::Write;
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stderr());
            while let Ok(line) = receiver.recv() {
                let _ = out.write_all(line.as_bytes());
                while let Ok(line) = receiver.try_recv() {
                    let _ = out.write_all(line.as_bytes());
                }
                let lost = counted.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    let _ = writeln!(
                        out,
                        "vcfq serve: {lost} access-log lines dropped: stderr was not read fast enough"
                    );
                }
                let _ = out.flush();
            }
        });
        AccessLog { lines, dropped }
    }

    /// Logs `line` (ending in a newline), or counts it as dropped.
    pub(crate) fn write(&self, line: String) {
        if self.lines.try_send(line).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// File descriptors one open sample holds at most: two readers of two each (htslib's
/// handle and vcfq's own through the tabix index; one through the position index), when
/// rsID queries have opened a second.
const DESCRIPTORS_PER_SAMPLE: u64 = 4;

/// The limit on open file descriptors (soft, hard), if the system says.
fn descriptor_limits() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit)
}

/// Raises the soft limit on open file descriptors to the hard limit (a common default of
/// 1,024 would otherwise cap how many samples and connections the server holds), and
/// returns the limit now in force.
fn raise_descriptor_limit() -> u64 {
    let Some(limit) = descriptor_limits() else {
        return 0;
    };
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given; raising the soft limit up to the
        // hard limit needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    limit.rlim_cur
}

/// The soft limit on open file descriptors now (0 if unknown).
fn descriptor_limit() -> u64 {
    descriptor_limits().map_or(0, |limit| limit.rlim_cur)
}

/// How many samples to keep open: what `limits` says, else half the descriptors (the
/// rest are for connections and the process itself) at [`DESCRIPTORS_PER_SAMPLE`] each,
/// at most 1,024 (an idle open sample also holds about 150 kB of buffers).
fn open_samples_capacity(limits: &Limits, descriptors: u64) -> usize {
    if let Some(capacity) = limits.max_open_samples {
        return capacity.max(1);
    }
    let by_descriptors = descriptors.saturating_sub(64) / 2 / DESCRIPTORS_PER_SAMPLE;
    usize::try_from(by_descriptors)
        .unwrap_or(usize::MAX)
        .clamp(1, 1024)
}

fn server_state(options: &ServeOptions) -> Result<Arc<ServerState>, Error> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let access_log = AccessLog::spawn();
    let dbsnp = options
        .dbsnp
        .clone()
        .map(|path| map::MapSlot::open(path, access_log.clone()))
        .transpose()?;
    Ok(Arc::new(ServerState {
        options: ResponseOptions {
            schema: options.schema,
            base_url: String::new(),
            dbsnp: None,
        },
        dbsnp,
        page_size: options.page_size,
        allowed_hosts: options
            .allowed_hosts
            .clone()
            .unwrap_or_else(|| AllowedHosts::for_bind(&options.bind)),
        auth: auth::ApiKeys::new(options.api_keys.clone()),
        throttle: throttle::Throttle::new(options.rate_limit),
        samples: samples::Samples::new(
            Store::new(&options.store),
            open_samples_capacity(&options.limits, descriptor_limit()),
            access_log.clone(),
        ),
        access_log,
        response_memory: memory::ResponseMemory::new(options.limits.max_response_memory),
        queries: Arc::new(Semaphore::new(threads * 2)),
    }))
}
