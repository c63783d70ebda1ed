//! A 50-rsID panel for one sample, as a CSV table: one row per rsID of the panel, with
//! the record's typed fields, or why there is none.
//!
//! ```sh
//! cargo run --example panel_csv                     # the bundled NA12878 extract, to stdout
//! cargo run --example panel_csv -- SAMPLE.vcf.gz MAP_DIR PANEL.txt OUT.csv
//! ```
//!
//! `MAP_DIR` is a dbSNP map made by `vcfq dbsnp build`. With no arguments the example
//! builds a small map of PharmCAT's pharmacogenomic positions (`testdata/pharmcat/`)
//! into `target/example-pgx-map` first, through the library's `build_map`.

use std::path::{Path, PathBuf};

use vcfq::dbsnp::{build_map, BuildOptions};
use vcfq::{Request, Rsid, RsidMap, Sample, SampleOptions};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |index: usize, default: &str| -> PathBuf {
        args.get(index)
            .map_or_else(|| default.into(), PathBuf::from)
    };
    let vcf = arg(0, "testdata/NA12878.pgx-extract.vcf.gz");
    let map_dir = match args.get(1) {
        Some(dir) => PathBuf::from(dir),
        None => bundled_map()?,
    };
    let panel_path = arg(2, "examples/pgx-panel-50.txt");
    let out: Box<dyn std::io::Write> = match args.get(3) {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(std::io::stdout().lock()),
    };

    let sample = Sample::open(&vcf, &SampleOptions::default())?;
    let map = RsidMap::open(&map_dir)?;
    let panel = read_panel(&panel_path)?;

    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "requested",
        "status",
        "rsid",
        "chromosome",
        "position",
        "ref",
        "alt",
        "GT",
        "DS",
        "GP",
    ])?;
    let (mut found, mut absent, mut unknown) = (0, 0, 0);
    for rsid in panel {
        // One request per rsID, so that each row says which panel rsID it answers (a
        // request for the whole panel at once gives the same records, in panel order).
        let requested = rsid.to_string();
        if map.resolve(rsid)?.is_none() {
            unknown += 1;
            csv.write_record(row_without_record(&requested, "not in dbSNP map"))?;
            continue;
        }
        let records = sample.records(&Request::rsids([requested.as_str()])?, Some(&map))?;
        if records.is_empty() {
            absent += 1;
            csv.write_record(row_without_record(&requested, "not in sample"))?;
            continue;
        }
        for record in &records {
            let record = record?;
            found += 1;
            csv.write_record([
                requested.as_str(),
                "found",
                &record
                    .rsid()
                    .map(|rsid| rsid.to_string())
                    .unwrap_or_default(),
                record.chromosome(),
                &record.position().to_string(),
                record.reference(),
                &record.alternates().collect::<Vec<_>>().join(","),
                record.genotype_field("GT").unwrap_or(""),
                record.genotype_field("DS").unwrap_or(""),
                record.genotype_field("GP").unwrap_or(""),
            ])?;
        }
    }
    csv.flush()?;
    eprintln!(
        "{found} record(s) found; {absent} rsID(s) not in the sample; {unknown} not in the map"
    );
    Ok(())
}

/// A row for a panel rsID with no record: the requested rsID, why, and empty fields.
fn row_without_record<'a>(requested: &'a str, status: &'a str) -> [&'a str; 10] {
    let mut row = [""; 10];
    row[0] = requested;
    row[1] = status;
    row
}

/// rsIDs one a line; `#` starts a comment line.
fn read_panel(path: &Path) -> Result<Vec<Rsid>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("reading the panel {}: {error}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            Rsid::parse_request_token(line)
                .ok_or_else(|| format!("{}: {line:?} is not an rsID", path.display()).into())
        })
        .collect()
}

/// The bundled example map, built on first use.
fn bundled_map() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = PathBuf::from("target/example-pgx-map");
    if !dir.join("meta.json").exists() {
        let options = BuildOptions::new("testdata/pharmcat/pharmcat_positions.vcf.gz", &dir);
        let summary = build_map(&options, &mut |_| {})?;
        eprintln!(
            "built {} ({} rsIDs)",
            dir.display(),
            summary.metadata.counts.rsids
        );
    }
    Ok(dir)
}
