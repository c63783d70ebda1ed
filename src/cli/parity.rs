//! `vcfq parity`: saved hosted-API responses against vcfq's answers to the same requests.
//! Loads the pairs (one, a JSON-lines file, or a directory), infers each one's schema
//! profile, and reports the differences `compare` finds.

mod compare;

use std::io;
use std::path::PathBuf;

use clap::Args;
use vcfq::response::error_body;
use vcfq::{Error, Request, ResponseOptions, RsidMap, Schema};

use self::compare::Json;
use super::args::SampleArgs;
use super::{print_stdout, Failure};

#[derive(Args)]
pub(crate) struct ParityArgs {
    #[command(flatten)]
    sample: SampleArgs,
    /// A dbSNP map (needed for rsID requests).
    #[arg(short, long, value_name = "DIR", env = "VCFQ_DBSNP")]
    dbsnp: Option<PathBuf>,
    /// Force a schema profile (default: openapi when the saved response has `next`).
    #[arg(long, value_enum)]
    schema: Option<Schema>,
    /// The request URL for `openapi` links when the saved request is only a query string.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// One request: a query string, or the full URL it was sent to.
    #[arg(long, value_name = "QUERY", requires = "response", conflicts_with_all = ["pairs", "dir"])]
    request: Option<String>,
    /// The saved body of the hosted API's response to --request (`-`: standard input).
    #[arg(long, value_name = "FILE", requires = "request")]
    response: Option<PathBuf>,
    /// JSON lines `{"request": "...", "response": BODY}` (BODY as JSON, or as a string;
    /// `-`: standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "dir")]
    pairs: Option<PathBuf>,
    /// A directory of `*.json` files, each one such pair.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct SavedPair {
    request: String,
    response: Box<serde_json::value::RawValue>,
}

pub(crate) fn run(args: ParityArgs) -> Result<(), Failure> {
    // `-` is standard input.
    let read = |path: &std::path::Path| {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            return io::Read::read_to_end(&mut io::stdin(), &mut bytes)
                .map(|_| bytes)
                .map_err(|error| Failure::Io("reading standard input".to_string(), error));
        }
        std::fs::read(path)
            .map_err(|error| Failure::Io(format!("reading {}", path.display()), error))
    };
    // (name, request, hosted body)
    let mut pairs: Vec<(String, String, Vec<u8>)> = Vec::new();
    let parse_pair = |name: String, text: &[u8]| -> Result<(String, String, Vec<u8>), Failure> {
        let pair: SavedPair = serde_json::from_slice(text).map_err(|error| {
            Failure::Io(
                format!("reading pair {name}"),
                io::Error::other(format!(
                    "expected {{\"request\": ..., \"response\": ...}}: {error}"
                )),
            )
        })?;
        let raw = pair.response.get();
        // A response saved as a JSON string is the body's text; otherwise it is the body.
        let body = match serde_json::from_str::<String>(raw) {
            Ok(text) => text.into_bytes(),
            Err(_) => raw.as_bytes().to_vec(),
        };
        Ok((name, pair.request, body))
    };
    if let (Some(request), Some(response)) = (&args.request, &args.response) {
        pairs.push(("1".to_string(), request.clone(), read(response)?));
    } else if let Some(path) = &args.pairs {
        let text = read(path)?;
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            pairs.push(parse_pair(
                format!("{}:{}", path.display(), number + 1),
                line,
            )?);
        }
    } else if let Some(dir) = &args.dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|error| Failure::Io(format!("reading {}", dir.display()), error))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        for file in files {
            let text = read(&file)?;
            pairs.push(parse_pair(file.display().to_string(), &text)?);
        }
    } else {
        return Err(Failure::Io(
            "vcfq parity".to_string(),
            io::Error::other("give --request and --response, --pairs FILE or --dir DIR"),
        ));
    }
    if pairs.is_empty() {
        return Err(Failure::Io(
            "vcfq parity".to_string(),
            io::Error::other("no request/response pairs found"),
        ));
    }
    let (sample, default_base_url) = args.sample.open()?;
    let dbsnp = RsidMap::open_if_given(args.dbsnp.as_deref())?;
    let mut report = String::new();
    let mut differing = 0;
    for (name, request_text, hosted) in &pairs {
        let (url, query) = match request_text.split_once('?') {
            Some((url, query)) => (Some(url), query),
            None if request_text.contains('=') || request_text.is_empty() => {
                (None, request_text.as_str())
            }
            None => (Some(request_text.as_str()), ""),
        };
        let base_url = args
            .base_url
            .clone()
            .or_else(|| url.filter(|url| url.contains("://")).map(String::from))
            .unwrap_or_else(|| default_base_url.clone());
        let schema = match args.schema {
            Some(schema) => schema,
            None => inferred_schema(hosted),
        };
        let options = ResponseOptions {
            schema,
            base_url,
            dbsnp: dbsnp.clone(),
        };
        let local = match Request::parse(query)
            .map_err(Error::from)
            .and_then(|request| sample.respond(&request, &options))
        {
            Ok(body) => body,
            Err(error) => error_body(&error.to_string()),
        };
        let differences = compare::compare(&local, hosted);
        if differences.is_empty() {
            report.push_str(&format!("{name}: identical ({query})\n"));
        } else {
            differing += 1;
            report.push_str(&format!(
                "{name}: {} difference(s) ({query})\n",
                differences.len()
            ));
            for difference in differences.iter().take(50) {
                report.push_str(&format!(
                    "  {}: local {} | hosted {}\n",
                    difference.path, difference.local, difference.hosted
                ));
            }
        }
    }
    report.push_str(&format!(
        "{} identical, {differing} differ\n",
        pairs.len() - differing
    ));
    print_stdout(&report)?;
    if differing > 0 {
        return Err(Failure::Differences);
    }
    Ok(())
}

/// The profile a saved body was answered in: `openapi` when its `meta` has `next`.
fn inferred_schema(hosted: &[u8]) -> Schema {
    let has_next = match compare::parse_json(hosted) {
        Ok(Json::Object(top)) => top.iter().any(|(key, value)| {
            key == "meta"
                && matches!(value, Json::Object(meta) if meta.iter().any(|(k, _)| k == "next"))
        }),
        _ => false,
    };
    if has_next {
        Schema::Openapi
    } else {
        Schema::Docs
    }
}
