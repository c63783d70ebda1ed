#!/usr/bin/env python3
"""Side-by-side comparison of vcfq with its peers on the same data and the same queries.

Runs, interleaved over several rounds: vcfq batch (one warm process), vcfq CLI (one
process per query), tabix and bcftools (one process per query), pysam (TabixFile +
field splitting, warm, in process) and cyvcf2 (warm, in process), on random existing
positions and 100 kb windows of the generated 10 M-record sample, and prints each one's
median per query and its ratio to vcfq batch.

Also: the inflate floor (one 64 KiB BGZF block inflated with libdeflate, `vcfq-synth
floor`) timed in every round, vcfq with and without its position index (VCF.vcfqidx,
written here by `vcfq index`; "tabix index only" runs on an alias of the same file that
has none), and 50-rsID queries (vcfq batch warm, vcfq CLI per process) with the dbSNP map.

Usage: python3 benches/peers.py [--rounds 3] [--queries 200]
Creates target/bench-venv (pysam, cyvcf2) on first use; needs tabix and bcftools on PATH
(apt-get install tabix bcftools) and builds vcfq in release mode.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "target", "bench-data")
SAMPLE = os.path.join(DATA, "sample-10000000.vcf.gz")
VENV = os.path.join(ROOT, "target", "bench-venv")
VCFQ = os.path.join(ROOT, "target", "release", "vcfq")
SYNTH = os.path.join(ROOT, "target", "release", "vcfq-synth")
# The same file and tabix index under another name, with no position index beside it.
TBI_ONLY = os.path.join(DATA, "sample-10000000-tbi-only.vcf.gz")
MAP = os.path.join(DATA, "sample-10000000-map")


def ensure_environment():
    # A fresh clone has no target/ yet: the generator writes into this directory.
    os.makedirs(DATA, exist_ok=True)
    if not os.path.exists(SAMPLE + ".queries.tsv"):
        print("generating the 10 M-record sample (once, about a minute) ...", file=sys.stderr)
        subprocess.run(["cargo", "run", "--release", "--quiet", "--bin", "vcfq-synth", "--",
                        "sample", "--rows", "10000000", "--out", SAMPLE], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    # (Re)write the position index when there is none or vcfq notes that it does not use
    # it (from an earlier vcfq, or stale after regenerating the sample).
    probe = subprocess.run([VCFQ, "query", "--vcf", SAMPLE, "--chromosome", "chr1", "--position", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    if not os.path.exists(SAMPLE + ".vcfqidx") or "vcfq: note:" in probe.stderr:
        subprocess.run([VCFQ, "index", SAMPLE], check=True)
    for suffix in ["", ".tbi"]:
        if not os.path.lexists(TBI_ONLY + suffix):
            os.symlink(os.path.realpath(SAMPLE + suffix), TBI_ONLY + suffix)
    if not os.path.exists(os.path.join(MAP, "meta.json")):
        subprocess.run([VCFQ, "dbsnp", "build", SAMPLE + ".dbsnp.vcf.gz", "--out", MAP], check=True)
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "pysam", "cyvcf2"], check=True)
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        os.execv(python, [python] + sys.argv)


def load_sites():
    sites = []
    with open(SAMPLE + ".queries.tsv") as handle:
        for line in handle:
            rsid, chromosome, position = line.rstrip("\n").split("\t")
            sites.append((chromosome, int(position), rsid))
    return sites


def per_process(command_for):
    def run(queries):
        times = []
        for query in queries:
            command = command_for(query)
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        return times
    return run


class VcfqBatch:
    """vcfq batch as pipelines use it: one process answers a file of requests, writing its
    answers to /dev/null (so no reader's cost is counted). The time per query is the
    elapsed time minus that of the same process answering one request (start-up, opening
    the sample), over the count; warm page cache, interleaved with the other tools."""

    def __init__(self, sample=SAMPLE, dbsnp=False):
        # Points and ranges run without the dbSNP map, like the peers (no rsid annotation).
        self.command = [VCFQ, "batch", "--vcf", sample] + (["--dbsnp", MAP] if dbsnp else [])

    def _run(self, lines):
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".txt") as requests:
            requests.write("".join(lines))
            requests.flush()
            started = time.perf_counter()
            subprocess.run(self.command + ["--requests", requests.name], stdout=subprocess.DEVNULL,
                           check=True)
            return time.perf_counter() - started

    def __call__(self, queries):
        lines = []
        for query in queries:
            if isinstance(query, str):
                lines.append(f"rsid={query}\n")
                continue
            chromosome, start, end = query
            lines.append(f"chromosome={chromosome}&position={start}\n" if start == end
                         else f"chromosome={chromosome}&start_position={start}&end_position={end}\n")
        # Ten passes over the queries, so that the start-up subtracted is small beside them.
        lines = lines * 10
        startup = min(self._run(lines[:1]) for _ in range(3))
        elapsed = self._run(lines)
        return [max(elapsed - startup, 0) / (len(lines) - 1)] * len(queries)


def vcfq_cli(sample):
    def command(query):
        if isinstance(query, str):
            return [VCFQ, "query", "--vcf", sample, "--dbsnp", MAP, "--rsid", query]
        chromosome, start, end = query
        if start == end:
            return [VCFQ, "query", "--vcf", sample, "--chromosome", chromosome, "--position", str(start)]
        return [VCFQ, "query", "--vcf", sample, "--chromosome", chromosome,
                "--start-position", str(start), "--end-position", str(end)]
    return command


def inflate_floor(queries):
    output = subprocess.run([SYNTH, "floor", "--vcf", SAMPLE, "--blocks", str(len(queries) * 5)],
                            capture_output=True, text=True, check=True).stdout
    return [float(output) / 1e6] * len(queries)


def main():
    ensure_environment()
    import cyvcf2
    import pysam

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    random.seed(20261129)
    sites = load_sites()
    points = [(c, p, p) for c, p, _ in random.sample(sites, args.queries)]
    ranges = [(c, max(1, p - 50_000), max(1, p - 50_000) + 100_000) for c, p, _ in random.sample(sites, args.queries)]
    rsid_lists = [",".join(r for _, _, r in random.sample(sites, 50)) for _ in range(max(10, args.queries // 4))]
    process_queries = max(10, args.queries // 5)

    tabix_file = pysam.TabixFile(SAMPLE)
    vcf = cyvcf2.VCF(SAMPLE)

    def pysam_run(queries):
        times = []
        for chromosome, start, end in queries:
            started = time.perf_counter()
            records = []
            for line in tabix_file.fetch(chromosome, start - 1, end):
                fields = line.split("\t")
                if start <= int(fields[1]) <= end:
                    records.append(fields)
            times.append(time.perf_counter() - started)
        return times

    def cyvcf2_run(queries):
        times = []
        for chromosome, start, end in queries:
            started = time.perf_counter()
            records = []
            for variant in vcf(f"{chromosome}:{start}-{end}"):
                if start <= variant.POS <= end:
                    records.append((variant.CHROM, variant.POS, variant.ID, variant.REF, variant.ALT,
                                    variant.QUAL, dict(variant.INFO), variant.genotypes))
            times.append(time.perf_counter() - started)
        return times

    batch = VcfqBatch()
    batch_tbi = VcfqBatch(TBI_ONLY)
    batch_map = VcfqBatch(SAMPLE, dbsnp=True)
    batch_map_tbi = VcfqBatch(TBI_ONLY, dbsnp=True)
    tools = [
        ("vcfq batch (warm, one process)", batch, False),
        ("vcfq batch, tabix index only", batch_tbi, False),
        ("inflate floor (one 64 KiB block)", inflate_floor, False),
        ("vcfq CLI (process per query)", per_process(vcfq_cli(SAMPLE)), True),
        ("vcfq CLI, tabix index only", per_process(vcfq_cli(TBI_ONLY)), True),
        ("tabix (process per query)", per_process(lambda q: ["tabix", SAMPLE, f"{q[0]}:{q[1]}-{q[2]}"]), True),
        ("bcftools view -r (process per query)", per_process(lambda q: ["bcftools", "view", "-H", "-r", f"{q[0]}:{q[1]}-{q[2]}", SAMPLE]), True),
        ("pysam TabixFile + split (warm)", pysam_run, False),
        ("cyvcf2 (warm)", cyvcf2_run, False),
    ]
    rsid_tools = [("vcfq batch (warm, one process)", batch_map, False),
                  ("vcfq batch, tabix index only", batch_map_tbi, False), tools[3], tools[4]]
    for label, queries, chosen in [("point", points, tools), ("100 kb range", ranges, tools),
                                   ("50-rsID", rsid_lists, rsid_tools)]:
        results = {name: [] for name, _, _ in chosen}
        for _ in range(args.rounds):
            for name, run, is_process in chosen:
                results[name].extend(run(queries[:process_queries] if is_process else queries))
        base = statistics.median(results[tools[0][0]])
        print(f"\n{label} queries ({args.rounds} rounds, interleaved):")
        print(f"  {'tool':40} {'median':>12} {'vs vcfq batch':>14}")
        for name, _, _ in chosen:
            median = statistics.median(results[name])
            print(f"  {name:40} {median * 1e6:10.0f} us {median / base:13.2f}x")
        if "inflate floor (one 64 KiB block)" in results:
            floor = statistics.median(results["inflate floor (one 64 KiB block)"])
            print(f"  vcfq batch / inflate floor: {base / floor:.2f}x")


if __name__ == "__main__":
    main()
