#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause
#
# bench/report.sh - build in release mode, run the benchmark suite and
# write docs/performance.md with its plots in docs/perf/ (what
# `tools/dev bench` runs). About 10-15 minutes on 2 cores.
#
# Environment: RSZ_BENCH_FILTER (a google-benchmark regex, default all),
# RSZ_BENCH_MIN_TIME (seconds per run, default 0.2), RSZ_BENCH_JSON (use
# this JSON instead of running the suite: regenerate the report only).
set -eu
cd "$(dirname "$0")/.."

build=build-release
perf=docs/perf
json=$perf/bench.json
min_time=${RSZ_BENCH_MIN_TIME:-0.2}
filter=${RSZ_BENCH_FILTER:-.}

if [ ! -d "$build" ]; then
	# The benchmark binary links rsz's shared library, with no LTO, as
	# targets.md's fairness rule asks.
	meson setup "$build" --buildtype=release -Db_lto=false -Db_ndebug=true \
		-Dtests=false >/dev/null
fi
ninja -C "$build" >/dev/null
mkdir -p "$perf"

if [ -n "${RSZ_BENCH_JSON:-}" ]; then
	json=$RSZ_BENCH_JSON
else
	rm -f "$perf"/burst_n*.dat
	t0=$(date +%s)
	RSZ_BENCH_SERIES_DIR=$perf "$build/bench/rsz-bench" \
		--benchmark_min_time="$min_time" --benchmark_filter="$filter" \
		--benchmark_out="$json" --benchmark_out_format=json \
		--benchmark_counters_tabular=false
	echo "suite: $(( $(date +%s) - t0 )) s"
fi

python3 bench/report.py --json "$json" --perf "$perf" --out docs/performance.md \
	--command "tools/dev bench   # = bench/report.sh (RSZ_BENCH_MIN_TIME=$min_time, RSZ_BENCH_FILTER='$filter')"
echo "wrote docs/performance.md and $perf/"
