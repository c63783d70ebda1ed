"""Type stubs for vcfq's native module (re-exported by ``vcfq``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Union

import pyarrow

from ._body import Body

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
Schema = Literal["docs", "openapi"]
IntOrStr = Union[int, str]
Rsids = Union[str, Sequence[str]]

class DbsnpMap:
    """A dbSNP map (built by ``vcfq dbsnp build`` or ``build_dbsnp_map``), memory-mapped.
    Pickles by path."""

    def __init__(self, path: StrPath) -> None: ...
    @property
    def path(self) -> str:
        """The map's directory."""
    @property
    def metadata(self) -> dict[str, Any]:
        """The map's ``meta.json``: source, dbSNP build, counts, files."""
    def resolve(self, rsid: str) -> dict[str, Any] | None:
        """``{"rsid": current rsID, "loci": [(chromosome, position), ...]}``, or ``None``
        when the map does not hold the rsID."""
    def check(self) -> None:
        """Reads every file of the map and checks its tables; raises ``VcfqError``."""
    def excerpt(self, rsids: Rsids, out: StrPath) -> DbsnpMap:
        """Builds into ``out`` a small map that answers ``rsids`` exactly as this one
        does (their loci, merges, and every allele at those loci), and opens it."""

class Sample:
    """One sample's bgzipped, tabix-indexed GRCh38 VCF, opened and checked once.

    Query it as often as needed, from any number of threads: the GIL is released
    while vcfq reads. Pickles by path (the VCF, the dbSNP map's directory)."""

    def __init__(
        self,
        path: StrPath,
        *,
        dbsnp: DbsnpMap | StrPath | None = None,
        vcf_sample: str | None = None,
        base_url: str | None = None,
    ) -> None:
        """Opens ``path`` (its ``.tbi``/``.csi`` beside it). ``dbsnp``: a map for rsID
        queries and the ``rsid`` field. ``vcf_sample``: the VCF column that fills
        ``genotype`` (the first by default). ``base_url``: where ``openapi`` paging links
        start (``http://127.0.0.1:8080`` by default)."""
    @property
    def path(self) -> str: ...
    @property
    def vcf_sample(self) -> str | None: ...
    @property
    def dbsnp(self) -> str | None: ...
    def query(
        self,
        *,
        chromosome: str | None = None,
        position: IntOrStr | None = None,
        start_position: IntOrStr | None = None,
        end_position: IntOrStr | None = None,
        rsid: Rsids | None = None,
        limit: IntOrStr | None = None,
        offset: IntOrStr | None = None,
        schema: Schema = "docs",
        base_url: str | None = None,
    ) -> Body:
        """The exact response bytes the hosted API sends for this request (a ``bytes``
        whose ``str()``, and so ``print()``, is the JSON text).

        A point (``chromosome``, ``position``), a window of up to 100 kb
        (``chromosome``, ``start_position``, ``end_position``), or 1 to 50 rsIDs
        (``rsid``: a list, or a comma-separated string; needs ``dbsnp``), paged with
        ``limit`` and ``offset``. Raises ``BadRequest`` for an invalid request."""
    def query_json(
        self,
        *,
        chromosome: str | None = None,
        position: IntOrStr | None = None,
        start_position: IntOrStr | None = None,
        end_position: IntOrStr | None = None,
        rsid: Rsids | None = None,
        limit: IntOrStr | None = None,
        offset: IntOrStr | None = None,
        schema: Schema = "docs",
        base_url: str | None = None,
    ) -> dict[str, Any]:
        """``query``'s response, parsed (``json.loads``)."""
    def query_string(
        self, query: str, *, schema: Schema = "docs", base_url: str | None = None
    ) -> Body:
        """A request given as the hosted API's query string
        (``"chromosome=chr19&position=44908684"``) or a region (``"chr19:44908684"``,
        ``"chr19:44905000-44910000"``)."""
    def query_string_json(
        self, query: str, *, schema: Schema = "docs", base_url: str | None = None
    ) -> dict[str, Any]:
        """``query_string``'s response, parsed."""

class StoredSample:
    """A sample registered in a ``Store``."""

    id: str
    vcf: str
    index: str
    size: int
    modified_unix_seconds: int
    contig_naming: str
    vcf_sample: str | None
    added_unix_seconds: int
    checked: bool

class Store:
    """A sample store (``vcfq sample add``'s directory): samples by UUID. Pickles by
    path."""

    def __init__(self, path: StrPath) -> None: ...
    @property
    def path(self) -> str: ...
    def get(self, id: str) -> StoredSample:
        """The sample registered under ``id``; raises ``NotFound``."""
    def add(self, id: str, vcf: StrPath, *, vcf_sample: str | None = None) -> StoredSample:
        """Checks the VCF and registers it under ``id`` (a UUID)."""
    def add_many(
        self,
        samples: Iterable[tuple[str, StrPath] | tuple[str, StrPath, str | None]],
        *,
        defer_checks: bool = False,
    ) -> list[StoredSample]:
        """Registers many samples in one transaction: all or none."""
    def remove(self, id: str) -> StoredSample: ...
    def list(self) -> list[StoredSample]: ...
    def sample(self, id: str, *, dbsnp: DbsnpMap | StrPath | None = None) -> Sample:
        """The sample ``id``, opened as ``vcfq query --sample`` opens it."""
    def __contains__(self, id: object) -> bool:
        """Whether ``id`` (a UUID string) is registered; anything else is not."""
    def __len__(self) -> int: ...

def build_dbsnp_map(
    source: StrPath | Sequence[StrPath],
    out: StrPath,
    *,
    merged: StrPath | None = None,
    memory_bytes: int | None = None,
    threads: int | None = None,
    progress: Callable[[dict[str, Any]], object] | None = None,
) -> dict[str, Any]:
    """Builds a dbSNP map from dbSNP VCFs (``vcfq dbsnp build``); returns its metadata.
    ``progress`` is called a few times a second while the source is read and the tables
    written, with ``phase``, ``rows_read``, ``source_bytes_read``,
    ``source_bytes_total`` and ``keys_written``; an exception it raises (or Ctrl-C)
    stops the build at its next check: no map is written, its temporary files are
    removed, and the exception is raised."""

def _cohort(mode: Literal["table", "stream", "check"], samples: Any = None, **options: Any) -> Any:
    """Behind ``vcfq.cohort``, ``vcfq.cohort_reader`` and ``vcfq.check_request``."""

def cohort_columns() -> list[str]:
    """The cohort table's column names, in order."""

def read_manifest(path: StrPath) -> list[tuple[str, str, str | None]]:
    """A cohort manifest (``sample_id<TAB>vcf_path`` lines, as ``vcfq cohort
    --manifest`` reads them): ``[(sample_id, vcf_path, vcf_sample), ...]``."""
