"""vcfq.Store and vcfq.build_dbsnp_map."""

from __future__ import annotations

import pytest

import vcfq

from conftest import TESTDATA, copy_vcf

ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
OTHER = "0b0d6c4e-8d7f-4f34-9d59-5a8b3b1f0c11"


def test_store_lifecycle(cli, tmp_path):
    store = vcfq.Store(tmp_path / "store")
    assert len(store) == 0 and ID not in store and 5 not in store
    apoe = copy_vcf("apoe.vcf.gz", tmp_path)
    na12878 = copy_vcf("NA12878.pgx-extract.vcf.gz", tmp_path)
    added = store.add(ID, apoe)
    assert added.id == ID and added.vcf.endswith("apoe.vcf.gz") and added.checked
    assert ID in store and "not-a-uuid" not in store and len(store) == 1
    assert store.get(ID).size == apoe.stat().st_size
    # The CLI sees what Python added, and answers the same bytes.
    expected = cli(
        "query", "--store", str(tmp_path / "store"), "--sample", ID, "--schema", "openapi",
        "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2",
    ).stdout
    sample = store.sample(ID)
    assert sample.query(
        chromosome="chr19", start_position=44905000, end_position=44910000, limit=2, schema="openapi"
    ) + b"\n" == expected
    with pytest.raises(vcfq.BadRequest, match=ID):
        store.add(ID, apoe)
    # All or none: the second sample's VCF is missing, so neither is added.
    with pytest.raises(vcfq.NotFound, match="none.vcf.gz"):
        store.add_many([(OTHER, na12878), ("1b0d6c4e-8d7f-4f34-9d59-5a8b3b1f0c11", tmp_path / "none.vcf.gz")])
    assert len(store) == 1
    store.add_many([(OTHER, na12878, None)], defer_checks=True)
    assert [s.id for s in store.list()] == sorted([ID, OTHER])
    assert not store.get(OTHER).checked
    assert store.remove(ID).id == ID
    assert ID not in store
    with pytest.raises(vcfq.NotFound):
        store.remove(ID)


def test_build_dbsnp_map_with_progress(cli, dbsnp_map, tmp_path):
    reports = []
    metadata = vcfq.build_dbsnp_map(
        [TESTDATA / "pharmcat/pharmcat_positions.vcf.gz", TESTDATA / "dbsnp/crafted.vcf"],
        tmp_path / "map",
        progress=reports.append,
    )
    assert metadata["counts"] == vcfq.DbsnpMap(dbsnp_map).metadata["counts"]
    assert reports and reports[0]["phase"] == "reading"
    assert {"rows_read", "source_bytes_read", "source_bytes_total", "keys_written"} <= set(reports[0])
    # The map answers as the CLI's does.
    for query in ["rsid=rs429358,rs7412,rs1801133", "rsid=rs501,rs500&limit=1"]:
        built = vcfq.Sample(TESTDATA / "dbsnp/crafted-sample.vcf.gz", dbsnp=tmp_path / "map")
        reference = vcfq.Sample(TESTDATA / "dbsnp/crafted-sample.vcf.gz", dbsnp=dbsnp_map)
        assert built.query_string(query) == reference.query_string(query)


def test_an_exception_in_the_progress_callback_stops_the_build(tmp_path):
    # A source big enough to be read in many chunks (about 25 MB).
    source = tmp_path / "dbsnp.vcf"
    with source.open("w") as out:
        out.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i in range(1, 600_001):
            out.write(f"chr1\t{i * 10}\trs{i}\tA\tG\t.\t.\tRS={i};dbSNPBuildID=156;SSR=0\n")

    class Stop(Exception):
        pass

    calls = []

    def progress(report):
        calls.append(report)
        raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        vcfq.build_dbsnp_map(source, tmp_path / "map", progress=progress, threads=1)
    assert len(calls) == 1
    assert calls[0]["rows_read"] < 600_000
    # Stopped: no map, and no temporary files beside where it would have been.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dbsnp.vcf"]


def test_build_errors(tmp_path):
    with pytest.raises(vcfq.BadRequest, match="none.vcf: does not exist"):
        vcfq.build_dbsnp_map(tmp_path / "none.vcf", tmp_path / "map")
    with pytest.raises(vcfq.BadRequest):
        vcfq.build_dbsnp_map(TESTDATA / "dbsnp/grch37-reference.vcf", tmp_path / "map")
    with pytest.raises(vcfq.BadRequest, match="at least one"):
        vcfq.build_dbsnp_map([], tmp_path / "map")
