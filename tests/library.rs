//! The library API: open once, query many times, from several threads.

use std::sync::Arc;

use vcfq::{ErrorClass, ErrorKind, Query, Request, ResponseOptions, Sample, SampleOptions, Schema};

use crate::util::testdata;

fn requests() -> Vec<Request> {
    let mut list = Vec::new();
    for (chromosome, start) in [
        ("chr1", 11_780_000u64),
        ("chr10", 94_760_000),
        ("chr16", 31_090_000),
        ("chr19", 15_860_000),
        ("chrX", 154_530_000),
    ] {
        for step in 0..20 {
            let from = start + step * 1_500;
            list.push(
                Request::parse(&format!(
                    "chromosome={chromosome}&start_position={from}&end_position={}",
                    from + 2_000
                ))
                .unwrap(),
            );
            list.push(
                Request::parse(&format!("chromosome={chromosome}&position={}", from + 17)).unwrap(),
            );
        }
    }
    list
}

#[test]
fn threads_share_one_sample_and_get_the_sequential_answers() {
    let sample = Arc::new(
        Sample::open(
            testdata("NA12878.pgx-extract.vcf.gz"),
            &SampleOptions::default(),
        )
        .unwrap(),
    );
    let options = ResponseOptions {
        schema: Schema::Openapi,
        ..ResponseOptions::default()
    };
    let requests = requests();
    let sequential: Vec<Vec<u8>> = requests
        .iter()
        .map(|request| sample.respond(request, &options).unwrap())
        .collect();
    assert!(
        sequential
            .iter()
            .filter(|body| !body.starts_with(b"{\"meta\":{\"count\":0,"))
            .count()
            > 50
    );
    let handles: Vec<_> = (0..4)
        .map(|thread| {
            let sample = Arc::clone(&sample);
            let options = options.clone();
            let requests = requests.clone();
            std::thread::spawn(move || {
                // Each thread walks the requests in a different order.
                let mut order: Vec<usize> = (0..requests.len()).collect();
                order.rotate_left(thread * 37 % requests.len());
                order
                    .into_iter()
                    .map(|i| (i, sample.respond(&requests[i], &options).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in handles {
        for (i, body) in handle.join().unwrap() {
            assert_eq!(body, sequential[i], "request {i}");
        }
    }
}

#[test]
fn errors_leave_the_output_untouched() {
    let sample =
        Sample::open(testdata("edge/malformed.vcf.gz"), &SampleOptions::default()).unwrap();
    let mut out = b"previous".to_vec();
    let request = Request::parse("chromosome=chr19&position=100").unwrap();
    let error = sample
        .respond_into(&request, &ResponseOptions::default(), &mut out)
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Internal);
    assert_eq!(out, b"previous");
    let mut writer = Vec::new();
    assert!(sample
        .write_response(&request, &ResponseOptions::default(), &mut writer)
        .is_err());
    assert!(writer.is_empty());
}

#[test]
fn typed_requests_and_errors() {
    let request = Request::parse("rsid=rs429358,rs7412").unwrap();
    assert!(matches!(&request.query, Query::Rsid { rsids } if rsids.len() == 2));
    let sample = Sample::open(testdata("apoe.vcf.gz"), &SampleOptions::default()).unwrap();
    let error = sample
        .respond(&request, &ResponseOptions::default())
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::NoDbsnpMap));
    assert_eq!(error.class().http_status(), 400);
    assert_eq!(sample.sample_name(), Some("SAMPLE1"));
    assert!(sample
        .index_path()
        .to_string_lossy()
        .ends_with("apoe.vcf.gz.tbi"));

    let missing = Sample::open(testdata("nope.vcf.gz"), &SampleOptions::default())
        .err()
        .unwrap();
    assert_eq!(missing.class(), ErrorClass::NotFound);
    let unknown = Sample::open(
        testdata("apoe.vcf.gz"),
        &SampleOptions {
            vcf_sample: Some("X".into()),
        },
    )
    .err()
    .unwrap();
    assert!(matches!(unknown.kind(), ErrorKind::UnknownVcfSample { .. }));
}

#[test]
fn sample_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sample>();
}
