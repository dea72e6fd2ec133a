/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* The segmented array: the contract of include/rsz/array.h, one behaviour
 * per test, plus the internal API of lib/array_internal.h and the same
 * thread's signal handler re-entering alloc, release and lookup. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "array_internal.h"

/* Every test gets a counting allocator and an unlimited counter, and
 * checks at the end that the array gave every byte back. */
struct fx {
	struct test_alloc ta;
	struct rsz_mem *mem;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	test_alloc_init(&f->ta);
	f->mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	rsz_default_flavor()->register_thread();
	*state = f;
	return f->mem ? 0 : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	struct rsz_mem_stat ms;

	rsz_mem_stat(f->mem, &ms, sizeof(ms));
	assert_int_equal(ms.usage, 0);
	assert_int_equal(test_alloc_live(&f->ta), 0);
	assert_int_equal(rsz_mem_destroy(f->mem), 0);
	rsz_default_flavor()->unregister_thread();
	free(f);
	return 0;
}

static struct rsz_array_opts base_opts(struct fx *f)
{
	struct rsz_array_opts o;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.value_size = 8;
	o.initial_entries = 64;
	o.mem = f->mem;
	o.allocator = &f->ta.ops;
	return o;
}

static struct rsz_array_stat st_of(struct rsz_array *a)
{
	struct rsz_array_stat st;

	memset(&st, 0xa5, sizeof(st));
	rsz_array_stat(a, &st, sizeof(st));
	return st;
}

static uint64_t mem_usage(struct fx *f)
{
	struct rsz_mem_stat ms;

	rsz_mem_stat(f->mem, &ms, sizeof(ms));
	return ms.usage;
}

static void assert_exact_memory(struct fx *f, struct rsz_array *a)
{
	rsz_array_maintain(a);
	rsz_rcu_barrier(rsz_default_flavor());
	assert_int_equal(st_of(a).mem_bytes, test_alloc_live(&f->ta));
	assert_int_equal(mem_usage(f), test_alloc_live(&f->ta));
}

/* ---- bad input: a clear error, nothing allocated or charged ---- */

static void expect_new_fails(struct fx *f, const struct rsz_array_opts *o, int err)
{
	errno = 0;
	assert_null(rsz_array_new(o));
	assert_int_equal(errno, err);
	assert_int_equal(f->ta.calls, 0);
	assert_int_equal(mem_usage(f), 0);
}

static void new_null_opts_is_einval(void **state)
{
	expect_new_fails(*state, NULL, EINVAL);
}

static void new_value_size_zero_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);

	o.value_size = 0;
	expect_new_fails(*state, &o, EINVAL);
}

static void new_value_size_too_large_is_e2big(void **state)
{
	struct rsz_array_opts o = base_opts(*state);

	o.value_size = RSZ_ARRAY_VALUE_SIZE_MAX + 1;
	expect_new_fails(*state, &o, E2BIG);
}

static void new_initial_above_max_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);

	o.max_entries = 100;
	o.initial_entries = 101;
	expect_new_fails(*state, &o, EINVAL);
}

static void new_overflowing_size_is_e2big(void **state)
{
	struct rsz_array_opts o = base_opts(*state);

	o.value_size = RSZ_ARRAY_VALUE_SIZE_MAX;
	o.max_entries = 1ull << 47;	/* 2^47 * 2^20 overflows 64 bits */
	expect_new_fails(*state, &o, E2BIG);
	o.max_entries = UINT64_MAX;
	expect_new_fails(*state, &o, E2BIG);
}

static void new_unknown_flag_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);

	o.flags = 1u << 20;
	expect_new_fails(*state, &o, EINVAL);
	o.flags = RSZ_F_PREALLOC;	/* a hash flag, meaningless here */
	expect_new_fails(*state, &o, EINVAL);
}

static void new_opts_sz_too_small_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);

	o.sz = offsetof(struct rsz_array_opts, allocator);
	expect_new_fails(*state, &o, EINVAL);
	o.sz = 0;
	expect_new_fails(*state, &o, EINVAL);
}

static void new_opts_nonzero_tail_is_einval(void **state)
{
	struct {
		struct rsz_array_opts o;
		uint64_t future;
	} big;

	memset(&big, 0, sizeof(big));
	big.o = base_opts(*state);
	big.o.sz = sizeof(big);
	big.future = 1;
	expect_new_fails(*state, &big.o, EINVAL);
}

static void new_opts_zero_tail_is_accepted(void **state)
{
	struct {
		struct rsz_array_opts o;
		uint64_t future;
	} big;
	struct rsz_array *a;

	memset(&big, 0, sizeof(big));
	big.o = base_opts(*state);
	big.o.sz = sizeof(big);
	a = rsz_array_new(&big.o);
	assert_non_null(a);
	rsz_array_destroy(a);
}

static void new_flavor_missing_functions_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rcu_flavor_struct fl = *rsz_default_flavor();

	fl.update_call_rcu = NULL;
	o.flavor = &fl;
	expect_new_fails(*state, &o, EINVAL);
}

static void new_allocator_missing_functions_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_allocator al = { .alloc = NULL, .free = NULL };

	o.allocator = &al;
	expect_new_fails(*state, &o, EINVAL);
}

static void new_beyond_memory_limit_is_enomem(void **state)
{
	struct fx *f = *state;
	struct rsz_mem *small = rsz_mem_new(NULL, 1024);
	struct rsz_array_opts o = base_opts(f);

	o.mem = small;
	o.initial_entries = 1024;
	errno = 0;
	assert_null(rsz_array_new(&o));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(test_alloc_live(&f->ta), 0);
	assert_int_equal(rsz_mem_destroy(small), 0);
}

/* ---- creation, lookup, update ---- */

static void new_capacity_covers_initial_and_elements_are_zero(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	struct rsz_array_stat st;

	o.initial_entries = 1000;
	a = rsz_array_new(&o);
	assert_non_null(a);
	st = st_of(a);
	assert_true(st.capacity >= 1000);
	assert_int_equal(st.allocated, 0);
	assert_int_equal(st.nr_grow, 0);
	assert_int_equal(st.grow_pending, 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	for (uint64_t i = 0; i < st.capacity; i++)
		assert_int_equal(*(uint64_t *)rsz_array_lookup(a, i), 0);
	rsz_rcu_read_unlock(rsz_default_flavor());
	assert_exact_memory(*state, a);
	rsz_array_destroy(a);
}

static void capacity_never_exceeds_max_entries(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	o.initial_entries = 100;
	o.max_entries = 100;
	a = rsz_array_new(&o);
	assert_non_null(a);
	assert_int_equal(st_of(a).capacity, 100);
	assert_int_equal(st_of(a).max_entries, 100);
	rsz_rcu_read_lock(rsz_default_flavor());
	assert_non_null(rsz_array_lookup(a, 99));
	assert_null(rsz_array_lookup(a, 100));
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

static void lookup_outside(void *arg)
{
	rsz_array_lookup(arg, 0);
}

/* The test build (as --buildtype=debug) asserts the contract's read-side
 * rule for lookup. */
static void lookup_outside_read_section_aborts_in_test_build(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	if (test_fork_unsupported())
		skip();
	a = rsz_array_new(&o);
	assert_non_null(a);
	assert_int_equal(test_child_signal(lookup_outside, a), SIGABRT);
	rsz_array_destroy(a);
}

static void lookup_beyond_capacity_is_null(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t cap = st_of(a).capacity;

	rsz_rcu_read_lock(rsz_default_flavor());
	assert_null(rsz_array_lookup(a, cap));
	assert_null(rsz_array_lookup(a, UINT64_MAX));
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

static void elements_are_8_byte_aligned_and_apart(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	o.value_size = 3;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 300, RSZ_GROW_WAIT), 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	for (uint64_t i = 0; i + 1 < st_of(a).capacity; i++) {
		uintptr_t p = (uintptr_t)rsz_array_lookup(a, i);

		assert_int_equal(p % 8, 0);
		if (rsz__seg_of(a, i) == rsz__seg_of(a, i + 1))
			assert_int_equal((uintptr_t)rsz_array_lookup(a, i + 1) - p, 8);
	}
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

static void update_any_and_exist_store_the_value(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t v = 0x1122334455667788ull, w = 42;

	assert_int_equal(rsz_array_update(a, 5, &v, RSZ_ANY), 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	assert_int_equal(*(uint64_t *)rsz_array_lookup(a, 5), v);
	rsz_rcu_read_unlock(rsz_default_flavor());
	assert_int_equal(rsz_array_update(a, 5, &w, RSZ_EXIST), 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	assert_int_equal(*(uint64_t *)rsz_array_lookup(a, 5), w);
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

static void update_copies_only_value_size_bytes(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	unsigned char v[3] = { 1, 2, 3 }, *p;

	o.value_size = 3;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_update(a, 0, v, RSZ_ANY), 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	p = rsz_array_lookup(a, 0);
	assert_memory_equal(p, v, 3);
	assert_int_equal(p[3], 0);	/* padding untouched */
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

static void update_noexist_is_eexist(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t v = 7;

	assert_int_equal(rsz_array_update(a, 0, &v, RSZ_NOEXIST), -EEXIST);
	rsz_rcu_read_lock(rsz_default_flavor());
	assert_int_equal(*(uint64_t *)rsz_array_lookup(a, 0), 0);
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

static void update_beyond_capacity_is_e2big_before_eexist(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t v = 7, cap = st_of(a).capacity;

	assert_int_equal(rsz_array_update(a, cap, &v, RSZ_ANY), -E2BIG);
	assert_int_equal(rsz_array_update(a, cap, &v, RSZ_NOEXIST), -E2BIG);
	rsz_array_destroy(a);
}

static void update_bad_flags_or_null_value_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t v = 7;

	assert_int_equal(rsz_array_update(a, 0, &v, 3), -EINVAL);
	assert_int_equal(rsz_array_update(a, 0, NULL, RSZ_ANY), -EINVAL);
	assert_int_equal(rsz_array_update(NULL, 0, &v, RSZ_ANY), -EINVAL);
	rsz_rcu_read_lock(rsz_default_flavor());
	assert_int_equal(*(uint64_t *)rsz_array_lookup(a, 0), 0);
	rsz_rcu_read_unlock(rsz_default_flavor());
	rsz_array_destroy(a);
}

/* ---- grow ---- */

static void grow_wait_never_moves_or_copies_elements(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t *addr[64];

	for (uint64_t i = 0; i < 64; i++)
		assert_int_equal(rsz_array_update(a, i, &i, RSZ_ANY), 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	for (uint64_t i = 0; i < 64; i++)
		addr[i] = rsz_array_lookup(a, i);
	rsz_rcu_read_unlock(rsz_default_flavor());
	assert_int_equal(rsz_array_grow(a, 100000, RSZ_GROW_WAIT), 0);
	assert_true(st_of(a).capacity >= 100000);
	assert_int_equal(st_of(a).nr_grow, 1);
	rsz_rcu_read_lock(rsz_default_flavor());
	for (uint64_t i = 0; i < 64; i++) {
		assert_ptr_equal(rsz_array_lookup(a, i), addr[i]);
		assert_int_equal(*addr[i], i);
	}
	for (uint64_t i = 64; i < 100000; i += 997)
		assert_int_equal(*(uint64_t *)rsz_array_lookup(a, i), 0);
	rsz_rcu_read_unlock(rsz_default_flavor());
	assert_exact_memory(*state, a);
	rsz_array_destroy(a);
}

static void grow_already_satisfied_returns_zero(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_grow(a, 64, RSZ_GROW_ASYNC), 0);
	assert_int_equal(rsz_array_grow(a, 10, RSZ_GROW_WAIT), 0);
	assert_int_equal(st_of(a).nr_grow, 0);
	assert_int_equal(st_of(a).grow_pending, 0);
	rsz_array_destroy(a);
}

static void grow_bad_flags_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_grow(a, 1000, 2), -EINVAL);
	assert_int_equal(rsz_array_shrink(a, 7), -EINVAL);
	assert_int_equal(st_of(a).grow_pending, 0);
	rsz_array_destroy(a);
}

static void grow_async_queues_once_and_maintain_runs_it(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 1000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_array_grow(a, 1000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_array_grow(a, 500, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(st_of(a).capacity, 64);	/* manual: nothing ran */
	assert_int_equal(st_of(a).grow_pending, 1);
	assert_int_equal(rsz_array_maintain(a), 0);
	assert_true(st_of(a).capacity >= 1000);
	assert_true(st_of(a).capacity < 2000);	/* the repeats did not over-grow */
	assert_int_equal(st_of(a).nr_grow, 1);
	assert_int_equal(st_of(a).grow_pending, 0);
	rsz_array_destroy(a);
}

static void grow_async_runs_in_the_worker(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_grow(a, 5000, RSZ_GROW_ASYNC), -EINPROGRESS);
	/* No timing: wait as long as it takes (the test's timeout bounds it). */
	while (st_of(a).grow_pending)
		usleep(1000);
	assert_true(st_of(a).capacity >= 5000);
	assert_int_equal(st_of(a).nr_grow, 1);
	rsz_array_destroy(a);
}

static void grow_beyond_max_grows_to_cap_and_is_e2big(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	o.max_entries = 1000;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 5000, RSZ_GROW_WAIT), -E2BIG);
	assert_int_equal(st_of(a).capacity, 1000);
	assert_int_equal(rsz_array_grow(a, 5000, RSZ_GROW_ASYNC), -E2BIG);
	assert_int_equal(rsz_array_grow(a, 1000, RSZ_GROW_WAIT), 0);
	assert_exact_memory(*state, a);
	rsz_array_destroy(a);
}

static void grow_async_beyond_max_queues_to_cap_and_is_e2big(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	o.max_entries = 1000;
	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 5000, RSZ_GROW_ASYNC), -E2BIG);
	rsz_array_maintain(a);
	assert_int_equal(st_of(a).capacity, 1000);
	rsz_array_destroy(a);
}

static void grow_at_memory_limit_is_enomem_and_keeps_capacity(void **state)
{
	struct fx *f = *state;
	struct rsz_array_opts o = base_opts(f);
	struct rsz_mem *lim = rsz_mem_new(f->mem, 8192);
	struct rsz_array *a;
	struct rsz_array_stat st;

	o.mem = lim;
	a = rsz_array_new(&o);
	assert_non_null(a);
	assert_int_equal(rsz_array_grow(a, 100000, RSZ_GROW_WAIT), -ENOMEM);
	st = st_of(a);
	assert_int_equal(st.capacity, 64);
	assert_int_equal(st.nr_grow_failed, 1);
	assert_int_equal(st.last_grow_error, -ENOMEM);
	assert_int_equal(st.nr_grow, 0);
	/* Still usable, and a grow that fits succeeds. */
	assert_int_equal(rsz_array_grow(a, 128, RSZ_GROW_WAIT), 0);
	assert_int_equal(st_of(a).capacity, 128);
	assert_exact_memory(f, a);
	rsz_array_destroy(a);
	assert_int_equal(rsz_mem_destroy(lim), 0);
}

static void grow_fault_at_every_allocation_leaves_array_usable(void **state)
{
	struct fx *f = *state;
	struct rsz_array_opts o = base_opts(f);

	/* Fail each allocator call of a three-segment grow in turn. */
	for (uint64_t n = 1; n <= 4; n++) {
		struct rsz_array *a = rsz_array_new(&o);
		uint64_t cap = st_of(a).capacity, idx;

		f->ta.fail_at = f->ta.calls + n;
		if (rsz_array_grow(a, 512, RSZ_GROW_WAIT) == -ENOMEM)
			assert_int_equal(st_of(a).capacity, cap);
		else
			assert_true(st_of(a).capacity >= 512);
		f->ta.fail_at = 0;
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
		assert_int_equal(rsz_array_release(a, idx), 0);
		assert_exact_memory(f, a);
		rsz_array_destroy(a);
	}
}

static void new_fault_at_every_allocation_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct rsz_array_opts o = base_opts(f);

	/* Creation allocates the struct, then segment 0. */
	for (uint64_t n = 1; n <= 2; n++) {
		f->ta.fail_at = f->ta.calls + n;
		errno = 0;
		assert_null(rsz_array_new(&o));
		assert_int_equal(errno, ENOMEM);
		assert_int_equal(test_alloc_live(&f->ta), 0);
		assert_int_equal(mem_usage(f), 0);
	}
	f->ta.fail_at = 0;
}

/* ---- alloc and release ---- */

static void alloc_hands_out_low_indices_first_zeroed(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t v = 99, idx;

	for (uint64_t i = 0; i < 8; i++)
		rsz_array_update(a, i, &v, RSZ_ANY);
	for (uint64_t i = 0; i < 8; i++) {
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
		assert_int_equal(idx, i);
		rsz_rcu_read_lock(rsz_default_flavor());
		assert_int_equal(*(uint64_t *)rsz_array_lookup(a, idx), 0);
		rsz_rcu_read_unlock(rsz_default_flavor());
	}
	assert_int_equal(st_of(a).allocated, 8);
	rsz_array_destroy(a);
}

static void alloc_null_arguments_are_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t idx;

	assert_int_equal(rsz_array_alloc(a, NULL), -EINVAL);
	assert_int_equal(rsz_array_alloc(NULL, &idx), -EINVAL);
	assert_int_equal(rsz_array_release(NULL, 0), -EINVAL);
	assert_int_equal(st_of(a).allocated, 0);
	rsz_array_destroy(a);
}

static void release_of_unallocated_slot_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_release(a, 3), -EINVAL);
	assert_int_equal(st_of(a).allocated, 0);
	rsz_array_destroy(a);
}

static void double_release_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t idx;

	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(rsz_array_release(a, idx), 0);
	assert_int_equal(rsz_array_release(a, idx), -EINVAL);
	assert_int_equal(st_of(a).allocated, 0);
	rsz_array_destroy(a);
}

static void release_beyond_capacity_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_release(a, 64), -EINVAL);
	assert_int_equal(rsz_array_release(a, UINT64_MAX), -EINVAL);
	rsz_array_destroy(a);
}

static void released_slot_is_reused_only_after_a_grace_period(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx, again;

	o.flags = RSZ_F_MANUAL;
	o.max_entries = 64;
	a = rsz_array_new(&o);
	for (uint64_t i = 0; i < 64; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(rsz_array_release(a, 17), 0);
	/* Released but its grace period has not been waited for. */
	assert_int_equal(rsz_array_alloc(a, &again), -E2BIG);
	assert_int_equal(rsz__array_free_slots(a), 0);
	assert_int_equal(st_of(a).allocated, 63);
	rsz_array_maintain(a);	/* waits for the grace period */
	assert_int_equal(rsz__array_free_slots(a), 1);
	assert_int_equal(rsz_array_alloc(a, &again), 0);
	assert_int_equal(again, 17);
	rsz_array_destroy(a);
}

static void alloc_at_max_entries_is_e2big(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.max_entries = 100;
	o.initial_entries = 100;
	a = rsz_array_new(&o);
	for (uint64_t i = 0; i < 100; i++) {
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
		assert_int_equal(idx, i);
	}
	assert_int_equal(rsz_array_alloc(a, &idx), -E2BIG);
	assert_int_equal(st_of(a).allocated, 100);
	rsz_array_destroy(a);
}

static void alloc_when_full_below_max_is_eagain_with_grow_queued(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	for (uint64_t i = 0; i < 64; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(rsz_array_alloc(a, &idx), -EAGAIN);
	assert_int_equal(st_of(a).grow_pending, 1);
	rsz_array_maintain(a);
	assert_int_equal(st_of(a).capacity, 128);
	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(idx, 64);
	rsz_array_destroy(a);
}

/* An RSZ_F_MANUAL array charged to a new counter *@lim (under the
 * fixture's) with room for the struct and segment 0, not for segment 1;
 * its 64 slots allocated. */
static struct rsz_array *full_array_at_memory_limit(struct fx *f, struct rsz_mem **lim)
{
	struct rsz_array_opts o = base_opts(f);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	*lim = rsz_mem_new(f->mem, st_of(a).mem_bytes + 100);
	rsz_array_destroy(a);
	o.mem = *lim;
	a = rsz_array_new(&o);
	assert_non_null(a);
	for (uint64_t i = 0; i < 64; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	return a;
}

static void alloc_at_memory_limit_is_enomem_not_eagain(void **state)
{
	struct rsz_mem *lim;
	struct rsz_array *a = full_array_at_memory_limit(*state, &lim);
	uint64_t idx;

	/* No grow has failed yet: queue one and say so. */
	assert_int_equal(rsz_array_alloc(a, &idx), -EAGAIN);
	assert_int_equal(rsz_array_maintain(a), -ENOMEM);	/* the grow fails on the limit */
	assert_int_equal(st_of(a).nr_grow_failed, 1);
	assert_int_equal(rsz_array_alloc(a, &idx), -ENOMEM);
	assert_int_equal(rsz_array_grow(a, 128, RSZ_GROW_ASYNC), -ENOMEM);
	/* Room again: the next alloc queues a grow, which succeeds. */
	assert_int_equal(rsz_mem_set_max(lim, RSZ_MEM_UNLIMITED), 0);
	assert_int_equal(rsz_array_alloc(a, &idx), -EAGAIN);
	assert_int_equal(rsz_array_maintain(a), 0);
	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	rsz_array_destroy(a);
	assert_int_equal(rsz_mem_destroy(lim), 0);
}

/* The contract (rsz_array_maintain(): "as rsz_hash_maintain()"): 0, or the
 * error of a grow that failed in it. Found by fuzz_array's model: maintain
 * returned 0 while nr_grow_failed went up. Released slots come back all
 * the same. */
static void maintain_returns_the_error_of_a_failed_queued_grow(void **state)
{
	struct rsz_mem *lim;
	struct rsz_array *a = full_array_at_memory_limit(*state, &lim);
	uint64_t idx;

	assert_int_equal(rsz_array_release(a, 5), 0);
	assert_int_equal(rsz_array_grow(a, 128, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_array_maintain(a), -ENOMEM);
	assert_int_equal(st_of(a).nr_grow_failed, 1);
	assert_int_equal(st_of(a).last_grow_error, -ENOMEM);
	assert_int_equal(st_of(a).capacity, 64);
	assert_int_equal(st_of(a).grow_pending, 0);
	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(idx, 5);
	/* Nothing queued any more: nothing failed. */
	assert_int_equal(rsz_array_maintain(a), 0);
	rsz_array_destroy(a);
	assert_int_equal(rsz_mem_destroy(lim), 0);
}

struct racer {
	pthread_t thread;
	struct rsz_array *a;
	uint64_t got;
	uint64_t other_errors;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	uint64_t idx;
	int err;

	rsz_default_flavor()->register_thread();
	while ((err = rsz_array_alloc(r->a, &idx)) != -E2BIG) {
		if (err == 0)
			r->got++;
		else
			r->other_errors++;
	}
	rsz_default_flavor()->unregister_thread();
	return NULL;
}

static void racing_allocs_hand_out_exactly_max_entries(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct racer r[5];
	struct rsz_array *a;
	uint64_t total = 0;

	/* Five threads on two cores; max not a power of two, so the last
	 * bitmap word is cut by pad bits. */
	o.max_entries = 5000;
	o.initial_entries = 5000;
	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	for (int i = 0; i < 5; i++)
		r[i] = (struct racer){ .a = a };
	for (int i = 0; i < 5; i++)
		pthread_create(&r[i].thread, NULL, racer_main, &r[i]);
	for (int i = 0; i < 5; i++) {
		pthread_join(r[i].thread, NULL);
		total += r[i].got;
		assert_int_equal(r[i].other_errors, 0);
	}
	assert_int_equal(total, 5000);
	assert_int_equal(st_of(a).allocated, 5000);
	assert_int_equal(rsz__array_free_slots(a), 0);
	rsz_array_destroy(a);
}

/* ---- watermarks ---- */

static void default_watermark_queues_a_doubling_at_three_quarters(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	for (uint64_t i = 0; i < 48; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(st_of(a).grow_pending, 0);	/* 16 free = low */
	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(st_of(a).grow_pending, 1);	/* 15 free < 16 */
	rsz_array_maintain(a);
	assert_int_equal(st_of(a).capacity, 128);
	rsz_array_destroy(a);
}

static void watermarks_high_below_low_is_einval(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_set_watermarks(a, 10, 5), -EINVAL);
	assert_int_equal(rsz_array_set_watermarks(NULL, 1, 5), -EINVAL);
	rsz_array_destroy(a);
}

static void watermark_low_queues_a_grow_to_high(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_set_watermarks(a, 8, 1000), 0);
	for (uint64_t i = 0; i < 56; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(st_of(a).grow_pending, 0);	/* 8 free, not below */
	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(st_of(a).grow_pending, 1);
	rsz_array_maintain(a);
	assert_true(st_of(a).capacity - 57 >= 1000);
	rsz_array_destroy(a);
}

static void watermark_low_zero_turns_automatic_growth_off(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_set_watermarks(a, 0, 0), 0);
	for (uint64_t i = 0; i < 64; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(st_of(a).grow_pending, 0);
	rsz_array_destroy(a);
}

static void watermark_high_is_clamped_to_max_entries(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;

	o.flags = RSZ_F_MANUAL;
	o.max_entries = 200;
	a = rsz_array_new(&o);
	/* Already below low: queued at once, and capped at max_entries. */
	assert_int_equal(rsz_array_set_watermarks(a, 100, 1000000), 0);
	assert_int_equal(st_of(a).grow_pending, 1);
	rsz_array_maintain(a);
	assert_int_equal(st_of(a).capacity, 200);
	rsz_array_destroy(a);
}

/* ---- shrink ---- */

static void shrink_wait_goes_down_to_the_highest_allocated_slot(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_set_watermarks(a, 0, 0), 0);
	assert_int_equal(rsz_array_grow(a, 1024, RSZ_GROW_WAIT), 0);
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	for (uint64_t i = 100; i < 1000; i++)
		assert_int_equal(rsz_array_release(a, i), 0);
	/* k = 100: at most max(100, 64) rounded up to a segment, 128. */
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_true(st_of(a).capacity >= 100);
	assert_true(st_of(a).capacity <= 128);
	assert_int_equal(st_of(a).nr_shrink, 1);
	assert_int_equal(st_of(a).allocated, 100);
	assert_exact_memory(*state, a);
	rsz_array_destroy(a);
}

static void shrink_never_drops_an_allocated_slot_or_goes_below_initial(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx, top = 0;

	o.initial_entries = 100;	/* segment 0 holds 128 */
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 2048, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_array_update(a, 1500, &top, RSZ_ANY), 0);
	/* One slot high up keeps its segment; all else is empty. */
	for (uint64_t i = 0; i < 1501; i++) {
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
		top = idx;
	}
	for (uint64_t i = 0; i < 1500; i++)
		assert_int_equal(rsz_array_release(a, i), 0);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_true(st_of(a).capacity > 1500);
	assert_int_equal(rsz_array_release(a, 1500), 0);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_int_equal(st_of(a).capacity, 128);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_int_equal(st_of(a).capacity, 128);
	(void)top;
	rsz_array_destroy(a);
}

static void shrink_frees_segments_after_a_grace_period(void **state)
{
	struct fx *f = *state;
	struct rsz_array_opts o = base_opts(f);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t before = st_of(a).mem_bytes;
	struct rsz_mem_stat ms;

	assert_int_equal(rsz_array_grow(a, 4096, RSZ_GROW_WAIT), 0);
	rsz_rcu_read_lock(rsz_default_flavor());
	/* A reader inside its section holds the segments up. */
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_ASYNC), -EINPROGRESS);
	rsz_rcu_read_unlock(rsz_default_flavor());
	while (st_of(a).capacity > 64)
		usleep(1000);
	rsz_rcu_barrier(rsz_default_flavor());
	rsz_mem_stat(f->mem, &ms, sizeof(ms));
	assert_int_equal(ms.deferred, 0);
	assert_int_equal(st_of(a).mem_bytes, before);
	assert_exact_memory(f, a);
	rsz_array_destroy(a);
}

static void shrink_with_nothing_to_release_returns_zero(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_ASYNC), 0);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_int_equal(st_of(a).nr_shrink, 0);
	rsz_array_destroy(a);
}

static void shrink_keeps_a_low_watermark_the_owner_set(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);

	assert_int_equal(rsz_array_grow(a, 1024, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_array_set_watermarks(a, 300, 300), 0);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_true(st_of(a).capacity >= 300);
	rsz_array_destroy(a);
}

static void auto_shrink_when_mostly_empty_keeps_half_free(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx;

	o.flags = RSZ_F_MANUAL | RSZ_F_SHRINK;
	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 1024, RSZ_GROW_WAIT), 0);
	for (uint64_t i = 0; i < 700; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	rsz_array_maintain(a);	/* the watermark's grow, if any */
	for (uint64_t i = 40; i < 700; i++)
		assert_int_equal(rsz_array_release(a, i), 0);
	rsz_array_maintain(a);
	assert_true(st_of(a).nr_shrink >= 1);
	/* At most half full after an automatic shrink, and not below. */
	assert_true(st_of(a).capacity >= 80);
	assert_true(st_of(a).capacity <= 256);
	rsz_array_destroy(a);
}

static void auto_shrink_and_grow_do_not_loop_at_a_boundary(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a;
	uint64_t idx[200], n = 0;

	o.flags = RSZ_F_MANUAL | RSZ_F_SHRINK;
	a = rsz_array_new(&o);
	/* Fill to just past the grow point, then hover around the point
	 * where a quarter of the doubled capacity is allocated. */
	while (n < 49)
		assert_int_equal(rsz_array_alloc(a, &idx[n++]), 0);
	rsz_array_maintain(a);
	assert_int_equal(st_of(a).capacity, 128);
	for (int round = 0; round < 50; round++) {
		while (n > 31)
			assert_int_equal(rsz_array_release(a, idx[--n]), 0);
		rsz_array_maintain(a);
		while (n < 33)
			assert_int_equal(rsz_array_alloc(a, &idx[n++]), 0);
		rsz_array_maintain(a);
	}
	assert_true(st_of(a).nr_grow + st_of(a).nr_shrink <= 3);
	rsz_array_destroy(a);
}

/* ---- stat, memory ---- */

static void stat_fills_the_callers_size_and_zeroes_the_tail(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct rsz_array *a = rsz_array_new(&o);
	struct {
		struct rsz_array_stat st;
		uint64_t future[2];
	} big;
	uint64_t small[2];

	memset(&big, 0xa5, sizeof(big));
	rsz_array_stat(a, &big.st, sizeof(big));
	assert_int_equal(big.st.capacity, 64);
	assert_int_equal(big.future[0], 0);
	assert_int_equal(big.future[1], 0);
	memset(small, 0xa5, sizeof(small));
	rsz_array_stat(a, (struct rsz_array_stat *)small, sizeof(uint64_t));
	assert_int_equal(small[0], 64);
	assert_int_equal(small[1], 0xa5a5a5a5a5a5a5a5ull);
	rsz_array_destroy(a);
}

static void memory_is_exact_through_grow_shrink_and_destroy(void **state)
{
	struct fx *f = *state;
	struct rsz_array_opts o = base_opts(f);
	struct rsz_array *a;
	uint64_t idx;

	o.value_size = 24;
	a = rsz_array_new(&o);
	assert_exact_memory(f, a);
	assert_int_equal(rsz_array_grow(a, 10000, RSZ_GROW_WAIT), 0);
	assert_exact_memory(f, a);
	for (int i = 0; i < 300; i++)
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
	for (uint64_t i = 0; i < 300; i += 2)
		assert_int_equal(rsz_array_release(a, i), 0);
	assert_exact_memory(f, a);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_exact_memory(f, a);
	rsz_array_destroy(a);
	assert_int_equal(test_alloc_live(&f->ta), 0);
	assert_int_equal(mem_usage(f), 0);
}

static void bytes_held_at_capacity_are_within_target(void **state)
{
	struct fx *f = *state;
	struct rsz_array_opts o = base_opts(f);
	struct rsz_array *a;
	uint64_t cap, seg;

	a = rsz_array_new(&o);
	assert_int_equal(rsz_array_grow(a, 1 << 16, RSZ_GROW_WAIT), 0);
	cap = st_of(a).capacity;
	seg = cap / 2 * 8;
	/* targets.md: <= 1.1 x C x round_up(value_size, 8) + one segment */
	assert_true(st_of(a).mem_bytes <= cap * 8 * 11 / 10 + seg);
	rsz_array_destroy(a);
}

/* ---- the internal API of the hash map's element pool ---- */

struct hook_log {
	uint64_t kicks;
	uint64_t reclaimed;
	uint64_t last_index;
	void *last_elem;
};

static void hook_kick(void *ctx)
{
	__atomic_add_fetch(&((struct hook_log *)ctx)->kicks, 1, __ATOMIC_RELAXED);
}

static void hook_reclaim(void *ctx, void *elem, uint64_t index)
{
	struct hook_log *l = ctx;

	l->reclaimed++;
	l->last_index = index;
	l->last_elem = elem;
}

static void hooks_kick_on_queued_work_and_reclaim_after_grace(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct hook_log log = { 0 };
	struct rsz_array_hooks h = { .reclaim = hook_reclaim, .kick = hook_kick, .ctx = &log };
	struct rsz_array *a = rsz__array_new(&o, &h);
	uint64_t idx;

	assert_non_null(a);
	assert_int_equal(rsz__array_free_slots(a), 64);
	assert_int_equal(rsz_array_alloc(a, &idx), 0);
	assert_int_equal(rsz__array_free_slots(a), 63);
	assert_int_equal(rsz_array_release(a, idx), 0);
	assert_int_equal(log.kicks, 1);
	assert_int_equal(log.reclaimed, 0);
	assert_int_equal(rsz__array_maintain(a), 0);
	assert_int_equal(log.reclaimed, 1);
	assert_int_equal(log.last_index, idx);
	assert_ptr_equal(log.last_elem, rsz__array_elem(a, idx));
	assert_int_equal(rsz__array_free_slots(a), 64);
	assert_int_equal(rsz_array_grow(a, 1000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(log.kicks, 2);
	assert_int_equal(st_of(a).capacity, 64);	/* no worker of its own */
	rsz__array_maintain(a);
	assert_true(st_of(a).capacity >= 1000);
	rsz_array_destroy(a);
}

/* ---- another flavor ---- */

extern const struct rcu_flavor_struct urcu_qsbr_flavor;

static void qsbr_flavor_grows_reclaims_and_shrinks(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	const struct rcu_flavor_struct *q = &urcu_qsbr_flavor;
	struct rsz_array *a;
	uint64_t idx;

	/* urcu-qsbr: an online thread is inside a read-side section, so the
	 * calls that block (WAIT resizes, maintain, destroy) are made
	 * offline; the data path is called online, with quiescent states. */
	q->register_thread();
	o.flavor = q;
	q->thread_offline();
	a = rsz_array_new(&o);
	q->thread_online();
	assert_non_null(a);
	for (int i = 0; i < 1000; i++) {
		int err = rsz_array_alloc(a, &idx);

		if (err == -EAGAIN) {
			q->thread_offline();
			assert_int_equal(rsz_array_maintain(a), 0);
			q->thread_online();
			i--;
			continue;
		}
		assert_int_equal(err, 0);
		assert_int_equal(rsz_array_release(a, idx), 0);
		q->read_quiescent_state();
	}
	q->thread_offline();
	assert_int_equal(rsz_array_grow(a, 4096, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_int_equal(st_of(a).capacity, 64);
	assert_int_equal(st_of(a).allocated, 0);
	rsz_array_destroy(a);
	q->thread_online();
	q->unregister_thread();
}

/* ---- a signal handler re-entering the data path on the same thread ---- */

static struct rsz_array *sig_array;
/* Atomic, not volatile sig_atomic_t: SIGALRM is process-directed and may
 * run the handler on liburcu's call_rcu thread (ThreadSanitizer saw it). */
static int sig_runs;
static uint64_t sig_errors;

static void sig_handler(int sig)
{
	uint64_t idx, *p;
	int saved = errno;

	(void)sig;
	__atomic_add_fetch(&sig_runs, 1, __ATOMIC_RELAXED);
	if (rsz_array_alloc(sig_array, &idx)) {
		errno = saved;
		return;		/* -EAGAIN while a grow runs is fine */
	}
	rsz_rcu_read_lock(rsz_default_flavor());
	p = rsz_array_lookup(sig_array, idx);
	if (!p || *p != 0)
		sig_errors++;
	else
		*p = 0x5151515151515151ull;
	rsz_rcu_read_unlock(rsz_default_flavor());
	if (rsz_array_release(sig_array, idx))
		sig_errors++;
	errno = saved;
}

static void signal_handler_may_interrupt_alloc_and_release(void **state)
{
	struct rsz_array_opts o = base_opts(*state);
	struct sigaction sa;
	struct itimerval it = { .it_interval = { 0, 50 }, .it_value = { 0, 50 } };
	uint64_t iters = test_scaled(2000000, 20000), done = 0, tag;

	sig_array = rsz_array_new(&o);
	__atomic_store_n(&sig_runs, 0, __ATOMIC_RELAXED);
	sig_errors = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (uint64_t i = 0; i < iters || __atomic_load_n(&sig_runs, __ATOMIC_RELAXED) < 20; i++) {
		uint64_t idx, *p;

		if (rsz_array_alloc(sig_array, &idx))
			continue;
		tag = 0xabc0000000000000ull | i;
		rsz_rcu_read_lock(rsz_default_flavor());
		p = rsz_array_lookup(sig_array, idx);
		if (*p != 0)
			sig_errors++;	/* not zeroed, or the handler's slot */
		*p = tag;
		rsz_rcu_read_unlock(rsz_default_flavor());
		rsz_rcu_read_lock(rsz_default_flavor());
		if (*(uint64_t *)rsz_array_lookup(sig_array, idx) != tag)
			sig_errors++;	/* someone else owns it too */
		rsz_rcu_read_unlock(rsz_default_flavor());
		if (rsz_array_release(sig_array, idx))
			sig_errors++;
		done++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	/* Not SIG_DFL: a tick already pending would end the process. */
	signal(SIGALRM, SIG_IGN);
	assert_int_equal(sig_errors, 0);
	assert_true(__atomic_load_n(&sig_runs, __ATOMIC_RELAXED) >= 20);
	assert_true(done > 0);
	rsz_array_maintain(sig_array);
	assert_int_equal(st_of(sig_array).allocated, 0);
	rsz_array_destroy(sig_array);
}

#define T(fn) cmocka_unit_test(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(new_null_opts_is_einval),
		T(new_value_size_zero_is_einval),
		T(new_value_size_too_large_is_e2big),
		T(new_initial_above_max_is_einval),
		T(new_overflowing_size_is_e2big),
		T(new_unknown_flag_is_einval),
		T(new_opts_sz_too_small_is_einval),
		T(new_opts_nonzero_tail_is_einval),
		T(new_opts_zero_tail_is_accepted),
		T(new_flavor_missing_functions_is_einval),
		T(new_allocator_missing_functions_is_einval),
		T(new_beyond_memory_limit_is_enomem),
		T(new_capacity_covers_initial_and_elements_are_zero),
		T(capacity_never_exceeds_max_entries),
		T(lookup_beyond_capacity_is_null),
		T(lookup_outside_read_section_aborts_in_test_build),
		T(elements_are_8_byte_aligned_and_apart),
		T(update_any_and_exist_store_the_value),
		T(update_copies_only_value_size_bytes),
		T(update_noexist_is_eexist),
		T(update_beyond_capacity_is_e2big_before_eexist),
		T(update_bad_flags_or_null_value_is_einval),
		T(grow_wait_never_moves_or_copies_elements),
		T(grow_already_satisfied_returns_zero),
		T(grow_bad_flags_is_einval),
		T(grow_async_queues_once_and_maintain_runs_it),
		T(grow_async_runs_in_the_worker),
		T(grow_beyond_max_grows_to_cap_and_is_e2big),
		T(grow_async_beyond_max_queues_to_cap_and_is_e2big),
		T(grow_at_memory_limit_is_enomem_and_keeps_capacity),
		T(grow_fault_at_every_allocation_leaves_array_usable),
		T(new_fault_at_every_allocation_leaves_nothing),
		T(alloc_hands_out_low_indices_first_zeroed),
		T(alloc_null_arguments_are_einval),
		T(release_of_unallocated_slot_is_einval),
		T(double_release_is_einval),
		T(release_beyond_capacity_is_einval),
		T(released_slot_is_reused_only_after_a_grace_period),
		T(alloc_at_max_entries_is_e2big),
		T(alloc_when_full_below_max_is_eagain_with_grow_queued),
		T(alloc_at_memory_limit_is_enomem_not_eagain),
		T(maintain_returns_the_error_of_a_failed_queued_grow),
		T(racing_allocs_hand_out_exactly_max_entries),
		T(default_watermark_queues_a_doubling_at_three_quarters),
		T(watermarks_high_below_low_is_einval),
		T(watermark_low_queues_a_grow_to_high),
		T(watermark_low_zero_turns_automatic_growth_off),
		T(watermark_high_is_clamped_to_max_entries),
		T(shrink_wait_goes_down_to_the_highest_allocated_slot),
		T(shrink_never_drops_an_allocated_slot_or_goes_below_initial),
		T(shrink_frees_segments_after_a_grace_period),
		T(shrink_with_nothing_to_release_returns_zero),
		T(shrink_keeps_a_low_watermark_the_owner_set),
		T(auto_shrink_when_mostly_empty_keeps_half_free),
		T(auto_shrink_and_grow_do_not_loop_at_a_boundary),
		T(stat_fills_the_callers_size_and_zeroes_the_tail),
		T(memory_is_exact_through_grow_shrink_and_destroy),
		T(bytes_held_at_capacity_are_within_target),
		T(hooks_kick_on_queued_work_and_reclaim_after_grace),
		T(qsbr_flavor_grows_reclaims_and_shrinks),
		T(signal_handler_may_interrupt_alloc_and_release),
	};
	const struct CMUnitTest *t = tests;
	struct CMUnitTest with_fx[ARRAY_SIZE(tests)];

	/* Create urcu-qsbr's call_rcu thread before any rsz worker exists:
	 * liburcu never joins it (tests/valgrind.supp), and created later it
	 * would reuse the cached stack of a joined worker, so memcheck would
	 * blame the leak on the worker's pthread_create and the suppression
	 * would not recognise it. */
	urcu_qsbr_flavor.register_thread();
	rsz_rcu_prime(&urcu_qsbr_flavor);
	urcu_qsbr_flavor.unregister_thread();

	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		with_fx[i] = t[i];
		with_fx[i].setup_func = fx_setup;
		with_fx[i].teardown_func = fx_teardown;
	}
	return cmocka_run_group_tests(with_fx, NULL, NULL);
}
