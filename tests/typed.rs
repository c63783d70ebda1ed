//! The typed record API: every golden request answered through `Sample::records` gives
//! the records its golden JSON shows, field by field, and rsID requests (with their
//! `rsid` fields from the map) give what `respond` writes.

use serde_json::{json, Map, Value};
use vcfq::{Record, Request, ResponseOptions, RsidMap, Sample, SampleOptions, Schema};

use crate::util::testdata;

/// A record's JSON object built from the typed accessors alone (not the JSON writer).
fn typed_json(record: &Record<'_>, schema: Schema) -> Value {
    let mut object = Map::new();
    object.insert("chromosome".into(), json!(record.chromosome()));
    object.insert("position".into(), json!(record.position()));
    object.insert(
        "rsid".into(),
        json!(record.rsid().map(|rsid| rsid.to_string())),
    );
    object.insert("ref".into(), json!(record.reference()));
    object.insert("alt".into(), json!(record.alternates().collect::<Vec<_>>()));
    let genotype = record.genotype().map(|fields| {
        let mut genotype = Map::new();
        for (key, value) in fields {
            genotype.insert(key.into(), json!(value));
        }
        Value::Object(genotype)
    });
    object.insert("genotype".into(), genotype.unwrap_or(Value::Null));
    if schema == Schema::Openapi {
        object.insert(
            "genotype_confidence".into(),
            json!(record.genotype_confidence()),
        );
    }
    object.insert("quality".into(), json!(record.quality()));
    let mut info = Map::new();
    for (key, value) in record.info() {
        info.insert(key.into(), value.map_or(json!(true), |value| json!(value)));
    }
    object.insert("info".into(), Value::Object(info));
    Value::Object(object)
}

fn assert_same_records(sample: &Sample, request: &Request, options: &ResponseOptions, what: &str) {
    let body: Value = serde_json::from_slice(&sample.respond(request, options).unwrap()).unwrap();
    let records = sample.records(request, options.dbsnp.as_deref()).unwrap();
    assert_eq!(json!(records.count()), body["meta"]["count"], "{what}");
    let expected = body["results"].as_array().unwrap();
    assert_eq!(records.len(), expected.len(), "{what}");
    assert_eq!(records.iter().len(), expected.len(), "{what}");
    for (record, expected) in records.iter().zip(expected) {
        let record = record.unwrap();
        assert_eq!(&typed_json(&record, options.schema), expected, "{what}");
        // The one-field lookups agree with the objects (the last of a repeated key).
        for (key, value) in expected["genotype"].as_object().into_iter().flatten() {
            assert_eq!(json!(record.genotype_field(key)), *value, "{what}");
        }
        for (key, value) in expected["info"].as_object().unwrap() {
            let typed = match record.info_field(key).unwrap() {
                Some(text) => json!(text),
                None => json!(true),
            };
            assert_eq!(typed, *value, "{what}");
        }
    }
}

#[test]
fn every_golden_request_gives_the_golden_records() {
    let cases = std::fs::read_to_string(testdata("golden/cases.tsv")).unwrap();
    let mut checked = 0;
    for line in cases
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
    {
        let [name, vcf, flags, query_string] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("bad case line {line:?}")
        };
        let schema = if flags.contains("--schema openapi") {
            Schema::Openapi
        } else {
            Schema::Docs
        };
        let sample = Sample::open(testdata(vcf), &SampleOptions::default()).unwrap();
        let request = Request::parse(query_string).unwrap();
        let options = ResponseOptions {
            schema,
            ..ResponseOptions::default()
        };
        // The golden file itself, not only this build's JSON.
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(testdata(&format!("golden/{name}.json"))).unwrap(),
        )
        .unwrap();
        let records = sample.records(&request, None).unwrap();
        assert_eq!(json!(records.count()), golden["meta"]["count"], "{name}");
        let typed: Vec<Value> = records
            .iter()
            .map(|record| typed_json(&record.unwrap(), schema))
            .collect();
        assert_eq!(Value::Array(typed), golden["results"], "{name}");
        assert_same_records(&sample, &request, &options, name);
        checked += 1;
    }
    assert_eq!(checked, 15);
}

#[test]
fn rsid_requests_give_the_records_and_rsid_fields_of_the_json() {
    let (_dir, out) = crate::dbsnp::build("dbsnp/crafted.vcf", &[]);
    let map = std::sync::Arc::new(RsidMap::open(&out).unwrap());
    let sample = Sample::open(
        testdata("dbsnp/crafted-sample.vcf.gz"),
        &SampleOptions::default(),
    )
    .unwrap();
    let options = ResponseOptions {
        dbsnp: Some(map.clone()),
        ..ResponseOptions::default()
    };
    let mut rsid_fields = 0;
    for query in [
        "rsid=rs100",
        "rsid=rs501,rs500",
        "rsid=rs302",
        "rsid=rs600",
        "rsid=RS429358,rs429358,%20Rs7412%20,rs999999999",
        "rsid=rs429358,rs7412,rs1801133&limit=1&offset=1",
        "chromosome=chr19&start_position=1&end_position=100000",
    ] {
        let request = Request::parse(query).unwrap();
        assert_same_records(&sample, &request, &options, query);
        let records = sample.records(&request, Some(&map)).unwrap();
        rsid_fields += records
            .iter()
            .filter(|record| record.as_ref().unwrap().rsid().is_some())
            .count();
    }
    assert!(rsid_fields > 5, "{rsid_fields}");
    // Without a map, an rsID request is the same bad request as for JSON.
    let request = Request::rsids(["rs100"]).unwrap();
    let typed = sample.records(&request, None).err().unwrap();
    let json = sample
        .respond(&request, &ResponseOptions::default())
        .unwrap_err();
    assert_eq!(typed.to_string(), json.to_string());
}
