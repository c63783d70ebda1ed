//! Opening and querying a dbSNP map whose files the input damages (truncates, overwrites,
//! extends, flips bits).
#![no_main]
use std::path::Path;
use std::sync::OnceLock;

fn fixture() -> &'static (tempfile::TempDir, vcfq::fuzzing::MapFixture) {
    static FIXTURE: OnceLock<(tempfile::TempDir, vcfq::fuzzing::MapFixture)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // RsidMap turns panics inside the fst crate on damaged bytes into errors with
        // catch_unwind; libFuzzer's hook would abort on them first, so restore the default.
        // A panic that escapes vcfq still aborts (it cannot unwind out of the target).
        // Panics inside fst are expected here and stay quiet; any other is printed.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/fst-")) {
                default(info);
            }
        }));
        let scratch = if Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        };
        let dir = tempfile::tempdir_in(scratch).expect("temporary directory");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dbsnp");
        let fixture = vcfq::fuzzing::MapFixture::new(
            dir.path(),
            &root.join("crafted.vcf"),
            Some(&root.join("crafted-merged.tsv")),
        );
        (dir, fixture)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| fixture().1.open_damaged(data));
