"""Single-sample queries: the Python bytes are the CLI's bytes, for every golden request
of the Rust tests and for rsID requests through a dbSNP map."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qsl

import pytest

import vcfq

from conftest import TESTDATA


def golden_cases():
    for line in (TESTDATA / "golden/cases.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, vcf, flags, query = line.split("\t")
        yield pytest.param(name, vcf, [] if flags == "-" else flags.split(" "), query, id=name)


def options_from_flags(flags: list[str]) -> dict:
    options = {}
    for flag, value in zip(flags[::2], flags[1::2]):
        options[{"--schema": "schema", "--base-url": "base_url"}[flag]] = value
    return options


@pytest.mark.parametrize("name,vcf,flags,query", list(golden_cases()))
def test_golden_requests_give_the_cli_bytes(cli, name, vcf, flags, query):
    sample = vcfq.Sample(TESTDATA / vcf)
    options = options_from_flags(flags)
    expected = cli("query", "--vcf", str(TESTDATA / vcf), *flags, query).stdout
    assert expected == (TESTDATA / f"golden/{name}.json").read_bytes()
    # The query string, the keywords (integers as ints), and the parsed form.
    assert sample.query_string(query, **options) + b"\n" == expected
    keywords = {
        key: int(value) if key != "chromosome" else value for key, value in parse_qsl(query)
    }
    assert sample.query(**keywords, **options) + b"\n" == expected
    assert sample.query_json(**keywords, **options) == json.loads(expected)
    assert sample.query_string_json(query, **options) == json.loads(expected)


RSID_REQUESTS = [
    "rsid=rs429358",
    "rsid=rs429358,rs7412,rs1801133&limit=1&offset=1",
    "rsid=rs12248560,rs4244285,rs1050828,rs429358,rs7412,rs999999999,rs100",
    "rsid=rs501,rs500,rs1801133,rs4244285&limit=2",
    "chromosome=chr19&position=44908684",
]


@pytest.mark.parametrize("query", RSID_REQUESTS)
@pytest.mark.parametrize("schema", ["docs", "openapi"])
@pytest.mark.parametrize(
    "vcf", ["dbsnp/crafted-sample.vcf.gz", "pharmcat/pharmcat_positions.vcf.gz", "apoe.vcf.gz"]
)
def test_rsid_requests_give_the_cli_bytes(cli, dbsnp_map, vcf, schema, query):
    expected = cli(
        "query", "--vcf", str(TESTDATA / vcf), "--dbsnp", str(dbsnp_map), "--schema", schema, query
    ).stdout
    by_path = vcfq.Sample(TESTDATA / vcf, dbsnp=dbsnp_map)
    by_map = vcfq.Sample(TESTDATA / vcf, dbsnp=vcfq.DbsnpMap(dbsnp_map))
    assert by_path.query_string(query, schema=schema) + b"\n" == expected
    assert by_map.query_string(query, schema=schema) + b"\n" == expected
    parameters = dict(parse_qsl(query))
    if "rsid" in parameters:
        # A list of rsIDs is the comma-separated string.
        parameters["rsid"] = parameters["rsid"].split(",")
    assert by_map.query(**parameters, schema=schema) + b"\n" == expected


def test_printing_a_body_prints_what_the_cli_prints(cli):
    expected = cli(
        "query", "--vcf", str(TESTDATA / "apoe.vcf.gz"), "chromosome=chr19&position=44908684"
    ).stdout
    # The README's one-liner, in a fresh interpreter.
    printed = subprocess.run(
        [sys.executable, "-c", "import vcfq; print(vcfq.Sample('testdata/apoe.vcf.gz')"
         ".query(chromosome='chr19', position=44908684))"],
        cwd=TESTDATA.parent, capture_output=True, check=True,
    ).stdout
    assert printed == expected
    body = vcfq.Sample(TESTDATA / "apoe.vcf.gz").query(chromosome="chr19", position=44908684)
    assert isinstance(body, bytes) and isinstance(body, vcfq.Body)
    assert body + b"\n" == expected and str(body) + "\n" == expected.decode()


def test_sample_and_map_attributes(dbsnp_map):
    sample = vcfq.Sample(TESTDATA / "apoe.vcf.gz", dbsnp=dbsnp_map)
    assert sample.path == str(TESTDATA / "apoe.vcf.gz")
    assert sample.dbsnp == str(dbsnp_map)
    assert sample.vcf_sample is not None
    assert "apoe.vcf.gz" in repr(sample)
    dbsnp = vcfq.DbsnpMap(dbsnp_map)
    assert dbsnp.resolve("rs429358") == {"rsid": "rs429358", "loci": [("chr19", 44908684)]}
    assert dbsnp.resolve("rs999999999") is None
    assert dbsnp.metadata["counts"]["rsids"] > 0
    dbsnp.check()
    assert vcfq.cohort_columns()[:3] == ["sample_id", "status", "detail"]


def test_argument_types():
    sample = vcfq.Sample(TESTDATA / "apoe.vcf.gz")
    assert sample.query(chromosome="chr19", position="44908684") == sample.query(
        chromosome="chr19", position=44908684
    )
    with pytest.raises(TypeError, match="position must be a str or an int"):
        sample.query(chromosome="chr19", position=True)
    with pytest.raises(TypeError, match="position must be a str or an int"):
        sample.query(chromosome="chr19", position=44908684.0)
    with pytest.raises(TypeError, match="rsid must be a str or a list of str"):
        sample.query(rsid=[429358])
    with pytest.raises(TypeError):
        sample.query("chr19", 44908684)  # keywords only, as the API names them
