//! `vcfq-synth`: seeded generators of benchmark data (never committed; benchmarks write
//! it under `target/`).
//!
//! - `vcfq-synth dbsnp --rows N --out FILE.vcf.gz`: a dbSNP-like GRCh38 VCF as dense as
//!   the real release (a row every ~2.8 bp, filling chr1, then chr2, ...; the full release
//!   has 1.1 billion rows on 3.1 Gb), RefSeq contig names, rs numbers spread over
//!   1..2^31 and unrelated to position as in real dbSNP, ~10% indels, ~8% multi-allelic,
//!   ~0.5% of rsIDs at a second locus, ~0.5% rows on scaffolds.
//!
//! `dbsnp` also writes `OUT.samples.tsv`: rs, chromosome, POS, REF and first ALT of every
//! 997th row, for lookup benchmarks. The same seed always gives the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vcfq::Contig;

#[derive(Parser)]
#[command(name = "vcfq-synth", about = "Seeded generators of benchmark VCFs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A dbSNP-like VCF, gzipped.
    Dbsnp {
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 20261129)]
        seed: u64,
    },
}

/// Every this many rows, one goes to `OUT.samples.tsv` for lookup benchmarks.
const SAMPLE_EVERY: u64 = 997;

/// SplitMix64: small, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const BASES: [u8; 4] = *b"ACGT";

fn random_bases(rng: &mut Rng, length: usize, out: &mut Vec<u8>) {
    for _ in 0..length {
        out.push(BASES[rng.below(4) as usize]);
    }
}

/// rs numbers unrelated to position and as sparse as real ones (1.1 billion in use up to
/// ~2.2 billion): row `i` gets a bijection of `i` on `[0, 2^31)`, plus one.
fn scrambled_rs(index: u64) -> u64 {
    const MASK: u64 = (1 << 31) - 1;
    let mut x = index & MASK;
    // Odd multipliers and xor-shifts are bijections modulo 2^31.
    for _ in 0..3 {
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15 | 1) & MASK;
        x ^= x >> 13;
    }
    x + 1
}

fn write_dbsnp(rows: u64, out: &PathBuf, seed: u64) -> std::io::Result<()> {
    let file = File::create(out)?;
    let mut samples_path = out.clone().into_os_string();
    samples_path.push(".samples.tsv");
    let mut samples = BufWriter::new(File::create(samples_path)?);
    let mut writer = BufWriter::with_capacity(
        1 << 20,
        flate2::write::GzEncoder::new(file, flate2::Compression::fast()),
    );
    writeln!(writer, "##fileformat=VCFv4.0")?;
    writeln!(writer, "##source=vcfq-synth dbsnp (seed {seed})")?;
    writeln!(writer, "##dbSNP_BUILD_ID=999")?;
    writeln!(writer, "##reference=GRCh38.p14")?;
    writeln!(writer, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")?;
    let mut rng = Rng(seed);
    let mut line = Vec::with_capacity(256);
    let mut row = 0u64;
    let mut recent: Vec<u64> = Vec::new();
    'contigs: for contig in Contig::all() {
        let mut position = 10_000 + rng.below(1000);
        loop {
            if row >= rows {
                break 'contigs;
            }
            if position + 50 > contig.length {
                break;
            }
            // ~0.5% of rows repeat an earlier rsID elsewhere (an rsID at two loci).
            let rs = if !recent.is_empty() && rng.chance(5) {
                recent[rng.below(recent.len() as u64) as usize]
            } else {
                scrambled_rs(row)
            };
            if recent.len() < 4096 {
                recent.push(rs);
            } else {
                let slot = rng.below(4096) as usize;
                recent[slot] = rs;
            }
            line.clear();
            // ~0.5% of rows on a scaffold, which the map skips.
            if rng.chance(5) {
                line.extend_from_slice(
                    format!("NW_0257918{:02}.1\t{position}\t", rng.below(100)).as_bytes(),
                );
            } else {
                line.extend_from_slice(contig.refseq_accession.as_bytes());
                line.extend_from_slice(format!("\t{position}\t").as_bytes());
            }
            line.extend_from_slice(format!("rs{rs}\t").as_bytes());
            let variant_class = if rng.chance(100) {
                let reference_length = 1 + rng.below(6) as usize;
                random_bases(&mut rng, reference_length, &mut line);
                line.push(b'\t');
                let anchor = line[line.len() - 1 - reference_length];
                line.push(anchor);
                if reference_length == 1 {
                    let inserted = 1 + rng.below(4) as usize;
                    random_bases(&mut rng, inserted, &mut line);
                }
                "INDEL"
            } else {
                let reference = BASES[rng.below(4) as usize];
                line.push(reference);
                line.push(b'\t');
                let alternates = if rng.chance(80) { 2 + rng.below(2) } else { 1 };
                let mut written = 0;
                for base in BASES.iter().cycle().skip(rng.below(4) as usize).take(4) {
                    if *base != reference && written < alternates {
                        if written > 0 {
                            line.push(b',');
                        }
                        line.push(*base);
                        written += 1;
                    }
                }
                "SNV"
            };
            line.extend_from_slice(
                format!("\t.\t.\tRS={rs};dbSNPBuildID=151;SSR=0;VC={variant_class}\n").as_bytes(),
            );
            writer.write_all(&line)?;
            if row % SAMPLE_EVERY == 0 && !line.starts_with(b"NW_") {
                // rs, chromosome, POS, REF, first ALT: lookups for the scale benchmark.
                let text = String::from_utf8_lossy(&line);
                let fields: Vec<&str> = text.trim_end().split('\t').collect();
                let first_alt = fields[4].split(',').next().unwrap_or_default();
                writeln!(
                    samples,
                    "{rs}\t{}\t{}\t{}\t{first_alt}",
                    contig.name, fields[1], fields[3]
                )?;
            }
            row += 1;
            // ~8% of positions hold a second row (another allele or class); otherwise the
            // next row is 1 to 5 bp on (2.8 bp on average, as in the full release).
            if !rng.chance(80) {
                position += 1 + rng.below(4) + u64::from(rng.chance(200));
            }
        }
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error())?
        .finish()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dbsnp { rows, out, seed } => write_dbsnp(rows, &out, seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vcfq-synth: {error}");
            ExitCode::FAILURE
        }
    }
}
