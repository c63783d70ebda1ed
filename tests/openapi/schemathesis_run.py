#!/usr/bin/env python3
"""A bounded schemathesis run against `vcfq serve`: property-based requests generated
from docs/openapi.yaml (its examples, the coverage phase's edge values, then random
ones), each response checked: no 5xx, status codes, content types and bodies as the
document says.

The server answers a store with the docs' sample (testdata/apoe.vcf.gz, copied) and a
dbSNP map of the test data, behind an API key, in each response shape (`--schema
openapi`, then `docs`). It binds 127.0.0.1 on a free port and is stopped at the end,
also on failure.

Usage (from the repository root, after `cargo build`):
    python3 tests/openapi/schemathesis_run.py [--max-examples 200] [--seed 1]
Needs schemathesis (pip install -r tests/openapi/requirements.txt). Exit status:
schemathesis's (0 when every check passed).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VCFQ = os.environ.get("VCFQ_BIN", os.path.join(ROOT, "target", "debug", "vcfq"))
SAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
KEY = "schemathesis-key"
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])


def run(*args):
    subprocess.run([VCFQ, *args], check=True, stdout=subprocess.DEVNULL)


def serve(store, dbsnp, keys, schema):
    """Starts `vcfq serve` on a free loopback port; returns (process, base URL)."""
    process = subprocess.Popen(
        [VCFQ, "serve", "--store", store, "--bind", "127.0.0.1:0", "--dbsnp", dbsnp,
         "--api-keys", keys, "--schema", schema],
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = process.stderr.readline()
    if "http://127.0.0.1:" not in line:
        process.kill()
        raise SystemExit(f"vcfq serve did not start: {line}{process.stderr.read()}")
    port = line.split("http://127.0.0.1:")[1].split()[0]
    # Keep reading its access log so that the pipe never fills.
    threading.Thread(target=lambda: process.stderr.read(), daemon=True).start()
    return process, f"http://127.0.0.1:{port}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        raise SystemExit("needs schemathesis: pip install -r tests/openapi/requirements.txt")
    # This interpreter's schemathesis, whether or not its script is on PATH.
    command = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
    scratch = tempfile.mkdtemp(prefix="vcfq-schemathesis-")
    processes = []
    status = 0
    try:
        for name in ["apoe.vcf.gz", "apoe.vcf.gz.tbi"]:
            shutil.copy(os.path.join(ROOT, "testdata", name), os.path.join(scratch, name))
        store = os.path.join(scratch, "store")
        run("sample", "add", "--store", store, SAMPLE_ID, os.path.join(scratch, "apoe.vcf.gz"))
        dbsnp = os.path.join(scratch, "map")
        run("dbsnp", "build", os.path.join(ROOT, "testdata", "pharmcat", "pharmcat_positions.vcf.gz"),
            os.path.join(ROOT, "testdata", "dbsnp", "crafted.vcf"), "--out", dbsnp)
        keys = os.path.join(scratch, "keys")
        with open(keys, "w") as out:
            out.write(KEY + "\n")
        for schema in ["openapi", "docs"]:
            process, url = serve(store, dbsnp, keys, schema)
            processes.append(process)
            print(f"schemathesis against vcfq serve --schema {schema} ({url})", flush=True)
            result = subprocess.run(
                [*command, "run", os.path.join(ROOT, "docs", "openapi.yaml"),
                 "--url", url, "-H", f"Authorization: Api-Key {KEY}",
                 "--checks", CHECKS, "--max-examples", str(args.max_examples),
                 "--seed", str(args.seed), "--workers", "1",
                 "--phases", "examples,coverage,fuzzing", "--no-color"],
                cwd=scratch)
            status = status or result.returncode
            process.terminate()
            process.wait(timeout=30)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
