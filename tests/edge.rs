//! One fixture per edge case (testdata/edge/edge.vcf), checked to the byte.

use crate::util::{query, testdata};

fn edge(args: &[&str]) -> String {
    let (code, stdout, stderr) = query(&testdata("edge/edge.vcf.gz"), args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

fn point(position: &str) -> String {
    edge(&["--chromosome", "chr19", "--position", position])
}

fn results(body: &str) -> Vec<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        value["meta"]["count"].as_u64().unwrap() as usize,
        value["results"].as_array().unwrap().len()
    );
    value["results"].as_array().unwrap().clone()
}

#[test]
fn deletion_spanning_the_position_does_not_match() {
    // chr19:1000 ATTTT>A spans 1001-1004; tabix returns it for 1002, vcfq must not.
    let found = results(&point("1002"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["position"], 1002);
    assert_eq!(results(&point("1001")).len(), 0);
    let range = results(&edge(&[
        "--chromosome",
        "chr19",
        "--start-position",
        "1001",
        "--end-position",
        "1010",
    ]));
    assert_eq!(
        range
            .iter()
            .map(|r| r["position"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1002]
    );
    assert_eq!(results(&point("1000"))[0]["ref"], "ATTTT");
    // A symbolic deletion (END=4200) is not returned inside its span either.
    assert_eq!(
        results(&edge(&[
            "--chromosome",
            "chr19",
            "--start-position",
            "4101",
            "--end-position",
            "4150"
        ]))
        .len(),
        0
    );
}

#[test]
fn several_records_at_one_position_in_file_order() {
    let body = point("2000");
    let found = results(&body);
    let alts: Vec<&str> = found
        .iter()
        .map(|r| r["alt"][0].as_str().unwrap())
        .collect();
    assert_eq!(alts, vec!["G", "AT", "A"]);
    assert!(body.starts_with("{\"meta\":{\"count\":3},\"results\":[{"));
    assert!(
        body.contains(r#""quality":29.5"#)
            && body.contains(r#""quality":30.0"#)
            && body.contains(r#""quality":31.0"#)
    );
}

#[test]
fn multi_allelic_and_symbolic_alleles() {
    assert_eq!(
        point("3000"),
        "{\"meta\":{\"count\":1},\"results\":[{\"chromosome\":\"chr19\",\"position\":3000,\"rsid\":null,\"ref\":\"A\",\"alt\":[\"G\",\"T\",\"<NON_REF>\"],\"genotype\":{\"GT\":\"1/2\",\"DS\":\"1,1,0\",\"GP\":\"0,0,0,0,1,0,0,0,0,0\"},\"quality\":40.0,\"info\":{\"RAF\":\"0.1,0.2,0\"}}]}\n"
    );
    assert!(point("4000").contains(
        r#""alt":[],"genotype":{"GT":"0|0","DS":"0","GP":"1,0,0"},"quality":null,"info":{}}"#
    ));
    assert!(point("4100").contains(r#""ref":"N","alt":["<DEL>"],"genotype":{"GT":"0/1"},"quality":null,"info":{"SVTYPE":"DEL","END":"4200","SVLEN":"-100"}}"#));
}

#[test]
fn quality_as_python_floats() {
    let quality = |position: &str| {
        let body = point(position);
        body.split("\"quality\":")
            .nth(1)
            .unwrap()
            .split(",\"info\"")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(quality("5000"), "null");
    assert_eq!(quality("5001"), "99.99");
    assert_eq!(quality("5002"), "1e-05");
    assert_eq!(quality("5003"), "1000.0");
    assert_eq!(quality("5004"), "1.5e+16");
}

#[test]
fn info_values() {
    assert!(point("6000").contains(r#""info":{"DB":true,"RAF":"0.5","IMPUTED":true}}"#));
    assert!(point("6001").contains(r#""info":{}}"#));
    // UTF-8 as is; U+2028 escaped as Django REST framework does.
    assert!(point("6002").contains("\"info\":{\"NOTE\":\"Zürich µ 日本\",\"LS\":\"a\\u2028b\"}}"));
    assert!(point("6003").contains(r#""info":{"NOTE":"say \"hi\" \\\\ bye","EMPTY":""}}"#));
}

#[test]
fn genotype_columns() {
    assert!(
        point("7000").contains(r#""genotype":{"GT":"0|1"},"#),
        "dropped trailing fields are left out"
    );
    assert!(point("7001").contains(r#""genotype":{"GT":"."},"#));
    assert!(point("7002").contains(r#""genotype":{"GT":"0|1","DS":"","GP":""},"#));
}

#[test]
fn rsid_from_the_id_column() {
    let rsid = |position: &str| results(&point(position))[0]["rsid"].clone();
    assert_eq!(rsid("8000"), serde_json::Value::Null);
    assert_eq!(rsid("8001"), "rs1");
    assert_eq!(
        rsid("8002"),
        serde_json::Value::Null,
        "16:31087868:C:G is not an rsID"
    );
    assert_eq!(
        rsid("8003"),
        "rs114096998",
        "the first rs token, wherever it stands"
    );
    assert_eq!(
        rsid("8004"),
        serde_json::Value::Null,
        "RS5 and a bare rs are not rsIDs"
    );
}

#[test]
fn contig_absent_from_the_file_is_empty() {
    assert_eq!(
        edge(&["--chromosome", "chr2", "--position", "500"]),
        "{\"meta\":{\"count\":0},\"results\":[]}\n"
    );
    assert_eq!(
        edge(&[
            "--chromosome",
            "chrM",
            "--start-position",
            "1",
            "--end-position",
            "16569",
            "--schema",
            "openapi"
        ]),
        "{\"meta\":{\"count\":0,\"next\":null,\"previous\":null},\"results\":[]}\n"
    );
    assert_eq!(
        results(&edge(&["--chromosome", "chr1", "--position", "500"])).len(),
        1
    );
}

#[test]
fn paging_counts_before_the_page() {
    let all = results(&edge(&[
        "--chromosome",
        "chr19",
        "--start-position",
        "1",
        "--end-position",
        "100000",
    ]));
    assert_eq!(all.len(), 25);
    let page = edge(&[
        "--chromosome",
        "chr19",
        "--start-position",
        "1",
        "--end-position",
        "100000",
        "--limit",
        "3",
        "--offset",
        "23",
    ]);
    let value: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(value["meta"]["count"], 25);
    assert_eq!(value["results"].as_array().unwrap(), &all[23..].to_vec());
    let beyond = edge(&[
        "--chromosome",
        "chr19",
        "--start-position",
        "1",
        "--end-position",
        "100000",
        "--offset",
        "100",
    ]);
    assert_eq!(beyond, "{\"meta\":{\"count\":25},\"results\":[]}\n");
}
