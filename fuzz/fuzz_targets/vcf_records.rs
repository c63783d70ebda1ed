//! VCF text -> JSON through the real reader: arbitrary data lines after a GRCh38 header,
//! bgzipped and indexed, then point, range and rsID queries (with a dbSNP map).
#![no_main]
use std::path::Path;
use std::sync::{Arc, OnceLock};

struct Fixture {
    dir: tempfile::TempDir,
    map: Arc<vcfq::RsidMap>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir_in(scratch()).expect("temporary directory");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dbsnp");
        let mut options =
            vcfq::dbsnp::BuildOptions::new(root.join("crafted.vcf"), dir.path().join("map"));
        options.merged = Some(root.join("crafted-merged.tsv"));
        options.threads = 1;
        options.memory_bytes = 1 << 20;
        vcfq::dbsnp::build_map(&options, &mut |_| {}).expect("fixture map");
        let map = Arc::new(vcfq::RsidMap::open(dir.path().join("map")).expect("fixture map"));
        Fixture { dir, map }
    })
}

/// Memory-backed when available: every input writes and indexes a file.
fn scratch() -> &'static Path {
    if Path::new("/dev/shm").is_dir() {
        Path::new("/dev/shm")
    } else {
        Path::new("/tmp")
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    vcfq::fuzzing::vcf_records(fixture.dir.path(), data, Some(&fixture.map));
});
