"""vcfq.cohort: the table `vcfq cohort --format arrow` writes, as a pyarrow.Table (and
a stream of batches), readable by polars and DuckDB."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pyarrow as pa
import pytest

import vcfq

from conftest import TESTDATA, copy_vcf

REQUESTS = [
    ("docs", "chr19:44905000-44910000"),
    ("docs", "chromosome=chr19&position=44908684"),
    ("openapi", "chromosome=chr10&start_position=94760000&end_position=94860000&limit=3&offset=2"),
    ("docs", "rsid=rs12248560,rs4244285,rs1050828,rs429358,rs7412,rs999999999,rs100"),
    ("openapi", "rsid=rs501,rs500,rs1801133,rs4244285&limit=2"),
]


def cli_table(cli, tmp_path, *args: str) -> pa.Table:
    out = tmp_path / "cohort.arrow"
    cli("cohort", *args, "--format", "arrow", "--out", str(out))
    with pa.ipc.open_stream(out) as reader:
        return reader.read_all()


@pytest.mark.parametrize("schema,query", REQUESTS)
def test_cohort_equals_the_cli_table(cli, tmp_path, manifest, cohort_members, dbsnp_map, schema, query):
    expected = cli_table(
        cli, tmp_path, "--manifest", str(manifest), "--dbsnp", str(dbsnp_map), "--schema", schema, query
    )
    assert expected.num_rows >= len(cohort_members)
    assert set(expected.column("status").to_pylist()) >= {200, 404, 500}
    # The members as a manifest path, a dict, and pairs; the request as keywords or a
    # query string.
    as_manifest = vcfq.cohort(manifest, query=query, dbsnp=dbsnp_map, schema=schema)
    assert as_manifest.schema == expected.schema
    assert as_manifest.equals(expected)
    keywords = dict(parse_qsl(query)) if "=" in query else {
        "chromosome": "chr19", "start_position": 44905000, "end_position": 44910000
    }
    as_dict = vcfq.cohort(
        {id: str(vcf) for id, vcf in cohort_members}, **keywords, dbsnp=vcfq.DbsnpMap(dbsnp_map), schema=schema
    )
    assert as_dict.equals(expected)
    as_pairs = vcfq.cohort(cohort_members, query=query, dbsnp=dbsnp_map, schema=schema, threads=1)
    assert as_pairs.equals(expected)
    # The stream gives the same rows, whatever the batch size.
    for batch_samples in (None, 1, 3):
        reader = vcfq.cohort_reader(
            cohort_members, query=query, dbsnp=dbsnp_map, schema=schema, batch_samples=batch_samples
        )
        assert isinstance(reader, pa.RecordBatchReader)
        streamed = reader.read_all()
        assert streamed.equals(expected)


def test_failures_are_rows_and_fail_fast_raises(cohort_members):
    table = vcfq.cohort(cohort_members, chromosome="chr19", position=44908684)
    by_id = {row["sample_id"]: row for row in table.to_pylist()}
    assert by_id["missing"]["status"] == 404
    assert by_id["missing"]["detail"].startswith("VCF not found: ")
    assert by_id["foreign-index"]["status"] in (400, 500)
    assert by_id["apoe"]["status"] == 200 and by_id["apoe"]["rsid"] == "rs429358"
    assert by_id["apoe"]["gt"] == "0|1"
    with pytest.raises(vcfq.NotFound, match="VCF not found"):
        vcfq.cohort(cohort_members, chromosome="chr19", position=44908684, fail_fast=True)
    # A stream that fails ends with the error.
    reader = vcfq.cohort_reader(
        cohort_members, chromosome="chr19", position=44908684, fail_fast=True, batch_samples=1
    )
    with pytest.raises(Exception, match="VCF not found"):
        reader.read_all()


def test_bad_members_and_requests_say_what_to_fix(cohort_members):
    with pytest.raises(vcfq.BadRequest, match="given twice"):
        vcfq.cohort([("a", "x.vcf.gz"), ("a", "y.vcf.gz")], chromosome="chr19", position=1)
    with pytest.raises(vcfq.BadRequest, match="empty"):
        vcfq.cohort([("", "x.vcf.gz")], chromosome="chr19", position=1)
    with pytest.raises(TypeError, match=r"samples\[0\]"):
        vcfq.cohort([("a",)], chromosome="chr19", position=1)
    with pytest.raises(vcfq.BadRequest, match="did you mean"):
        vcfq.cohort(cohort_members, chromosome="19", position=1)
    with pytest.raises(vcfq.BadRequest, match="not both"):
        vcfq.cohort(cohort_members, query="chr19:1", chromosome="chr19")
    with pytest.raises(vcfq.BadRequest, match="manifest /nonexistent/manifest.tsv: does not exist"):
        vcfq.cohort("/nonexistent/manifest.tsv", query="chr19:1")


def test_store_cohorts_equal_the_cli(cli, tmp_path):
    store_dir = tmp_path / "store"
    store = vcfq.Store(store_dir)
    ids = [
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "0b0d6c4e-8d7f-4f34-9d59-5a8b3b1f0c11",
    ]
    store.add_many([(ids[0], copy_vcf("apoe.vcf.gz", tmp_path)),
                    [ids[1], copy_vcf("NA12878.pgx-extract.vcf.gz", tmp_path)]])
    unknown = "9e4c1c1a-2f0b-4a5e-9a43-6d1c8b7b1f00"
    request = "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2"
    (tmp_path / "ids.txt").write_text("\n".join([*ids, unknown]) + "\n")
    expected = cli_table(
        cli, tmp_path, "--store", str(store_dir), "--samples", str(tmp_path / "ids.txt"), "--schema", "openapi", request
    )
    table = vcfq.cohort([*ids, unknown], store=store, query=request, schema="openapi")
    assert table.equals(expected)
    assert table.column("status").to_pylist()[-1] == 404
    everything = cli_table(cli, tmp_path, "--store", str(store_dir), "--all", request)
    assert vcfq.cohort(store=store, query=request).equals(everything)


def test_polars_and_duckdb_read_the_table(cohort_members):
    polars = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    table = vcfq.cohort(cohort_members, chromosome="chr19", start_position=44905000, end_position=44910000)
    frame = polars.from_arrow(table)
    assert frame.shape == (table.num_rows, table.num_columns)
    single = vcfq.Sample(TESTDATA / "apoe.vcf.gz").query_json(
        chromosome="chr19", start_position=44905000, end_position=44910000
    )
    assert frame.filter(polars.col("sample_id") == "apoe")["position"].to_list() == [
        record["position"] for record in single["results"]
    ]
    connection = duckdb.connect()
    connection.register("tbl", table)
    rows = connection.execute(
        "select sample_id, count(position) from tbl where status = 200 group by sample_id order by sample_id"
    ).fetchall()
    assert ("apoe", 5) in rows and ("apoe-again", 5) in rows
    # The streaming reader, straight into DuckDB and polars.
    reader = vcfq.cohort_reader(cohort_members, chromosome="chr19", position=44908684)
    assert connection.execute("select count(*) from reader").fetchone()[0] == len(cohort_members)
    assert polars.from_arrow(vcfq.cohort_reader(cohort_members, chromosome="chr19", position=44908684)).height == len(cohort_members)
