/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* Memory counters: the contract of include/rsz/mem.h, one behaviour per test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

static struct rsz_mem_stat stat_of(const struct rsz_mem *m)
{
	struct rsz_mem_stat st;

	memset(&st, 0xa5, sizeof(st));
	rsz_mem_stat(m, &st, sizeof(st));
	return st;
}

static void new_counter_is_empty_with_its_max(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 1000);
	struct rsz_mem_stat st;

	(void)state;
	assert_non_null(m);
	st = stat_of(m);
	assert_int_equal(st.usage, 0);
	assert_int_equal(st.deferred, 0);
	assert_int_equal(st.peak, 0);
	assert_int_equal(st.max, 1000);
	assert_int_equal(st.failcnt, 0);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

static void charge_and_uncharge_are_exact(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);

	(void)state;
	assert_int_equal(rsz_mem_charge(m, 100), 0);
	assert_int_equal(rsz_mem_charge(m, 23), 0);
	assert_int_equal(stat_of(m).usage, 123);
	assert_int_equal(rsz_mem_uncharge(m, 100), 0);
	assert_int_equal(stat_of(m).usage, 23);
	assert_int_equal(stat_of(m).peak, 123);
	assert_int_equal(rsz_mem_uncharge(m, 23), 0);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

static void charge_beyond_max_is_refused_and_counted(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 100);

	(void)state;
	assert_int_equal(rsz_mem_charge(m, 60), 0);
	assert_int_equal(rsz_mem_charge(m, 41), -ENOMEM);
	assert_int_equal(stat_of(m).usage, 60);
	assert_int_equal(stat_of(m).failcnt, 1);
	assert_int_equal(stat_of(m).peak, 60);
	assert_int_equal(rsz_mem_charge(m, 40), 0);	/* exactly to max */
	assert_int_equal(stat_of(m).usage, 100);
	assert_int_equal(rsz_mem_uncharge(m, 100), 0);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

static void max_zero_refuses_every_charge_but_zero(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 0);

	(void)state;
	assert_non_null(m);
	assert_int_equal(rsz_mem_charge(m, 1), -ENOMEM);
	assert_int_equal(rsz_mem_charge(m, 0), 0);
	assert_int_equal(stat_of(m).usage, 0);
	assert_int_equal(stat_of(m).failcnt, 1);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

static void zero_byte_charge_and_uncharge_are_noops(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 10);

	(void)state;
	assert_int_equal(rsz_mem_uncharge(m, 0), 0);
	assert_int_equal(rsz_mem_charge(m, 0), 0);
	assert_int_equal(stat_of(m).usage, 0);
	assert_int_equal(stat_of(m).peak, 0);
	assert_int_equal(stat_of(m).failcnt, 0);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

static void uncharge_below_zero_is_einval_and_changes_nothing(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	struct rsz_mem *child = rsz_mem_new(root, RSZ_MEM_UNLIMITED);

	(void)state;
	assert_int_equal(rsz_mem_charge(child, 10), 0);
	assert_int_equal(rsz_mem_uncharge(child, 11), -EINVAL);
	assert_int_equal(stat_of(child).usage, 10);
	assert_int_equal(stat_of(root).usage, 10);
	assert_int_equal(rsz_mem_uncharge(child, 10), 0);
	assert_int_equal(rsz_mem_uncharge(root, 1), -EINVAL);
	assert_int_equal(stat_of(root).usage, 0);
	assert_int_equal(rsz_mem_destroy(child), 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

static void uncharge_refused_by_parent_restores_child(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	struct rsz_mem *a = rsz_mem_new(root, RSZ_MEM_UNLIMITED);

	(void)state;
	/* Make the parent poorer than its child by uncharging it directly
	 * (a caller bug the API allows): the child has enough, the parent
	 * refuses, and the child must be restored. */
	assert_int_equal(rsz_mem_charge(a, 50), 0);
	assert_int_equal(rsz_mem_uncharge(root, 30), 0);
	assert_int_equal(rsz_mem_uncharge(a, 40), -EINVAL);
	assert_int_equal(stat_of(a).usage, 50);
	assert_int_equal(stat_of(root).usage, 20);
	assert_int_equal(rsz_mem_charge(root, 30), 0);
	assert_int_equal(rsz_mem_uncharge(a, 50), 0);
	assert_int_equal(rsz_mem_destroy(a), 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

static void charge_applies_to_every_ancestor(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, 1000);
	struct rsz_mem *mid = rsz_mem_new(root, 500);
	struct rsz_mem *leaf = rsz_mem_new(mid, RSZ_MEM_UNLIMITED);

	(void)state;
	assert_int_equal(rsz_mem_charge(leaf, 200), 0);
	assert_int_equal(rsz_mem_charge(mid, 100), 0);
	assert_int_equal(stat_of(leaf).usage, 200);
	assert_int_equal(stat_of(mid).usage, 300);
	assert_int_equal(stat_of(root).usage, 300);
	assert_int_equal(rsz_mem_uncharge(leaf, 200), 0);
	assert_int_equal(rsz_mem_uncharge(mid, 100), 0);
	assert_int_equal(stat_of(root).usage, 0);
	assert_int_equal(rsz_mem_destroy(leaf), 0);
	assert_int_equal(rsz_mem_destroy(mid), 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

static void charge_refused_by_ancestor_charges_nothing(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, 100);
	struct rsz_mem *leaf = rsz_mem_new(root, 1000);

	(void)state;
	assert_int_equal(rsz_mem_charge(leaf, 101), -ENOMEM);
	assert_int_equal(stat_of(leaf).usage, 0);
	assert_int_equal(stat_of(root).usage, 0);
	assert_int_equal(stat_of(leaf).peak, 0);	/* peak: successes only */
	assert_int_equal(stat_of(root).failcnt, 1);	/* the level that refused */
	assert_int_equal(stat_of(leaf).failcnt, 0);
	assert_int_equal(rsz_mem_destroy(leaf), 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

static void destroy_is_ebusy_while_charged_or_with_children(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	struct rsz_mem *leaf = rsz_mem_new(root, RSZ_MEM_UNLIMITED);

	(void)state;
	assert_int_equal(rsz_mem_destroy(root), -EBUSY);	/* parent first */
	assert_int_equal(rsz_mem_charge(leaf, 1), 0);
	assert_int_equal(rsz_mem_destroy(leaf), -EBUSY);
	assert_int_equal(rsz_mem_uncharge(leaf, 1), 0);
	assert_int_equal(rsz_mem_destroy(leaf), 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

static void set_max_refuses_to_go_below_usage(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 100);

	(void)state;
	assert_int_equal(rsz_mem_charge(m, 50), 0);
	assert_int_equal(rsz_mem_set_max(m, 49), -EBUSY);
	assert_int_equal(stat_of(m).max, 100);
	assert_int_equal(rsz_mem_set_max(m, 50), 0);
	assert_int_equal(rsz_mem_charge(m, 1), -ENOMEM);
	assert_int_equal(rsz_mem_set_max(m, RSZ_MEM_UNLIMITED), 0);
	assert_int_equal(rsz_mem_charge(m, 1), 0);
	assert_int_equal(rsz_mem_uncharge(m, 51), 0);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

static void null_counter_is_einval(void **state)
{
	struct rsz_mem_stat st = { .usage = 7 };

	(void)state;
	assert_int_equal(rsz_mem_charge(NULL, 1), -EINVAL);
	assert_int_equal(rsz_mem_uncharge(NULL, 1), -EINVAL);
	assert_int_equal(rsz_mem_set_max(NULL, 1), -EINVAL);
	assert_int_equal(rsz_mem_destroy(NULL), -EINVAL);
	rsz_mem_stat(NULL, &st, sizeof(st));
	assert_int_equal(st.usage, 7);
}

static void stat_fills_only_the_callers_size_and_zeroes_the_tail(void **state)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 77);
	unsigned char buf[sizeof(struct rsz_mem_stat) + 16];
	struct rsz_mem_stat st;

	(void)state;
	assert_int_equal(rsz_mem_charge(m, 5), 0);
	memset(buf, 0xff, sizeof(buf));
	rsz_mem_stat(m, (struct rsz_mem_stat *)(void *)buf, sizeof(buf));
	memcpy(&st, buf, sizeof(st));
	assert_int_equal(st.usage, 5);
	assert_int_equal(st.max, 77);
	for (size_t i = sizeof(st); i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	/* An old caller that knows only `usage'. */
	memset(buf, 0xff, sizeof(buf));
	rsz_mem_stat(m, (struct rsz_mem_stat *)(void *)buf, sizeof(uint64_t));
	memcpy(&st.usage, buf, sizeof(uint64_t));
	assert_int_equal(st.usage, 5);
	assert_int_equal(buf[sizeof(uint64_t)], 0xff);
	assert_int_equal(rsz_mem_uncharge(m, 5), 0);
	assert_int_equal(rsz_mem_destroy(m), 0);
}

/* ---- concurrency ----------------------------------------------------------- */

#define NR_CHARGERS 6	/* more threads than the 2 cores */
#define LEAF_MAX 40000
#define ROOT_MAX 100000

struct charger {
	pthread_t thread;
	struct rsz_mem *leaf;
	struct rsz_mem *root;
	uint64_t seed;
	uint64_t iterations;
	uint64_t refused;
	uint64_t held;
};

static bool stop_watch;

static void *charger_main(void *arg)
{
	struct charger *c = arg;
	uint64_t held[64] = { 0 };
	unsigned int n = 0;

	for (uint64_t i = 0; i < c->iterations; i++) {
		uint64_t r = test_rand(&c->seed);

		if (n < 64 && (r & 1)) {
			uint64_t bytes = 1 + (r >> 8) % 4000;
			int err = rsz_mem_charge(c->leaf, bytes);

			if (err == 0)
				held[n++] = bytes;
			else if (err == -ENOMEM)
				c->refused++;
			else
				TEST_RECORD("charge returned %d", err);
		} else if (n) {
			int err = rsz_mem_uncharge(c->leaf, held[--n]);

			TEST_CHECK(err == 0, "uncharge returned %d", err);
		}
	}
	for (unsigned int i = 0; i < n; i++)
		c->held += held[i];
	return NULL;
}

static void *watcher_main(void *arg)
{
	struct charger *c = arg;

	while (!__atomic_load_n(&stop_watch, __ATOMIC_ACQUIRE)) {
		struct rsz_mem_stat leaf, root;

		rsz_mem_stat(c[0].leaf, &leaf, sizeof(leaf));
		rsz_mem_stat(c[0].root, &root, sizeof(root));
		TEST_CHECK(leaf.usage <= LEAF_MAX, "leaf usage %llu > max",
			   (unsigned long long)leaf.usage);
		TEST_CHECK(root.usage <= ROOT_MAX, "root usage %llu > max",
			   (unsigned long long)root.usage);
	}
	return NULL;
}

static void concurrent_charges_never_pass_max_and_end_exact(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, ROOT_MAX);
	struct rsz_mem *leaf[3];
	struct charger c[NR_CHARGERS];
	pthread_t watcher;
	uint64_t refused = 0, held_total = 0, leaf_held[3] = { 0 };
	uint64_t iterations = test_scaled(400000, 2000);

	(void)state;
	for (int i = 0; i < 3; i++)
		leaf[i] = rsz_mem_new(root, LEAF_MAX);
	for (int i = 0; i < NR_CHARGERS; i++) {
		c[i] = (struct charger){ .leaf = leaf[i % 3], .root = root,
					 .seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1),
					 .iterations = iterations };
	}
	stop_watch = false;
	pthread_create(&watcher, NULL, watcher_main, c);
	for (int i = 0; i < NR_CHARGERS; i++)
		pthread_create(&c[i].thread, NULL, charger_main, &c[i]);
	for (int i = 0; i < NR_CHARGERS; i++) {
		pthread_join(c[i].thread, NULL);
		refused += c[i].refused;
		held_total += c[i].held;
		leaf_held[i % 3] += c[i].held;
	}
	__atomic_store_n(&stop_watch, true, __ATOMIC_RELEASE);
	pthread_join(watcher, NULL);
	ASSERT_NO_RECORDS();

	/* Usage is exactly what the threads still hold, at every level. */
	assert_int_equal(stat_of(root).usage, held_total);
	for (int i = 0; i < 3; i++)
		assert_int_equal(stat_of(leaf[i]).usage, leaf_held[i]);
	/* Every refusal is counted once, at the level that refused. */
	assert_int_equal(stat_of(root).failcnt + stat_of(leaf[0]).failcnt +
			 stat_of(leaf[1]).failcnt + stat_of(leaf[2]).failcnt, refused);
	assert_true(refused > 0);	/* the limits were really exercised */
	assert_true(stat_of(root).peak <= ROOT_MAX);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rsz_mem_uncharge(leaf[i], leaf_held[i]), 0);
		assert_int_equal(rsz_mem_destroy(leaf[i]), 0);
	}
	assert_int_equal(stat_of(root).usage, 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_counter_is_empty_with_its_max),
		cmocka_unit_test(charge_and_uncharge_are_exact),
		cmocka_unit_test(charge_beyond_max_is_refused_and_counted),
		cmocka_unit_test(max_zero_refuses_every_charge_but_zero),
		cmocka_unit_test(zero_byte_charge_and_uncharge_are_noops),
		cmocka_unit_test(uncharge_below_zero_is_einval_and_changes_nothing),
		cmocka_unit_test(uncharge_refused_by_parent_restores_child),
		cmocka_unit_test(charge_applies_to_every_ancestor),
		cmocka_unit_test(charge_refused_by_ancestor_charges_nothing),
		cmocka_unit_test(destroy_is_ebusy_while_charged_or_with_children),
		cmocka_unit_test(set_max_refuses_to_go_below_usage),
		cmocka_unit_test(null_counter_is_einval),
		cmocka_unit_test(stat_fills_only_the_callers_size_and_zeroes_the_tail),
		cmocka_unit_test(concurrent_charges_never_pass_max_and_end_exact),
	};

	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
