"""vcfq.spark on a real Spark standalone cluster (a master and two workers on
127.0.0.1, started from the pyspark package): the DataFrame equals `vcfq cohort` on the
same samples, rows come from two executor processes, and killing a worker in the
middle of a job still gives the complete, identical result through Spark's retries.

Skipped when pyspark or Java is missing, unless VCFQ_REQUIRE_SPARK=1 (CI sets it):
then their absence fails."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pyarrow as pa
import pytest

import vcfq

from conftest import TESTDATA, write_damaged_vcf

REQUIRED = os.environ.get("VCFQ_REQUIRE_SPARK") == "1"
try:
    import pyspark  # noqa: F401
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("pyspark is not installed", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if REQUIRED:
        raise RuntimeError("VCFQ_REQUIRE_SPARK=1 but there is no java")
    pytest.skip("Spark needs Java", allow_module_level=True)

import vcfq.spark  # noqa: E402
from spark_cluster import Cluster, alive, executor_count, stop_session  # noqa: E402

VCFS = [
    TESTDATA / "apoe.vcf.gz",
    TESTDATA / "NA12878.pgx-extract.vcf.gz",
    TESTDATA / "HG00096.chrX-extract.vcf.gz",
    TESTDATA / "dbsnp/crafted-sample.vcf.gz",
    TESTDATA / "pharmcat/pharmcat_positions.vcf.gz",
]
PANEL = "rs12248560,rs4244285,rs1050828,rs429358,rs7412,rs1801133,rs9923231,rs999999999"


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """200 samples: the real VCFs over and over under their own ids, and two that fail
    (a missing file, a damaged one)."""
    root = tmp_path_factory.mktemp("spark-cohort")
    damaged = write_damaged_vcf(root)
    out = [(f"sample-{i:03}", str(VCFS[i % len(VCFS)])) for i in range(198)]
    out.insert(57, ("missing", str(root / "missing.vcf.gz")))
    out.insert(131, ("damaged", str(damaged)))
    return out


@pytest.fixture(scope="module")
def manifest(members, tmp_path_factory):
    path = tmp_path_factory.mktemp("spark-manifest") / "cohort.tsv"
    path.write_text("".join(f"{id}\t{vcf}\n" for id, vcf in members))
    return path


@pytest.fixture(scope="module")
def cluster():
    with Cluster(workers=2) as running:
        yield running
    # Nothing the cluster started is left.
    assert not [pid for pid in running.started if alive(pid)]


@pytest.fixture(scope="module")
def spark(cluster):
    session = cluster.session(**{"spark.task.maxFailures": "8"})
    yield session
    stop_session(session)


def cli_table(cli, tmp_path, manifest, *args) -> pa.Table:
    out = tmp_path / "cohort.arrow"
    cli("cohort", "--manifest", str(manifest), *args, "--format", "arrow", "--out", str(out))
    with pa.ipc.open_stream(out) as reader:
        return reader.read_all().cast(vcfq.spark.ARROW_SCHEMA)


def executors(table: pa.Table) -> set[str]:
    return {worker.split(":")[1] for worker in table.column("worker").to_pylist()}


def test_the_dataframe_equals_vcfq_cohort(cli, spark, members, manifest, dbsnp_map, tmp_path):
    assert executor_count(spark) == 2
    for request, args in [
        ({"rsid": PANEL}, ["--dbsnp", str(dbsnp_map), f"rsid={PANEL}"]),
        (
            {"chromosome": "chr10", "start_position": 94760000, "end_position": 94860000, "limit": 4},
            ["--dbsnp", str(dbsnp_map), "chromosome=chr10&start_position=94760000&end_position=94860000&limit=4"],
        ),
    ]:
        expected = cli_table(cli, tmp_path, manifest, *args)
        assert set(expected.column("status").to_pylist()) == {200, 404, 500}
        frame = vcfq.spark.cohort_dataframe(
            spark, members, dbsnp=dbsnp_map, partition_size=25, threads=1, with_worker=True, **request
        )
        assert frame.rdd.getNumPartitions() == 8
        table = vcfq.spark.to_arrow(frame)
        # Rows made by at least two executor processes (JVMs), not the driver.
        assert len(executors(table)) >= 2, executors(table)
        assert table.drop_columns(["worker"]).equals(expected)
    # The manifest path, and the map shipped as a path instead of an excerpt.
    frame = vcfq.spark.cohort_dataframe(
        spark, manifest, dbsnp=dbsnp_map, rsid=PANEL, resolve_on_driver=False, partition_size=50
    )
    assert vcfq.spark.to_arrow(frame).equals(cli_table(cli, tmp_path, manifest, "--dbsnp", str(dbsnp_map), f"rsid={PANEL}"))


def test_a_dataframe_of_samples_and_bad_requests(cli, spark, members, manifest, tmp_path):
    samples = spark.createDataFrame(members, "id string, path string")
    frame = vcfq.spark.cohort_dataframe(
        spark, samples, sample_id_column="id", vcf_path_column="path",
        chromosome="chr19", position=44908684, partition_size=40,
    )
    assert frame.rdd.getNumPartitions() == 5
    expected = cli_table(cli, tmp_path, manifest, "chromosome=chr19&position=44908684")
    got = vcfq.spark.to_arrow(frame).sort_by([("sample_id", "ascending"), ("record", "ascending")])
    assert got.equals(expected.sort_by([("sample_id", "ascending"), ("record", "ascending")]))
    # A bad request fails on the driver, at once, with vcfq's message.
    with pytest.raises(vcfq.BadRequest, match='did you mean "chr19"'):
        vcfq.spark.cohort_dataframe(spark, members, chromosome="19", position=1)
    with pytest.raises(vcfq.BadRequest, match="rsid queries need a dbSNP map"):
        vcfq.spark.cohort_dataframe(spark, members, rsid="rs429358")


def test_the_spark4_data_source(cli, spark, members, manifest, dbsnp_map, tmp_path):
    if vcfq.spark.DataSource is None:
        pytest.skip("Python data sources need Spark 4")
    vcfq.spark.register(spark)
    expected = cli_table(cli, tmp_path, manifest, "--dbsnp", str(dbsnp_map), f"rsid={PANEL}")
    frame = (
        spark.read.format("vcfq")
        .option("manifest", str(manifest))
        .option("query", f"rsid={PANEL}")
        .option("dbsnp", str(dbsnp_map))
        .option("partitionSize", "30")
        .option("threads", "1")
        .load()
    )
    assert frame.rdd.getNumPartitions() == 7
    assert vcfq.spark.to_arrow(frame).equals(expected)
    # The wide sample x rsID genotype table of docs/spark.md.
    wide = (
        frame.where("status = 200")
        .groupBy("sample_id")
        .pivot("query_rsid")
        .agg({"gt": "first"})
    )
    assert wide.count() == 198


def test_killing_a_worker_mid_job_gives_the_same_result(cli, cluster, spark, members, manifest, dbsnp_map, tmp_path):
    from pyspark.sql.functions import udf

    expected = cli_table(cli, tmp_path, manifest, "--dbsnp", str(dbsnp_map), f"rsid={PANEL}")

    # Slow each task down (50 ms a sample, in the same stage) so that the job is still
    # running when a worker is killed.
    @udf("string")
    def slowly(path):
        time.sleep(0.05)
        return path

    samples = spark.createDataFrame(
        spark.sparkContext.parallelize(members, 100), "sample_id string, vcf_path string"
    ).withColumn("vcf_path", slowly("vcf_path"))
    frame = vcfq.spark.cohort_dataframe(
        spark, samples, rsid=PANEL, dbsnp=dbsnp_map, partition_size=None, threads=1, with_worker=True
    )
    tracker = spark.sparkContext.statusTracker()
    killed: dict = {}

    def kill_when_running() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            for stage_id in tracker.getActiveStageIds():
                stage = tracker.getStageInfo(stage_id)
                if stage and stage.numTasks == 100 and stage.numCompletedTasks >= 10:
                    killed["completed"] = stage.numCompletedTasks
                    killed["pids"] = cluster.kill_worker(1)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    table = vcfq.spark.to_arrow(frame)
    killer.join()
    assert killed, "the job ended before a worker could be killed"
    assert killed["completed"] < 100
    assert not [pid for pid in killed["pids"] if alive(pid)]
    # Complete and identical, in the members' order; tasks of the killed executor were
    # run again by the other.
    assert table.drop_columns(["worker"]).equals(expected)
    assert len(executors(table)) >= 2
    assert executor_count(spark) == 1
