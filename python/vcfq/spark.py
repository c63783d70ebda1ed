"""vcfq on Apache Spark: one request over a cohort of per-sample VCFs, the samples
split into partitions that executors answer with vcfq's indexed lookups.

Two ways in, one table (the schema of ``vcfq cohort --format arrow``, with Spark's
signed integer types):

- ``cohort_dataframe(spark, samples, **request)`` for Spark 3.3 and later (Hail's
  Spark 3.5 clusters included): partitions of samples go through ``mapInArrow``;
- ``spark.read.format("vcfq")`` for Spark 4 (after ``register(spark)``): a Python data
  source with the request and the sample list as options.

Every executor needs the ``vcfq`` package in its Python and must see the VCFs at the
paths given (shared storage: NFS, a FUSE mount of object storage, a cluster file
system). For rsID requests the driver resolves the rsIDs once and ships a small
excerpt of the dbSNP map (a few kilobytes) with the tasks, so the workers need no map.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import socket
import tempfile
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl

import pyarrow as pa

import vcfq

#: The table's columns in Spark's types (DDL).
SPARK_SCHEMA = (
    "sample_id string, status int, detail string, count bigint, query_rsid string, "
    "record bigint, chromosome string, position bigint, id string, rsid string, "
    "ref string, alt string, qual string, filter string, info string, format string, "
    "genotype string, gt string"
)

_INTEGER_COLUMNS = {"status": pa.int32(), "count": pa.int64(), "record": pa.int64(), "position": pa.int64()}

#: The cohort's Arrow columns as Spark reads them (unsigned integers become signed).
ARROW_SCHEMA = pa.schema(
    [pa.field(name, _INTEGER_COLUMNS.get(name, pa.string())) for name in vcfq.cohort_columns()]
)

_REQUEST_KEYS = (
    "chromosome",
    "position",
    "start_position",
    "end_position",
    "rsid",
    "limit",
    "offset",
    "query",
)


def _request_rsids(request: dict) -> list[str]:
    """The rsIDs a request asks for (from ``rsid`` or a ``query`` string)."""
    rsid = request.get("rsid")
    if rsid is None and request.get("query"):
        rsid = dict(parse_qsl(request["query"])).get("rsid")
    if rsid is None:
        return []
    if isinstance(rsid, str):
        return [token.strip() for token in rsid.split(",") if token.strip()]
    return list(rsid)


class _MapShipment:
    """The dbSNP map the workers use: a path they can open (shared storage), or an
    excerpt made on the driver, carried as its files' bytes."""

    def __init__(self, path: str | None = None, files: dict[str, bytes] | None = None):
        self.path = path
        self.files = files

    @classmethod
    def for_request(cls, dbsnp: Any, request: dict, resolve_on_driver: bool) -> "_MapShipment | None":
        if dbsnp is None:
            return None
        path = dbsnp.path if isinstance(dbsnp, vcfq.DbsnpMap) else os.fspath(dbsnp)
        rsids = _request_rsids(request)
        if not (resolve_on_driver and rsids):
            return cls(path=path)
        opened = dbsnp if isinstance(dbsnp, vcfq.DbsnpMap) else vcfq.DbsnpMap(path)
        with tempfile.TemporaryDirectory(prefix="vcfq-excerpt-") as scratch:
            out = os.path.join(scratch, "map")
            opened.excerpt(rsids, out)
            files = {}
            for name in sorted(os.listdir(out)):
                with open(os.path.join(out, name), "rb") as handle:
                    files[name] = handle.read()
        return cls(files=files)

    def open(self):
        """The map for this worker: the path (the tasks open it), or the excerpt,
        written once per machine and content and opened once per Python worker.

        The excerpt goes to ``vcfq-excerpt-<digest>`` in the temporary directory,
        written beside it and renamed into place (so concurrent tasks never see half of
        one), private to this user (0700). What is found there is used only if its
        files are these bytes; anything else (another user's directory, a half-cleaned
        one) makes this worker write its own private copy instead."""
        if self.path is not None:
            return self.path
        # By the tables' bytes: the same panel of the same map is the same excerpt, job
        # after job (meta.json differs only in when and where it was built).
        digest = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            if name != "meta.json":
                digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
        key = digest.hexdigest()[:32]
        if key not in _EXCERPTS:
            shared = os.path.join(tempfile.gettempdir(), f"vcfq-excerpt-{key}")
            if not self._holds_these_files(shared):
                scratch = self._write(tempfile.mkdtemp(prefix=f".vcfq-excerpt-{key}-"))
                try:
                    os.rename(scratch, shared)
                except OSError:
                    # Another task put it in place first, or something else is there.
                    shutil.rmtree(scratch, ignore_errors=True)
            if not self._holds_these_files(shared):
                shared = self._write(tempfile.mkdtemp(prefix=f"vcfq-excerpt-{key}-"))
            _EXCERPTS[key] = vcfq.DbsnpMap(shared)
        return _EXCERPTS[key]

    def _write(self, directory: str) -> str:
        for name, data in self.files.items():
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(data)
        return directory

    def _holds_these_files(self, directory: str) -> bool:
        try:
            if os.stat(directory).st_uid != os.getuid():
                return False
            for name, data in self.files.items():
                with open(os.path.join(directory, name), "rb") as handle:
                    if handle.read() != data:
                        return False
        except OSError:
            return False
        return True


#: Excerpts opened in this (worker) process, by content.
_EXCERPTS: dict[str, vcfq.DbsnpMap] = {}


def _executor_identity() -> str:
    """``host:executor-pid:python-pid``: the JVM executor process above this Python
    worker (found through /proc on Linux; the parent process elsewhere)."""
    python_pid = os.getpid()
    pid = python_pid
    executor = os.getppid()
    for _ in range(8):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{parent}/cmdline", "rb") as handle:
                command = handle.read()
        except (OSError, ValueError, IndexError):
            break
        if b"CoarseGrainedExecutorBackend" in command or b"SparkSubmit" in command:
            executor = parent
            break
        pid = parent
    return f"{socket.gethostname()}:{executor}:{python_pid}"


def _answer(
    members: list[tuple[str, str]],
    request: dict,
    shipment: "_MapShipment | None",
    options: dict,
    with_worker: bool,
) -> Iterator[pa.RecordBatch]:
    """A partition's members answered as Spark-typed record batches."""
    if not members:
        return
    dbsnp = shipment.open() if shipment is not None else None
    reader = vcfq.cohort_reader(members, dbsnp=dbsnp, **request, **options)
    worker = _executor_identity() if with_worker else None
    for batch in reader:
        batch = batch.cast(ARROW_SCHEMA)
        if worker is not None:
            batch = batch.append_column("worker", pa.array([worker] * batch.num_rows, pa.string()))
        yield batch


def _check_unique(members: list[tuple[str, str]]) -> None:
    """Refuses a sample id given twice (vcfq cohort refuses it too), before any task."""
    seen = set()
    for id, _ in members:
        if id in seen:
            raise vcfq.BadRequest(f"sample id {id!r} is given twice")
        seen.add(id)


def cohort_dataframe(
    spark,
    samples,
    *,
    dbsnp: Any = None,
    schema: str = "docs",
    base_url: str | None = None,
    partition_size: int | None = 1000,
    threads: int = 0,
    fail_fast: bool = False,
    resolve_on_driver: bool = True,
    sample_id_column: str = "sample_id",
    vcf_path_column: str = "vcf_path",
    with_worker: bool = False,
    **request,
):
    """One request answered for every sample, as a Spark DataFrame with the cohort
    table's columns (``SPARK_SCHEMA``; one row per sample and record, a failing sample
    one row with its ``status`` and ``detail``).

    ``samples``: a manifest path, a list of ``(sample_id, vcf_path)`` pairs, or a Spark
    DataFrame with ``sample_id_column`` and ``vcf_path_column``. The request is given as
    for ``vcfq.cohort`` (``chromosome=``, ``position=``, ``start_position=``,
    ``end_position=``, ``rsid=``, ``limit=``, ``offset=``, or ``query=``) and is checked
    here, on the driver, before any task starts.

    ``partition_size``: samples a task answers (a list is split into contiguous slices
    of that size; a DataFrame is repartitioned to that size; ``None`` keeps a
    DataFrame's own partitions). ``threads``: vcfq threads per task (0: one per core
    of the executor's machine; set it to ``spark.task.cpus``). ``resolve_on_driver``:
    for rsID requests, resolve the rsIDs on the driver and ship a map excerpt to the
    workers instead of having each open ``dbsnp`` itself. ``with_worker``: add a
    ``worker`` column (``host:executor-pid:python-pid``) saying who answered each row.
    """
    unknown = set(request) - set(_REQUEST_KEYS)
    if unknown:
        raise TypeError(f"cohort_dataframe() got unexpected keyword arguments: {sorted(unknown)}")
    request = {key: value for key, value in request.items() if value is not None}
    if partition_size is not None and partition_size < 1:
        raise vcfq.BadRequest("partition_size must be at least 1 (or None)")
    # The request (and the map) are checked once, here: a bad request fails at once,
    # with vcfq's own message, instead of in every task.
    vcfq.check_request(dbsnp=dbsnp, schema=schema, **request)
    shipment = _MapShipment.for_request(dbsnp, request, resolve_on_driver)
    options = {"schema": schema, "base_url": base_url, "threads": threads, "fail_fast": fail_fast}

    if isinstance(samples, (str, os.PathLike)):
        samples = [(id, path) for id, path, _ in vcfq.read_manifest(samples)]
    if isinstance(samples, (list, tuple)):
        pairs = [(str(id), os.fspath(path)) for id, path in samples]
        _check_unique(pairs)
        size = partition_size or 1000
        slices = max(1, math.ceil(len(pairs) / size))
        rdd = spark.sparkContext.parallelize(pairs, slices)
        frame = spark.createDataFrame(rdd, "sample_id string, vcf_path string")
        id_column, path_column = "sample_id", "vcf_path"
    else:
        frame = samples.select(sample_id_column, vcf_path_column)
        id_column, path_column = sample_id_column, vcf_path_column
        if partition_size is not None:
            frame = frame.repartition(max(1, math.ceil(frame.count() / partition_size)))

    def answer_partition(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        members = []
        for batch in batches:
            ids = batch.column(id_column).to_pylist()
            paths = batch.column(path_column).to_pylist()
            members.extend(zip(ids, paths))
        yield from _answer(members, request, shipment, options, with_worker)

    output_schema = SPARK_SCHEMA + (", worker string" if with_worker else "")
    return frame.mapInArrow(answer_partition, output_schema)


def to_arrow(dataframe) -> pa.Table:
    """A cohort DataFrame collected as a pyarrow Table with ``ARROW_SCHEMA``'s types (and
    ``worker``, when asked for)."""
    if hasattr(dataframe, "toArrow"):  # Spark 4
        return dataframe.toArrow()
    # Spark 3: through pandas, whose nullable integer columns come back as floats.
    schema = pa.schema([ARROW_SCHEMA.field(name) if name in ARROW_SCHEMA.names
                        else pa.field(name, pa.string()) for name in dataframe.columns])
    return pa.Table.from_pandas(dataframe.toPandas(), schema=schema, preserve_index=False)


# ---------------------------------------------------------------------------------------
# The Spark 4 data source: spark.read.format("vcfq")

try:
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
except ImportError:  # Spark before 4.0: cohort_dataframe only.
    DataSource = None


if DataSource is not None:

    class VcfqDataSource(DataSource):
        """``spark.read.format("vcfq")``. Options:

        - the samples: ``manifest`` (a manifest path the driver reads) or ``samples``
          (JSON: ``[["id", "path"], ...]``);
        - the request: ``query`` (the API's query string, or a region such as
          ``chr19:44905000-44910000``), or ``chromosome``, ``position``,
          ``start_position``, ``end_position``, ``rsid``, ``limit``, ``offset``;
        - ``dbsnp`` (a map directory), ``schema`` (``docs``/``openapi``),
          ``base_url``, ``partitionSize`` (samples a task; default 1000), ``threads``,
          ``failFast``, ``resolveOnDriver`` (default true).
        """

        @classmethod
        def name(cls) -> str:
            return "vcfq"

        def schema(self) -> str:
            return SPARK_SCHEMA

        def reader(self, schema) -> "DataSourceReader":
            return _VcfqReader(dict(self.options))

    class _Partition(InputPartition):
        def __init__(self, members: list[tuple[str, str]]):
            super().__init__(members)
            self.members = members

    def _option(options: dict, name: str, default: Any = None) -> Any:
        # Spark passes option names case-insensitively (lower-cased).
        for key, value in options.items():
            if key.lower() == name.lower():
                return value
        return default

    def _flag(value: Any) -> bool:
        return str(value).strip().lower() in ("1", "true", "yes")

    class _VcfqReader(DataSourceReader):
        def __init__(self, options: dict):
            manifest = _option(options, "manifest")
            listed = _option(options, "samples")
            if (manifest is None) == (listed is None):
                raise vcfq.BadRequest("give the samples as one of the options manifest or samples")
            if manifest is not None:
                members = [(id, path) for id, path, _ in vcfq.read_manifest(manifest)]
            else:
                members = [(str(id), str(path)) for id, path in json.loads(listed)]
            _check_unique(members)
            self.request = {
                key: _option(options, key)
                for key in _REQUEST_KEYS
                if _option(options, key) is not None
            }
            dbsnp = _option(options, "dbsnp")
            schema = _option(options, "schema", "docs")
            base_url = _option(options, "base_url") or _option(options, "baseUrl")
            self.options = {
                "schema": schema,
                "base_url": base_url,
                "threads": int(_option(options, "threads", 0)),
                "fail_fast": _flag(_option(options, "failFast", "false")),
            }
            # Checked on the driver, with vcfq's message.
            vcfq.check_request(dbsnp=dbsnp, schema=schema, **self.request)
            self.shipment = _MapShipment.for_request(
                dbsnp, self.request, _flag(_option(options, "resolveOnDriver", "true"))
            )
            size = int(_option(options, "partitionSize", 1000))
            if size < 1:
                raise vcfq.BadRequest("partitionSize must be at least 1")
            self.slices = [members[i : i + size] for i in range(0, len(members), size)]

        def partitions(self):
            # Handed out once: the reader that travels with the tasks keeps no members.
            slices, self.slices = self.slices, None
            return [_Partition(members) for members in slices]

        def read(self, partition):
            yield from _answer(partition.members, self.request, self.shipment, self.options, False)


def register(spark) -> None:
    """Registers ``spark.read.format("vcfq")`` (Spark 4 and later)."""
    if DataSource is None:
        raise RuntimeError(
            "spark.read.format(\"vcfq\") needs Spark 4 (pyspark.sql.datasource); "
            "use vcfq.spark.cohort_dataframe on earlier versions"
        )
    spark.dataSource.register(VcfqDataSource)
