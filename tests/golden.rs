//! Golden outputs on real and crafted files, compared byte for byte. The cases are listed
//! in testdata/golden/cases.tsv; `VCFQ_BLESS=1 cargo test --test tests golden` rewrites
//! the expected files (review the diff before committing).

use crate::util::{query, testdata};

#[test]
fn golden_outputs() {
    let bless = std::env::var_os("VCFQ_BLESS").is_some();
    let cases = std::fs::read_to_string(testdata("golden/cases.tsv")).unwrap();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for line in cases
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, vcf, flags, query_string] = fields[..] else {
            panic!("bad case line {line:?}")
        };
        let mut args: Vec<&str> = if flags == "-" {
            Vec::new()
        } else {
            flags.split(' ').collect()
        };
        args.push(query_string);
        let (code, stdout, stderr) = query(&testdata(vcf), &args);
        assert_eq!(code, 0, "{name}: {stderr}");
        let expected_path = testdata(&format!("golden/{name}.json"));
        if bless {
            std::fs::write(&expected_path, &stdout).unwrap();
        } else {
            let expected = std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| panic!("{name}: no golden file; run with VCFQ_BLESS=1"));
            if expected != stdout {
                mismatches.push(format!(
                    "{name}:\n  expected {expected}\n  actual   {stdout}"
                ));
            }
        }
        checked += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(checked, 15);
}

#[test]
fn the_hosted_docs_example_byte_for_byte() {
    // The response printed in api/variant-level-api.txt, compacted as the hosted service sends it.
    let expected = r#"{"meta":{"count":1},"results":[{"chromosome":"chr19","position":44908684,"rsid":"rs429358","ref":"T","alt":["C"],"genotype":{"GT":"0|1","DS":"1","GP":"0,1,0"},"quality":null,"info":{"RAF":"0.15"}}]}"#;
    let (code, stdout, _) = query(
        &testdata("apoe.vcf.gz"),
        &["--chromosome", "chr19", "--position", "44908684"],
    );
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("{expected}\n"));
}
