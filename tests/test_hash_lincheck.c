/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Linearizability of the hash map (suite stress): in each round, 3 worker
 * threads each run 4 random operations (update with each flag, delete,
 * lookup) on 4 keys, while a fourth thread grows and shrinks the table
 * (RSZ_GROW_WAIT) so that many operations overlap a migration. Each
 * round's history of invocation and response ticks is checked against the
 * sequential map model (support/lincheck.c); a rejected history is printed
 * in full. 10^4 rounds at full scale. The map starts each round empty.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rsz/hash.h>

#include "lincheck.h"
#include "platform.h"
#include "testutil.h"

#define WORKERS 3
#define OPS 4
#define KEYS 4
#define FILLER 3000

static struct {
	struct rsz_hash *h;
	pthread_barrier_t start, end;
	struct lc_op ops[WORKERS * OPS + 1];
	uint64_t round;
	unsigned int resizing;	/* the resizer has begun this round's resize */
	bool quit;
} lh;

static void *worker_main(void *arg)
{
	unsigned int th = (unsigned int)(uintptr_t)arg;
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t rng = th * 104729 + 17;

	f->register_thread();
	for (;;) {
		pthread_barrier_wait(&lh.start);
		if (__atomic_load_n(&lh.quit, __ATOMIC_ACQUIRE))
			break;
		for (unsigned int i = 0; i < OPS; i++) {
			struct lc_op *op = &lh.ops[th * OPS + i];
			uint64_t r = test_rand(&rng), key, val, out = 0;
			uint64_t *p;

			memset(op, 0, sizeof(*op));
			op->thread = th;
			op->kind = (uint32_t)(r % 3);
			op->key = key = (r >> 8) % KEYS;
			op->val = val = (r >> 16) % 1000 + 1;
			op->flags = (r >> 32) % 3;
			/* Start once the resize has (bounded wait), so that the
			 * operations run during the migration. */
			for (int spin = 0; i == 0 && spin < 200000 &&
			     !__atomic_load_n(&lh.resizing, __ATOMIC_ACQUIRE); spin++)
				cpu_relax();
			op->inv = lc_tick();
			switch (op->kind) {
			case LC_UPDATE:
				op->ret = rsz_hash_update(lh.h, &key, &val, op->flags);
				break;
			case LC_DELETE:
				op->ret = rsz_hash_delete(lh.h, &key);
				break;
			default:
				rsz_rcu_read_lock(f);
				p = rsz_hash_lookup(lh.h, &key);
				if (p)
					out = *p;
				rsz_rcu_read_unlock(f);
				op->ret = p ? 0 : -ENOENT;
				op->out = out;
			}
			op->resp = lc_tick();
		}
		pthread_barrier_wait(&lh.end);
	}
	f->unregister_thread();
	return NULL;
}

static void *resizer_main(void *arg)
{
	rsz_flavor_t f = rsz_default_flavor();

	(void)arg;
	f->register_thread();
	for (;;) {
		struct lc_op *op = &lh.ops[WORKERS * OPS];
		uint64_t r;

		pthread_barrier_wait(&lh.start);
		if (__atomic_load_n(&lh.quit, __ATOMIC_ACQUIRE))
			break;
		r = lh.round;
		memset(op, 0, sizeof(*op));
		op->thread = WORKERS;
		op->kind = LC_RESIZE;
		op->val = r % 2 ? 4 * FILLER : 0;
		op->inv = lc_tick();
		__atomic_store_n(&lh.resizing, 1, __ATOMIC_RELEASE);
		op->ret = r % 2 ? rsz_hash_grow(lh.h, 4 * FILLER, RSZ_GROW_WAIT)
				: rsz_hash_shrink(lh.h, RSZ_GROW_WAIT);
		op->resp = lc_tick();
		pthread_barrier_wait(&lh.end);
	}
	f->unregister_thread();
	return NULL;
}

static void hash_histories_are_linearizable(void **state)
{
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8, .initial_entries = 4);
	pthread_t th[WORKERS + 1];
	uint64_t n = test_scaled(10000, 100), bad = 0, resize_err = 0, overlapped = 0;
	rsz_flavor_t f = rsz_default_flavor();

	(void)state;
	f->register_thread();
	lh.h = rsz_hash_new(&o);
	assert_non_null(lh.h);
	/* Keys the history never names, so that each migration takes a
	 * while and the workers' operations overlap it. */
	for (uint64_t k = 1000; k < 1000 + FILLER; k++)
		assert_int_equal(rsz_hash_update(lh.h, &k, &k, RSZ_ANY), 0);
	pthread_barrier_init(&lh.start, NULL, WORKERS + 2);
	pthread_barrier_init(&lh.end, NULL, WORKERS + 2);
	for (unsigned int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker_main,
						(void *)(uintptr_t)i), 0);
	assert_int_equal(pthread_create(&th[WORKERS], NULL, resizer_main, NULL), 0);
	for (lh.round = 0; lh.round < n; lh.round++) {
		for (uint64_t k = 0; k < KEYS; k++)	/* start empty, as the model */
			rsz_hash_delete(lh.h, &k);
		__atomic_store_n(&lh.resizing, 0, __ATOMIC_RELAXED);
		pthread_barrier_wait(&lh.start);
		pthread_barrier_wait(&lh.end);
		resize_err += lh.ops[WORKERS * OPS].ret != 0;
		for (unsigned int i = 0; i < WORKERS * OPS; i++)	/* during the resize */
			if (lh.ops[i].inv < lh.ops[WORKERS * OPS].resp &&
			    lh.ops[i].resp > lh.ops[WORKERS * OPS].inv) {
				overlapped++;
				break;
			}
		if (!lc_check(&lc_hash_model, lh.ops, ARRAY_SIZE(lh.ops)) && !bad++)
			lc_print(&lc_hash_model, lh.ops, ARRAY_SIZE(lh.ops), stdout);
	}
	__atomic_store_n(&lh.quit, true, __ATOMIC_RELEASE);
	pthread_barrier_wait(&lh.start);
	for (unsigned int i = 0; i <= WORKERS; i++)
		pthread_join(th[i], NULL);
	rsz_hash_destroy(lh.h);
	f->unregister_thread();
	pthread_barrier_destroy(&lh.start);
	pthread_barrier_destroy(&lh.end);
	printf("lincheck hash: %" PRIu64 " histories (%d threads x %d ops + a resize), %"
	       PRIu64 " with an operation overlapping the resize, %" PRIu64
	       " not linearizable, %" PRIu64 " resizes failed\n",
	       n, WORKERS, OPS, overlapped, bad, resize_err);
	assert_int_equal(bad, 0);
	assert_int_equal(resize_err, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_histories_are_linearizable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
