/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Stall injection on the hash map (suite stress): the victim thread
 * updates, deletes and resizes; it is parked at each of the map's stall
 * points in turn (inside its read-side section, so grace periods cannot
 * end). Meanwhile 3 other threads each finish a fixed number of inserts,
 * lookups and deletes on keys of their own, with exact results, and a
 * grow and a shrink (RSZ_GROW_WAIT) complete. The allocator is lfalloc,
 * so the parked thread holds no lock outside rsz. This is the evidence
 * that updates, deletes and migration steps are lock-free.
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

#include "lfalloc.h"
#include "platform.h"
#include "stall.h"
#include "testutil.h"

/* The points lib/hash.c and lib/hash_table.c define. */
static const char *const hash_points[] = {
	"hash.update.before_insert",
	"hash.update.before_replace",
	"hash.delete.before_cas",
	"hash.migrate.chunk_claimed",
	"hash.migrate.after_freeze",
	"hash.migrate.after_moved",
	"hash.migrate.after_pending",
	"hash.migrate.chunk_done",
	"hash.migrate.budget_held",
	"hash.migrate.slack_claimed",
	"hash.migrate.before_publish",
};

#define OTHERS 3
#define FILL 2000

struct world {
	struct lfalloc la;
	struct rsz_hash *h;
};

static void *w_setup(void *ctx)
{
	struct world *w = calloc(1, sizeof(*w));
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8, .initial_entries = 64);
	rsz_flavor_t f = rsz_default_flavor();

	(void)ctx;
	if (!w || lfalloc_init(&w->la, (size_t)1 << 30)) {
		free(w);
		return NULL;
	}
	o.allocator = &w->la.ops;
	f->register_thread();
	w->h = rsz_hash_new(&o);
	for (uint64_t k = 0; w->h && k < FILL; k++)
		rsz_hash_update(w->h, &k, &k, RSZ_ANY);
	f->unregister_thread();
	if (!w->h) {
		lfalloc_fini(&w->la);
		free(w);
		return NULL;
	}
	return w;
}

static int w_teardown(void *obj, void *ctx, char *msg, size_t len)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	int ret;

	(void)ctx;
	f->register_thread();
	rsz_hash_destroy(w->h);
	f->unregister_thread();
	ret = lfalloc_fini_checked(&w->la, msg, len);
	free(w);
	return ret;
}

/* Inserts, replaces, deletes on keys 0..FILL-1, and a resize every 64
 * steps, so that it passes through every point. */
static void w_victim(void *obj, void *ctx, const bool *stop)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t rng = 99, i = 0;

	(void)ctx;
	f->register_thread();
	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		uint64_t k = test_rand(&rng) % FILL, v = i;

		switch (i++ % 4) {
		case 0:
		case 1:
			rsz_hash_update(w->h, &k, &v, RSZ_ANY);
			break;
		case 2:
			rsz_hash_delete(w->h, &k);
			break;
		default:
			if (i % 64 == 3)
				rsz_hash_grow(w->h, 4 * FILL + i % 4096, RSZ_GROW_WAIT);
			else if (i % 64 == 35)
				rsz_hash_shrink(w->h, RSZ_GROW_WAIT);
		}
	}
	f->unregister_thread();
}

static int w_other(void *obj, void *ctx, unsigned int tid)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t n = test_scaled(3000, 100), base = 1000000 * tid, v;
	int bad = 0;

	(void)ctx;
	f->register_thread();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = base + i % 500;

		if (rsz_hash_update(w->h, &k, &i, RSZ_ANY))
			bad++;
		else if (rsz_hash_lookup_copy(w->h, &k, &v) || v != i)
			bad++;
		if (i % 3 == 0 && rsz_hash_delete(w->h, &k))
			bad++;
	}
	f->unregister_thread();
	if (bad)
		TEST_RECORD("thread %u: %d operations on its own keys went wrong", tid, bad);
	return bad;
}

static int w_resize(void *obj, void *ctx)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	int g, s;

	(void)ctx;
	f->register_thread();
	g = rsz_hash_grow(w->h, 16 * FILL, RSZ_GROW_WAIT);
	s = rsz_hash_shrink(w->h, RSZ_GROW_WAIT);
	f->unregister_thread();
	return g ? g : s;
}

static void others_finish_and_resizes_complete_with_a_thread_parked(void **state)
{
	const struct stall_scenario s = {
		.name = "hash",
		.points = hash_points,
		.npoints = ARRAY_SIZE(hash_points),
		.nothers = OTHERS,
		.timeout_ms = 20000,
		.setup = w_setup,
		.teardown = w_teardown,
		.victim = w_victim,
		.other = w_other,
		.resize = w_resize,
	};
	struct stall_stats st;
	int ret;

	(void)state;
	ret = stall_run(&s, false, &st, stdout);
	ASSERT_NO_RECORDS();
	stall_print(stdout, "hash", ARRAY_SIZE(hash_points), &st);
	assert_int_equal(ret, 0);
	assert_true(st.reached > 0);
}

/*
 * A shrink sizes its table from the count, then holds the old table's
 * insert budget while it publishes; inserts into the old table go on
 * meanwhile. Here the shrinking thread is parked inside the hold while
 * keys go in: a few (under the slack) land in the old table and must all
 * be copied into the shrink's table; many (3000) must all succeed too, by
 * a migration of their own once the slack is used, and the shrink, which
 * then loses, must never publish its small table. Before the hold, the
 * shrink published a table of 1280 slots for 3300 elements, and copies
 * ran out of slots (found by hash_stress; a release build would have lost
 * elements).
 */
struct shrinker {
	struct rsz_hash *h;
	int ret;
};

/* @h holds exactly keys 0..@n-1, each with itself as value: check, then
 * destroy it and unregister the calling thread. */
static void destroy_holding_exactly(struct rsz_hash *h, uint64_t n)
{
	rsz_flavor_t f = rsz_default_flavor();
	struct rsz_hash_stat st;

	rsz_hash_stat(h, &st, sizeof(st));
	assert_int_equal(st.count, n);
	f->read_lock();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t *p = rsz_hash_lookup(h, &k);

		if (!p || *p != k)
			fail_msg("key %" PRIu64 ": %s", k, p ? "wrong value" : "missing");
	}
	f->read_unlock();
	rsz_hash_destroy(h);
	f->unregister_thread();
}

static void *parked_shrink(void *arg)
{
	struct shrinker *s = arg;
	rsz_flavor_t f = rsz_default_flavor();

	f->register_thread();
	stall_set_thread(1);
	s->ret = rsz_hash_shrink(s->h, RSZ_GROW_WAIT);
	f->unregister_thread();
	return NULL;
}

static void inserts_while_a_shrink_is_parked(uint64_t inserts)
{
	static const char *const point[] = { "hash.migrate.budget_held" };
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8, .initial_entries = 64,
		 .flags = RSZ_F_MANUAL);
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t k, total = 300 + inserts;
	struct shrinker s = { 0 };
	pthread_t t;

	f->register_thread();
	s.h = rsz_hash_new(&o);
	assert_non_null(s.h);
	for (k = 0; k < 300; k++)
		assert_int_equal(rsz_hash_update(s.h, &k, &k, RSZ_NOEXIST), 0);
	assert_int_equal(rsz_hash_grow(s.h, 12000, RSZ_GROW_WAIT), 0);
	stall_install(point, 1);
	stall_set_thread(0);
	stall_arm(point[0], 1);
	assert_int_equal(pthread_create(&t, NULL, parked_shrink, &s), 0);
	assert_true(stall_wait_parked(20000));
	for (k = 300; k < total; k++)
		assert_int_equal(rsz_hash_update(s.h, &k, &k, RSZ_NOEXIST), 0);
	stall_release();
	pthread_join(t, NULL);
	stall_uninstall();
	assert_int_equal(s.ret, 0);
	assert_int_equal(rsz_hash_maintain(s.h), 0);
	destroy_holding_exactly(s.h, total);
}

static void inserts_under_the_slack_while_a_shrink_is_parked_all_get_copied(void **state)
{
	(void)state;
	inserts_while_a_shrink_is_parked(150);
}

static void inserts_past_the_slack_while_a_shrink_is_parked_never_overrun_it(void **state)
{
	(void)state;
	inserts_while_a_shrink_is_parked(3000);
}

/*
 * The set-up that published a grow is parked after claiming the give-back
 * of its slack, before applying it: another thread finishes the grow, then
 * shrinks the map (a migration from the grow's table) and inserts, while
 * the give-back is still to land. When it lands it must break nothing:
 * every key present, counts exact. (A version that subtracted the slack
 * from `used' there let a later migration's table overflow.)
 */
static void *parked_grow(void *arg)
{
	struct shrinker *s = arg;
	rsz_flavor_t f = rsz_default_flavor();

	f->register_thread();
	stall_set_thread(1);
	s->ret = rsz_hash_grow(s->h, 8000, RSZ_GROW_WAIT);
	f->unregister_thread();
	return NULL;
}

static void a_late_give_back_of_the_slack_breaks_no_later_migration(void **state)
{
	static const char *const point[] = { "hash.migrate.slack_claimed" };
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8, .initial_entries = 64,
		 .flags = RSZ_F_MANUAL);
	rsz_flavor_t f = rsz_default_flavor();
	struct shrinker s = { 0 };
	pthread_t t;
	uint64_t k;

	(void)state;
	f->register_thread();
	s.h = rsz_hash_new(&o);
	assert_non_null(s.h);
	for (k = 0; k < 1000; k++)
		assert_int_equal(rsz_hash_update(s.h, &k, &k, RSZ_NOEXIST), 0);
	stall_install(point, 1);
	stall_set_thread(0);
	stall_arm(point[0], 1);
	assert_int_equal(pthread_create(&t, NULL, parked_grow, &s), 0);
	assert_true(stall_wait_parked(20000));
	assert_int_equal(rsz_hash_grow(s.h, 8000, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_hash_shrink(s.h, RSZ_GROW_WAIT), 0);
	for (k = 1000; k < 4000; k++)
		assert_int_equal(rsz_hash_update(s.h, &k, &k, RSZ_NOEXIST), 0);
	stall_release();
	pthread_join(t, NULL);
	stall_uninstall();
	assert_int_equal(s.ret, 0);
	for (k = 4000; k < 6000; k++)
		assert_int_equal(rsz_hash_update(s.h, &k, &k, RSZ_NOEXIST), 0);
	assert_int_equal(rsz_hash_shrink(s.h, RSZ_GROW_WAIT), 0);
	destroy_holding_exactly(s.h, 6000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(inserts_under_the_slack_while_a_shrink_is_parked_all_get_copied),
		cmocka_unit_test(inserts_past_the_slack_while_a_shrink_is_parked_never_overrun_it),
		cmocka_unit_test(a_late_give_back_of_the_slack_breaks_no_later_migration),
		cmocka_unit_test(others_finish_and_resizes_complete_with_a_thread_parked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
