/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * bench.h - the C face of rsz's benchmarks. Bodies are C; shim.cc maps this
 * API onto google-benchmark (the IREE pattern), adding what its C users
 * need: thread count and index, and user counters.
 *
 *	static void bm_lookup(struct rsz_bench *b)
 *	{
 *		... setup, once per thread (rsz_bench_thread_index()) ...
 *		while (rsz_bench_keep_running(b))
 *			...;
 *		rsz_bench_set_items_processed(b, n);
 *	}
 *	RSZ_BENCH(bm_lookup, .args = {{1 << 16, 1 << 20}, {8}}, .threads = {1, 2});
 */
#ifndef RSZ_BENCH_H
#define RSZ_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rsz_bench;	/* one benchmark thread's state */

#define RSZ_BENCH_MAX_ARGS 4
#define RSZ_BENCH_MAX_VALUES 6

struct rsz_bench_def {
	const char *name;
	void (*fn)(struct rsz_bench *b);
	/* Each row: the values of one argument (0-terminated unless full);
	 * the benchmark runs over their cartesian product. */
	int64_t args[RSZ_BENCH_MAX_ARGS][RSZ_BENCH_MAX_VALUES];
	const char *arg_names[RSZ_BENCH_MAX_ARGS];
	int threads[4];		/* 0-terminated; none: 1 thread */
	bool real_time;		/* rates from wall time */
	bool process_cpu_time;	/* count every thread's CPU, background ones too */
	int64_t iterations;	/* fixed count; 0: let google-benchmark choose */
	double min_time;	/* seconds; 0: the default */
};

bool rsz_bench_keep_running(struct rsz_bench *b);
int64_t rsz_bench_arg(struct rsz_bench *b, int i);
int rsz_bench_thread_index(struct rsz_bench *b);
int rsz_bench_threads(struct rsz_bench *b);
int64_t rsz_bench_iterations(struct rsz_bench *b);
void rsz_bench_set_items_processed(struct rsz_bench *b, int64_t n);
/* A counter; with @per_thread_avg set, averaged over the threads, else summed. */
void rsz_bench_counter(struct rsz_bench *b, const char *name, double value, bool per_thread_avg);
void rsz_bench_pause(struct rsz_bench *b);
void rsz_bench_resume(struct rsz_bench *b);
void rsz_bench_skip(struct rsz_bench *b, const char *why);
/* A barrier among the benchmark's threads (setup done by thread 0). */
void rsz_bench_sync(struct rsz_bench *b);

void rsz_bench_register(const struct rsz_bench_def *def);

#define RSZ_BENCH(fn_, ...)						\
	static const struct rsz_bench_def rsz_bench_def_##fn_ = {	\
		.name = #fn_, .fn = fn_, __VA_ARGS__ };			\
	__attribute__((constructor)) static void rsz_bench_reg_##fn_(void) \
	{ rsz_bench_register(&rsz_bench_def_##fn_); }	\
	struct rsz_bench_dummy_##fn_

#ifdef __cplusplus
}
#endif

#endif /* RSZ_BENCH_H */
