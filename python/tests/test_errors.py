"""Errors: one small hierarchy by the hosted API's class, with the CLI's messages."""

from __future__ import annotations

import pytest

import vcfq

from conftest import TESTDATA

APOE = TESTDATA / "apoe.vcf.gz"


def cli_message(cli, *args: str) -> tuple[int, str]:
    result = cli(*args, check=False)
    stderr = result.stderr.decode().strip()
    assert stderr.startswith("vcfq: "), stderr
    return result.returncode, stderr.removeprefix("vcfq: ")


def test_the_hierarchy():
    assert issubclass(vcfq.BadRequest, vcfq.VcfqError)
    assert issubclass(vcfq.BadRequest, ValueError)
    assert issubclass(vcfq.NotFound, vcfq.VcfqError)
    assert issubclass(vcfq.NotFound, LookupError)
    assert not issubclass(vcfq.VcfqError, (ValueError, LookupError))


@pytest.mark.parametrize(
    "query",
    [
        "chromosome=19&position=44908684",
        "chromosome=chr19&position=0",
        "chromosome=chr19&start_position=1&end_position=200000",
        "chromosome=chr19&position=44908684&rsid=rs429358",
        "rsid=rs429358",  # no dbSNP map
        "rsid=429358",
        "position=44908684",
        "chromosome=chr19&start_position=10&end_position=5",
    ],
)
def test_bad_requests(cli, query):
    code, message = cli_message(cli, "query", "--vcf", str(APOE), query)
    assert code == 2
    sample = vcfq.Sample(APOE)
    with pytest.raises(vcfq.BadRequest) as raised:
        sample.query_string(query)
    assert str(raised.value) == message
    assert raised.value.status == 400 and raised.value.exit_code == 2
    # A ValueError too, for code that catches the built-in classes.
    with pytest.raises(ValueError):
        sample.query_string(query)


def test_a_missing_vcf_is_not_found(cli, tmp_path):
    missing = tmp_path / "missing.vcf.gz"
    code, message = cli_message(cli, "query", "--vcf", str(missing), "chr19:1")
    assert code == 3
    with pytest.raises(vcfq.NotFound) as raised:
        vcfq.Sample(missing)
    assert str(raised.value) == message
    assert isinstance(raised.value, LookupError) and raised.value.status == 404


def test_an_unknown_store_sample_is_not_found(tmp_path):
    store = vcfq.Store(tmp_path / "store")
    with pytest.raises(vcfq.NotFound, match="3fa85f64-5717-4562-b3fc-2c963f66afa6"):
        store.get("3fa85f64-5717-4562-b3fc-2c963f66afa6")
    with pytest.raises(vcfq.BadRequest):
        store.get("not-a-uuid")


def test_a_corrupt_map_is_an_internal_error(cli, tmp_path):
    broken = tmp_path / "map"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    code, message = cli_message(
        cli, "query", "--vcf", str(APOE), "--dbsnp", str(broken), "rsid=rs429358"
    )
    assert code == 1
    with pytest.raises(vcfq.VcfqError) as raised:
        vcfq.DbsnpMap(broken)
    assert type(raised.value) is vcfq.VcfqError
    assert str(raised.value) == message
    assert raised.value.status == 500


def test_a_damaged_vcf_is_an_internal_error(cli, cohort_members):
    damaged = dict(cohort_members)["damaged"]
    code, message = cli_message(cli, "query", "--vcf", str(damaged), "chr1:11796321")
    assert code == 1
    with pytest.raises(vcfq.VcfqError) as raised:
        vcfq.Sample(damaged).query(chromosome="chr1", position=11796321)
    assert type(raised.value) is vcfq.VcfqError
    assert str(raised.value) == message


def test_a_bad_schema_names_the_choices():
    with pytest.raises(vcfq.BadRequest, match='"docs" or "openapi"'):
        vcfq.Sample(APOE).query(chromosome="chr19", position=1, schema="yaml")
