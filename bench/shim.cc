// SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause
// shim.cc - registers the C benchmark bodies of bench.h with google-benchmark.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench.h"

struct rsz_bench {
	benchmark::State *state;
};

namespace {

std::vector<const rsz_bench_def *> &registry()
{
	static std::vector<const rsz_bench_def *> r;
	return r;
}

// A reusable barrier for the threads of one benchmark run.
struct Barrier {
	std::mutex m;
	std::condition_variable cv;
	int waiting = 0;
	unsigned long generation = 0;

	void wait(int n)
	{
		std::unique_lock<std::mutex> l(m);
		unsigned long g = generation;
		if (++waiting == n) {
			waiting = 0;
			generation++;
			cv.notify_all();
		} else {
			cv.wait(l, [&] { return g != generation; });
		}
	}
};

Barrier &barrier()
{
	static Barrier b;
	return b;
}

} // namespace

extern "C" {

void rsz_bench_register(const rsz_bench_def *def) { registry().push_back(def); }
bool rsz_bench_keep_running(rsz_bench *b) { return b->state->KeepRunning(); }
int64_t rsz_bench_arg(rsz_bench *b, int i) { return b->state->range(i); }
int rsz_bench_thread_index(rsz_bench *b) { return b->state->thread_index(); }
int rsz_bench_threads(rsz_bench *b) { return b->state->threads(); }
int64_t rsz_bench_iterations(rsz_bench *b) { return b->state->max_iterations; }
void rsz_bench_set_items_processed(rsz_bench *b, int64_t n) { b->state->SetItemsProcessed(n); }
void rsz_bench_pause(rsz_bench *b) { b->state->PauseTiming(); }
void rsz_bench_resume(rsz_bench *b) { b->state->ResumeTiming(); }
void rsz_bench_skip(rsz_bench *b, const char *why) { b->state->SkipWithError(why); }
void rsz_bench_sync(rsz_bench *b) { barrier().wait(b->state->threads()); }

void rsz_bench_counter(rsz_bench *b, const char *name, double value, bool per_thread_avg)
{
	b->state->counters[name] = benchmark::Counter(
		value, per_thread_avg ? benchmark::Counter::kAvgThreads
				      : benchmark::Counter::kDefaults);
}

} // extern "C"

int main(int argc, char **argv)
{
	for (const rsz_bench_def *d : registry()) {
		auto *bm = benchmark::RegisterBenchmark(d->name, [d](benchmark::State &st) {
			rsz_bench b{&st};
			d->fn(&b);
		});
		std::vector<std::vector<int64_t>> product;
		std::vector<std::string> names;
		for (int i = 0; i < RSZ_BENCH_MAX_ARGS; i++) {
			std::vector<int64_t> vals;
			for (int j = 0; j < RSZ_BENCH_MAX_VALUES && d->args[i][j]; j++)
				vals.push_back(d->args[i][j]);
			if (vals.empty())
				break;
			product.push_back(vals);
			names.push_back(d->arg_names[i] ? d->arg_names[i] : "");
		}
		if (!product.empty()) {
			bm->ArgsProduct(product);
			bm->ArgNames(names);
		}
		bool any_threads = false;
		for (int t : d->threads)
			if (t) {
				bm->Threads(t);
				any_threads = true;
			}
		if (!any_threads)
			bm->Threads(1);
		if (d->process_cpu_time)
			bm->MeasureProcessCPUTime();
		if (d->real_time)
			bm->UseRealTime();
		if (d->iterations)
			bm->Iterations(d->iterations);
		if (d->min_time > 0)
			bm->MinTime(d->min_time);
	}
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
