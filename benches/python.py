#!/usr/bin/env python3
"""The Python package beside cyvcf2 and pysam, in one Python process, interleaved.

On the generated 10 M-record sample (`vcfq-synth sample`, seeded), for random existing
positions and 100 kb windows, times per query:
- `vcfq.Sample.query` (the exact response bytes) and `.query_json` (the parsed dict);
- the same requests answered in Rust alone (`Sample._time_in_rust`: requests parsed
  first, each `respond` timed inside Rust), the floor that the Python call adds to;
- cyvcf2 (fetch, and extract the fields a record of the response needs);
- pysam (TabixFile.fetch and split each line, as benches/peers.py does).
Every query is asked of every tool in turn (in a new random order for each query),
in each round; the medians and ratios are printed, and the cost of the call alone (an
answer with no record, from Python and in Rust). Not a test: numbers depend on the machine.

Usage: python3 benches/python.py [--rounds 5] [--queries 2000]
Needs vcfq (pip install ./python), cyvcf2 and pysam in this interpreter; generates
the sample under target/bench-data on first use (cargo, release build).
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
VCFQ = os.path.join(ROOT, "target", "release", "vcfq")


def ensure_environment():
    missing = []
    for module in ("vcfq", "cyvcf2", "pysam"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        sys.exit(
            f"benches/python.py needs {', '.join(missing)}: "
            "python3 -m pip install ./python cyvcf2 pysam"
        )
    os.makedirs(DATA, exist_ok=True)
    if not os.path.exists(SAMPLE + ".queries.tsv"):
        print("generating the 10 M-record sample (once, about a minute) ...", file=sys.stderr)
        subprocess.run(["cargo", "run", "--release", "--quiet", "--bin", "vcfq-synth", "--",
                        "sample", "--rows", "10000000", "--out", SAMPLE], cwd=ROOT, check=True)
    if not os.path.exists(SAMPLE + ".vcfqidx"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        subprocess.run([VCFQ, "index", SAMPLE], check=True)


def load_sites():
    with open(SAMPLE + ".queries.tsv") as handle:
        return [(c, int(p)) for _, c, p in (line.rstrip("\n").split("\t") for line in handle)]


def main():
    ensure_environment()
    import cyvcf2
    import pysam
    import vcfq

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    random.seed(20261206)
    sites = load_sites()
    points = [(c, p, p) for c, p in random.sample(sites, args.queries)]
    ranges = [(c, max(1, p - 50_000), max(1, p - 50_000) + 100_000)
              for c, p in random.sample(sites, max(20, args.queries // 10))]

    # One Sample per vcfq tool: each keeps its own last block, as a pipeline's would,
    # so that no tool is answered from a block another tool just read.
    sample = vcfq.Sample(SAMPLE)
    sample_json = vcfq.Sample(SAMPLE)
    sample_rust = vcfq.Sample(SAMPLE)
    vcf = cyvcf2.VCF(SAMPLE)
    tabix_file = pysam.TabixFile(SAMPLE)

    def vcfq_query(chromosome, start, end):
        if start == end:
            return sample.query(chromosome=chromosome, position=start)
        return sample.query(chromosome=chromosome, start_position=start, end_position=end)

    def vcfq_json(chromosome, start, end):
        if start == end:
            return sample_json.query_json(chromosome=chromosome, position=start)
        return sample_json.query_json(chromosome=chromosome, start_position=start, end_position=end)

    def rust_alone(chromosome, start, end):
        # Timed inside Rust: the request parsed first, then `respond` alone.
        query = (f"chromosome={chromosome}&position={start}" if start == end else
                 f"chromosome={chromosome}&start_position={start}&end_position={end}")
        return sample_rust._time_in_rust([query])[0]

    def cyvcf2_fields(chromosome, start, end):
        records = []
        for variant in vcf(f"{chromosome}:{start}-{end}"):
            if start <= variant.POS <= end:
                records.append((variant.CHROM, variant.POS, variant.ID, variant.REF, variant.ALT,
                                variant.QUAL, dict(variant.INFO), variant.FORMAT,
                                variant.genotypes, variant.format("DS"), variant.format("GP")))
        return records

    def pysam_split(chromosome, start, end):
        records = []
        for line in tabix_file.fetch(chromosome, start - 1, end):
            fields = line.split("\t")
            if start <= int(fields[1]) <= end:
                records.append(fields)
        return records

    tools = [
        ("vcfq.Sample.query (bytes)", vcfq_query),
        ("vcfq: the same in Rust alone", rust_alone),
        ("vcfq.Sample.query_json (dict)", vcfq_json),
        ("cyvcf2 (fetch + fields)", cyvcf2_fields),
        ("pysam TabixFile + split", pysam_split),
    ]
    # Warm up every reader and the page cache.
    for _, call in tools:
        for query in points[:50]:
            call(*query)
    print(f"vcfq {vcfq.__version__}, cyvcf2 {cyvcf2.__version__}, pysam {pysam.__version__}, "
          f"Python {sys.version.split()[0]}; {args.rounds} rounds; every query is asked of "
          "every tool in turn, in a random order")
    for label, queries in [("point", points), ("100 kb window", ranges)]:
        results = {name: [] for name, _ in tools}
        for _ in range(args.rounds):
            for query in queries:
                # A new order for every query: a tool's place (and who read the block
                # just before it) is random, not tied to the tool.
                for name, call in random.sample(tools, len(tools)):
                    started = time.perf_counter()
                    inside = call(*query)
                    elapsed = time.perf_counter() - started
                    results[name].append(inside if call is rust_alone else elapsed)
        base = statistics.median(results[tools[0][0]])
        print(f"\n{label} queries ({len(queries)} a round):")
        print(f"  {'tool':34} {'median':>11} {'vs vcfq.query':>14}")
        for name, _ in tools:
            median = statistics.median(results[name])
            print(f"  {name:34} {median * 1e6:8.2f} us {median / base:13.2f}x")
    # What the Python call adds to the Rust call. Timed apart from the comparison
    # above, where the medians also carry which tool read the block first (a reader
    # right after another finds the compressed block in the CPU's caches, about 12 us
    # sooner): here each query is asked twice of its own Sample, and the second answer,
    # from the block that Sample keeps, is timed from Python and inside Rust.
    python_call, rust_call = [], []
    for chromosome, start, _ in points:
        sample.query(chromosome=chromosome, position=start)
        started = time.perf_counter()
        sample.query(chromosome=chromosome, position=start)
        python_call.append(time.perf_counter() - started)
        query = f"chromosome={chromosome}&position={start}"
        sample_rust._time_in_rust([query])
        rust_call.append(sample_rust._time_in_rust([query])[0])
    print(f"\nthe call itself, point queries answered from the block in hand: "
          f"vcfq.Sample.query {statistics.median(python_call) * 1e6:.2f} us, in Rust alone "
          f"{statistics.median(rust_call) * 1e6:.2f} us: the Python call adds "
          f"{(statistics.median(python_call) - statistics.median(rust_call)) * 1e6:.2f} us")
    empty = [("chrM", 1, 1)] * 20000
    python_call = []
    for query in empty:
        started = time.perf_counter()
        vcfq_query(*query)
        python_call.append(time.perf_counter() - started)
    rust_call = sample._time_in_rust(["chromosome=chrM&position=1"] * len(empty))
    print(f"an empty answer (chrM: the sample has no record there): vcfq.Sample.query "
          f"{statistics.median(python_call) * 1e6:.2f} us, in Rust alone "
          f"{statistics.median(rust_call) * 1e6:.2f} us")

if __name__ == "__main__":
    main()
