//! `vcfq serve`: the local mirror of the hosted endpoint.

use std::io;
use std::path::PathBuf;

use clap::Args;
use vcfq::Schema;

use super::args::StoreArgs;
use super::Failure;

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on, HOST:PORT (loopback by default; a host name is resolved).
    #[arg(short, long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    bind: String,
    /// A dbSNP map for rsID queries and the `rsid` field.
    #[arg(short, long, value_name = "DIR", env = "VCFQ_DBSNP")]
    dbsnp: Option<PathBuf>,
    /// Require `Authorization: Api-Key KEY` with one of these keys (one per line).
    #[arg(long, value_name = "FILE")]
    api_keys: Option<PathBuf>,
    /// At most N requests per second per key (or per client without keys); more get 429.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    /// A page size as Django REST framework's PAGE_SIZE: a request without a usable
    /// limit gets at most N records, and paging links (default: no limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    page_size: Option<u64>,
    /// Response shape.
    #[arg(long, value_enum, default_value = "docs")]
    schema: Schema,
    /// Seconds a client has to send a request's headers (and to stay idle between requests).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a query may take before the client gets 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// Open connections served at once; more wait in the listen queue.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Host names (and patterns: `.example.org`, `*`) the `Host` header may give, as
    /// Django's ALLOWED_HOSTS; others get 400 (default: localhost and the --bind address).
    #[arg(long, value_name = "HOSTS", value_delimiter = ',')]
    allowed_hosts: Option<Vec<String>>,
    /// Seconds a client may read none of its response before its connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    write_timeout: u64,
    /// Memory for response bodies waiting for their clients, e.g. 1G or 256M; more wait.
    #[arg(long, value_name = "BYTES", default_value = "1G", value_parser = super::args::parse_size)]
    max_response_memory: u64,
    /// Samples kept open at once; the least recently used is closed to open another
    /// (default: from the file descriptor limit, at most 1024).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_open_samples: Option<u64>,
}

pub(crate) fn run(args: ServeArgs) -> Result<(), Failure> {
    let api_keys = match &args.api_keys {
        Some(path) => Some(vcfq::server::read_api_keys(path).map_err(|message| {
            Failure::Io(
                format!("reading {}", path.display()),
                io::Error::other(message),
            )
        })?),
        None => None,
    };
    let bind = resolve_bind(&args.bind)?;
    // A host name given to --bind is one the server is reached by: allowed by default.
    let allowed_hosts = args.allowed_hosts.or_else(|| {
        let host = args.bind.rsplit_once(':').map_or("", |(host, _)| host);
        host.parse::<std::net::IpAddr>().is_err().then(|| {
            let mut hosts = vec![host.to_string(), "localhost".to_string()];
            hosts.push(match bind.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            });
            hosts
        })
    });
    vcfq::server::serve(vcfq::server::ServeOptions {
        allowed_hosts: allowed_hosts.map(vcfq::server::AllowedHosts::new),
        store: args.store.store,
        bind,
        dbsnp: args.dbsnp,
        api_keys,
        rate_limit: args.rate_limit,
        page_size: args.page_size,
        schema: args.schema,
        limits: vcfq::server::Limits {
            header_timeout: std::time::Duration::from_secs(args.header_timeout),
            request_timeout: std::time::Duration::from_secs(args.request_timeout),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            write_timeout: std::time::Duration::from_secs(args.write_timeout),
            max_response_memory: usize::try_from(args.max_response_memory).unwrap_or(usize::MAX),
            max_open_samples: args
                .max_open_samples
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            ..vcfq::server::Limits::default()
        },
    })?;
    Ok(())
}

/// The address `--bind` names: `127.0.0.1:8080`, `[::1]:8080`, or a host name and port
/// (`localhost:8080`), resolved (the first address).
fn resolve_bind(text: &str) -> Result<std::net::SocketAddr, Failure> {
    use std::net::ToSocketAddrs;
    let usage = |why: String| {
        Failure::Usage(format!(
            "--bind {text:?}: {why}; give HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"
        ))
    };
    let mut addresses = text
        .to_socket_addrs()
        .map_err(|error| usage(error.to_string()))?;
    addresses
        .next()
        .ok_or_else(|| usage("the name has no address".to_string()))
}
