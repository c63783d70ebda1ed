#!/usr/bin/env python3
"""Spot-checks the golden outputs against bcftools (a developer tool, not part of CI).

For every case in golden/cases.tsv, asks `bcftools view -H -r REGION` for the same
region, keeps the records whose POS lies inside it (as the contract says), and compares
position, REF, ALT, QUAL, FORMAT/sample values and INFO with the golden JSON records.
Needs bcftools on PATH. Usage: python3 testdata/spotcheck-bcftools.py
"""
import json
import os
import subprocess
import sys
from urllib.parse import parse_qsl

here = os.path.dirname(os.path.abspath(__file__))
failures = 0
checked = 0
for line in open(os.path.join(here, "golden", "cases.tsv")):
    if line.startswith("#") or not line.strip():
        continue
    name, vcf, flags, query = line.rstrip("\n").split("\t")
    if name.startswith("edge_"):
        # bcftools re-encodes what the edge fixture tests (QUAL 1e3 -> 1000, dropped
        # FORMAT fields -> ".", empty values); vcfq keeps the VCF's own text.
        print(f"{name}: skipped (bcftools re-encodes these values)")
        continue
    params = dict(parse_qsl(query))
    chrom = params["chromosome"]
    start = int(params.get("position", params.get("start_position")))
    end = int(params.get("position", params.get("end_position")))
    golden = json.load(open(os.path.join(here, "golden", name + ".json")))
    out = subprocess.run(["bcftools", "view", "-H", "-r", f"{chrom}:{start}-{end}", os.path.join(here, vcf)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        # The real mismatched CSI cannot be read by bcftools either; vcfq refuses it.
        print(f"{name}: bcftools failed: {out.stderr.strip()}")
        failures += 1
        continue
    records = [l.split("\t") for l in out.stdout.split("\n") if l]
    records = [r for r in records if start <= int(r[1]) <= end]
    offset = int(params.get("offset", 0))
    limit = int(params["limit"]) if "limit" in params else len(records)
    page = records[offset:offset + limit]
    ok = golden["meta"]["count"] == len(records) and len(golden["results"]) == len(page)
    for rec, got in zip(page, golden["results"]):
        alt = [] if rec[4] == "." else rec[4].split(",")
        qual = None if rec[5] == "." else float(rec[5])
        info = {} if rec[7] == "." else {kv.split("=", 1)[0]: (kv.split("=", 1)[1] if "=" in kv else True)
                                         for kv in rec[7].split(";") if kv}
        genotype = dict(zip(rec[8].split(":"), rec[9].split(":"))) if len(rec) > 9 else None
        ok &= (got["position"] == int(rec[1]) and got["ref"] == rec[3] and got["alt"] == alt
               and got["quality"] == qual and got["info"] == info and got["genotype"] == genotype)
    checked += 1
    if not ok:
        failures += 1
        print(f"{name}: MISMATCH with bcftools")
    else:
        print(f"{name}: {len(records)} records agree with bcftools")
print(f"{checked} passed, {failures} failed")
sys.exit(1 if failures else 0)
