#!/usr/bin/env bash
# Loopback load benchmark of `vcfq serve`: random point queries at existing positions of
# the generated 10 M-record sample, 64 connections, bounded in time, 127.0.0.1 only.
# Needs wrk (apt-get install wrk). Usage: bash benches/load.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
connections=${2:-64}
data=target/bench-data
sample=$data/sample-10000000.vcf.gz
mkdir -p "$data"
if [ ! -e "$sample.queries.tsv" ]; then
  echo "generating the benchmark sample (once, about a minute) ..." >&2
  cargo run --release --quiet --bin vcfq-synth -- sample --rows 10000000 --out "$sample"
fi
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
id=3fa85f64-5717-4562-b3fc-2c963f66afa6
target/release/vcfq sample add $id "$sample" --store "$work/store" >/dev/null
target/release/vcfq serve --store "$work/store" --bind 127.0.0.1:0 2>"$work/serve.log" >/dev/null &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log" | head -1)
# 4,096 random existing positions, as wrk request paths.
awk -v id=$id 'NR % 23 == 0 && n++ < 4096 { printf "/api/v2/sample-genomic-variants/%s?chromosome=%s&position=%s\n", id, $2, $3 }' \
  "$sample.queries.tsv" > "$work/paths.txt"
cat > "$work/random.lua" <<LUA
local paths = {}
for line in io.lines("$work/paths.txt") do paths[#paths + 1] = line end
math.randomseed(20261129)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA
# Warm up, then measure.
wrk -t1 -c"$connections" -d3s -s "$work/random.lua" "http://127.0.0.1:$port" >/dev/null
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/random.lua" "http://127.0.0.1:$port"
