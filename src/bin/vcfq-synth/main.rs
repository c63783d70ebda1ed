//! `vcfq-synth`: seeded generators of benchmark data (never committed; benchmarks write
//! it under `target/`).
//!
//! - `vcfq-synth dbsnp --rows N --out FILE.vcf.gz` (or `--out -`, standard output): a
//!   dbSNP-like GRCh38 VCF as dense as the real release (a row every ~2.8 bp, filling
//!   chr1, then chr2, ...; the full release has 1.1 billion rows on 3.1 Gb), RefSeq
//!   contig names, rs numbers spread over 1..2^31 and unrelated to position as in real
//!   dbSNP, ~10% indels, ~8% multi-allelic, ~0.5% of rsIDs at a second locus, ~0.5% rows
//!   on scaffolds. Short rows by default; `--realistic` writes rows as long and varied as
//!   the real release's (GENEINFO, function flags, FREQ over up to 16 studies, COMMON,
//!   ClinVar fields: `dbsnp.rs` says what is modelled). Files are BGZF by default, as
//!   NCBI ships the release; standard output is plain text.
//!
//! - `vcfq-synth sample --rows N --out FILE.vcf.gz`: an imputed-like single-sample GRCh38
//!   VCF (phased GT, DS, GP; INFO RAF, AF, INFO; IDs like `1:11796321:G:A` as in the 1000
//!   Genomes panel; ~310 bp spacing genome-wide; ~12% indels; ~3% multi-allelic), bgzipped
//!   and tabix-indexed; `FILE.dbsnp.vcf.gz`, a dbSNP-like VCF giving ~95% of its sites an
//!   rsID unrelated to position; and `FILE.queries.tsv`, rsID and locus of every 97th site
//!   that has one, for benchmark queries.
//!
//! `dbsnp` also writes `OUT.samples.tsv` (or `--samples FILE`): rs, chromosome, POS, REF
//! and first ALT of every 997th row, for lookup benchmarks. The same seed always gives
//! the same bytes.

mod bgzf;
mod dbsnp;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vcfq::Contig;

use dbsnp::{write_dbsnp, write_merged, Compression, DbsnpOptions};

#[derive(Parser)]
#[command(name = "vcfq-synth", about = "Seeded generators of benchmark VCFs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A dbSNP-like VCF (BGZF, or plain text on standard output).
    Dbsnp(DbsnpArgs),
    /// A merge history in NCBI's refsnp-merged.json form, for a dbSNP-like VCF.
    Merged {
        /// How many retired rsIDs.
        #[arg(long)]
        rows: u64,
        /// The rows of the dbSNP-like VCF it goes with (same seed).
        #[arg(long)]
        dbsnp_rows: u64,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// The same seed gives the same bytes.
        #[arg(long, default_value_t = 20261129)]
        seed: u64,
    },
    /// An imputed-like sample VCF (bgzipped, indexed) with its dbSNP-like VCF.
    Sample(Generate),
    /// The inflate floor of a bgzipped file: the median time to inflate one of its full
    /// (64 KiB) BGZF blocks with libdeflate, blocks read at random, page cache warm.
    /// Prints the median in microseconds.
    Floor {
        /// The bgzipped file.
        #[arg(long)]
        vcf: PathBuf,
        /// How many random blocks to time.
        #[arg(long, default_value_t = 2000)]
        blocks: usize,
    },
}

#[derive(clap::Args)]
struct DbsnpArgs {
    /// How many data rows.
    #[arg(long)]
    rows: u64,
    /// The file to write; `-` is standard output.
    #[arg(long)]
    out: PathBuf,
    /// Where the lookup samples go (default `OUT.samples.tsv`; none for `-`).
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Rows as long and varied as the real release's.
    #[arg(long)]
    realistic: bool,
    /// How to compress.
    #[arg(long, value_enum, default_value_t = Compression::Auto)]
    compression: Compression,
    /// The same seed gives the same bytes.
    #[arg(long, default_value_t = 20261129)]
    seed: u64,
}

#[derive(clap::Args)]
struct Generate {
    /// Genotypes from this seed (sites from --seed): samples of one --seed then share
    /// their sites and differ in genotypes, as a cohort does.
    #[arg(long)]
    genotypes_seed: Option<u64>,
    /// How many data rows.
    #[arg(long)]
    rows: u64,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// The same seed gives the same bytes.
    #[arg(long, default_value_t = 20261129)]
    seed: u64,
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

fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Genotype fields for a site with ALT frequency `frequency`: GT, DS and GP as text.
fn genotype(rng: &mut Rng, frequency: f64) -> String {
    let first = (rng.below(1_000_000) as f64 / 1e6) < frequency;
    let second = (rng.below(1_000_000) as f64 / 1e6) < frequency;
    let alt_count = u8::from(first) + u8::from(second);
    // Imputation is confident most of the time.
    let confidence = if rng.chance(900) {
        1.0 - rng.below(30) as f64 / 1000.0
    } else {
        0.5 + rng.below(400) as f64 / 1000.0
    };
    let rest = 1.0 - confidence;
    let mut probabilities = [rest / 2.0; 3];
    probabilities[usize::from(alt_count)] = confidence;
    let dosage = probabilities[1] + 2.0 * probabilities[2];
    let trim = |value: f64| {
        let text = format!("{value:.3}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text.is_empty() {
            "0".to_string()
        } else {
            text.to_string()
        }
    };
    format!(
        "{}|{}:{}:{},{},{}",
        u8::from(first),
        u8::from(second),
        trim(dosage),
        trim(probabilities[0]),
        trim(probabilities[1]),
        trim(probabilities[2])
    )
}

/// `genotypes_seed`: genotypes from their own generator, so that samples of one `seed`
/// share their sites (and dbSNP-like VCF) and differ in genotypes, as a cohort imputed on
/// one panel does.
fn write_sample(
    rows: u64,
    out: &std::path::Path,
    seed: u64,
    genotypes_seed: Option<u64>,
) -> std::io::Result<()> {
    let mut genotype_rng = genotypes_seed.map(|seed| Rng(seed ^ 0x6765_6e6f));
    let io_error = |error: vcfq::Error| std::io::Error::other(error.to_string());
    let mut vcf = vcfq::index::VcfWriter::create(out).map_err(io_error)?;
    let dbsnp_path = with_suffix(out, ".dbsnp.vcf.gz");
    let mut dbsnp = BufWriter::with_capacity(
        1 << 20,
        flate2::write::GzEncoder::new(File::create(&dbsnp_path)?, flate2::Compression::fast()),
    );
    let mut queries = BufWriter::new(File::create(with_suffix(out, ".queries.tsv"))?);
    let mut header = String::from(
        "##fileformat=VCFv4.2\n##FILTER=<ID=PASS,Description=\"All filters passed\">\n\
         ##INFO=<ID=RAF,Number=A,Type=Float,Description=\"ALT allele frequency in the reference panel\">\n\
         ##INFO=<ID=AF,Number=A,Type=Float,Description=\"Estimated ALT allele frequency\">\n\
         ##INFO=<ID=INFO,Number=1,Type=Float,Description=\"Imputation information score\">\n\
         ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Phased genotype\">\n\
         ##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"Genotype dosage\">\n\
         ##FORMAT=<ID=GP,Number=G,Type=Float,Description=\"Genotype posteriors\">\n",
    );
    for contig in Contig::all() {
        header.push_str(&format!(
            "##contig=<ID={},length={}>\n",
            contig.name, contig.length
        ));
    }
    header.push_str(&format!("##source=vcfq-synth sample (seed {seed})\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE1\n"));
    vcf.write_all(header.as_bytes()).map_err(io_error)?;
    writeln!(dbsnp, "##fileformat=VCFv4.0\n##source=vcfq-synth sample dbSNP (seed {seed})\n##dbSNP_BUILD_ID=999\n##reference=GRCh38.p14\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")?;

    let mut rng = Rng(seed ^ 0x5a5a_5a5a);
    let genome: u64 = Contig::all().iter().map(|c| c.length).sum();
    let spacing = (genome / rows.max(1)).max(2);
    let mut line = String::with_capacity(256);
    let mut buffer: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut site = 0u64;
    for contig in Contig::all() {
        let share = rows * contig.length / genome;
        let mut position = 10_000 + rng.below(spacing);
        let mut written = 0;
        while written < share && site < rows && position + 100 < contig.length {
            let bare = contig.bare_name;
            let mut reference = String::new();
            let mut alternates: Vec<String> = Vec::new();
            if rng.chance(120) {
                // An indel: a deletion or an insertion after an anchor base.
                let anchor = BASES[rng.below(4) as usize] as char;
                let extra: String = (0..1 + rng.below(5))
                    .map(|_| BASES[rng.below(4) as usize] as char)
                    .collect();
                if rng.chance(500) {
                    reference = format!("{anchor}{extra}");
                    alternates.push(anchor.to_string());
                } else {
                    reference = anchor.to_string();
                    alternates.push(format!("{anchor}{extra}"));
                }
            } else {
                let base = rng.below(4) as usize;
                reference.push(BASES[base] as char);
                let count = if rng.chance(30) { 2 } else { 1 };
                for k in 1..=count {
                    alternates.push((BASES[(base + k as usize) % 4] as char).to_string());
                }
            }
            let frequencies: Vec<f64> = alternates
                .iter()
                .map(|_| (1 + rng.below(499)) as f64 / 1000.0)
                .collect();
            let join = |values: Vec<String>| values.join(",");
            let raf = join(frequencies.iter().map(|f| format!("{f}")).collect());
            let af = join(
                frequencies
                    .iter()
                    .map(|f| {
                        format!(
                            "{:.3}",
                            (f * (0.9 + rng.below(200) as f64 / 1000.0)).min(1.0)
                        )
                    })
                    .collect(),
            );
            let info_score = format!("{:.2}", 0.3 + rng.below(70) as f64 / 100.0);
            let alt = alternates.join(",");
            line.clear();
            line.push_str(&format!(
                "{}\t{position}\t{bare}:{position}:{reference}:{}\t{reference}\t{alt}\t.\tPASS\tRAF={raf};AF={af};INFO={info_score}\tGT:DS:GP\t{}\n",
                contig.name,
                alternates[0],
                match &mut genotype_rng {
                    Some(genotype_rng) => genotype(genotype_rng, frequencies[0]),
                    None => genotype(&mut rng, frequencies[0]),
                }
            ));
            buffer.extend_from_slice(line.as_bytes());
            if buffer.len() >= 1 << 20 {
                vcf.write_all(&buffer).map_err(io_error)?;
                buffer.clear();
            }
            if rng.chance(950) {
                let rs = scrambled_rs(site);
                writeln!(dbsnp, "{}\t{position}\trs{rs}\t{reference}\t{alt}\t.\t.\tRS={rs};dbSNPBuildID=151;VC=SNV", contig.refseq_accession)?;
                if site.is_multiple_of(97) {
                    writeln!(queries, "rs{rs}\t{}\t{position}", contig.name)?;
                }
            }
            site += 1;
            written += 1;
            position += 1 + rng.below(spacing * 2 - 1);
        }
    }
    vcf.write_all(&buffer).map_err(io_error)?;
    vcf.finish().map_err(io_error)?;
    vcfq::index::index_vcf(out, false).map_err(io_error)?;
    dbsnp
        .into_inner()
        .map_err(|error| error.into_error())?
        .finish()?;
    queries.flush()?;
    Ok(())
}

fn inflate_floor(vcf: &std::path::Path, count: usize) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(vcf)?;
    let size = file.metadata()?.len();
    // Every full block: (offset, compressed size).
    let mut full = Vec::new();
    let mut offset = 0u64;
    let mut head = [0u8; 18];
    while offset + 18 <= size {
        file.read_exact_at(&mut head, offset)?;
        let block = u64::from(u16::from_le_bytes([head[16], head[17]])) + 1;
        let mut isize = [0u8; 4];
        file.read_exact_at(&mut isize, offset + block - 4)?;
        if u32::from_le_bytes(isize) >= 65_000 {
            full.push((offset, block as usize));
        }
        offset += block;
    }
    let mut rng = Rng(7);
    let mut decompressor = libdeflater::Decompressor::new();
    let (mut compressed, mut data) = (vec![0u8; 65536], vec![0u8; 65536]);
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let (offset, block) = full[(rng.next() % full.len() as u64) as usize];
        let started = std::time::Instant::now();
        file.read_exact_at(&mut compressed[..block], offset)?;
        decompressor
            .deflate_decompress(&compressed[18..block - 8], &mut data)
            .map_err(|error| std::io::Error::other(format!("{error:?}")))?;
        times.push(started.elapsed().as_secs_f64());
        std::hint::black_box(&data);
    }
    times.sort_by(f64::total_cmp);
    println!("{:.1}", times[times.len() / 2] * 1e6);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dbsnp(args) => write_dbsnp(&DbsnpOptions {
            rows: args.rows,
            out: (args.out.as_os_str() != "-").then_some(args.out),
            samples: args.samples,
            seed: args.seed,
            realistic: args.realistic,
            compression: args.compression,
        }),
        Command::Merged {
            rows,
            dbsnp_rows,
            out,
            seed,
        } => write_merged(rows, dbsnp_rows, &out, seed),
        Command::Sample(Generate {
            rows,
            out,
            seed,
            genotypes_seed,
        }) => write_sample(rows, &out, seed, genotypes_seed),
        Command::Floor { vcf, blocks } => inflate_floor(&vcf, blocks),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vcfq-synth: {error}");
            ExitCode::FAILURE
        }
    }
}
