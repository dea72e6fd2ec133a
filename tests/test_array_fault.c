/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Fault injection on the segmented array (suite fault): a deterministic
 * life of an RSZ_F_MANUAL array (create, fill, grow step by step, slots
 * allocated and released, shrink, grow again, maintain, destroy) run with
 * each allocator call failing in turn and with each step at the memory
 * limit (support/faultinj.h). A step hit by a failure returns its
 * documented error, capacity and every value are as before, and the step
 * then succeeds when retried; at destroy nothing is held or charged.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include <rsz/array.h>

#include "faultinj.h"
#include "platform.h"
#include "testutil.h"

#define MAXCAP 4096

struct life {
	struct faultinj *fi;
	struct rsz_array *a;
	uint64_t cap;
	uint64_t val[MAXCAP];	/* what each index holds */
};

static uint64_t cap_of(struct rsz_array *a)
{
	struct rsz_array_stat st;

	rsz_array_stat(a, &st, sizeof(st));
	return st.capacity;
}

/* Every value is what the model says. */
static void check_values(struct life *l, const char *when)
{
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t bad = UINT64_MAX;

	rsz_rcu_read_lock(f);
	for (uint64_t i = 0; i < l->cap && i < MAXCAP; i++) {
		uint64_t *p = rsz_array_lookup(l->a, i);

		if (!p || *p != l->val[i]) {
			bad = i;
			break;
		}
	}
	rsz_rcu_read_unlock(f);
	FI_CHECK(l->fi, bad == UINT64_MAX, "%s: element %" PRIu64 " differs", when, bad);
}

/* A resize step; on an injected failure it must say -ENOMEM and change
 * nothing, and a retry must succeed. */
static void resize_step(struct life *l, bool grow, uint64_t n)
{
	int err;

	faultinj_before(l->fi);
	err = grow ? rsz_array_grow(l->a, n, RSZ_GROW_WAIT)
		   : rsz_array_shrink(l->a, RSZ_GROW_WAIT);
	if (faultinj_after(l->fi)) {
		FI_CHECK(l->fi, err == -ENOMEM, "%s(%" PRIu64 ") hit: %d, want -ENOMEM",
			 grow ? "grow" : "shrink", n, err);
		FI_CHECK(l->fi, cap_of(l->a) == l->cap, "failed resize changed capacity");
		check_values(l, "after a failed resize");
		err = grow ? rsz_array_grow(l->a, n, RSZ_GROW_WAIT)
			   : rsz_array_shrink(l->a, RSZ_GROW_WAIT);
	}
	FI_CHECK(l->fi, err == 0, "%s(%" PRIu64 "): %d", grow ? "grow" : "shrink", n, err);
	l->cap = cap_of(l->a);
	for (uint64_t i = l->cap; i < MAXCAP; i++)
		l->val[i] = 0;		/* dropped, or zero when added */
	check_values(l, "after a resize");
}

static int array_life(struct faultinj *fi, void *ctx)
{
	RSZ_OPTS(rsz_array_opts, o, .value_size = 8, .initial_entries = 16,
		 .max_entries = MAXCAP, .flags = RSZ_F_MANUAL,
		 .mem = fi->mem, .allocator = &fi->ta.ops);
	struct life *l = calloc(1, sizeof(*l));
	uint64_t idx[64];
	int err;

	(void)ctx;
	if (!l)
		return -1;
	l->fi = fi;
	faultinj_before(fi);
	errno = 0;
	l->a = rsz_array_new(&o);
	if (faultinj_after(fi)) {
		FI_CHECK(fi, !l->a && errno == ENOMEM, "new hit: %p, errno %d",
			 (void *)l->a, errno);
		FI_CHECK(fi, test_alloc_live(&fi->ta) == 0, "failed new holds %" PRIu64,
			 test_alloc_live(&fi->ta));
		l->a = rsz_array_new(&o);
	}
	FI_CHECK(fi, l->a != NULL, "new failed without injection: %d", errno);
	if (!l->a) {
		free(l);
		return 0;
	}
	l->cap = cap_of(l->a);
	for (uint64_t i = 0; i < l->cap; i++) {
		l->val[i] = i * 7 + 1;
		rsz_array_update(l->a, i, &l->val[i], RSZ_ANY);
	}
	for (uint64_t n = 32; n <= 1024; n *= 2) {
		resize_step(l, true, n);
		for (uint64_t i = 0; i < l->cap; i += 5) {
			l->val[i] = n + i;
			rsz_array_update(l->a, i, &l->val[i], RSZ_ANY);
		}
	}
	/* Slots never allocate; a shrink keeps what is allocated. */
	for (int i = 0; i < 64; i++) {
		err = rsz_array_alloc(l->a, &idx[i]);
		FI_CHECK(fi, err == 0, "alloc: %d", err);
		l->val[idx[i]] = 0;	/* handed out zeroed */
	}
	for (int i = 0; i < 64; i += 2)
		FI_CHECK(fi, rsz_array_release(l->a, idx[i]) == 0, "release");
	faultinj_before(fi);
	err = rsz_array_maintain(l->a);
	faultinj_after(fi);
	FI_CHECK(fi, err == 0 || err == -ENOMEM, "maintain: %d", err);
	/* It may have run the grow the watermark queued. */
	l->cap = cap_of(l->a);
	check_values(l, "after maintain");
	resize_step(l, false, 0);
	resize_step(l, true, MAXCAP);
	check_values(l, "at the end");
	rsz_array_destroy(l->a);
	free(l);
	return 0;
}

static void array_survives_every_allocation_and_limit_failure(void **state)
{
	const struct faultinj_scenario s = { .name = "array", .run = array_life };
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
		cmocka_unit_test(array_survives_every_allocation_and_limit_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
