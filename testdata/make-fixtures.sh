#!/usr/bin/env bash
# Rebuilds the compressed, indexed test fixtures from their text sources and from
# ../shared/data. Needs htslib's bgzip and tabix and bcftools (apt-get install tabix
# bcftools). Run from anywhere; the outputs are committed, so tests never need these tools.
set -euo pipefail
cd "$(dirname "$0")"
shared=../../shared/data

for vcf in apoe.vcf edge/*.vcf; do
  bgzip -c "$vcf" > "$vcf.gz"
  tabix -f -p vcf "$vcf.gz"
done
# The same VCF as plain gzip (not BGZF), which tabix cannot index.
gzip -nc apoe.vcf > edge/plain-gzip.vcf.gz
# A CSI-only copy of the docs example.
cp apoe.vcf.gz edge/apoe-csi-only.vcf.gz && tabix -f -C -p vcf edge/apoe-csi-only.vcf.gz

# Real data: 1000 Genomes extracts and PharmCAT positions.
bcftools view -Oz -o NA12878.pgx-extract.vcf.gz \
  -r chr1:11780000-11810000,chr10:94760000-94790000,chr16:31090000-31110000,chr19:15860000-15880000,chrX:154530000-154550000 \
  "$shared/1000g/NA12878.pgx.vcf.gz"
tabix -f -p vcf NA12878.pgx-extract.vcf.gz
bcftools view -Oz -o HG00096.chrX-extract.vcf.gz -r chrX:154530000-154540000 "$shared/1000g/HG00096.pgx.vcf.gz"
tabix -f -p vcf HG00096.chrX-extract.vcf.gz
cp "$shared/pharmcat/pharmcat_positions.vcf" pharmcat/pharmcat_positions.vcf
bgzip -c pharmcat/pharmcat_positions.vcf > pharmcat/pharmcat_positions.vcf.gz
tabix -f -p vcf pharmcat/pharmcat_positions.vcf.gz
cp "$shared/pharmcat/pharmcat_positions.vcf.bgz" "$shared/pharmcat/pharmcat_positions.vcf.bgz.csi" pharmcat/
cp "$shared/pharmcat/pharmcat_positions.uniallelic.vcf.bgz" "$shared/pharmcat/pharmcat_positions.uniallelic.vcf.bgz.csi" pharmcat/
cp "$shared/pharmcat/LICENSE" pharmcat/LICENSE
chmod u+w pharmcat/*
# Indexes must not be older than their VCFs.
touch ./*.tbi edge/*.tbi edge/*.csi pharmcat/*.tbi pharmcat/*.csi

# dbSNP map tests: real dbSNP excerpts (rsidx tests, NCBI tutorial) and crafted cases.
for file in chr17-sample.vcf.gz chr4-sample-corrupted-ids.vcf.gz overlap.vcf.gz multiple_id.vcf.gz \
            ncbi_b151_refseq_names.vcf seed_rsids.tsv rsidx.LICENSE; do
  cp "$shared/dbsnp/$file" dbsnp/ && chmod u+w "dbsnp/$file"
done
bgzip -c dbsnp/crafted.vcf > dbsnp/crafted.vcf.gz
bgzip -c dbsnp/crafted-sample.vcf > dbsnp/crafted-sample.vcf.gz
tabix -f -p vcf dbsnp/crafted-sample.vcf.gz
touch dbsnp/*.tbi
