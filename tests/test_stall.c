/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Stall injection (suite stress) on what exists: the memory counters,
 * whose charge and uncharge pass a stall point between levels. A thread
 * parked half-way through a hierarchical charge (lower levels raised,
 * higher ones not) must not stop other threads' charges from completing
 * exactly. And the lock-free allocator the stall tests use for the
 * structures: concurrent alloc/free with more threads than cores, no block
 * handed out twice, nothing live at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lfalloc.h"
#include "platform.h"
#include "stall.h"
#include "testutil.h"

#define NR_LEAVES 5	/* the victim's and four others' */

static const char *const mem_points[] = {
	"mem.charge.level_raised",
	"mem.uncharge.level_lowered",
};

struct tree {
	struct rsz_mem *root, *mid, *leaf[NR_LEAVES];
	uint64_t ops;
};

static void *tree_setup(void *ctx)
{
	struct tree *t = calloc(1, sizeof(*t));

	(void)ctx;
	if (!t)
		return NULL;
	/* Room for every leaf's largest charge at once: no refusals. */
	t->root = rsz_mem_new(NULL, 64 * NR_LEAVES);
	t->mid = rsz_mem_new(t->root, RSZ_MEM_UNLIMITED);
	for (int i = 0; i < NR_LEAVES; i++)
		t->leaf[i] = rsz_mem_new(t->mid, 64);
	return t;
}

static int tree_teardown(void *obj, void *ctx, char *msg, size_t len)
{
	struct tree *t = obj;
	struct rsz_mem_stat st;
	int ret = 0;

	(void)ctx;
	rsz_mem_stat(t->root, &st, sizeof(st));
	if (st.usage != 0) {
		snprintf(msg, len, "root usage %" PRIu64 " after every charge was undone",
			 st.usage);
		ret = -1;
	}
	for (int i = 0; i < NR_LEAVES; i++)
		if (rsz_mem_destroy(t->leaf[i]))
			ret = -1;
	if (rsz_mem_destroy(t->mid) || rsz_mem_destroy(t->root))
		ret = -1;
	free(t);
	return ret;
}

static void tree_victim(void *obj, void *ctx, const bool *stop)
{
	struct tree *t = obj;

	(void)ctx;
	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		TEST_CHECK(rsz_mem_charge(t->leaf[0], 64) == 0, "victim charge refused");
		TEST_CHECK(rsz_mem_uncharge(t->leaf[0], 64) == 0, "victim uncharge refused");
	}
}

static int tree_other(void *obj, void *ctx, unsigned int tid)
{
	struct tree *t = obj;
	struct rsz_mem *leaf = t->leaf[tid % NR_LEAVES];
	uint64_t n = test_scaled(20000, 200);
	int bad = 0;

	(void)ctx;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t b = 1 + i % 64;

		if (rsz_mem_charge(leaf, b) || rsz_mem_uncharge(leaf, b))
			bad++;
	}
	__atomic_add_fetch(&t->ops, 2 * n, __ATOMIC_RELAXED);
	if (bad)
		TEST_RECORD("thread %u: %d charges failed with room for all", tid, bad);
	return bad;
}

static void charges_complete_while_a_thread_is_parked_mid_charge(void **state)
{
	const struct stall_scenario s = {
		.name = "mem",
		.points = mem_points,
		.npoints = ARRAY_SIZE(mem_points),
		.nothers = NR_LEAVES - 1,
		.setup = tree_setup,
		.teardown = tree_teardown,
		.victim = tree_victim,
		.other = tree_other,
	};
	struct stall_stats st;
	int ret;

	(void)state;
	ret = stall_run(&s, true, &st, stdout);
	ASSERT_NO_RECORDS();
	printf("stall mem: parked at %u points, others finished in %" PRIu64 " runs\n",
	       st.reached, st.other_ops_runs);
	assert_int_equal(ret, 0);
	assert_int_equal(st.reached, ARRAY_SIZE(mem_points));
}

/* The harness counts hits and discovers the points that exist. */
static void hook_counts_hits_and_discovers_points(void **state)
{
	struct rsz_mem *root = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	struct rsz_mem *leaf = rsz_mem_new(root, RSZ_MEM_UNLIMITED);
	const char *seen[8];
	size_t n;

	(void)state;
	stall_install(mem_points, 1);	/* count only the charge point */
	assert_int_equal(rsz_mem_charge(leaf, 10), 0);
	assert_int_equal(rsz_mem_uncharge(leaf, 10), 0);
	/* One hit per level raised: leaf and root. */
	assert_int_equal(stall_hits("mem.charge.level_raised"), 2);
	assert_int_equal(stall_hits("mem.uncharge.level_lowered"), 0);	/* not counted */
	n = stall_seen(seen, ARRAY_SIZE(seen));
	assert_int_equal(n, 2);
	assert_string_equal(seen[0], "mem.charge.level_raised");
	assert_string_equal(seen[1], "mem.uncharge.level_lowered");
	stall_uninstall();
	assert_int_equal(rsz_mem_destroy(leaf), 0);
	assert_int_equal(rsz_mem_destroy(root), 0);
}

/* ---- lfalloc ----------------------------------------------------------------- */

#define LFA_THREADS 6	/* more than the 2 cores */

struct lfa_arg {
	struct lfalloc *a;
	unsigned int id;
};

static void *lfa_main(void *arg)
{
	struct lfa_arg *la = arg;
	const struct rsz_allocator *ops = &la->a->ops;
	uint64_t rng = la->id + 1, n = test_scaled(200000, 2000);
	struct { unsigned char *p; size_t size; } held[32] = { { 0 } };

	for (uint64_t i = 0; i < n; i++) {
		unsigned int k = (unsigned int)(test_rand(&rng) % 32);

		if (held[k].p) {
			/* Our pattern is intact: nobody else got this block. */
			for (size_t j = 0; j < held[k].size; j++)
				if (held[k].p[j] != (unsigned char)(la->id + k)) {
					TEST_RECORD("thread %u: block %p overwritten", la->id,
						    (void *)held[k].p);
					break;
				}
			ops->free(held[k].p, held[k].size, ops->ctx);
			held[k].p = NULL;
		} else {
			size_t size = 1 + test_rand(&rng) % 300;
			size_t align = (size_t)8 << (test_rand(&rng) % 10);	/* 8 .. 4096 */

			held[k].p = ops->alloc(size, align, ops->ctx);
			held[k].size = size;
			if (!held[k].p) {
				TEST_RECORD("thread %u: allocation failed", la->id);
				break;
			}
			if ((uintptr_t)held[k].p & (align - 1))
				TEST_RECORD("thread %u: %p not aligned to %zu", la->id,
					    (void *)held[k].p, align);
			memset(held[k].p, (int)(la->id + k), size);
		}
	}
	for (unsigned int k = 0; k < 32; k++)
		if (held[k].p)
			ops->free(held[k].p, held[k].size, ops->ctx);
	return NULL;
}

static void lfalloc_never_hands_a_block_out_twice(void **state)
{
	struct lfalloc a;
	pthread_t th[LFA_THREADS];
	struct lfa_arg args[LFA_THREADS];

	(void)state;
	assert_int_equal(lfalloc_init(&a, (size_t)1 << 30), 0);
	for (unsigned int i = 0; i < LFA_THREADS; i++) {
		args[i] = (struct lfa_arg){ .a = &a, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, lfa_main, &args[i]), 0);
	}
	for (unsigned int i = 0; i < LFA_THREADS; i++)
		pthread_join(th[i], NULL);
	ASSERT_NO_RECORDS();
	assert_int_equal(a.live_blocks, 0);
	assert_int_equal(a.live_bytes, 0);
	assert_int_equal(a.failures, 0);
	lfalloc_fini(&a);
}

static void lfalloc_fails_cleanly_when_the_arena_is_full(void **state)
{
	struct lfalloc a;
	void *p, *q;

	(void)state;
	assert_int_equal(lfalloc_init(&a, 4096), 0);
	p = lfalloc_alloc(&a, 1000, 8);
	assert_non_null(p);
	assert_null(lfalloc_alloc(&a, 4000, 8));	/* does not fit */
	assert_int_equal(a.failures, 1);
	lfalloc_free(&a, p);
	q = lfalloc_alloc(&a, 1000, 8);			/* reused from the free list */
	assert_ptr_equal(p, q);
	lfalloc_free(&a, q);
	assert_int_equal(a.live_blocks, 0);
	lfalloc_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hook_counts_hits_and_discovers_points),
		cmocka_unit_test(charges_complete_while_a_thread_is_parked_mid_charge),
		cmocka_unit_test(lfalloc_never_hands_a_block_out_twice),
		cmocka_unit_test(lfalloc_fails_cleanly_when_the_arena_is_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
