//! The dbSNP-like VCF: the real release's density and rsID spread, with short rows
//! (`RS`, `dbSNPBuildID`, `SSR`, `VC`) or, with `--realistic`, rows as long and as
//! varied as the real GCF_000001405.40 release's (see `realistic_info`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use vcfq::Contig;

use super::bgzf::BgzfWriter;
use super::{random_bases, scrambled_rs, Rng, BASES, SAMPLE_EVERY};

/// How the output is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    /// `.vcf.gz` files: BGZF (bgzip's format, as NCBI ships the release); standard
    /// output: none.
    Auto,
    /// Plain text.
    None,
    /// One gzip stream (not BGZF).
    Gzip,
    /// BGZF, as bgzip writes it.
    Bgzf,
}

/// What to generate.
pub struct DbsnpOptions {
    pub rows: u64,
    /// `None`: standard output.
    pub out: Option<PathBuf>,
    /// Where the lookup samples go (`OUT.samples.tsv` by default for a file).
    pub samples: Option<PathBuf>,
    pub seed: u64,
    pub realistic: bool,
    pub compression: Compression,
}

/// The output: a file or standard output, compressed as asked.
fn output(options: &DbsnpOptions) -> io::Result<Box<dyn Write>> {
    let raw: Box<dyn Write> = match &options.out {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let compression = match (options.compression, &options.out) {
        (Compression::Auto, Some(_)) => Compression::Bgzf,
        (Compression::Auto, None) => Compression::None,
        (chosen, _) => chosen,
    };
    Ok(match compression {
        Compression::None | Compression::Auto => Box::new(BufWriter::with_capacity(1 << 20, raw)),
        Compression::Gzip => Box::new(BufWriter::with_capacity(
            1 << 20,
            flate2::write::GzEncoder::new(raw, flate2::Compression::fast()),
        )),
        Compression::Bgzf => Box::new(FinishOnDrop(Some(BgzfWriter::new(raw, 4)))),
    })
}

/// A BGZF writer behind `dyn Write`: `flush` at the end writes the end-of-file block.
struct FinishOnDrop<W: Write>(Option<BgzfWriter<W>>);

impl<W: Write> Write for FinishOnDrop<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(writer) => writer.write(bytes),
            None => Err(io::Error::other("written after the end")),
        }
    }

    /// Ends the file: the caller flushes once, at the end.
    fn flush(&mut self) -> io::Result<()> {
        match self.0.take() {
            Some(writer) => writer.finish().map(drop),
            None => Ok(()),
        }
    }
}

/// Writes the dbSNP-like VCF.
pub fn write_dbsnp(options: &DbsnpOptions) -> io::Result<()> {
    let mut writer = output(options)?;
    let samples_path = options.samples.clone().or_else(|| {
        options.out.as_ref().map(|out| {
            let mut path = out.clone().into_os_string();
            path.push(".samples.tsv");
            PathBuf::from(path)
        })
    });
    let mut samples: Option<BufWriter<File>> = match samples_path {
        Some(path) => Some(BufWriter::new(File::create(path)?)),
        None => None,
    };
    let seed = options.seed;
    writeln!(writer, "##fileformat=VCFv4.0")?;
    writeln!(writer, "##fileDate=20230222")?;
    writeln!(writer, "##source=vcfq-synth dbsnp (seed {seed})")?;
    writeln!(writer, "##dbSNP_BUILD_ID=156")?;
    writeln!(writer, "##reference=GRCh38.p14")?;
    if options.realistic {
        for line in REALISTIC_HEADER {
            writeln!(writer, "{line}")?;
        }
    }
    writeln!(writer, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")?;
    let mut rng = Rng(seed);
    let mut line = Vec::with_capacity(4096);
    let mut row = 0u64;
    let mut recent: Vec<u64> = Vec::new();
    let mut number = itoa::Buffer::new();
    'contigs: for contig in Contig::all() {
        let mut position = 10_000 + rng.below(1000);
        let mut genes = GeneTrack::default();
        loop {
            if row >= options.rows {
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
                line.extend_from_slice(b"NW_0257918");
                line.extend_from_slice(number.format(10 + rng.below(90)).as_bytes());
                line.extend_from_slice(b".1");
            } else {
                line.extend_from_slice(contig.refseq_accession.as_bytes());
            }
            line.push(b'\t');
            line.extend_from_slice(number.format(position).as_bytes());
            line.extend_from_slice(b"\trs");
            line.extend_from_slice(number.format(rs).as_bytes());
            line.push(b'\t');
            let ref_start = line.len();
            let (variant_class, alternates) = if rng.chance(100) {
                let reference_length = 1 + rng.below(6) as usize;
                random_bases(&mut rng, reference_length, &mut line);
                line.push(b'\t');
                let anchor = line[line.len() - 1 - reference_length];
                line.push(anchor);
                if reference_length == 1 {
                    let inserted = 1 + rng.below(4) as usize;
                    random_bases(&mut rng, inserted, &mut line);
                    (if options.realistic { "INS" } else { "INDEL" }, 1)
                } else {
                    (if options.realistic { "DEL" } else { "INDEL" }, 1)
                }
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
                ("SNV", alternates as usize)
            };
            let alleles_end = line.len();
            line.extend_from_slice(b"\t.\t.\tRS=");
            line.extend_from_slice(number.format(rs).as_bytes());
            if options.realistic {
                genes.advance(&mut rng, position);
                realistic_info(&mut rng, &genes, variant_class, alternates, &mut line);
            } else {
                line.extend_from_slice(b";dbSNPBuildID=151;SSR=0;VC=");
                line.extend_from_slice(variant_class.as_bytes());
            }
            line.push(b'\n');
            writer.write_all(&line)?;
            if let Some(samples) = &mut samples {
                if row.is_multiple_of(SAMPLE_EVERY) && !line.starts_with(b"NW_") {
                    // rs, chromosome, POS, REF, first ALT: lookups for the scale benchmark.
                    let alleles = String::from_utf8_lossy(&line[ref_start..alleles_end]);
                    let (reference, alternates) =
                        alleles.split_once('\t').unwrap_or((&alleles, ""));
                    let first_alt = alternates.split(',').next().unwrap_or_default();
                    writeln!(
                        samples,
                        "{rs}\t{}\t{position}\t{reference}\t{first_alt}",
                        contig.name
                    )?;
                }
            }
            row += 1;
            // ~8% of positions hold a second row (another allele or class); otherwise the
            // next row is 1 to 5 bp on (2.8 bp on average, as in the full release).
            if !rng.chance(80) {
                position += 1 + rng.below(4) + u64::from(rng.chance(200));
            }
        }
    }
    writer.flush()?;
    if let Some(samples) = &mut samples {
        samples.flush()?;
    }
    Ok(())
}

/// The INFO header lines of the real release (its rows' keys), abridged.
const REALISTIC_HEADER: [&str; 12] = [
    "##INFO=<ID=RS,Number=1,Type=Integer,Description=\"dbSNP ID (i.e. rs number)\">",
    "##INFO=<ID=GENEINFO,Number=1,Type=String,Description=\"Pairs each of gene symbol:gene id.  The gene symbol and id are delimited by a colon (:) and each pair is delimited by a vertical bar (|).  Does not include pseudogenes.\">",
    "##INFO=<ID=PSEUDOGENEINFO,Number=1,Type=String,Description=\"Pairs each of pseudogene symbol:gene id.\">",
    "##INFO=<ID=dbSNPBuildID,Number=1,Type=Integer,Description=\"First dbSNP Build for RS\">",
    "##INFO=<ID=SSR,Number=1,Type=Integer,Description=\"Variant Suspect Reason Codes\">",
    "##INFO=<ID=VC,Number=1,Type=String,Description=\"Variation Class\">",
    "##INFO=<ID=GNO,Number=0,Type=Flag,Description=\"Variant has 1 or more allele frequencies reported in gnomAD\">",
    "##INFO=<ID=FREQ,Number=.,Type=String,Description=\"An ordered list of allele frequencies as reported by various genomic studies, starting with the reference allele followed by alternate alleles as ordered in the ALT column.\">",
    "##INFO=<ID=COMMON,Number=0,Type=Flag,Description=\"RS is a common SNP.\">",
    "##INFO=<ID=CLNVI,Number=.,Type=String,Description=\"Variant Identifiers provided and maintained by organizations outside of NCBI\">",
    "##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Variant Clinical Significance\">",
    "##INFO=<ID=CLNDN,Number=.,Type=String,Description=\"Preferred ClinVar disease name\">",
];

/// The populations of FREQ, in the release's order.
const POPULATIONS: [&str; 16] = [
    "1000Genomes",
    "ALSPAC",
    "Chileans",
    "Estonian",
    "GENOME_DK",
    "GnomAD",
    "GoNL",
    "KOREAN",
    "NorthernSweden",
    "Qatari",
    "SGDP_PRJ",
    "Siberian",
    "TOMMO",
    "TOPMED",
    "TWINSUK",
    "dbGaP_PopFreq",
];

/// Gene symbols to draw from (names of real genes; their ids are made up).
const GENES: [&str; 16] = [
    "LINC01128",
    "SAMD11",
    "NOC2L",
    "KLHL17",
    "PLEKHN1",
    "HES4",
    "ISG15",
    "AGRN",
    "C1orf159",
    "TTLL10",
    "SDF4",
    "B3GALT6",
    "UBE2J2",
    "ACAP3",
    "CFAP74",
    "LOC112268260",
];

/// Whether the current position lies in a gene, and which: genes cover about 45% of
/// the genome in stretches of 10-200 kb.
#[derive(Default)]
struct GeneTrack {
    until: u64,
    gene: Option<(usize, u64)>,
    second: Option<(usize, u64)>,
}

impl GeneTrack {
    fn advance(&mut self, rng: &mut Rng, position: u64) {
        if position < self.until {
            return;
        }
        let in_gene = rng.chance(450);
        self.until = position + 10_000 + rng.below(190_000);
        self.gene = in_gene.then(|| (rng.below(16) as usize, 100_000 + rng.below(150_000_000)));
        // One gene in ten overlaps another.
        self.second = (in_gene && rng.chance(100))
            .then(|| (rng.below(16) as usize, 100_000 + rng.below(150_000_000)));
    }
}

/// Appends a frequency as the release writes it: 4 decimals, trailing zeros dropped, and
/// values under 1e-4 as 4 significant digits in exponent form (`0.9999`, `0.0013`,
/// `7.135e-05`). Integer arithmetic: the generator must outrun the build it feeds.
fn push_frequency(frequency: f64, line: &mut Vec<u8>) {
    let mut number = itoa::Buffer::new();
    if frequency <= 0.0 {
        line.push(b'0');
    } else if frequency < 1e-4 {
        let mut exponent = 0;
        let mut mantissa = frequency;
        while mantissa < 1.0 {
            mantissa *= 10.0;
            exponent += 1;
        }
        let digits = ((mantissa * 1000.0).round() as u64).min(9999);
        line.extend_from_slice(number.format(digits / 1000).as_bytes());
        line.push(b'.');
        let rest = digits % 1000;
        line.extend_from_slice(&[
            b'0' + (rest / 100) as u8,
            b'0' + (rest / 10 % 10) as u8,
            b'0' + (rest % 10) as u8,
        ]);
        line.extend_from_slice(b"e-");
        if exponent < 10 {
            line.push(b'0');
        }
        line.extend_from_slice(number.format(exponent).as_bytes());
    } else {
        let scaled = (frequency * 10_000.0).round() as u64;
        if scaled >= 10_000 {
            line.push(b'1');
            return;
        }
        let mut digits = [
            b'0' + (scaled / 1000) as u8,
            b'0' + (scaled / 100 % 10) as u8,
            b'0' + (scaled / 10 % 10) as u8,
            b'0' + (scaled % 10) as u8,
        ]
        .to_vec();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        line.push(b'0');
        if !digits.is_empty() {
            line.push(b'.');
            line.extend_from_slice(&digits);
        }
    }
}

/// Appends the rest of a realistic INFO column (after `RS=n`): what the real GRCh38
/// release's rows carry, in its proportions as far as the NCBI rows in
/// `../shared/data/dbsnp/` and the release's own header show them:
/// - `dbSNPBuildID` (most rsIDs are recent, builds 150-156; one in ten older), `SSR=0`;
/// - `GENEINFO=SYMBOL:ID` for rows in genes (about 45% of the genome; one in ten with a
///   second gene), `PSEUDOGENEINFO` for 1%;
/// - `VC` (SNV, DEL, INS);
/// - function flags: `INT` for most rows in genes, then `R5`, `R3`, `U3`, `U5`, `NSM`,
///   `SYN`, `ASS`, `DSS` at 0.3-2% each, `GNO` for 55%, `PUB` for 1%;
/// - `FREQ`: none for 35% of rows, 1-3 studies with rare frequencies for 60%, 10-16
///   studies for the 5% that are common (then also `COMMON`), each with a value per
///   allele;
/// - ClinVar's `CLN*` fields (long: HGVS, identifiers, disease names) for 0.1%.
///
/// Measured on 1 M rows: 148 bytes a row on average (the short rows: 85), median 137,
/// 90th percentile 190, 99th 459; 5% pass 300 bytes (the common rows).
fn realistic_info(
    rng: &mut Rng,
    genes: &GeneTrack,
    variant_class: &str,
    alternates: usize,
    line: &mut Vec<u8>,
) {
    let mut number = itoa::Buffer::new();
    let build = if rng.chance(100) {
        52 + rng.below(87)
    } else {
        150 + rng.below(7)
    };
    line.extend_from_slice(b";dbSNPBuildID=");
    line.extend_from_slice(number.format(build).as_bytes());
    line.extend_from_slice(b";SSR=0");
    if let Some((gene, id)) = genes.gene {
        line.extend_from_slice(b";GENEINFO=");
        line.extend_from_slice(GENES[gene].as_bytes());
        line.push(b':');
        line.extend_from_slice(number.format(id).as_bytes());
        if let Some((gene, id)) = genes.second {
            line.push(b'|');
            line.extend_from_slice(GENES[gene].as_bytes());
            line.push(b':');
            line.extend_from_slice(number.format(id).as_bytes());
        }
    } else if rng.chance(10) {
        line.extend_from_slice(b";PSEUDOGENEINFO=DDX11L1:100287102");
    }
    line.extend_from_slice(b";VC=");
    line.extend_from_slice(variant_class.as_bytes());
    if genes.gene.is_some() && rng.chance(850) {
        line.extend_from_slice(b";INT");
    }
    for (flag, per_mille) in [
        ("R5", 20),
        ("R3", 20),
        ("U3", 10),
        ("U5", 5),
        ("NSM", 8),
        ("SYN", 5),
        ("ASS", 3),
        ("DSS", 3),
        ("PUB", 10),
    ] {
        if rng.chance(per_mille) {
            line.push(b';');
            line.extend_from_slice(flag.as_bytes());
        }
    }
    if rng.chance(550) {
        line.extend_from_slice(b";GNO");
    }
    let kind = rng.below(1000);
    let common = kind < 50;
    if kind < 650 {
        let studies = if common {
            10 + rng.below(7) as usize
        } else {
            1 + rng.below(3) as usize
        };
        line.extend_from_slice(b";FREQ=");
        let skip = POPULATIONS.len() - studies.min(POPULATIONS.len());
        let first = rng.below(skip as u64 + 1) as usize;
        for (i, population) in POPULATIONS[first..first + studies].iter().enumerate() {
            if i > 0 {
                line.push(b'|');
            }
            line.extend_from_slice(population.as_bytes());
            line.push(b':');
            let alt_frequency = if common {
                0.01 + rng.below(4900) as f64 / 10_000.0
            } else {
                (1 + rng.below(2000)) as f64 / 10_000_000.0 * 10f64.powi(rng.below(3) as i32)
            };
            push_frequency(1.0 - alt_frequency, line);
            for alternate in 0..alternates {
                line.push(b',');
                if alternate == 0 {
                    push_frequency(alt_frequency, line);
                } else if rng.chance(500) {
                    line.push(b'.');
                } else {
                    line.push(b'0');
                }
            }
        }
    }
    if common {
        line.extend_from_slice(b";COMMON");
    }
    if rng.chance(1) {
        line.extend_from_slice(b";CLNHGVS=NC_000001.11:g.");
        line.extend_from_slice(number.format(rng.below(248_000_000)).as_bytes());
        line.extend_from_slice(b"C>T;CLNVI=.,Illumina_Clinical_Services_Laboratory\\x2cIllumina:");
        line.extend_from_slice(number.format(rng.below(1_000_000)).as_bytes());
        line.extend_from_slice(b";CLNORIGIN=1;CLNSIG=0,2,3;CLNDISDB=.,MedGen:CN169374,MONDO:MONDO:0009861\\x2cMedGen:C0031485\\x2cOrphanet:716;CLNDN=.,not_specified,Phenylketonuria;CLNREVSTAT=.,single,mult;CLNACC=.,RCV000");
        line.extend_from_slice(number.format(rng.below(1_000_000)).as_bytes());
        line.extend_from_slice(b".3;CLNGENE=.,PAH");
    }
}

/// Writes a merge history in NCBI's `refsnp-merged.json` form for a source of
/// `dbsnp_rows` rows: `rows` retired rsIDs (rs numbers the source does not use), each
/// merged into a current one, one in ten into another retired one (a chain), one in
/// twenty listing an older rsID in `dbsnp1_merges`; with the dates and builds NCBI's
/// lines carry.
pub fn write_merged(
    rows: u64,
    dbsnp_rows: u64,
    out: &std::path::Path,
    seed: u64,
) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut rng = Rng(seed ^ 0x6d65_7267_6564);
    let retired = |index: u64| scrambled_rs(dbsnp_rows + index);
    for index in 0..rows {
        let id = retired(index);
        let into = if index > 0 && rng.chance(100) {
            retired(rng.below(index))
        } else {
            scrambled_rs(rng.below(dbsnp_rows.max(1)))
        };
        let build = 130 + rng.below(27);
        let older = if rng.chance(50) {
            format!(
                "{{\"merged_rsid\":\"{}\",\"revision\":\"{}\",\"merge_date\":\"2008-05-24T00:00Z\"}}",
                retired(rows + index),
                build - 10
            )
        } else {
            String::new()
        };
        writeln!(
            writer,
            "{{\"refsnp_id\":\"{id}\",\"create_date\":\"2002-04-24T14:21Z\",\"last_update_date\":\"2022-10-12T00:00Z\",\"last_update_build_id\":\"{build}\",\"dbsnp1_merges\":[{older}],\"merged_snapshot_data\":{{\"proxy_time\":\"2022-10-12T00:00Z\",\"proxy_build_id\":\"{build}\",\"merged_into\":[\"{into}\"]}}}}"
        )?;
    }
    writer.flush()
}
