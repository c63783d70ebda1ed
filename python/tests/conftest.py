"""Fixtures of the Python package's tests: the repository's test data, the `vcfq`
command beside it (the reference every answer is compared with), and a dbSNP map."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"


def vcfq_binary() -> Path:
    """The `vcfq` command: $VCFQ_BIN, else the repository's debug or release build."""
    if os.environ.get("VCFQ_BIN"):
        return Path(os.environ["VCFQ_BIN"])
    for profile in ("debug", "release"):
        candidate = REPO / "target" / profile / "vcfq"
        if candidate.exists():
            return candidate
    raise RuntimeError(
        "the tests compare with the vcfq command: run `cargo build` in the repository "
        "first, or set VCFQ_BIN"
    )


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(vcfq_binary()), *args], capture_output=True, env={**os.environ, "NO_COLOR": "1"}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"vcfq {' '.join(args)} failed: {result.stderr.decode()}")
    return result


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA


@pytest.fixture(scope="session")
def dbsnp_map(tmp_path_factory) -> Path:
    """A map of PharmCAT's positions and the crafted dbSNP file, built by the CLI."""
    out = tmp_path_factory.mktemp("map") / "map"
    run_cli(
        "dbsnp",
        "build",
        str(TESTDATA / "pharmcat/pharmcat_positions.vcf.gz"),
        str(TESTDATA / "dbsnp/crafted.vcf"),
        "--out",
        str(out),
    )
    return out


def copy_vcf(name: str, folder: Path) -> Path:
    """A copy of a test VCF and its index in `folder` (adding a sample writes its position
    index beside the VCF: never into testdata/)."""
    source = TESTDATA / name
    target = folder / source.name
    shutil.copy(source, target)
    shutil.copy(source.with_name(source.name + ".tbi"), folder / (source.name + ".tbi"))
    return target


def write_damaged_vcf(folder: Path) -> Path:
    """A copy of a real VCF (and its index) whose first block, the header, is damaged."""
    damaged = folder / "damaged.vcf.gz"
    data = bytearray((TESTDATA / "NA12878.pgx-extract.vcf.gz").read_bytes())
    for i in range(40, 104):
        data[i] ^= 0x5A
    damaged.write_bytes(bytes(data))
    shutil.copy(TESTDATA / "NA12878.pgx-extract.vcf.gz.tbi", folder / "damaged.vcf.gz.tbi")
    return damaged


@pytest.fixture(scope="session")
def cohort_members(tmp_path_factory) -> list[tuple[str, Path]]:
    """Real samples, and broken ones: a missing file, another file's index, a damaged
    first block."""
    root = tmp_path_factory.mktemp("cohort")
    members = [
        ("apoe", TESTDATA / "apoe.vcf.gz"),
        ("na12878", TESTDATA / "NA12878.pgx-extract.vcf.gz"),
        ("hg00096", TESTDATA / "HG00096.chrX-extract.vcf.gz"),
        ("crafted", TESTDATA / "dbsnp/crafted-sample.vcf.gz"),
        ("pharmcat", TESTDATA / "pharmcat/pharmcat_positions.vcf.gz"),
        ("missing", root / "missing.vcf.gz"),
    ]
    foreign = root / "foreign.vcf.gz"
    shutil.copy(TESTDATA / "NA12878.pgx-extract.vcf.gz", foreign)
    shutil.copy(TESTDATA / "apoe.vcf.gz.tbi", root / "foreign.vcf.gz.tbi")
    members.append(("foreign-index", foreign))
    members.append(("damaged", write_damaged_vcf(root)))
    members.append(("apoe-again", TESTDATA / "apoe.vcf.gz"))
    return members


@pytest.fixture(scope="session")
def manifest(cohort_members, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "manifest.tsv"
    path.write_text(
        "sample_id\tvcf_path\n" + "".join(f"{id}\t{vcf}\n" for id, vcf in cohort_members)
    )
    return path
