#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause
# Run every benchmark briefly at its smallest sizes and check the JSON:
# each ran, none reported an error, and each has a positive rate.
set -eu
bench=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
RSZ_BENCH_QUICK=1 "$bench" --benchmark_min_time=0.01 \
	--benchmark_filter="${RSZ_BENCH_SMOKE_FILTER:-.}" \
	--benchmark_format=json --benchmark_out="$out" --benchmark_out_format=json >/dev/null
python3 - "$out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
runs = doc["benchmarks"]
bad = [r["name"] for r in runs if r.get("error_occurred")]
bad += [r["name"] for r in runs if not r.get("error_occurred") and not (r.get("iterations", 0) > 0 and r.get("real_time", 0) > 0)]
if not runs or bad:
    print("benchmarks failed or empty:", bad or "none ran")
    sys.exit(1)
print(f"{len(runs)} passed, 0 failed")
PY
