/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * hashtest.h - what the hash map's tests share: a per-test environment
 * (counting allocator, memory counter, release recorder) and the exact
 * accounting check. Flavor-free: the including file passes its flavor,
 * since only one liburcu flavor header may be included per C file.
 *
 * Include after <cmocka.h> and the file's one liburcu flavor header.
 */
#ifndef RSZ_HASHTEST_H
#define RSZ_HASHTEST_H

#include <stdlib.h>
#include <unistd.h>

/* The including file's liburcu flavor header (which brings urcu/flavor.h)
 * must come first: urcu/flavor.h is include-guarded and declares the
 * flavor struct only through the first flavor header's name map. */
#ifndef _URCU_FLAVOR_H
#error "include one liburcu flavor header (e.g. <urcu/urcu-memb.h>) before hashtest.h"
#endif

#include "testutil.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define REL_KEYS (1u << 17)	/* keys below this have an exact per-key count */

/* What opts.release saw. Called from liburcu's call_rcu thread, rsz's
 * worker, maintain or destroy: atomics only. */
struct rel_rec {
	uint64_t calls;
	uint64_t key_sum;
	uint64_t value_sum;
	uint64_t bad_key;	/* NULL key pointers: never allowed */
	uint64_t big_keys;	/* keys >= REL_KEYS: counted in calls only */
	uint32_t per_key[REL_KEYS];
};

static inline void rel_cb(void *key, void *value, void *ctx)
{
	struct rel_rec *r = ctx;
	uint64_t k, v = 0;

	if (!key) {
		__atomic_add_fetch(&r->bad_key, 1, __ATOMIC_RELAXED);
		return;
	}
	memcpy(&k, key, sizeof(k));
	if (value)
		memcpy(&v, value, sizeof(v));
	__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->key_sum, k, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->value_sum, v, __ATOMIC_RELAXED);
	if (k < REL_KEYS)
		__atomic_add_fetch(&r->per_key[k], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&r->big_keys, 1, __ATOMIC_RELAXED);
}

static inline uint64_t rel_calls(struct rel_rec *r)
{
	return __atomic_load_n(&r->calls, __ATOMIC_RELAXED);
}

struct env {
	struct test_alloc ta;
	struct rsz_mem *mem;
	struct rsz_hash *h;
	const struct rcu_flavor_struct *flavor;
	struct rel_rec rel;
};

static inline struct env *env_new(const struct rcu_flavor_struct *flavor)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	test_alloc_init(&e->ta);
	e->flavor = flavor;
	e->mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	if (!e->mem) {
		free(e);
		return NULL;
	}
	return e;
}

static inline struct rsz_hash_opts env_opts(struct env *e, uint32_t flags,
					    uint64_t initial, uint64_t max)
{
	RSZ_OPTS(rsz_hash_opts, o,
		 .key_size = 8,
		 .value_size = 8,
		 .max_entries = max,
		 .initial_entries = initial,
		 .flags = flags,
		 .mem = e->mem,
		 .flavor = e->flavor,
		 .allocator = &e->ta.ops,
		 .release = rel_cb,
		 .release_ctx = &e->rel);
	return o;
}

static inline struct rsz_mem_stat mem_stat_of(const struct rsz_mem *m)
{
	struct rsz_mem_stat st;

	memset(&st, 0xa5, sizeof(st));
	rsz_mem_stat(m, &st, sizeof(st));
	return st;
}

static inline struct rsz_hash_stat hstat(struct rsz_hash *h)
{
	struct rsz_hash_stat st;

	memset(&st, 0xa5, sizeof(st));
	rsz_hash_stat(h, &st, sizeof(st));
	return st;
}

/* Run queued work, then wait for every RCU callback: the contract's
 * quiescent point. maintain's own return (a failed grow) is checked by the
 * tests that care. */
static inline void quiesce(struct env *e, struct rsz_hash *h)
{
	(void)rsz_hash_maintain(h);
	test_rcu_barrier(e->flavor);
}

static inline uint64_t val_of(uint64_t k)
{
	return k * 0x9E3779B97F4A7C15ULL + 1;
}

static inline int ins(struct rsz_hash *h, uint64_t k, uint64_t flags)
{
	uint64_t v = val_of(k);

	return rsz_hash_update(h, &k, &v, flags);
}

static inline int put(struct rsz_hash *h, uint64_t k, uint64_t v, uint64_t flags)
{
	return rsz_hash_update(h, &k, &v, flags);
}

static inline int del(struct rsz_hash *h, uint64_t k)
{
	return rsz_hash_delete(h, &k);
}

/* -ENOENT, or 0 with the value in *v. */
static inline int get(struct rsz_hash *h, uint64_t k, uint64_t *v)
{
	return rsz_hash_lookup_copy(h, &k, v);
}

/* Poll (at most ~10 s) until the background worker has no grow pending. */
static inline void wait_idle(struct rsz_hash *h)
{
	for (int i = 0; i < 10000; i++) {
		struct rsz_hash_stat st = hstat(h);

		if (!st.grow_pending)
			return;
		usleep(1000);
	}
}

/*
 * Fixtures, for a file that defines FL (its flavor struct's address)
 * before including this. HASHTEST_STRESS: the file's keys go beyond the
 * release recorder's range, so its teardown does not check them.
 */
#ifdef FL
static inline int group_setup(void **state)
{
	(void)state;
	FL->register_thread();
	return 0;
}

static inline int group_teardown(void **state)
{
	(void)state;
	FL->unregister_thread();
	return 0;
}

static inline int env_setup(void **state)
{
	struct env *e = env_new(FL);

	if (!e)
		return -1;
	/* a test that failed before ASSERT_NO_RECORDS() leaves its records */
	test_failures.count = 0;
	*state = e;
	return 0;
}

/* destroy gives back every byte and calls release once per element left. */
static inline int env_teardown(void **state)
{
	struct env *e = *state;
	struct rsz_mem_stat ms;

	if (e->h) {
		rsz_hash_destroy(e->h);
		e->h = NULL;
	}
	ms = mem_stat_of(e->mem);
	assert_int_equal(ms.usage, 0);
	assert_int_equal(ms.deferred, 0);
	assert_int_equal(test_alloc_live(&e->ta), 0);
	assert_int_equal(e->ta.live_blocks, 0);
#ifndef HASHTEST_STRESS
	assert_int_equal(e->rel.bad_key, 0);
#endif
	assert_int_equal(rsz_mem_destroy(e->mem), 0);
	free(e);
	return 0;
}

static inline struct rsz_hash *mk_opts(struct env *e, struct rsz_hash_opts *o)
{
	e->h = rsz_hash_new(o);
	assert_non_null(e->h);
	return e->h;
}

static inline struct rsz_hash *mk(struct env *e, uint32_t flags, uint64_t initial, uint64_t max)
{
	struct rsz_hash_opts o = env_opts(e, flags, initial, max);

	return mk_opts(e, &o);
}

/* Quiescent accounting: what the map says it holds, what the counter was
 * charged and what the allocator really holds are one number. */
static inline void assert_exact_accounting(struct env *e)
{
	struct rsz_hash_stat st;
	struct rsz_mem_stat ms;

	quiesce(e, e->h);
	st = hstat(e->h);
	ms = mem_stat_of(e->mem);
	assert_int_equal(st.mem_bytes, test_alloc_live(&e->ta));
	assert_int_equal(ms.usage, test_alloc_live(&e->ta));
	assert_int_equal(ms.deferred, 0);
#ifndef HASHTEST_STRESS
	assert_int_equal(st.grow_pending, 0);
#endif
	assert_true(st.capacity >= st.count);
}
#endif /* FL */

#endif /* RSZ_HASHTEST_H */
