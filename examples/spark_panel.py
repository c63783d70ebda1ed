#!/usr/bin/env python3
"""A pharmacogenomic panel over a cohort on Apache Spark: a wide sample x rsID genotype
table, written as Parquet (docs/spark.md).

    python3 examples/spark_panel.py                                  # Spark in this process (local[2])
    python3 examples/spark_panel.py --master spark://HOST:7077 \\
        --manifest /shared/cohort.tsv --dbsnp /shared/dbsnp/map --out /shared/panel.parquet

Without --manifest it makes a small cohort of the repository's test VCFs and a dbSNP map
of PharmCAT's positions (removed at the end); without --out the table goes to
target/spark-panel-gt.parquet. On a cluster, every executor needs the vcfq package and must
see the VCFs at the manifest's paths; the map is needed on the driver only (the panel
is resolved there and shipped to the tasks).
"""
import argparse
import os
import shutil
import tempfile

from pyspark.sql import SparkSession

import vcfq
import vcfq.spark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PANEL = [
    "rs4244285",   # CYP2C19*2
    "rs4986893",   # CYP2C19*3
    "rs12248560",  # CYP2C19*17
    "rs1057910",   # CYP2C9*3
    "rs1799853",   # CYP2C9*2
    "rs9923231",   # VKORC1 -1639G>A
    "rs1801133",   # MTHFR C677T
    "rs429358",    # APOE
    "rs7412",      # APOE
]


def demo_cohort(scratch):
    """The test VCFs as a cohort (each under a few ids), and a map of PharmCAT's sites."""
    vcfs = ["apoe.vcf.gz", "NA12878.pgx-extract.vcf.gz", "HG00096.chrX-extract.vcf.gz",
            "pharmcat/pharmcat_positions.vcf.gz"]
    manifest = os.path.join(scratch, "cohort.tsv")
    with open(manifest, "w") as out:
        for i in range(40):
            out.write(f"sample-{i:03}\t{os.path.join(ROOT, 'testdata', vcfs[i % len(vcfs)])}\n")
    dbsnp = os.path.join(scratch, "map")
    vcfq.build_dbsnp_map([os.path.join(ROOT, "testdata", "pharmcat", "pharmcat_positions.vcf.gz"),
                          os.path.join(ROOT, "testdata", "dbsnp", "crafted.vcf")], dbsnp)
    return manifest, dbsnp


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--manifest")
    parser.add_argument("--dbsnp")
    parser.add_argument("--out")
    parser.add_argument("--partition-size", type=int, default=1000)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="vcfq-spark-example-")
    manifest, dbsnp = (args.manifest, args.dbsnp) if args.manifest else demo_cohort(scratch)
    out = args.out or os.path.join(ROOT, "target", "spark-panel-gt.parquet")

    spark = (SparkSession.builder.master(args.master).appName("vcfq panel")
             .config("spark.ui.enabled", "false").getOrCreate())
    frame = vcfq.spark.cohort_dataframe(spark, manifest, rsid=PANEL, dbsnp=dbsnp,
                                        partition_size=args.partition_size)
    # One row per sample, one column per rsID: its GT (null where the sample has no
    # record for it; the first record's where it has several); failed samples listed
    # apart.
    wide = (frame.where("status = 200")
            .groupBy("sample_id")
            .pivot("query_rsid", PANEL)
            .agg({"gt": "first"})
            .orderBy("sample_id"))
    wide.write.mode("overwrite").parquet(out)
    wide.show(8, truncate=False)
    failed = frame.where("status != 200").select("sample_id", "status", "detail")
    if failed.count():
        failed.show(truncate=False)
    print(f"wrote {out}")
    spark.stop()
    # The demo's manifest and map.
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
