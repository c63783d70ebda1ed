//! A point (or range) lookup through the typed record API, then the same answer as the
//! hosted API's JSON.
//!
//! ```sh
//! cargo run --example point_lookup                                  # the bundled APOE sample
//! cargo run --example point_lookup -- SAMPLE.vcf.gz chr19:44908684
//! cargo run --example point_lookup -- SAMPLE.vcf.gz chr19:44905000-44910000
//! ```

use std::io::Write;

use vcfq::{Request, ResponseOptions, Sample, SampleOptions};

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
    let mut args = std::env::args().skip(1);
    let vcf = args.next().unwrap_or_else(|| "testdata/apoe.vcf.gz".into());
    let region = args.next().unwrap_or_else(|| "chr19:44908684".into());

    // Opening checks the VCF once (bgzipped, indexed, GRCh38); queries then reuse it.
    let sample = Sample::open(&vcf, &SampleOptions::default())?;
    // `chr19:44908684` is a point query, `chr19:44905000-44910000` a range; the hosted
    // API's query string (`chromosome=chr19&position=44908684`) works too.
    let request = Request::parse_region_or_query(&region)?;

    let records = sample.records(&request, None)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} record(s) at {region} in {vcf}", records.count())?;
    for record in &records {
        let record = record?;
        let alternates: Vec<&str> = record.alternates().collect();
        writeln!(
            out,
            "{}:{} {} {}>{} GT={} DS={} GP={}",
            record.chromosome(),
            record.position(),
            record
                .rsid()
                .map_or("-".to_string(), |rsid| rsid.to_string()),
            record.reference(),
            alternates.join(","),
            record.genotype_field("GT").unwrap_or("."),
            record.genotype_field("DS").unwrap_or("."),
            record.genotype_field("GP").unwrap_or("."),
        )?;
        for (key, value) in record.info() {
            let value = value.map(|v| format!("={v}")).unwrap_or_default();
            writeln!(out, "    INFO {key}{value}")?;
        }
    }

    // The same answer, byte for byte what the hosted API sends.
    let body = sample.respond(&request, &ResponseOptions::default())?;
    out.write_all(&body)?;
    writeln!(out)?;
    Ok(())
}
