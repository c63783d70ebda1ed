//! A mixed query workload over real files, shared by the concurrency test (tests.rs) and
//! the soak test (soak.rs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vcfq::dbsnp::{build_map, BuildOptions};
use vcfq::{Request, ResponseOptions, RsidMap, Sample, SampleOptions, Schema};

pub fn testdata(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(relative)
}

/// The NA12878 extract, a map built from PharmCAT's positions, and a mixed list of
/// requests over them: every record's position, 2 kb windows across each region, and
/// rsID lists of 1 to 50 PharmCAT rsIDs (some absent from the sample).
pub struct Workload {
    pub _dir: tempfile::TempDir,
    pub sample: Arc<Sample>,
    pub options: ResponseOptions,
    pub requests: Vec<Request>,
    /// The requests as query strings.
    pub queries: Vec<String>,
}

impl Workload {
    /// The map lives in the workload's temporary directory.
    pub fn map_dir(&self) -> PathBuf {
        self._dir.path().join("map")
    }

    pub fn new() -> Workload {
        Workload::for_sample(&testdata("NA12878.pgx-extract.vcf.gz"))
    }

    /// The same requests over another copy of the NA12878 extract.
    pub fn for_sample(vcf: &Path) -> Workload {
        let dir = tempfile::tempdir().unwrap();
        let source = testdata("pharmcat/pharmcat_positions.vcf");
        let mut build = BuildOptions::new(&source, dir.path().join("map"));
        build.threads = 1;
        build_map(&build, &mut |_| {}).unwrap();
        let map = Arc::new(RsidMap::open(dir.path().join("map")).unwrap());
        let sample = Arc::new(Sample::open(vcf, &SampleOptions::default()).unwrap());
        let mut requests = Vec::new();
        let mut rsids = Vec::new();
        let text = std::fs::read_to_string(&source).unwrap();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let columns: Vec<&str> = line.split('\t').collect();
            let (chromosome, position) = (columns[0], columns[1].parse::<u64>().unwrap());
            requests.push(format!("chromosome={chromosome}&position={position}"));
            requests.push(format!(
                "chromosome={chromosome}&start_position={}&end_position={}&limit=7&offset=2",
                position.saturating_sub(1_000).max(1),
                position + 1_000
            ));
            rsids.extend(columns[2].split(';').filter(|id| id.starts_with("rs")));
        }
        for (i, size) in (0..rsids.len())
            .step_by(13)
            .zip([1, 3, 50, 17, 8].iter().cycle())
        {
            let list: Vec<&str> = rsids.iter().cycle().skip(i).take(*size).copied().collect();
            requests.push(format!("rsid={}", list.join(",")));
        }
        let queries = requests;
        let requests: Vec<Request> = queries
            .iter()
            .map(|query| Request::parse(query).unwrap())
            .collect();
        Workload {
            _dir: dir,
            sample,
            options: ResponseOptions {
                schema: Schema::Openapi,
                dbsnp: Some(map),
                ..ResponseOptions::default()
            },
            requests,
            queries,
        }
    }

    pub fn answer(&self, index: usize) -> Vec<u8> {
        self.sample
            .respond(&self.requests[index], &self.options)
            .unwrap()
    }
}

/// A thread's order over the requests: a seeded shuffle (xorshift), different per thread.
pub fn order(count: usize, seed: u64) -> Vec<usize> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..count).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}
