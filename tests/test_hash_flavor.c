/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The hash map with one liburcu flavor, chosen at build time
 * (-DRSZ_TEST_FLAVOR_{MEMB,MB,QSBR,SIGNAL,BP}): one executable per flavor,
 * because only the first flavor header a C file includes declares its
 * flavor (toolchain-notes.md). U(read_lock) and friends name the chosen
 * flavor's calls (the generic rcu_* names are undefined again at the end
 * of each flavor header).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#if defined(RSZ_TEST_FLAVOR_MEMB)
#include <urcu/urcu-memb.h>
#define U(name) urcu_memb_##name
#define FLAVOR_NAME "urcu-memb"
#elif defined(RSZ_TEST_FLAVOR_MB)
#include <urcu/urcu-mb.h>
#define U(name) urcu_mb_##name
#define FLAVOR_NAME "urcu-mb"
#elif defined(RSZ_TEST_FLAVOR_QSBR)
#include <urcu/urcu-qsbr.h>
#define U(name) urcu_qsbr_##name
#define FLAVOR_NAME "urcu-qsbr"
#elif defined(RSZ_TEST_FLAVOR_SIGNAL)
#include <urcu/urcu-signal.h>
#define U(name) urcu_signal_##name
#define FLAVOR_NAME "urcu-signal"
#elif defined(RSZ_TEST_FLAVOR_BP)
#include <urcu/urcu-bp.h>
#define U(name) urcu_bp_##name
#define FLAVOR_NAME "urcu-bp"
#else
#error "define one of RSZ_TEST_FLAVOR_{MEMB,MB,QSBR,SIGNAL,BP}"
#endif

#define FL (&U(flavor))
#include "hashtest.h"

/* ThreadSanitizer and urcu-signal: synchronize_rcu never returns once the
 * call_rcu thread exists (toolchain-notes.md), so that pair is skipped. */
static bool flavor_unusable(void)
{
#if defined(RSZ_TEST_FLAVOR_SIGNAL)
	const char *t = getenv("RSZ_UNDER_TSAN");

	return t && *t && strcmp(t, "0");
#else
	return false;
#endif
}

static void life_cycle(struct env *e, uint32_t flags)
{
	struct rsz_hash_opts o = env_opts(e, flags, 64, 0);
	enum { N = 2000 };
	uint64_t v, next, walked = 0;
	struct rsz_hash *h;

	if (flavor_unusable())
		skip();
	h = e->h = rsz_hash_new(&o);
	assert_non_null(h);
	if (flags & RSZ_F_PREALLOC)
		assert_int_equal(rsz_hash_grow(h, 2 * N, RSZ_GROW_WAIT), 0);
	for (uint64_t k = 0; k < N; k++) {
		int r;

		while ((r = ins(h, k, RSZ_NOEXIST)) == -EAGAIN)
			quiesce(e, h);
		assert_int_equal(r, 0);
		U(quiescent_state)();
	}
	test_rcu_read_lock(&U(flavor));
	for (uint64_t k = 0; k < N; k++) {
		uint64_t *p = rsz_hash_lookup(h, &k);

		assert_non_null(p);
		assert_int_equal(*p, val_of(k));
	}
	test_rcu_read_unlock(&U(flavor));
	for (uint64_t k = 0; k < N / 4; k++)
		assert_int_equal(del(h, k), 0);
	for (int round = 0; round < 2; round++) {
		for (uint64_t k = N / 4; k < N / 2; k++) {
			int r;

			while ((r = put(h, k, k + (uint64_t)round, RSZ_EXIST)) == -EAGAIN)
				quiesce(e, h);
			assert_int_equal(r, 0);
		}
		U(quiescent_state)();
	}
	assert_int_equal(rsz_hash_grow(h, 8 * N, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	for (int r = rsz_hash_get_next_key(h, NULL, &next); r == 0;
	     r = rsz_hash_get_next_key(h, &v, &next)) {
		v = next;
		walked++;
	}
	assert_int_equal(walked, N - N / 4);
	assert_int_equal(get(h, N / 2 - 1, &v), 0);
	assert_int_equal(v, N / 2 - 1 + 1);
	quiesce(e, h);
	/* deletes + two replaces of N/4 keys each */
	assert_int_equal(rel_calls(&e->rel), N / 4 + 2 * (N / 4));
	assert_exact_accounting(e);
	rsz_hash_destroy(h);
	e->h = NULL;
	assert_int_equal(rel_calls(&e->rel), N + 2 * (N / 4));
	for (uint64_t k = 0; k < N; k++)
		assert_int_equal(e->rel.per_key[k], 1 + (k >= N / 4 && k < N / 2 ? 2 : 0));
}

static void map_life_cycle_releases_every_element_once(void **state)
{
	life_cycle(*state, 0);
}

static void prealloc_map_life_cycle_releases_every_element_once(void **state)
{
	life_cycle(*state, RSZ_F_PREALLOC);
}

static void manual_map_life_cycle_releases_every_element_once(void **state)
{
	life_cycle(*state, RSZ_F_MANUAL | RSZ_F_SHRINK);
}

struct reader_arg {
	struct rsz_hash *h;
	uint64_t stop, lookups;
};

static void *reader(void *arg)
{
	struct reader_arg *a = arg;
	uint64_t seed = 9, n = 0;

	U(register_thread)();
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		test_rcu_read_lock(&U(flavor));
		for (int i = 0; i < 64; i++) {
			uint64_t k = test_rand(&seed) % 500;
			uint64_t *p = rsz_hash_lookup(a->h, &k);

			if (!p || *p != val_of(k))
				TEST_RECORD(FLAVOR_NAME ": stable key %llu %s",
					    (unsigned long long)k, p ? "has a wrong value" : "missing");
		}
		test_rcu_read_unlock(&U(flavor));
		U(quiescent_state)();
		n += 64;
	}
	__atomic_store_n(&a->lookups, n, __ATOMIC_RELAXED);
	U(unregister_thread)();
	return NULL;
}

static void readers_of_this_flavor_never_miss_during_resizes(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 64, 0);
	struct reader_arg a[3];
	pthread_t t[3];
	uint64_t cycles = test_scaled(100, 5);

	if (flavor_unusable())
		skip();
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
	for (uint64_t k = 0; k < 500; k++)
		assert_int_equal(ins(e->h, k, RSZ_NOEXIST), 0);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct reader_arg){ .h = e->h };
		assert_int_equal(pthread_create(&t[i], NULL, reader, &a[i]), 0);
	}
	for (uint64_t c = 0; c < cycles; c++) {
		assert_int_equal(rsz_hash_grow(e->h, 20000 + c % 2 * 10000, RSZ_GROW_WAIT), 0);
		assert_int_equal(rsz_hash_shrink(e->h, RSZ_GROW_WAIT), 0);
		for (uint64_t k = 1000; k < 1100; k++)
			assert_int_equal(ins(e->h, k, RSZ_NOEXIST), 0);
		for (uint64_t k = 1000; k < 1100; k++)
			assert_int_equal(del(e->h, k), 0);
		U(quiescent_state)();
	}
	for (int i = 0; i < 3; i++)
		__atomic_store_n(&a[i].stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ASSERT_NO_RECORDS();
	assert_true(hstat(e->h).nr_grow >= cycles);
	assert_true(hstat(e->h).nr_shrink >= cycles);
	quiesce(e, e->h);
	assert_int_equal(rel_calls(&e->rel), 100 * cycles);
	assert_exact_accounting(e);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(map_life_cycle_releases_every_element_once),
		T(prealloc_map_life_cycle_releases_every_element_once),
		T(manual_map_life_cycle_releases_every_element_once),
		T(readers_of_this_flavor_never_miss_during_resizes),
	};

	/* RSZ_TEST_FILTER=pattern runs only the matching tests. */
	if (getenv("RSZ_TEST_FILTER"))
		cmocka_set_test_filter(getenv("RSZ_TEST_FILTER"));
	return cmocka_run_group_tests_name(FLAVOR_NAME, tests, group_setup, group_teardown);
}
