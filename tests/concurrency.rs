//! Concurrency: 16 threads issuing a mixed stream of point, range and rsID queries against
//! one opened sample and one dbSNP map get exactly the sequential answers.

use std::sync::Arc;

use crate::workload::{order, Workload};

#[test]
fn sixteen_threads_mixed_queries_get_the_sequential_answers() {
    let workload = Arc::new(Workload::new());
    let count = workload.requests.len();
    let sequential: Arc<Vec<Vec<u8>>> = Arc::new((0..count).map(|i| workload.answer(i)).collect());
    // The workload is not trivial: hundreds of answers hold records (the extract covers
    // some of PharmCAT's genes), rsID ones included.
    let with_records = sequential
        .iter()
        .filter(|body| !body.starts_with(b"{\"meta\":{\"count\":0,"))
        .count();
    assert!(with_records > 200, "{with_records} of {count}");
    assert!(sequential
        .iter()
        .zip(&workload.requests)
        .any(
            |(body, request)| matches!(request.query, vcfq::Query::Rsid { .. })
                && body.windows(8).any(|w| w == b"\"rsid\":\"")
        ));
    let handles: Vec<_> = (0..16u64)
        .map(|thread| {
            let workload = Arc::clone(&workload);
            let sequential = Arc::clone(&sequential);
            std::thread::spawn(move || {
                for _round in 0..3 {
                    for i in order(count, thread + 1) {
                        assert_eq!(
                            workload.answer(i),
                            sequential[i],
                            "thread {thread}, request {i}"
                        );
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn through_the_position_index_the_same_answers_from_sixteen_threads() {
    let through_tabix = Workload::new();
    let dir = crate::util::copy_to_temp(&[
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let vcf = dir.path().join("NA12878.pgx-extract.vcf.gz");
    vcfq::index::write_position_index(&vcf).unwrap();
    let workload = Arc::new(Workload::for_sample(&vcf));
    assert!(workload.sample.uses_position_index());
    let count = workload.requests.len();
    let expected: Arc<Vec<Vec<u8>>> =
        Arc::new((0..count).map(|i| through_tabix.answer(i)).collect());
    let handles: Vec<_> = (0..16u64)
        .map(|thread| {
            let (workload, expected) = (Arc::clone(&workload), Arc::clone(&expected));
            std::thread::spawn(move || {
                for i in order(count, thread + 101) {
                    assert_eq!(
                        workload.answer(i),
                        expected[i],
                        "thread {thread}, request {i}"
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
