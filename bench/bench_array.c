/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The segmented array against a flat preallocated array (BPF's array map),
 * both sides in the same run (../shared/spec/targets.md, "Segmented
 * array"). Benchmarks with an `impl' argument run the flat baseline at 1
 * and rsz at 2 on the same indices, so their ratio is the figure (0 would
 * end the shim's argument list).
 * RSZ_BENCH_QUICK shrinks every size to 64K for the smoke test.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include <rsz/rsz.h>

#include "baseline_array.h"
#include "bench.h"

#define QUICK_SIZE (1 << 16)
#define NR_IDX (1 << 16)

static int64_t size_arg(struct rsz_bench *b, int i)
{
	int64_t n = rsz_bench_arg(b, i);

	return getenv("RSZ_BENCH_QUICK") && n > QUICK_SIZE ? QUICK_SIZE : n;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* ---- random-index lookups, 64 per read-side section ---- */

static void bm_array_lookup(struct rsz_bench *b)
{
	uint64_t n = (uint64_t)size_arg(b, 0), seed = 88172645463325252ull, sum = 0;
	int impl = (int)rsz_bench_arg(b, 1);
	uint64_t *idx = malloc(NR_IDX * sizeof(*idx));
	struct flat_array *fa = NULL;
	struct rsz_array *a = NULL;
	int64_t items = 0;
	unsigned int pos = 0;

	urcu_memb_register_thread();
	for (int i = 0; i < NR_IDX; i++)
		idx[i] = xorshift(&seed) % n;
	if (impl == 1) {
		fa = flat_array_new(n, 8);
		flat_array_touch(fa);
	} else {
		RSZ_OPTS(rsz_array_opts, o, .value_size = 8, .initial_entries = 64);
		a = rsz_array_new(&o);
		rsz_array_grow(a, n, RSZ_GROW_WAIT);
	}
	while (rsz_bench_keep_running(b)) {
		urcu_memb_read_lock();
		if (impl == 1) {
			for (int j = 0; j < 64; j++)
				sum += *(uint64_t *)flat_array_lookup(fa, idx[(pos + j) & (NR_IDX - 1)]);
		} else {
			for (int j = 0; j < 64; j++)
				sum += *(uint64_t *)rsz_array_lookup(a, idx[(pos + j) & (NR_IDX - 1)]);
		}
		urcu_memb_read_unlock();
		pos += 64;
		items += 64;
	}
	rsz_bench_set_items_processed(b, items);
	rsz_bench_counter(b, "sum", (double)(sum & 1), false);	/* keeps the loads */
	if (fa)
		flat_array_free(fa);
	if (a)
		rsz_array_destroy(a);
	free(idx);
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_array_lookup, .args = {{1 << 20, 8 << 20}, {1, 2}},
	  .arg_names = {"entries", "impl"});

/* The same lookups, both sides alternating in blocks of 16 read-side
 * sections (1024 lookups, a few microseconds) inside one benchmark, each
 * block timed: on a machine shared with other work, the two sides then see
 * the same interference, and the ratio counter is the figure. */
static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void bm_array_lookup_paired(struct rsz_bench *b)
{
	uint64_t n = (uint64_t)size_arg(b, 0), seed = 88172645463325252ull, sum = 0;
	uint64_t *idx = malloc(NR_IDX * sizeof(*idx));
	struct flat_array *fa;
	struct rsz_array *a;
	RSZ_OPTS(rsz_array_opts, o, .value_size = 8, .initial_entries = 64);
	double t_flat = 0, t_rsz = 0;
	unsigned int pos = 0;
	int64_t items = 0;

	urcu_memb_register_thread();
	for (int i = 0; i < NR_IDX; i++)
		idx[i] = xorshift(&seed) % n;
	fa = flat_array_new(n, 8);
	flat_array_touch(fa);
	a = rsz_array_new(&o);
	rsz_array_grow(a, n, RSZ_GROW_WAIT);
	while (rsz_bench_keep_running(b)) {
		/* Which side goes first alternates, so neither always finds
		 * the index block warmed by the other. */
		for (int side = 0; side < 2; side++) {
			bool flat = (side == 0) == ((items / 2048) % 2 == 0);
			double t0 = now_ns();

			for (int s = 0; s < 16; s++) {
				urcu_memb_read_lock();
				if (flat) {
					for (int j = 0; j < 64; j++)
						sum += *(uint64_t *)flat_array_lookup(fa,
							idx[(pos + j) & (NR_IDX - 1)]);
				} else {
					for (int j = 0; j < 64; j++)
						sum += *(uint64_t *)rsz_array_lookup(a,
							idx[(pos + j) & (NR_IDX - 1)]);
				}
				urcu_memb_read_unlock();
				pos += 64;
			}
			if (flat)
				t_flat += now_ns() - t0;
			else
				t_rsz += now_ns() - t0;
			if (side == 0)
				pos -= 1024;	/* the same indices for the other side */
		}
		items += 2048;
	}
	rsz_bench_set_items_processed(b, items);
	rsz_bench_counter(b, "flat_ns", t_flat / (double)(items / 2), false);
	rsz_bench_counter(b, "rsz_ns", t_rsz / (double)(items / 2), false);
	rsz_bench_counter(b, "rsz_over_flat", t_rsz / t_flat, false);
	rsz_bench_counter(b, "sum", (double)(sum & 1), false);
	flat_array_free(fa);
	rsz_array_destroy(a);
	free(idx);
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_array_lookup_paired, .args = {{1 << 20, 8 << 20}}, .arg_names = {"entries"});

/* ---- growth from 1 element to N by grow hints, zeroing included ---- */

static void bm_array_growth(struct rsz_bench *b)
{
	uint64_t n = (uint64_t)size_arg(b, 0);
	int impl = (int)rsz_bench_arg(b, 1);
	int64_t items = 0;

	urcu_memb_register_thread();
	while (rsz_bench_keep_running(b)) {
		if (impl == 1) {
			struct flat_array *fa = flat_array_new(n, 8);

			flat_array_touch(fa);
			rsz_bench_pause(b);
			flat_array_free(fa);
			rsz_bench_resume(b);
		} else {
			RSZ_OPTS(rsz_array_opts, o, .value_size = 8, .initial_entries = 1,
				 .flags = RSZ_F_MANUAL);
			struct rsz_array *a = rsz_array_new(&o);

			/* The hints a program would give as it fills up. */
			for (uint64_t c = 2; c <= n; c *= 2)
				rsz_array_grow(a, c, RSZ_GROW_WAIT);
			rsz_bench_pause(b);
			rsz_array_destroy(a);
			rsz_bench_resume(b);
		}
		items += (int64_t)n;
	}
	rsz_bench_set_items_processed(b, items);
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_array_growth, .args = {{8 << 20}, {1, 2}}, .arg_names = {"entries", "impl"},
	  .process_cpu_time = true, .real_time = true, .iterations = 10);

/* ---- alloc + release pairs ---- */

static struct rsz_array *pairs_array;

static void bm_array_alloc_release(struct rsz_bench *b)
{
	uint64_t n = (uint64_t)size_arg(b, 0), failed = 0;
	int64_t pairs = 0;

	urcu_memb_register_thread();
	if (rsz_bench_thread_index(b) == 0) {
		RSZ_OPTS(rsz_array_opts, o, .value_size = 8, .initial_entries = n);
		pairs_array = rsz_array_new(&o);
	}
	rsz_bench_sync(b);
	while (rsz_bench_keep_running(b)) {
		uint64_t idx;

		if (rsz_array_alloc(pairs_array, &idx)) {
			failed++;	/* reclaim behind: the grace period is the limit */
			continue;
		}
		rsz_array_release(pairs_array, idx);
		pairs++;
	}
	rsz_bench_set_items_processed(b, pairs);
	rsz_bench_counter(b, "failed_allocs", (double)failed, false);
	rsz_bench_sync(b);
	if (rsz_bench_thread_index(b) == 0)
		rsz_array_destroy(pairs_array);
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_array_alloc_release, .args = {{1 << 20}}, .arg_names = {"capacity"},
	  .threads = {1, 2}, .process_cpu_time = true, .real_time = true);

/* ---- bytes held at capacity C ---- */

struct counting {
	uint64_t usable;
	uint64_t asked;
};

static void *count_alloc(size_t size, size_t align, void *ctx)
{
	struct counting *c = ctx;
	void *p = NULL;

	if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size))
		return NULL;
	__atomic_add_fetch(&c->usable, malloc_usable_size(p), __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->asked, size, __ATOMIC_RELAXED);
	return p;
}

static void count_free(void *p, size_t size, void *ctx)
{
	struct counting *c = ctx;

	__atomic_sub_fetch(&c->usable, malloc_usable_size(p), __ATOMIC_RELAXED);
	__atomic_sub_fetch(&c->asked, size, __ATOMIC_RELAXED);
	free(p);
}

static void bm_array_bytes(struct rsz_bench *b)
{
	uint64_t c = (uint64_t)size_arg(b, 0);
	uint32_t vs = (uint32_t)rsz_bench_arg(b, 1);
	struct counting cnt = { 0, 0 };
	struct rsz_allocator al = { count_alloc, count_free, &cnt };
	struct rsz_mem *mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	RSZ_OPTS(rsz_array_opts, o, .value_size = vs, .initial_entries = 64,
		 .flags = RSZ_F_MANUAL, .mem = mem, .allocator = &al);
	struct rsz_array *a;
	struct rsz_array_stat st;
	struct rsz_mem_stat ms;
	double flat, seg;

	urcu_memb_register_thread();
	a = rsz_array_new(&o);
	rsz_array_grow(a, c, RSZ_GROW_WAIT);
	while (rsz_bench_keep_running(b))
		rsz_array_stat(a, &st, sizeof(st));
	rsz_array_stat(a, &st, sizeof(st));
	rsz_mem_stat(mem, &ms, sizeof(ms));
	flat = (double)st.capacity * (double)((vs + 7) & ~7u);
	seg = (double)st.capacity / 2 * (double)((vs + 7) & ~7u);
	rsz_bench_counter(b, "capacity", (double)st.capacity, false);
	rsz_bench_counter(b, "held_usable", (double)cnt.usable, false);
	rsz_bench_counter(b, "counter_usage", (double)ms.usage, false);
	rsz_bench_counter(b, "flat_bytes", flat, false);
	/* targets.md: held <= 1.1 x flat + one segment */
	rsz_bench_counter(b, "held_over_flat", (double)cnt.usable / flat, false);
	rsz_bench_counter(b, "held_over_target", (double)cnt.usable / (1.1 * flat + seg), false);
	rsz_bench_set_items_processed(b, rsz_bench_iterations(b));
	rsz_array_destroy(a);
	rsz_mem_destroy(mem);
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_array_bytes, .args = {{1 << 20, 8 << 20}, {8, 24}},
	  .arg_names = {"capacity", "value_size"});
