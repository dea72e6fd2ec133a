/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The hash map benchmarks: rsz's map against the fixed hash (BPF's
 * preallocated hash map, baseline_fixed_hash.c) and liburcu's rculfhash
 * (baseline_rculfhash.c), on the shared bodies of bench_maps.h; then the
 * runs only rsz can make: the burst into an RSZ_F_PREALLOC map and the
 * memory after it.
 *
 * Each benchmark takes the table as its `impl' argument and google-benchmark
 * varies it fastest, so the three tables run back to back on every
 * configuration: their ratio spans seconds of a shared machine's drifting
 * load, not minutes. Each case of the dispatch inlines the body with a
 * constant ops table, so the loop calls each table directly: rsz through
 * its shared library, the baselines in their own compilation units.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rsz/hash.h>

#include "baseline_fixed_hash.h"
#include "baseline_rculfhash.h"
#include "bench_maps.h"

enum { IMPL_FIXED = 1, IMPL_RSZ = 2, IMPL_RCULFHASH = 3 };
#define IMPLS { IMPL_FIXED, IMPL_RSZ, IMPL_RCULFHASH }

/* ---- fixed hash ------------------------------------------------------ */

static void *fx_create(const struct bmap_cfg *c)
{
	return fixed_hash_new(c->key_size, c->value_size, c->fixed_size, c->ca);
}

static void fx_destroy(void *m)
{
	fixed_hash_destroy(m);
}

static void *fx_lookup(void *m, const void *key)
{
	return fixed_hash_lookup(m, key);
}

static int fx_update(void *m, const void *key, const void *value, uint64_t flags)
{
	return fixed_hash_update(m, key, value, flags);
}

static int fx_delete(void *m, const void *key)
{
	return fixed_hash_delete(m, key);
}

static uint64_t fx_mem(void *m, const struct bmap_cfg *c)
{
	return c->ca ? count_alloc_usable(c->ca) : fixed_hash_mem_bytes(m);
}

static void fx_settle(void *m)
{
	(void)m;
}

static const struct bmap_ops fixed_ops = {
	.name = "fixed", .create = fx_create, .destroy = fx_destroy,
	.lookup = fx_lookup, .update = fx_update, .del = fx_delete,
	.mem_alloc = fx_mem, .settle = fx_settle,
};

/* ---- rculfhash ------------------------------------------------------- */

static void *lf_create(const struct bmap_cfg *c)
{
	static bool named;
	struct tidset before;
	void *m;

	/* The first table starts liburcu's resize workqueue thread. */
	tidset_snap(&before);
	m = lfht_map_new(c->key_size, c->value_size);
	if (m && c->lfht_presize) {
		unsigned long b = 1;

		while (b < c->n)
			b <<= 1;
		lfht_map_resize(m, b);
	}
	if (!named) {
		named = true;
		tidset_name_new(&before, "urcu-lfht-wq");
	}
	return m;
}

static void lf_destroy(void *m)
{
	lfht_map_destroy(m);
}

static void *lf_lookup(void *m, const void *key)
{
	return lfht_map_lookup(m, key);
}

static int lf_update(void *m, const void *key, const void *value, uint64_t flags)
{
	return lfht_map_update(m, key, value, flags);
}

static int lf_delete(void *m, const void *key)
{
	return lfht_map_delete(m, key);
}

static uint64_t lf_mem(void *m, const struct bmap_cfg *c)
{
	(void)c;
	return lfht_map_heap_bytes(m);
}

/* Steady state: the size auto-resize converges to, then the heap quiet. */
static void lf_settle(void *m)
{
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	uint64_t last;

	lfht_map_settle(m);
	last = lfht_map_heap_bytes(m);
	for (int i = 0; i < 100; i++) {
		uint64_t now;

		nanosleep(&ms10, NULL);
		urcu_memb_barrier();
		now = lfht_map_heap_bytes(m);
		if (now == last)
			break;
		last = now;
	}
}

static void lf_resize_cycle(void *m, uint64_t n)
{
	lfht_map_resize(m, (unsigned long)n * 4);
	lfht_map_resize(m, (unsigned long)n);
}

static const struct bmap_ops lfht_ops = {
	.name = "rculfhash", .create = lf_create, .destroy = lf_destroy,
	.lookup = lf_lookup, .update = lf_update, .del = lf_delete,
	.mem_alloc = lf_mem, .settle = lf_settle, .resize_cycle = lf_resize_cycle,
};

/* ---- rsz -------------------------------------------------------------- */

static void *rz_create(const struct bmap_cfg *c)
{
	RSZ_OPTS(rsz_hash_opts, o,
		 .key_size = c->key_size,
		 .value_size = c->value_size,
		 .max_entries = c->rsz_max,
		 .initial_entries = c->rsz_initial ? c->rsz_initial : 64,
		 .flags = c->rsz_flags,
		 .mem = c->mem,
		 .allocator = c->ca ? &c->ca->ops : NULL);
	struct rsz_hash *h = rsz_hash_new(&o);

	if (h && c->rsz_high && rsz_hash_set_watermarks(h, c->rsz_low, c->rsz_high)) {
		rsz_hash_destroy(h);
		return NULL;
	}
	return h;
}

static void rz_destroy(void *m)
{
	rsz_hash_destroy(m);
}

static void *rz_lookup(void *m, const void *key)
{
	return rsz_hash_lookup(m, key);
}

static int rz_update(void *m, const void *key, const void *value, uint64_t flags)
{
	return rsz_hash_update(m, key, value, flags);
}

static int rz_delete(void *m, const void *key)
{
	return rsz_hash_delete(m, key);
}

static uint64_t rz_mem(void *m, const struct bmap_cfg *c)
{
	struct rsz_hash_stat st;

	if (c->ca)
		return count_alloc_usable(c->ca);
	rsz_hash_stat(m, &st, sizeof(st));
	return st.mem_bytes;
}

/* Queued grows and shrinks done, then their deferred frees. */
static void rz_settle(void *m)
{
	struct timespec ms1 = { 0, 1000 * 1000 };
	struct rsz_hash_stat st;

	for (int i = 0; i < 5000; i++) {
		rsz_hash_stat(m, &st, sizeof(st));
		if (!st.grow_pending)
			break;
		nanosleep(&ms1, NULL);
	}
	urcu_memb_barrier();
}

static void rz_resize_cycle(void *m, uint64_t n)
{
	rsz_hash_grow(m, 4 * n, RSZ_GROW_WAIT);
	rsz_hash_shrink(m, RSZ_GROW_WAIT);
}

static const struct bmap_ops rsz_ops = {
	.name = "rsz", .create = rz_create, .destroy = rz_destroy,
	.lookup = rz_lookup, .update = rz_update, .del = rz_delete,
	.mem_alloc = rz_mem, .settle = rz_settle, .resize_cycle = rz_resize_cycle,
};

/* ---- the shared runs -------------------------------------------------- */

#define DISPATCH(impl, body, ...)					\
	do {								\
		switch (impl) {						\
		case IMPL_FIXED: body(b, &fixed_ops, ##__VA_ARGS__); break;	\
		case IMPL_RSZ: body(b, &rsz_ops, ##__VA_ARGS__); break;	\
		case IMPL_RCULFHASH: body(b, &lfht_ops, ##__VA_ARGS__); break; \
		}							\
	} while (0)

/* Args: impl, op, n, kv. */
static void bm_read(struct rsz_bench *b)
{
	DISPATCH(rsz_bench_arg(b, 0), body_read);
}
RSZ_BENCH(bm_read, .args = { IMPLS, { OP_HIT, OP_MISS, OP_MIXED }, SIZES, KVS },
	  .arg_names = { "impl", "op", "n", "kv" }, .threads = { 1, 2 }, .real_time = true);

/* Args: mode, impl, n; the fixed hash never resizes, so it has only the
 * steady state, in a family of its own. */
static void bm_latency(struct rsz_bench *b)
{
	DISPATCH(rsz_bench_arg(b, 1), body_latency);
}
RSZ_BENCH(bm_latency, .args = { { LAT_STEADY, LAT_RESIZING }, { IMPL_RSZ, IMPL_RCULFHASH }, SIZES },
	  .arg_names = { "mode", "impl", "n" }, .real_time = true);

static void bm_latency_fixed(struct rsz_bench *b)
{
	body_latency(b, &fixed_ops);
}
RSZ_BENCH(bm_latency_fixed, .args = { { LAT_STEADY }, { IMPL_FIXED }, SIZES },
	  .arg_names = { "mode", "impl", "n" }, .real_time = true);

/* Args: impl, n, kv. */
static void bm_insert(struct rsz_bench *b)
{
	DISPATCH(rsz_bench_arg(b, 0), body_insert);
}
RSZ_BENCH(bm_insert, .args = { IMPLS, SIZES, KVS }, .arg_names = { "impl", "n", "kv" },
	  .real_time = true, .process_cpu_time = true);

/*
 * The talk's case: a table that must take 10x its normal load n, at n.
 * The fixed hash is sized for 10n; rsz is capped at 10n in the default
 * mode from its default start; rculfhash has no cap. Args: impl, n.
 */
static void bm_talk(struct rsz_bench *b)
{
	struct bmap_cfg c = { .key_size = 8, .value_size = 8 };

	c.n = bench_n(b, 1);
	c.fixed_size = 10 * c.n;
	c.rsz_max = 10 * c.n;
	c.lfht_presize = true;
	DISPATCH(rsz_bench_arg(b, 0), body_memory, c);
}
RSZ_BENCH(bm_talk, .args = { IMPLS, { 1 << 16, 1 << 20 } }, .arg_names = { "impl", "n" },
	  .iterations = 1, .real_time = true);

/* ---- the burst ---------------------------------------------------------- */

struct sample {
	float t;	/* seconds since the start */
	uint64_t bytes, count;
};

struct sampler {
	struct rsz_hash *h;
	struct count_alloc *ca;
	double t0;
	bool stop;
	struct sample *s;
	size_t n, cap;
};

static void *sampler_main(void *arg)
{
	struct sampler *sp = arg;
	struct timespec ms1 = { 0, 1000 * 1000 };

	urcu_memb_register_thread();
	while (!__atomic_load_n(&sp->stop, __ATOMIC_RELAXED) && sp->n < sp->cap) {
		struct rsz_hash_stat st;

		rsz_hash_stat(sp->h, &st, sizeof(st));
		sp->s[sp->n].t = (float)(now_s() - sp->t0);
		sp->s[sp->n].bytes = count_alloc_usable(sp->ca);
		sp->s[sp->n].count = st.count;
		sp->n++;
		nanosleep(&ms1, NULL);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void write_series(const struct sampler *sp, uint64_t n, double fixed_bytes)
{
	const char *dir = getenv("RSZ_BENCH_SERIES_DIR");
	char path[512];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/burst_n%lu.dat", dir, (unsigned long)n);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return;
	}
	fprintf(f, "# t_s rsz_bytes count fixed_10n_bytes\n");
	for (size_t i = 0; i < sp->n; i++)
		fprintf(f, "%.4f %lu %lu %.0f\n", sp->s[i].t, (unsigned long)sp->s[i].bytes,
			(unsigned long)sp->s[i].count, fixed_bytes);
	fclose(f);
}

/*
 * The talk's burst: a map at its normal load n, capped at 10n, in
 * RSZ_F_PREALLOC mode with the program's own watermarks (grow when fewer
 * than n elements are free, to 2n free: the program knows a burst can
 * bring n new keys faster than a grow takes). One data-path thread inserts
 * the 9n burst keys as fast as it can; a failed insert (-EAGAIN included)
 * is counted and never retried. Then the burst's keys are deleted, and
 * with RSZ_F_SHRINK the memory held must come back to at most 2x the
 * pre-burst level within 1 s. Memory is sampled every millisecond.
 */
static void bm_burst_rsz(struct rsz_bench *b)
{
	uint64_t n = bench_n(b, 0), key[2] = { 0 }, val[8] = { 0 };
	uint64_t failed = 0, eagain = 0, other = 0, peak = 0;
	double pre = 0, after_1s = 0, recover_s = -1, burst_s = 0, fixed_bytes = 0;
	struct count_alloc *ca = calloc(1, sizeof(*ca)), *fca = calloc(1, sizeof(*fca));
	struct sampler sp = { 0 };
	pthread_t st_thread;
	struct rsz_mem *mem;
	struct rsz_hash *h;

	urcu_memb_register_thread();
	bench_init_threads();
	bmap_drop();
	count_alloc_init(ca);
	count_alloc_init(fca);
	mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	{
		/* What BPF would hold all along: the fixed hash sized for 10n. */
		struct fixed_hash *fx = fixed_hash_new(8, 8, 10 * n, fca);

		fixed_bytes = fx ? (double)count_alloc_usable(fca) : 0;
		fixed_hash_destroy(fx);
	}
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8,
		 .max_entries = 10 * n, .initial_entries = 2 * n,
		 .flags = RSZ_F_PREALLOC | RSZ_F_SHRINK, .mem = mem, .allocator = &ca->ops);
	h = rsz_hash_new(&o);
	if (!h || rsz_hash_set_watermarks(h, n, 2 * n)) {
		rsz_bench_skip(b, "rsz_hash_new or set_watermarks failed");
		goto out;
	}
	while (rsz_bench_keep_running(b)) {
		double t;

		/* The normal load, with the pool ready as the program would. */
		rsz_hash_grow(h, 3 * n, RSZ_GROW_WAIT);
		for (uint64_t i = 0; i < n; i++) {
			make_key(key, 8, i);
			val[0] = i;
			other += rsz_hash_update(h, key, val, RSZ_NOEXIST) != 0;
		}
		rz_settle(h);
		pre = (double)count_alloc_usable(ca);

		sp.h = h;
		sp.ca = ca;
		sp.cap = 20000;
		sp.s = calloc(sp.cap, sizeof(*sp.s));
		sp.t0 = now_s();
		pthread_create(&st_thread, NULL, sampler_main, &sp);
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);

		t = now_s();
		for (uint64_t i = n; i < 10 * n; i++) {
			int r;

			make_key(key, 8, i);
			val[0] = i;
			r = rsz_hash_update(h, key, val, RSZ_NOEXIST);
			if (r) {
				failed++;
				eagain += r == -EAGAIN;
			}
		}
		burst_s = now_s() - t;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		peak = count_alloc_usable(ca);

		for (uint64_t i = n; i < 10 * n; i++) {
			make_key(key, 8, i);
			rsz_hash_delete(h, key);	/* -ENOENT for the failed ones */
		}
		t = now_s();
		while (now_s() - t < 1.0) {
			if (recover_s < 0 && count_alloc_usable(ca) <= 2 * pre)
				recover_s = now_s() - t;
			nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
		}
		after_1s = (double)count_alloc_usable(ca);
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
		__atomic_store_n(&sp.stop, true, __ATOMIC_RELAXED);
		pthread_join(st_thread, NULL);
		write_series(&sp, n, fixed_bytes);
		free(sp.s);
	}
	rsz_bench_counter(b, "burst_keys", 9.0 * n, false);
	rsz_bench_counter(b, "failed", (double)failed, false);
	rsz_bench_counter(b, "eagain", (double)eagain, false);
	rsz_bench_counter(b, "setup_failed", (double)other, false);
	rsz_bench_counter(b, "burst_ns_per_insert", burst_s * 1e9 / (9.0 * n), false);
	rsz_bench_counter(b, "pre_bytes", pre, false);
	rsz_bench_counter(b, "peak_bytes", (double)peak, false);
	rsz_bench_counter(b, "after_1s_bytes", after_1s, false);
	rsz_bench_counter(b, "after_1s_vs_pre", pre > 0 ? after_1s / pre : 0, false);
	rsz_bench_counter(b, "recover_s", recover_s, false);
	rsz_bench_counter(b, "fixed_10n_bytes", fixed_bytes, false);
	rsz_bench_counter(b, "pre_vs_fixed_10n", fixed_bytes > 0 ? pre / fixed_bytes : 0, false);
	rsz_bench_set_items_processed(b, (int64_t)(9 * n));
out:
	if (h)
		rsz_hash_destroy(h);
	urcu_memb_barrier();
	rsz_mem_destroy(mem);
	free(ca);
	free(fca);
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_burst_rsz, .args = { { 1 << 16, 1 << 20 } }, .arg_names = { "n" },
	  .iterations = 1, .real_time = true);

/*
 * rsz in RSZ_F_PREALLOC mode, sized at n: the like-for-like comparison
 * with BPF's preallocated table (bm_read builds rsz in default mode,
 * grown from 64 elements with one malloc per element). Same keys, loop
 * and batch as bm_read; run it with bm_read/impl:1 in one invocation so
 * that ratios come from the same run:
 *   rsz-bench --benchmark_filter='bm_read_prealloc|bm_read/impl:1/'
 * Args: op, n, kv.
 */
static struct rsz_hash *pre_map;
static uint64_t pre_n, pre_kv;

static void bm_read_prealloc(struct rsz_bench *b)
{
	int tid = rsz_bench_thread_index(b), op = (int)rsz_bench_arg(b, 0);
	uint64_t n = bench_n(b, 1), kv = (uint64_t)rsz_bench_arg(b, 2);
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(tid + 1);
	uint64_t key[2] = { 0 }, val[8] = { 0 }, sink = 0, missing = 0;
	uint32_t ks, vs;

	kv_sizes(kv, &ks, &vs);
	urcu_memb_register_thread();
	if (tid == 0 && (!pre_map || pre_n != n || pre_kv != kv)) {
		RSZ_OPTS(rsz_hash_opts, o, .key_size = ks, .value_size = vs,
			 .initial_entries = n, .flags = RSZ_F_PREALLOC);

		if (pre_map)
			rsz_hash_destroy(pre_map);
		pre_map = rsz_hash_new(&o);
		for (uint64_t i = 0; pre_map && i < n; i++) {
			make_key(key, ks, i);
			rsz_hash_update(pre_map, key, val, RSZ_NOEXIST);
		}
		if (pre_map)
			rsz_hash_maintain(pre_map);
		pre_n = n;
		pre_kv = kv;
	}
	rsz_bench_sync(b);
	if (!pre_map) {
		rsz_bench_skip(b, "rsz_hash_new failed");
		goto out;
	}
	while (rsz_bench_keep_running(b)) {
		urcu_memb_read_lock();
		for (int i = 0; i < BATCH; i++) {
			uint64_t r = bench_rand(&rng), idx = r & (n - 1);

			if (op == OP_MISS)
				idx += n;
			make_key(key, ks, idx);
			if (op == OP_MIXED && (r >> 40) % 10 == 0) {
				val[0] = r;
				rsz_hash_update(pre_map, key, val, RSZ_EXIST);
			} else {
				const uint64_t *v = rsz_hash_lookup(pre_map, key);

				if (v)
					sink += *v;
				else
					missing += op != OP_MISS;
			}
		}
		urcu_memb_read_unlock();
	}
	rsz_bench_counter(b, "missing", (double)missing, false);
	rsz_bench_counter(b, "sink", (double)(sink & 1), false);
	rsz_bench_set_items_processed(b, rsz_bench_iterations(b) * BATCH);
	rsz_bench_sync(b);
out:
	urcu_memb_unregister_thread();
}
RSZ_BENCH(bm_read_prealloc, .args = { { OP_HIT, OP_MISS, OP_MIXED }, SIZES, KVS },
	  .arg_names = { "op", "n", "kv" }, .threads = { 1, 2 }, .real_time = true);
