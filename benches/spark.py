#!/usr/bin/env python3
"""vcfq.spark on a real two-worker Spark standalone cluster, beside `vcfq cohort` in one
process on the same samples and the same request.

The cohort is benches/cohort.py's (members linked to `--distinct` generated VCFs of
`--rows` records, position indexes written, a map of their sites); the request is its
50-rsID panel. Measured, each `--rounds` times, interleaved (medians):

- `vcfq cohort --format arrow` in one process, 2 threads (this machine's 2 cores);
- `vcfq.spark.cohort_dataframe(...)` collected to the driver (`toArrow`) on a cluster of
  two workers of one core each (one executor each), partitions of `--partition-size`
  samples, one vcfq thread a task; its table is checked equal to the single process's.

Spark's overhead per task is then: the cluster's wall time times its 2 cores, less
what the same samples cost vcfq in one process on 2 cores, over the number of tasks.

Usage: python3 benches/spark.py [--samples 10000] [--partition-size 1000] [--rounds 3]
Needs vcfq (pip install ./python), pyspark and Java 17; builds vcfq in release mode.
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python", "tests"))


def load_cohort_bench():
    spec = importlib.util.spec_from_file_location("cohort_bench", os.path.join(ROOT, "benches", "cohort.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--partition-size", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import random

    import pyarrow as pa

    import vcfq
    import vcfq.spark
    from spark_cluster import Cluster, stop_session

    cohort_bench = load_cohort_bench()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    base, _, dbsnp_map, manifest, sites = cohort_bench.make_cohort(args)
    panel = ",".join(rsid for rsid, _, _ in random.Random(7).sample(sites, 50))
    members = [(id, path) for id, path, _ in vcfq.read_manifest(manifest)]
    out = os.path.join(base, "spark-bench.arrow")
    tasks = -(-len(members) // args.partition_size)

    single, cluster_times = [], []
    with Cluster(workers=2, worker_memory="2g") as cluster:
        spark = cluster.session("vcfq-bench", **{"spark.executor.memory": "1500m"})
        try:
            for _ in range(args.rounds):
                started = time.perf_counter()
                subprocess.run([cohort_bench.VCFQ, "cohort", "--manifest", manifest, "--dbsnp", dbsnp_map,
                                "--threads", "2", "--format", "arrow", "--out", out, f"rsid={panel}"],
                               check=True, stderr=subprocess.DEVNULL)
                single.append(time.perf_counter() - started)
                with pa.ipc.open_stream(out) as reader:
                    expected = reader.read_all().cast(vcfq.spark.ARROW_SCHEMA)

                started = time.perf_counter()
                frame = vcfq.spark.cohort_dataframe(spark, members, rsid=panel, dbsnp=dbsnp_map,
                                                    partition_size=args.partition_size, threads=1)
                table = vcfq.spark.to_arrow(frame)
                cluster_times.append(time.perf_counter() - started)
                assert table.equals(expected), "the cluster's table differs from vcfq cohort's"
        finally:
            stop_session(spark)

    single_s = statistics.median(single)
    cluster_s = statistics.median(cluster_times)
    print(f"{len(members)} samples, 50-rsID panel, {tasks} tasks of {args.partition_size} samples; "
          f"medians of {args.rounds} interleaved rounds")
    print(f"  vcfq cohort, one process, 2 threads: {single_s:.2f} s, "
          f"{len(members) / single_s:,.0f} samples/s ({len(members) / single_s / 2:,.0f} per core)")
    print(f"  vcfq.spark, 2 workers x 1 core:     {cluster_s:.2f} s, "
          f"{len(members) / cluster_s:,.0f} samples/s ({len(members) / cluster_s / 2:,.0f} per core)")
    overhead = (cluster_s * 2 - single_s * 2) / tasks
    print(f"  Spark's overhead: {overhead:.2f} s per {args.partition_size}-sample task "
          f"(cluster time x 2 cores, less the single process's x 2, over {tasks} tasks)")


if __name__ == "__main__":
    main()
