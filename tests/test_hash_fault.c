/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Fault injection on the hash map (suite fault): a deterministic life of
 * an RSZ_F_MANUAL map (create, inserts that grow the table, replaces,
 * deletes, explicit grow and shrink, maintain, destroy) with each
 * allocator call failing in turn and each step at the memory limit
 * (support/faultinj.h). A step hit by a failure returns -ENOMEM (errno
 * ENOMEM for creation), the map's contents and count are exactly as
 * before, and the step succeeds when retried; at destroy nothing is held
 * or charged.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include <rsz/hash.h>

#include "faultinj.h"
#include "platform.h"
#include "testutil.h"

#define NKEYS 300

struct life {
	struct faultinj *fi;
	struct rsz_hash *h;
	bool present[NKEYS];
	uint64_t val[NKEYS];
	uint64_t count;
};

static void check_contents(struct life *l, const char *when)
{
	struct rsz_hash_stat st;
	uint64_t bad = UINT64_MAX, v;

	for (uint64_t k = 0; k < NKEYS && bad == UINT64_MAX; k++) {
		int err = rsz_hash_lookup_copy(l->h, &k, &v);

		if (l->present[k] ? err || v != l->val[k] : err != -ENOENT)
			bad = k;
	}
	FI_CHECK(l->fi, bad == UINT64_MAX, "%s: key %" PRIu64 " differs", when, bad);
	rsz_hash_stat(l->h, &st, sizeof(st));
	FI_CHECK(l->fi, st.count == l->count, "%s: count %" PRIu64 ", model %" PRIu64,
		 when, st.count, l->count);
}

/* One update or delete: on an injected failure -ENOMEM and nothing
 * changed; then it must work. */
static void step(struct life *l, uint64_t k, bool del, uint64_t v)
{
	int err;

	faultinj_before(l->fi);
	err = del ? rsz_hash_delete(l->h, &k) : rsz_hash_update(l->h, &k, &v, RSZ_ANY);
	if (faultinj_after(l->fi) && err) {
		FI_CHECK(l->fi, err == -ENOMEM, "%s(%" PRIu64 ") hit: %d, want -ENOMEM",
			 del ? "delete" : "update", k, err);
		check_contents(l, "after a failed step");
		err = del ? rsz_hash_delete(l->h, &k) : rsz_hash_update(l->h, &k, &v, RSZ_ANY);
	}
	FI_CHECK(l->fi, err == 0, "%s(%" PRIu64 "): %d", del ? "delete" : "update", k, err);
	if (!err) {
		l->count += del ? -(uint64_t)l->present[k] : !l->present[k];
		l->present[k] = !del;
		l->val[k] = del ? 0 : v;
	}
}

static void resize(struct life *l, bool grow, uint64_t n)
{
	struct rsz_hash_stat st;
	uint64_t cap;
	int err;

	rsz_hash_stat(l->h, &st, sizeof(st));
	cap = st.capacity;
	faultinj_before(l->fi);
	err = grow ? rsz_hash_grow(l->h, n, RSZ_GROW_WAIT) : rsz_hash_shrink(l->h, RSZ_GROW_WAIT);
	if (faultinj_after(l->fi) && err) {
		FI_CHECK(l->fi, err == -ENOMEM, "%s hit: %d", grow ? "grow" : "shrink", err);
		rsz_hash_stat(l->h, &st, sizeof(st));
		FI_CHECK(l->fi, st.capacity == cap, "a failed resize changed capacity");
		/* The contract names grows; whether a failed shrink counts in
		 * nr_grow_failed is not said, so only grows are held to it. */
		FI_CHECK(l->fi, !grow || (st.nr_grow_failed >= 1 && st.last_grow_error == -ENOMEM),
			 "a failed %s is not in the statistics (nr_grow_failed %" PRIu64
			 ", last_grow_error %" PRId64 ")", grow ? "grow" : "shrink",
			 st.nr_grow_failed, st.last_grow_error);
		err = grow ? rsz_hash_grow(l->h, n, RSZ_GROW_WAIT)
			   : rsz_hash_shrink(l->h, RSZ_GROW_WAIT);
	}
	FI_CHECK(l->fi, err == 0, "%s: %d", grow ? "grow" : "shrink", err);
	check_contents(l, "after a resize");
}

static int hash_life(struct faultinj *fi, void *ctx)
{
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8, .initial_entries = 8,
		 .flags = RSZ_F_MANUAL | RSZ_F_ZERO_SEED, .mem = fi->mem,
		 .allocator = &fi->ta.ops);
	struct life *l = calloc(1, sizeof(*l));
	/* Every run repeats the whole life: sanitizer and memcheck runs
	 * use fewer keys (and so fewer sites). */
	uint64_t nkeys = test_scaled(NKEYS, 40);
	int err;

	(void)ctx;
	if (!l)
		return -1;
	l->fi = fi;
	faultinj_before(fi);
	errno = 0;
	l->h = rsz_hash_new(&o);
	if (faultinj_after(fi) && !l->h) {
		FI_CHECK(fi, errno == ENOMEM, "new hit: errno %d", errno);
		FI_CHECK(fi, test_alloc_live(&fi->ta) == 0, "failed new holds %" PRIu64,
			 test_alloc_live(&fi->ta));
		l->h = rsz_hash_new(&o);
	}
	FI_CHECK(fi, l->h != NULL, "new failed without injection: %d", errno);
	if (!l->h) {
		free(l);
		return 0;
	}
	for (uint64_t k = 0; k < nkeys; k++)		/* grows the table in the caller */
		step(l, k, false, k * 3 + 1);
	for (uint64_t k = 0; k < nkeys; k += 3)		/* replaces */
		step(l, k, false, k + 1000);
	for (uint64_t k = 1; k < nkeys; k += 2)		/* deletes */
		step(l, k, true, 0);
	resize(l, true, 4 * nkeys);
	resize(l, false, 0);
	faultinj_before(fi);
	err = rsz_hash_maintain(l->h);
	faultinj_after(fi);
	FI_CHECK(fi, err == 0 || err == -ENOMEM, "maintain: %d", err);
	check_contents(l, "at the end");
	rsz_hash_destroy(l->h);
	free(l);
	return 0;
}

static void hash_survives_every_allocation_and_limit_failure(void **state)
{
	const struct faultinj_scenario s = { .name = "hash", .run = hash_life };
	struct faultinj_stats st;
	int ret;

	(void)state;
	ret = faultinj_run(&s, &st, stdout);
	assert_int_equal(ret, 0);
	assert_true(st.alloc_sites > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_survives_every_allocation_and_limit_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
