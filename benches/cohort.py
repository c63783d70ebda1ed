#!/usr/bin/env python3
"""Cohort benchmark: `vcfq cohort` over >= 1,000 samples, beside what a user would
otherwise do, on the same files and requests, in one run.

The cohort: `--distinct` imputed-like VCFs (default 20) made by the seeded generator with
one site seed and their own genotype seeds (`vcfq-synth sample --genotypes-seed`), so
they share their sites, as samples imputed on one panel do, and differ in genotypes;
`--rows` records each (default 1,000,000: genome-wide, one site every ~3 kb, ~20 MB
bgzipped). `--samples` members (default 1,000) are links to them, each its own path with
its own `.tbi` and `.vcfqidx` links, listed in a manifest. The requests: a 50-rsID panel
(rsIDs of the shared sites, spread over the genome, resolved through a dbSNP map of the
sites) and a 100 kb window.

Measured, per request, interleaved over `--rounds` rounds (medians):
- `vcfq cohort` with 1 and 2 threads, ndjson: samples per second per core, peak RSS and
  the most open files of the process (polled from /proc);
- the output size of each format (ndjson, arrow, parquet);
- a pysam loop in one Python process (open each file, fetch the loci, extract POS, REF,
  ALT, GT, DS): what the hosted API's users write today;
- `bcftools query -R` (panel) or `-r` (window) once per file;
- with `--cold`, `vcfq cohort` again after dropping the page cache (needs root).

Usage: python3 benches/cohort.py [--samples 1000] [--distinct 20] [--rows 1000000]
                                 [--rounds 2] [--cold]
Creates target/bench-venv (pysam) on first use, as benches/peers.py does; needs bcftools
on PATH (apt-get install bcftools) and builds vcfq in release mode. Writes the figures to
target/bench-data/cohort-bench.json.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "target", "bench-data")
VENV = os.path.join(ROOT, "target", "bench-venv")
VCFQ = os.path.join(ROOT, "target", "release", "vcfq")
SYNTH = os.path.join(ROOT, "target", "release", "vcfq-synth")
SITE_SEED = 20261206

PYSAM_LOOP = r'''
import sys, time, pysam
manifest, mode, spec = sys.argv[1], sys.argv[2], sys.argv[3]
members = [line.rstrip("\n").split("\t") for line in open(manifest) if line.strip()]
if mode == "panel":
    loci = [(c, int(p)) for c, p in (item.split(":") for item in spec.split(","))]
else:
    chrom, span = spec.split(":"); start, end = (int(x) for x in span.split("-"))
started = time.perf_counter()
rows = 0
for sample_id, path in members:
    vcf = pysam.VariantFile(path)
    wanted = [(c, p - 1, p) for c, p in loci] if mode == "panel" else [(chrom, start - 1, end)]
    for contig, begin, stop in wanted:
        for record in vcf.fetch(contig, begin, stop):
            if mode == "panel" and record.pos != stop:
                continue
            call = record.samples[0]
            values = (record.pos, record.ref, record.alts, call["GT"], call.get("DS"))
            rows += 1
    vcf.close()
print(time.perf_counter() - started, rows)
'''


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def ensure_venv():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        run([sys.executable, "-m", "venv", VENV])
    probe = subprocess.run([python, "-c", "import pysam"], capture_output=True)
    if probe.returncode != 0:
        run([python, "-m", "pip", "install", "--quiet", "pysam"])
    return python


def make_cohort(args):
    """The distinct VCFs, their indexes, the map, the member links and the manifest."""
    base = os.path.join(DATA, f"cohort-{args.rows}")
    os.makedirs(base, exist_ok=True)
    distinct = []
    for index in range(args.distinct):
        vcf = os.path.join(base, f"distinct-{index:02}.vcf.gz")
        if not os.path.exists(vcf + ".queries.tsv"):
            run([SYNTH, "sample", "--rows", str(args.rows), "--seed", str(SITE_SEED),
                 "--genotypes-seed", str(index), "--out", vcf])
        distinct.append(vcf)
    missing = [vcf for vcf in distinct if not os.path.exists(vcf + ".vcfqidx")]
    if missing:
        run([VCFQ, "index", "--threads", "2", *missing], stdout=subprocess.DEVNULL)
    dbsnp_map = os.path.join(base, "map")
    if not os.path.exists(os.path.join(dbsnp_map, "meta.json")):
        run([VCFQ, "dbsnp", "build", distinct[0] + ".dbsnp.vcf.gz", "--out", dbsnp_map],
            stdout=subprocess.DEVNULL)
    members_dir = os.path.join(base, f"members-{args.samples}")
    os.makedirs(members_dir, exist_ok=True)
    manifest = os.path.join(base, f"manifest-{args.samples}.tsv")
    with open(manifest, "w") as out:
        for member in range(args.samples):
            target = distinct[member % len(distinct)]
            link = os.path.join(members_dir, f"sample-{member:06}.vcf.gz")
            for suffix in ["", ".tbi", ".vcfqidx"]:
                if not os.path.lexists(link + suffix):
                    os.symlink(target + suffix, link + suffix)
            out.write(f"sample-{member:06}\t{link}\n")
    sites = [line.split("\t") for line in open(distinct[0] + ".queries.tsv").read().splitlines()]
    return base, distinct, dbsnp_map, manifest, sites


def measure(command):
    """Runs `command`; (wall seconds, peak RSS bytes, most open files)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    most_files = [0]
    done = threading.Event()

    def poll():
        fd_dir = f"/proc/{process.pid}/fd"
        while not done.is_set():
            try:
                most_files[0] = max(most_files[0], len(os.listdir(fd_dir)))
            except OSError:
                pass
            time.sleep(0.005)

    poller = threading.Thread(target=poll)
    poller.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    stderr = process.stderr.read().decode()
    if status != 0:
        raise SystemExit(f"{command} failed: {stderr}")
    return seconds, usage.ru_maxrss * 1024, most_files[0]


def store_benchmark(base, distinct, count):
    """`vcfq sample add --manifest --defer-checks` of `count` samples (UUIDs over the
    distinct VCFs) into a new store, then one-sample queries from new processes."""
    import shutil
    import uuid
    store = os.path.join(base, f"store-{count}")
    shutil.rmtree(store, ignore_errors=True)
    manifest = os.path.join(base, f"store-manifest-{count}.tsv")
    rng = random.Random(11)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
    with open(manifest, "w") as out:
        for index, sample_id in enumerate(ids):
            out.write(f"{sample_id}\t{distinct[index % len(distinct)]}\n")
    started = time.perf_counter()
    run([VCFQ, "sample", "add", "--manifest", manifest, "--defer-checks", "--store", store],
        stdout=subprocess.DEVNULL)
    add_seconds = time.perf_counter() - started
    query_times, lookup_times = [], []
    for sample_id in rng.sample(ids, 20):
        started = time.perf_counter()
        run([VCFQ, "query", "--store", store, "--sample", sample_id, "chr1:10000000"],
            stdout=subprocess.DEVNULL)
        query_times.append(time.perf_counter() - started)
        # The process alone (no lookup): the same query by path.
        started = time.perf_counter()
        run([VCFQ, "query", "--vcf", distinct[0], "chr1:10000000"], stdout=subprocess.DEVNULL)
        lookup_times.append(query_times[-1] - (time.perf_counter() - started))
    return {
        "samples": count,
        "add_seconds": add_seconds,
        "queries": len(query_times),
        "query_milliseconds": statistics.median(query_times) * 1000,
        "lookup_milliseconds": max(statistics.median(lookup_times) * 1000, 0.0),
        "database_bytes": os.path.getsize(os.path.join(store, "samples.sqlite")),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--store-samples", type=int, default=1_000_000,
                        help="samples registered with --defer-checks in the store test (0: skip)")
    args = parser.parse_args()
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    python = ensure_venv()
    base, distinct, dbsnp_map, manifest, sites = make_cohort(args)
    rng = random.Random(7)
    panel = rng.sample(sites, 50)
    panel_rsids = ",".join(rsid for rsid, _, _ in panel)
    panel_loci = ",".join(f"{chrom}:{pos}" for _, chrom, pos in panel)
    regions = os.path.join(base, "panel-regions.tsv")
    with open(regions, "w") as out:
        for _, chrom, pos in sorted(panel, key=lambda site: (site[1], int(site[2]))):
            out.write(f"{chrom}\t{pos}\t{pos}\n")
    window = "chr1:10000000-10100000"
    members = [line.split("\t")[1].strip() for line in open(manifest)]
    requests = {"panel": ["--rsid", panel_rsids], "window": [window]}
    results = {}
    outputs = {}
    for name, request in requests.items():
        timings = {key: [] for key in ["vcfq-1", "vcfq-2", "pysam", "bcftools"]}
        peaks = {}
        for _ in range(args.rounds):
            for threads in [1, 2]:
                out = os.path.join(base, f"out-{name}.ndjson")
                seconds, rss, files = measure([VCFQ, "cohort", "--manifest", manifest,
                                               "--dbsnp", dbsnp_map, "--threads", str(threads),
                                               "--out", out, *request])
                timings[f"vcfq-{threads}"].append(seconds)
                peaks[f"vcfq-{threads}"] = (max(rss, peaks.get(f"vcfq-{threads}", (0, 0))[0]),
                                            max(files, peaks.get(f"vcfq-{threads}", (0, 0))[1]))
            spec = panel_loci if name == "panel" else window
            result = subprocess.run([python, "-c", PYSAM_LOOP, manifest, name, spec],
                                    capture_output=True, text=True, check=True)
            timings["pysam"].append(float(result.stdout.split()[0]))
            started = time.perf_counter()
            for path in members:
                region = ["-R", regions] if name == "panel" else ["-r", window]
                subprocess.run(["bcftools", "query", *region, "-f",
                                "%CHROM\t%POS\t%ID\t%REF\t%ALT\t[%GT\t%DS]\n", path],
                               stdout=subprocess.DEVNULL, check=True)
            timings["bcftools"].append(time.perf_counter() - started)
        sizes = {}
        for form in ["ndjson", "arrow", "parquet"]:
            out = os.path.join(base, f"out-{name}.{form}")
            run([VCFQ, "cohort", "--manifest", manifest, "--dbsnp", dbsnp_map, "--format", form,
                 "--out", out, *request], stderr=subprocess.DEVNULL)
            sizes[form] = os.path.getsize(out)
        medians = {key: statistics.median(values) for key, values in timings.items()}
        per_core = {
            "vcfq-1": args.samples / medians["vcfq-1"],
            "vcfq-2": args.samples / medians["vcfq-2"] / 2,
            "pysam": args.samples / medians["pysam"],
            "bcftools": args.samples / medians["bcftools"],
        }
        results[name] = {
            "median_seconds": medians,
            "samples_per_second_per_core": per_core,
            "vcfq_peak_rss_bytes": {key: value[0] for key, value in peaks.items()},
            "vcfq_most_open_files": {key: value[1] for key, value in peaks.items()},
            "output_bytes": sizes,
        }
        outputs[name] = sizes
    if args.cold:
        try:
            run(["sync"])
            with open("/proc/sys/vm/drop_caches", "w") as control:
                control.write("3\n")
            seconds, rss, files = measure([VCFQ, "cohort", "--manifest", manifest, "--dbsnp",
                                           dbsnp_map, "--threads", "2", "--out",
                                           os.path.join(base, "out-cold.ndjson"),
                                           *requests["panel"]])
            results["panel"]["cold_samples_per_second_per_core"] = args.samples / seconds / 2
        except OSError as error:
            results["panel"]["cold_samples_per_second_per_core"] = f"not measured: {error}"
    if args.store_samples:
        results["store"] = store_benchmark(base, distinct, args.store_samples)
    report = {
        "samples": args.samples,
        "distinct_contents": args.distinct,
        "rows_per_sample": args.rows,
        "bytes_per_distinct_vcf": os.path.getsize(distinct[0]),
        "results": results,
    }
    with open(os.path.join(DATA, "cohort-bench.json"), "w") as out:
        json.dump(report, out, indent=2)
    print(f"{args.samples} samples ({args.distinct} distinct contents of {args.rows} records, "
          f"{os.path.getsize(distinct[0]) / 1e6:.1f} MB each), medians of {args.rounds} rounds")
    if "store" in results:
        store = results["store"]
        print(f"\nstore: {store['samples']} samples added with --defer-checks in "
              f"{store['add_seconds']:.1f} s; `vcfq query --sample` from a new process "
              f"{store['query_milliseconds']:.1f} ms (median of {store['queries']}), of which "
              f"a `vcfq sample list`-free lookup is {store['lookup_milliseconds']:.2f} ms")
    for name, result in results.items():
        if name == "store":
            continue
        rates = result["samples_per_second_per_core"]
        print(f"\n{name}: samples per second per core (ratio to vcfq, 1 thread)")
        for key, rate in rates.items():
            print(f"  {key:9} {rate:10.1f}  x{rates['vcfq-1'] / rate:6.1f}")
        for key, rss in result["vcfq_peak_rss_bytes"].items():
            print(f"  {key} peak RSS {rss / 2**20:.0f} MiB, "
                  f"most open files {result['vcfq_most_open_files'][key]}")
        sizes = result["output_bytes"]
        print("  output: " + ", ".join(f"{form} {size / 1e6:.2f} MB" for form, size in sizes.items())
              + f" (parquet/ndjson {sizes['parquet'] / sizes['ndjson']:.3f})")
        if "cold_samples_per_second_per_core" in result:
            print(f"  cold page cache: {result['cold_samples_per_second_per_core']}")
        if name == "store":
            continue


if __name__ == "__main__":
    main()
