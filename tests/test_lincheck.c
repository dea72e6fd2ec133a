/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The linearizability checker itself (suite unit): hand-built histories it
 * must accept and reject, and the recording pipeline (threads, clock,
 * checker) on a map that is linearizable by construction (one mutex), where
 * every one of many real concurrent histories must be accepted. The hash
 * map's own histories are checked by test_hash_lincheck.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lincheck.h"
#include "platform.h"
#include "testutil.h"

#define OP(t, k, key_, val_, fl, r, o, i, s) \
	{ .thread = (t), .kind = (k), .key = (key_), .val = (val_), .flags = (fl), \
	  .ret = (r), .out = (o), .inv = (i), .resp = (s) }

static void accepts_overlapping_ops_in_either_order(void **state)
{
	/* The lookup overlaps the insert, so it may come before it. */
	const struct lc_op h[] = {
		OP(1, LC_UPDATE, 0, 7, RSZ_ANY, 0, 0, 1, 4),
		OP(2, LC_LOOKUP, 0, 0, 0, -ENOENT, 0, 2, 3),
		OP(3, LC_LOOKUP, 0, 0, 0, 0, 7, 5, 6),
	};

	(void)state;
	assert_true(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
}

static void rejects_a_stale_read_after_the_update_returned(void **state)
{
	const struct lc_op h[] = {
		OP(1, LC_UPDATE, 0, 7, RSZ_ANY, 0, 0, 1, 2),
		OP(2, LC_LOOKUP, 0, 0, 0, -ENOENT, 0, 3, 4),
	};

	(void)state;
	assert_false(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
}

static void rejects_values_seen_in_an_impossible_order(void **state)
{
	/* Two concurrent writes, each done once: a reader cannot see 1, 2, 1. */
	struct lc_op h[] = {
		OP(1, LC_UPDATE, 3, 1, RSZ_ANY, 0, 0, 1, 20),
		OP(2, LC_UPDATE, 3, 2, RSZ_ANY, 0, 0, 2, 21),
		OP(3, LC_LOOKUP, 3, 0, 0, 0, 1, 3, 4),
		OP(3, LC_LOOKUP, 3, 0, 0, 0, 2, 5, 6),
		OP(3, LC_LOOKUP, 3, 0, 0, 0, 1, 7, 8),
	};

	(void)state;
	assert_false(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
	/* 1 then 2 is possible. */
	h[4].out = 2;
	assert_true(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
}

static void rejects_two_successful_noexist_inserts_of_one_key(void **state)
{
	struct lc_op h[] = {
		OP(1, LC_UPDATE, 5, 1, RSZ_NOEXIST, 0, 0, 1, 4),
		OP(2, LC_UPDATE, 5, 2, RSZ_NOEXIST, 0, 0, 2, 3),
		OP(3, LC_LOOKUP, 5, 0, 0, 0, 1, 5, 6),
	};

	(void)state;
	assert_false(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
	/* If the second one said -EEXIST, it is fine. */
	h[1] = (struct lc_op)OP(2, LC_UPDATE, 5, 2, RSZ_NOEXIST, -EEXIST, 0, 2, 3);
	assert_true(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
}

static void rejects_a_delete_that_found_nothing_while_a_key_was_present(void **state)
{
	const struct lc_op h[] = {
		OP(1, LC_UPDATE, 2, 9, RSZ_ANY, 0, 0, 1, 2),
		OP(2, LC_DELETE, 2, 0, 0, -ENOENT, 0, 3, 6),
		OP(1, LC_LOOKUP, 2, 0, 0, 0, 9, 4, 5),
		OP(1, LC_LOOKUP, 2, 0, 0, 0, 9, 7, 8),
	};

	(void)state;
	assert_false(lc_check(&lc_hash_model, h, ARRAY_SIZE(h)));
}

static void accepts_a_long_history(void **state)
{
	/* 4 threads x 12 ops, all overlapping. */
	struct lc_op h[48];
	uint64_t t = 0;

	(void)state;
	for (unsigned int i = 0; i < 48; i++) {
		unsigned int th = i % 4;

		h[i] = (struct lc_op)OP(th, LC_UPDATE, i % 3, 100 + th, RSZ_ANY, 0, 0, ++t, 0);
	}
	for (unsigned int i = 0; i < 48; i++)
		h[i].resp = 1000 + i;
	assert_true(lc_check(&lc_hash_model, h, 48));
}

/* ---- the pipeline on a mutex-protected map ----------------------------------- */

#define LC_THREADS 4
#define LC_OPS 4	/* per thread per history */
#define LC_KEYS 4

struct locked_map {
	pthread_mutex_t lock;
	bool present[LC_KEYS];
	uint64_t val[LC_KEYS];
};

static struct {
	struct locked_map map;
	pthread_barrier_t start, end;
	struct lc_op ops[LC_THREADS * LC_OPS];
	uint64_t rounds;
	bool quit;
} pl = { .map = { .lock = PTHREAD_MUTEX_INITIALIZER } };

static void locked_op(struct lc_op *op)
{
	struct locked_map *m = &pl.map;
	unsigned int k = (unsigned int)op->key;

	pthread_mutex_lock(&m->lock);
	switch (op->kind) {
	case LC_UPDATE:
		if (op->flags == RSZ_NOEXIST && m->present[k])
			op->ret = -EEXIST;
		else if (op->flags == RSZ_EXIST && !m->present[k])
			op->ret = -ENOENT;
		else {
			m->present[k] = true;
			m->val[k] = op->val;
			op->ret = 0;
		}
		break;
	case LC_DELETE:
		op->ret = m->present[k] ? 0 : -ENOENT;
		m->present[k] = false;
		break;
	default:
		op->ret = m->present[k] ? 0 : -ENOENT;
		op->out = m->present[k] ? m->val[k] : 0;
	}
	pthread_mutex_unlock(&m->lock);
}

static void *pl_main(void *arg)
{
	unsigned int th = (unsigned int)(uintptr_t)arg;
	uint64_t rng = th * 7919 + 1;

	for (;;) {
		pthread_barrier_wait(&pl.start);
		if (__atomic_load_n(&pl.quit, __ATOMIC_ACQUIRE))
			break;
		for (unsigned int i = 0; i < LC_OPS; i++) {
			struct lc_op *op = &pl.ops[th * LC_OPS + i];
			uint64_t r = test_rand(&rng);

			memset(op, 0, sizeof(*op));
			op->thread = th;
			op->kind = (uint32_t)(r % 3);
			op->key = (r >> 8) % LC_KEYS;
			op->val = (r >> 16) % 1000 + 1;
			op->flags = (r >> 32) % 3;
			op->inv = lc_tick();
			locked_op(op);
			op->resp = lc_tick();
		}
		pthread_barrier_wait(&pl.end);
	}
	return NULL;
}

static void accepts_every_history_of_a_linearizable_map(void **state)
{
	pthread_t th[LC_THREADS];
	uint64_t n = test_scaled(10000, 100), bad = 0;

	(void)state;
	pthread_barrier_init(&pl.start, NULL, LC_THREADS + 1);
	pthread_barrier_init(&pl.end, NULL, LC_THREADS + 1);
	for (unsigned int i = 0; i < LC_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, pl_main, (void *)(uintptr_t)i), 0);
	for (uint64_t r = 0; r < n; r++) {
		/* Each history starts from an empty map, as the model does. */
		memset(pl.map.present, 0, sizeof(pl.map.present));
		pthread_barrier_wait(&pl.start);
		pthread_barrier_wait(&pl.end);
		if (!lc_check(&lc_hash_model, pl.ops, ARRAY_SIZE(pl.ops))) {
			if (!bad++)
				lc_print(&lc_hash_model, pl.ops, ARRAY_SIZE(pl.ops), stdout);
		}
	}
	__atomic_store_n(&pl.quit, true, __ATOMIC_RELEASE);
	pthread_barrier_wait(&pl.start);
	for (unsigned int i = 0; i < LC_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&pl.start);
	pthread_barrier_destroy(&pl.end);
	printf("lincheck: %" PRIu64 " histories of %d threads x %d ops, %" PRIu64
	       " rejected\n", n, LC_THREADS, LC_OPS, bad);
	assert_int_equal(bad, 0);
}

static void prints_a_history_in_full(void **state)
{
	const struct lc_op h[] = {
		OP(1, LC_UPDATE, 0, 7, RSZ_NOEXIST, 0, 0, 1, 2),
		OP(2, LC_LOOKUP, 0, 0, 0, -ENOENT, 0, 3, 4),
	};
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(f);
	lc_print(&lc_hash_model, h, ARRAY_SIZE(h), f);
	fclose(f);
	assert_non_null(strstr(buf, "T1 [   1,    2] update(k0, 7, NOEXIST) -> 0"));
	assert_non_null(strstr(buf, "T2 [   3,    4] lookup(k0) -> -2"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_overlapping_ops_in_either_order),
		cmocka_unit_test(rejects_a_stale_read_after_the_update_returned),
		cmocka_unit_test(rejects_values_seen_in_an_impossible_order),
		cmocka_unit_test(rejects_two_successful_noexist_inserts_of_one_key),
		cmocka_unit_test(rejects_a_delete_that_found_nothing_while_a_key_was_present),
		cmocka_unit_test(accepts_a_long_history),
		cmocka_unit_test(prints_a_history_in_full),
		cmocka_unit_test(accepts_every_history_of_a_linearizable_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
