/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * bench_maps.h - benchmark bodies shared by rsz's hash map and the
 * baselines, so that each table runs the very same loop on the same keys.
 *
 * Each table supplies a `static const struct bmap_ops` whose members are
 * thin wrappers in its own file; the bodies are always_inline, so the
 * compiler folds the ops into direct calls: the loop calls rsz through
 * its shared library and each baseline in its own compilation unit,
 * neither inlined (../shared/spec/targets.md, "Fairness").
 *
 * Keys are a bijective mix of an index: index i < n is present, n <= i < 2n
 * absent; 16-byte keys add a second word. Nothing is read from a key array,
 * so the keys cost no cache misses of their own.
 */
#ifndef RSZ_BENCH_MAPS_H
#define RSZ_BENCH_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rsz/rsz.h>
#include <urcu/urcu-memb.h>

#include "bench.h"
#include "count_alloc.h"

#define BATCH 64	/* lookups per read-side section, as BPF programs make them */

enum { KV_8_8 = 1, KV_16_64 = 2 };
enum { OP_HIT = 1, OP_MISS = 2, OP_MIXED = 3 };
enum { LAT_STEADY = 1, LAT_RESIZING = 2 };

/* Full-mode sizes; RSZ_BENCH_QUICK divides them by 128, to at least 8K
 * (all <= 64K). */
#define SIZES { 1 << 16, 1 << 20, 1 << 23 }
#define KVS { KV_8_8, KV_16_64 }

struct bmap_cfg {
	uint32_t key_size, value_size;
	uint64_t n;		/* elements the run puts in */
	uint64_t fixed_size;	/* fixed hash: its max_entries */
	uint64_t rsz_max;	/* rsz: max_entries (0: none) */
	uint64_t rsz_initial;	/* rsz: initial_entries */
	uint32_t rsz_flags;
	uint64_t rsz_low, rsz_high;	/* rsz watermarks, if rsz_high */
	bool lfht_presize;	/* rculfhash: start at the size auto-resize converges to */
	struct count_alloc *ca;	/* NULL: plain allocation */
	struct rsz_mem *mem;	/* rsz's counter, NULL: none */
};

struct bmap_ops {
	const char *name;
	void *(*create)(const struct bmap_cfg *c);
	void (*destroy)(void *m);
	void *(*lookup)(void *m, const void *key);	/* in a read-side section */
	int (*update)(void *m, const void *key, const void *value, uint64_t flags);
	int (*del)(void *m, const void *key);
	uint64_t (*mem_alloc)(void *m, const struct bmap_cfg *c);	/* quiescent */
	void (*settle)(void *m);	/* let background work finish */
	void (*resize_cycle)(void *m, uint64_t n);	/* one grow, one shrink; may be NULL */
};

/* A built map of n present keys, cached across runs of one table. */
struct bmap_built {
	const struct bmap_ops *ops;
	struct bmap_cfg cfg;
	void *map;
	struct count_alloc ca;
	double bytes_alloc;	/* allocator's figure, after settling */
	double bytes_counter;	/* rsz's memory counter; < 0: none */
	double build_s;
};

/* Thread 0 only; a registered urcu-memb thread. NULL on failure. */
struct bmap_built *bmap_get(const struct bmap_ops *ops, uint64_t n, uint32_t ks, uint32_t vs);
void bmap_drop(void);
struct bmap_built *bmap_current(void);
/* Let background threads and the allocator finish what the last run left. */
void bench_quiesce(void);

/* Once per process, from a registered thread: names liburcu's call_rcu
 * thread "urcu-call-rcu" so that its CPU time can be told apart. */
void bench_init_threads(void);
/* Names threads created since @before (a snapshot) @name. */
struct tidset { int n; int tid[256]; };
void tidset_snap(struct tidset *s);
void tidset_name_new(const struct tidset *before, const char *name);

/* CPU time of the process and of the background threads by name. */
struct cpu_snap {
	double wall, proc, worker, callrcu;	/* seconds */
};
void cpu_snap(struct cpu_snap *s);
void cpu_share_counters(struct rsz_bench *b, const struct cpu_snap *a,
			const struct cpu_snap *z);

uint64_t bench_n(struct rsz_bench *b, int arg);	/* a size argument, quick-scaled */
bool bench_quick(void);
void kv_sizes(int64_t kv, uint32_t *ks, uint32_t *vs);
double now_s(void);

/* Latency histogram in timer ticks: exact below 32, then 16 steps per
 * power of two (6% resolution). */
#define HIST_BUCKETS 1024
struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t total;
};
double hist_percentile_ns(const struct hist *h, double p);
double ticks_to_ns(uint64_t t);

static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t key_mix(uint64_t x)	/* splitmix64's finalizer: a bijection */
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline void make_key(uint64_t *key, uint32_t ks, uint64_t i)
{
	key[0] = key_mix(i);
	if (ks > 8)
		key[1] = i ^ 0x7f4a7c159e3779b9ULL;	/* a 4-tuple's other half */
}

static inline unsigned int hist_index(uint64_t v)
{
	unsigned int e;

	if (v < 32)
		return v;
	e = 63 - __builtin_clzll(v);	/* >= 5 */
	return 32 + (e - 5) * 16 + ((v >> (e - 4)) & 15);
}

static inline uint64_t ticks_now(void)
{
#if defined(__x86_64__)
	unsigned int aux;

	return __builtin_ia32_rdtscp(&aux);
#else
	return (uint64_t)(now_s() * 1e9);
#endif
}

/* ---- bodies --------------------------------------------------------- */

#define BODY static inline __attribute__((always_inline, unused)) void

/*
 * Lookups of present or absent keys, or 90% lookups / 10% replaces of
 * present keys; BATCH operations per read-side section. Args: impl, op,
 * n, kv (google-benchmark varies the first fastest; a table per impl is
 * cached, so each is built once for all three ops and both thread counts).
 */
BODY body_read(struct rsz_bench *b, const struct bmap_ops *ops)
{
	int tid = rsz_bench_thread_index(b);
	int op = (int)rsz_bench_arg(b, 1);
	uint64_t n = bench_n(b, 2);
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(tid + 1);
	uint64_t key[2] = { 0 }, val[8] = { 0 }, sink = 0, iters = 0, missing = 0;
	uint64_t upd_failed = 0;
	struct cpu_snap c0, c1;
	struct bmap_built *bm;
	uint32_t ks, vs;
	void *m;

	kv_sizes(rsz_bench_arg(b, 3), &ks, &vs);
	urcu_memb_register_thread();
	if (tid == 0)
		bmap_get(ops, n, ks, vs);
	rsz_bench_sync(b);
	bm = bmap_current();
	if (!bm || bm->ops != ops) {
		rsz_bench_skip(b, "building the map failed");
		goto out;
	}
	m = bm->map;
	if (tid == 0)
		cpu_snap(&c0);
	while (rsz_bench_keep_running(b)) {
		urcu_memb_read_lock();
		for (int i = 0; i < BATCH; i++) {
			uint64_t r = bench_rand(&rng);
			uint64_t idx = r & (n - 1);

			if (op == OP_MISS)
				idx += n;
			make_key(key, ks, idx);
			if (op == OP_MIXED && (r >> 40) % 10 == 0) {
				val[0] = r;
				upd_failed += ops->update(m, key, val, RSZ_EXIST) != 0;
			} else {
				const uint64_t *v = ops->lookup(m, key);

				if (v)
					sink += *v;
				else
					missing += op != OP_MISS;
			}
		}
		urcu_memb_read_unlock();
		iters++;
	}
	rsz_bench_sync(b);	/* every thread's operations are inside [c0, c1] */
	if (tid == 0) {
		cpu_snap(&c1);
		if (op == OP_MIXED)
			cpu_share_counters(b, &c0, &c1);
		rsz_bench_counter(b, "bytes_per_elem", bm->bytes_alloc / n, false);
		if (bm->bytes_counter >= 0)
			rsz_bench_counter(b, "counter_bytes_per_elem", bm->bytes_counter / n, false);
	}
	/*
	 * Present keys not found. With op HIT this is a broken table. Under
	 * the mixed load it is each table's semantics: the fixed hash reuses
	 * elements at once, as BPF's preallocated map does, so a reader can
	 * miss a key whose element was replaced under it; rculfhash's replace
	 * fails with -ENOENT when another thread replaced the node first.
	 */
	rsz_bench_counter(b, "missing", (double)missing, false);
	if (op == OP_MIXED)
		rsz_bench_counter(b, "update_failed", (double)upd_failed, false);
	rsz_bench_counter(b, "sink", (double)(sink & 1), false);
	rsz_bench_set_items_processed(b, (int64_t)(iters * BATCH));
out:
	urcu_memb_unregister_thread();
}

/*
 * N inserts of new keys into an empty table: rsz from initial_entries 64,
 * the fixed hash sized for N, rculfhash from one bucket. Creating the table
 * is timed (a preallocated table pays there); destroying it is not. Register
 * with .real_time and .process_cpu_time: the JSON's cpu_time is then the
 * whole process's, background threads included. Args: impl, n, kv.
 */
BODY body_insert(struct rsz_bench *b, const struct bmap_ops *ops)
{
	uint64_t n = bench_n(b, 1), key[2] = { 0 }, val[8] = { 0 }, iters = 0, failed = 0;
	struct bmap_cfg cfg = { 0 };

	kv_sizes(rsz_bench_arg(b, 2), &cfg.key_size, &cfg.value_size);
	cfg.n = n;
	cfg.fixed_size = n;
	cfg.rsz_initial = 64;
	urcu_memb_register_thread();
	bench_init_threads();
	bmap_drop();	/* the cached table's memory would only disturb this */
	while (rsz_bench_keep_running(b)) {
		void *m = ops->create(&cfg);

		if (!m) {
			rsz_bench_skip(b, "create failed");
			break;
		}
		for (uint64_t i = 0; i < n; i++) {
			make_key(key, cfg.key_size, i);
			val[0] = i;
			failed += ops->update(m, key, val, RSZ_NOEXIST) != 0;
		}
		rsz_bench_pause(b);
		ops->destroy(m);
		bench_quiesce();	/* no free of this table runs in the next one */
		rsz_bench_resume(b);
		iters++;
	}
	rsz_bench_counter(b, "failed", (double)failed, false);
	rsz_bench_set_items_processed(b, (int64_t)(iters * n));
	urcu_memb_unregister_thread();
}

struct resizer {
	const struct bmap_ops *ops;
	void *map;
	uint64_t n;
	bool stop;
	uint64_t cycles;
};
void resizer_start(struct resizer *r);
void resizer_stop(struct resizer *r);

/*
 * One reader timing single lookups of present keys (read lock outside the
 * timed span), into a histogram; with LAT_RESIZING another thread grows
 * and shrinks the table without pause. Args: mode, impl, n. 8/8 keys.
 */
BODY body_latency(struct rsz_bench *b, const struct bmap_ops *ops)
{
	uint64_t n = bench_n(b, 2), key[2] = { 0 }, rng = 88172645463325252ULL, sink = 0;
	uint64_t missing = 0;
	int mode = (int)rsz_bench_arg(b, 0);
	struct resizer rs = { 0 };
	struct bmap_built *bm;
	static struct hist h;

	urcu_memb_register_thread();
	bm = bmap_get(ops, n, 8, 8);
	if (!bm || (mode == LAT_RESIZING && !ops->resize_cycle)) {
		rsz_bench_skip(b, "no map, or it cannot resize");
		goto out;
	}
	memset(&h, 0, sizeof(h));
	if (mode == LAT_RESIZING) {
		rs.ops = ops;
		rs.map = bm->map;
		rs.n = n;
		resizer_start(&rs);
	}
	while (rsz_bench_keep_running(b)) {
		const uint64_t *v;
		uint64_t t0, t1;

		make_key(key, 8, bench_rand(&rng) & (n - 1));
		urcu_memb_read_lock();
		t0 = ticks_now();
		v = ops->lookup(bm->map, key);
		t1 = ticks_now();
		if (v)
			sink += *v;
		else
			missing++;
		urcu_memb_read_unlock();
		h.count[hist_index(t1 - t0)]++;
		h.total++;
	}
	if (mode == LAT_RESIZING) {
		resizer_stop(&rs);
		rsz_bench_counter(b, "resizes", (double)rs.cycles * 2, false);
	}
	rsz_bench_counter(b, "p50_ns", hist_percentile_ns(&h, 0.50), false);
	rsz_bench_counter(b, "p99_ns", hist_percentile_ns(&h, 0.99), false);
	rsz_bench_counter(b, "p999_ns", hist_percentile_ns(&h, 0.999), false);
	rsz_bench_counter(b, "missing", (double)missing, false);
	rsz_bench_counter(b, "sink", (double)(sink & 1), false);
	rsz_bench_set_items_processed(b, (int64_t)h.total);
out:
	urcu_memb_unregister_thread();
}

/*
 * Memory held at count n by a table built for cfg (the talk's case: a cap
 * of 10n, running at n). Not a timing: one iteration. @cfg.n is set.
 */
BODY body_memory(struct rsz_bench *b, const struct bmap_ops *ops, struct bmap_cfg cfg)
{
	uint64_t key[2] = { 0 }, val[8] = { 0 }, failed = 0;
	struct count_alloc *ca = calloc(1, sizeof(*ca));
	double bytes = 0, counter = -1;

	urcu_memb_register_thread();
	bench_init_threads();
	bmap_drop();
	count_alloc_init(ca);
	cfg.ca = ca;
	cfg.mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	while (rsz_bench_keep_running(b)) {
		void *m = ops->create(&cfg);

		if (!m) {
			rsz_bench_skip(b, "create failed");
			break;
		}
		for (uint64_t i = 0; i < cfg.n; i++) {
			make_key(key, cfg.key_size, i);
			val[0] = i;
			failed += ops->update(m, key, val, RSZ_NOEXIST) != 0;
		}
		ops->settle(m);
		urcu_memb_barrier();
		bytes = (double)ops->mem_alloc(m, &cfg);
		if (cfg.mem) {
			struct rsz_mem_stat st;

			rsz_mem_stat(cfg.mem, &st, sizeof(st));
			if (st.usage)
				counter = (double)st.usage;
		}
		ops->destroy(m);
		bench_quiesce();
	}
	rsz_bench_counter(b, "bytes", bytes, false);
	rsz_bench_counter(b, "bytes_per_elem", bytes / cfg.n, false);
	if (counter >= 0)
		rsz_bench_counter(b, "counter_bytes", counter, false);
	rsz_bench_counter(b, "failed", (double)failed, false);
	rsz_bench_set_items_processed(b, (int64_t)cfg.n);
	if (cfg.mem)
		rsz_mem_destroy(cfg.mem);
	free(ca);
	urcu_memb_unregister_thread();
}

#endif /* RSZ_BENCH_MAPS_H */
