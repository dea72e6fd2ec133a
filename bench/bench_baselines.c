/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The baselines' runs of the shared map benchmarks (bench_maps.h): the
 * fixed hash (BPF's preallocated hash map) and liburcu's rculfhash.
 * rsz's own runs are in bench_hash.c, registered beside these.
 */
#define _GNU_SOURCE
#include <time.h>

#include "baseline_fixed_hash.h"
#include "baseline_rculfhash.h"
#include "bench_maps.h"

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

/* Auto-resize runs in liburcu's workqueue: wait until the heap stops
 * changing (it has no call that says a resize is done). */
static void lf_settle(void *m)
{
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	uint64_t last = lfht_map_heap_bytes(m);

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

/* ---- registrations ---------------------------------------------------- */

#define READ_ARGS .args = { { OP_HIT, OP_MISS, OP_MIXED }, SIZES, KVS }, \
	.arg_names = { "op", "n", "kv" }, .threads = { 1, 2 }, .real_time = true
#define INSERT_ARGS .args = { SIZES, KVS }, .arg_names = { "n", "kv" }, \
	.real_time = true, .process_cpu_time = true
#define LAT_ARGS .args = { { LAT_STEADY, LAT_RESIZING }, SIZES }, \
	.arg_names = { "mode", "n" }, .real_time = true
#define TALK_ARGS .args = { { 1 << 16, 1 << 20 } }, .arg_names = { "n" }, \
	.iterations = 1, .real_time = true

static void bm_read_fixed(struct rsz_bench *b)
{
	body_read(b, &fixed_ops);
}
RSZ_BENCH(bm_read_fixed, READ_ARGS);

static void bm_read_rculfhash(struct rsz_bench *b)
{
	body_read(b, &lfht_ops);
}
RSZ_BENCH(bm_read_rculfhash, READ_ARGS);

/* The fixed hash never resizes: the steady state is all it has. */
static void bm_latency_fixed(struct rsz_bench *b)
{
	body_latency(b, &fixed_ops);
}
RSZ_BENCH(bm_latency_fixed, .args = { { LAT_STEADY }, SIZES },
	  .arg_names = { "mode", "n" }, .real_time = true);

static void bm_latency_rculfhash(struct rsz_bench *b)
{
	body_latency(b, &lfht_ops);
}
RSZ_BENCH(bm_latency_rculfhash, LAT_ARGS);

static void bm_insert_fixed(struct rsz_bench *b)
{
	body_insert(b, &fixed_ops);
}
RSZ_BENCH(bm_insert_fixed, INSERT_ARGS);

static void bm_insert_rculfhash(struct rsz_bench *b)
{
	body_insert(b, &lfht_ops);
}
RSZ_BENCH(bm_insert_rculfhash, INSERT_ARGS);

/* The talk's case: a table that must take 10x its normal load, at the
 * normal load n. The fixed hash is sized for the maximum. */
static void bm_talk_fixed(struct rsz_bench *b)
{
	struct bmap_cfg c = { .key_size = 8, .value_size = 8 };

	c.n = bench_n(b, 0);
	c.fixed_size = 10 * c.n;
	body_memory(b, &fixed_ops, c);
}
RSZ_BENCH(bm_talk_fixed, TALK_ARGS);

static void bm_talk_rculfhash(struct rsz_bench *b)
{
	struct bmap_cfg c = { .key_size = 8, .value_size = 8 };

	c.n = bench_n(b, 0);
	body_memory(b, &lfht_ops, c);
}
RSZ_BENCH(bm_talk_rculfhash, TALK_ARGS);
