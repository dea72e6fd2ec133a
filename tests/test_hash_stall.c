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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(others_finish_and_resizes_complete_with_a_thread_parked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
