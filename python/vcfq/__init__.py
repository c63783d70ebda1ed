"""vcfq: the hosted variant-level API's exact JSON from local bgzipped, tabix-indexed
GRCh38 VCFs, as a Python library.

>>> import vcfq
>>> sample = vcfq.Sample("testdata/apoe.vcf.gz")
>>> print(sample.query(chromosome="chr19", position=44908684))  # doctest: +ELLIPSIS
{"meta":{"count":1},"results":[{"chromosome":"chr19","position":44908684,"rsid":"rs429358",...}]}

``Sample.query`` returns the response bytes (a ``vcfq.Body``: ``bytes`` whose ``str()``
is the JSON text), ``Sample.query_json`` the parsed dict;
``vcfq.cohort`` answers one request for many samples as a ``pyarrow.Table``.
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, TypedDict, Union

from . import _native
from ._body import Body
from ._errors import BadRequest, NotFound, VcfqError
from ._native import (
    DbsnpMap,
    Sample,
    Store,
    StoredSample,
    __version__,
    build_dbsnp_map,
    cohort_columns,
    read_manifest,
)

if TYPE_CHECKING:
    import os

    import pyarrow
    from typing_extensions import Unpack

__all__ = [
    "BadRequest",
    "Body",
    "CohortOptions",
    "DbsnpMap",
    "NotFound",
    "Request",
    "Sample",
    "Store",
    "StoredSample",
    "VcfqError",
    "__version__",
    "build_dbsnp_map",
    "check_request",
    "cohort",
    "cohort_columns",
    "cohort_reader",
    "read_manifest",
]


class Request(TypedDict, total=False):
    """A request's keywords, named as the hosted API names its query parameters, or
    ``query``: the API's query string (or a region such as ``chr19:44905000-44910000``)."""

    chromosome: str
    position: int | str
    start_position: int | str
    end_position: int | str
    rsid: str | Sequence[str]
    limit: int | str
    offset: int | str
    query: str


class CohortOptions(Request, total=False):
    """How a cohort is answered, beside the request."""

    #: With ``store``, ``samples`` are store ids (``None``: every sample).
    store: Store
    #: A ``DbsnpMap`` or a map directory.
    dbsnp: DbsnpMap | str | os.PathLike[str]
    #: ``"docs"`` (default) or ``"openapi"``.
    schema: str
    #: Where ``openapi`` paging links start.
    base_url: str
    #: Samples answered at once (0, the default: a thread per core).
    threads: int
    #: Raise the first failing sample's error instead of recording it as a row.
    fail_fast: bool


#: A manifest path, a dict of id to VCF path, ``(id, vcf)`` or ``(id, vcf, vcf_sample)``
#: pairs, or (with ``store=``) store ids.
Samples = Union[
    str,
    "os.PathLike[str]",
    Mapping[str, Any],
    Iterable[tuple],
    Iterable[str],
    None,
]


def cohort(samples: Samples = None, **options: Unpack[CohortOptions]) -> pyarrow.Table:
    """One request answered for every sample, as the long table of ``vcfq cohort
    --format arrow`` (columns: ``cohort_columns()``), a ``pyarrow.Table`` handed over
    through the Arrow C stream interface.

    >>> vcfq.cohort({"a": "a.vcf.gz"}, chromosome="chr19", position=44908684)  # doctest: +SKIP

    A failing sample is one row with its ``status`` and ``detail``; with
    ``fail_fast=True`` its error is raised instead. The GIL is released while vcfq
    works; Ctrl-C stops it between samples."""
    return _native._cohort("table", samples, **options)


def cohort_reader(
    samples: Samples = None, *, batch_samples: int | None = None, **options: Unpack[CohortOptions]
) -> pyarrow.RecordBatchReader:
    """``cohort`` as a ``pyarrow.RecordBatchReader``: batches are made on a thread of
    vcfq's while earlier ones are read (at most ``batch_samples`` samples a batch), so
    memory holds a few batches at any cohort size. A run that stops on an error
    (``fail_fast``) ends the stream with that error."""
    return _native._cohort("stream", samples, batch_samples=batch_samples, **options)


def check_request(
    *, dbsnp: DbsnpMap | str | os.PathLike[str] | None = None, schema: str = "docs",
    **request: Unpack[Request],
) -> None:
    """Checks a request as every sample would check it: raises ``BadRequest`` with vcfq's
    message when it is invalid or asks for rsIDs without a dbSNP map (the map is
    opened, so a missing or damaged one raises too)."""
    _native._cohort("check", None, dbsnp=dbsnp, schema=schema, **request)


def _query_json(self, **request):
    """Answers a request (the keywords of ``query``) with the parsed response: the
    same dict ``json.loads(self.query(...))`` gives."""
    return _json.loads(self.query(**request))


def _query_string_json(self, query, **options):
    """``query_string``, parsed."""
    return _json.loads(self.query_string(query, **options))


Sample.query_json = _query_json
Sample.query_string_json = _query_string_json
