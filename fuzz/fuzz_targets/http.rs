//! The HTTP request path: arbitrary bytes from a client, through hyper's parser, the
//! router and the handler to the engine, over an in-memory connection.
#![no_main]
use std::path::Path;
use std::sync::OnceLock;

fn fixture() -> &'static (tempfile::TempDir, vcfq::fuzzing::HttpFixture) {
    static FIXTURE: OnceLock<(tempfile::TempDir, vcfq::fuzzing::HttpFixture)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = vcfq::store::Store::new(dir.path().join("store"));
        let vcf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/apoe.vcf.gz");
        let id = vcfq::store::SampleId::parse("3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
        store.add(&id, &vcf, None).expect("store");
        let fixture = vcfq::fuzzing::HttpFixture::new(store.dir(), None);
        (dir, fixture)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fixture().1.exchange(data);
});
