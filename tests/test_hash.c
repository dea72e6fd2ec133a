/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The resizable hash map against its contract (spec/api.md "Resizable hash
 * map" and its "Precise points", include/rsz/hash.h), one behaviour per
 * test, through the public API only. Every test runs in a fresh
 * environment (counting allocator, memory counter, release recorder) whose
 * teardown checks that destroy returned every byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include <urcu/urcu-memb.h>

#define FL (&urcu_memb_flavor)
#include "hashtest.h"
#include "hash_internal.h"

/* ---- fixtures ----------------------------------------------------------- */

static void fill(struct rsz_hash *h, uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k < to; k++)
		assert_int_equal(ins(h, k, RSZ_NOEXIST), 0);
}

/* ---- creation ------------------------------------------------------------ */

static void new_map_capacity_is_at_least_initial_entries(void **state)
{
	static const uint64_t initial[] = { 0, 1, 7, 100, 1000, 4097, 100000 };
	struct env *e = *state;

	for (size_t i = 0; i < ARRAY_SIZE(initial); i++) {
		struct rsz_hash *h = mk(e, 0, initial[i], 0);
		struct rsz_hash_stat st = hstat(h);

		assert_true(st.capacity >= initial[i]);
		assert_int_equal(st.count, 0);
		assert_int_equal(st.nr_grow, 0);
		assert_int_equal(st.grow_pending, 0);
		rsz_hash_destroy(h);
		e->h = NULL;
	}
}

static void new_prealloc_map_capacity_is_at_least_initial_entries(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 1000, 0);

	assert_true(hstat(h).capacity >= 1000);
	/* ...and that capacity is real: every one of them inserts. */
	fill(h, 0, 1000);
	assert_int_equal(hstat(h).count, 1000);
}

static void new_map_stat_reports_max_entries(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 10, 12345);

	assert_int_equal(hstat(h).max_entries, 12345);
}

static void new_map_charges_exactly_what_the_allocator_holds(void **state)
{
	struct env *e = *state;

	mk(e, 0, 1000, 0);
	assert_true(test_alloc_live(&e->ta) > 0);
	assert_exact_accounting(e);
}

static void new_map_without_counter_or_allocator_works(void **state)
{
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8);
	struct rsz_hash *h;
	uint64_t v;

	(void)state;
	h = rsz_hash_new(&o);
	assert_non_null(h);
	assert_int_equal(ins(h, 1, RSZ_ANY), 0);
	assert_int_equal(get(h, 1, &v), 0);
	assert_int_equal(v, val_of(1));
	assert_true(hstat(h).mem_bytes > 0);
	rsz_hash_destroy(h);
}

/* ---- lookup -------------------------------------------------------------- */

static void lookup_of_missing_key_returns_null(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 42;

	assert_int_equal(ins(h, 41, RSZ_ANY), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	assert_null(rsz_hash_lookup(h, &k));
	test_rcu_read_unlock(&urcu_memb_flavor);
}

static void lookup_returns_pointer_to_value(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	fill(h, 0, 100);
	test_rcu_read_lock(&urcu_memb_flavor);
	for (uint64_t k = 0; k < 100; k++) {
		uint64_t *p = rsz_hash_lookup(h, &k);

		assert_non_null(p);
		assert_int_equal(*p, val_of(k));
	}
	test_rcu_read_unlock(&urcu_memb_flavor);
}

static void lookup_with_null_key_returns_null(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	test_rcu_read_lock(&urcu_memb_flavor);
	assert_null(rsz_hash_lookup(h, NULL));
	assert_null(rsz_hash_lookup(NULL, &h));
	test_rcu_read_unlock(&urcu_memb_flavor);
}

static void lookup_outside(void *arg)
{
	uint64_t k = 1;

	rsz_hash_lookup(arg, &k);
}

/* The test build (as --buildtype=debug) asserts the contract's read-side
 * rule for lookup. */
static void lookup_outside_read_section_aborts_in_test_build(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	if (test_fork_unsupported())
		skip();
	assert_int_equal(put(h, 1, 1, RSZ_NOEXIST), 0);
	assert_int_equal(test_child_signal(lookup_outside, h), SIGABRT);
}

static void lookup_copy_copies_value_outside_read_section(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v = 0;

	assert_int_equal(ins(h, 7, RSZ_ANY), 0);
	assert_int_equal(get(h, 7, &v), 0);
	assert_int_equal(v, val_of(7));
}

static void lookup_copy_of_missing_key_returns_enoent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v = 0x1234;

	assert_int_equal(get(h, 7, &v), -ENOENT);
	assert_int_equal(v, 0x1234);
}

static void lookup_copy_with_null_arguments_returns_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 1, v;

	assert_int_equal(ins(h, 1, RSZ_ANY), 0);
	assert_int_equal(rsz_hash_lookup_copy(h, NULL, &v), -EINVAL);
	assert_int_equal(rsz_hash_lookup_copy(h, &k, NULL), -EINVAL);
	assert_int_equal(rsz_hash_lookup_copy(NULL, &k, &v), -EINVAL);
}

static void value_size_zero_lookup_returns_non_null_token(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);
	uint64_t k = 5, missing = 6, dummy = 0;

	o.value_size = 0;
	o.release = NULL;
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
	assert_int_equal(rsz_hash_update(e->h, &k, &dummy, RSZ_NOEXIST), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	assert_non_null(rsz_hash_lookup(e->h, &k));
	assert_null(rsz_hash_lookup(e->h, &missing));
	test_rcu_read_unlock(&urcu_memb_flavor);
	assert_int_equal(rsz_hash_lookup_copy(e->h, &k, &dummy), 0);
	assert_int_equal(rsz_hash_lookup_copy(e->h, &missing, &dummy), -ENOENT);
	assert_int_equal(rsz_hash_delete(e->h, &k), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	assert_null(rsz_hash_lookup(e->h, &k));
	test_rcu_read_unlock(&urcu_memb_flavor);
}

static void values_are_8_byte_aligned(struct env *e, int mode)
{
	static const uint32_t ks[] = { 1, 3, 5, 8, 13, 64, 511 };
	static const uint32_t vs[] = { 1, 3, 8, 12, 17, 100 };

	{
		for (size_t i = 0; i < ARRAY_SIZE(ks); i++) {
			for (size_t j = 0; j < ARRAY_SIZE(vs); j++) {
				struct rsz_hash_opts o = env_opts(e, mode ? RSZ_F_PREALLOC : 0, 64, 0);
				unsigned char key[512], val[128];

				o.key_size = ks[i];
				o.value_size = vs[j];
				o.release = NULL;
				e->h = rsz_hash_new(&o);
				assert_non_null(e->h);
				for (unsigned n = 0; n < 20; n++) {
					memset(key, (int)n, sizeof(key));
					memset(val, (int)n, sizeof(val));
					assert_int_equal(rsz_hash_update(e->h, key, val, RSZ_NOEXIST), 0);
				}
				test_rcu_read_lock(&urcu_memb_flavor);
				for (unsigned n = 0; n < 20; n++) {
					unsigned char *p;

					memset(key, (int)n, sizeof(key));
					p = rsz_hash_lookup(e->h, key);
					assert_non_null(p);
					assert_int_equal((uintptr_t)p % 8, 0);
					assert_int_equal(p[0], n);
					assert_int_equal(p[vs[j] - 1], n);
				}
				test_rcu_read_unlock(&urcu_memb_flavor);
				rsz_hash_destroy(e->h);
				e->h = NULL;
			}
		}
	}
}

static void returned_values_are_8_byte_aligned(void **state)
{
	values_are_8_byte_aligned(*state, 0);
}

static void prealloc_returned_values_are_8_byte_aligned(void **state)
{
	values_are_8_byte_aligned(*state, 1);
}

static void keys_differing_only_in_last_byte_are_distinct(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);
	unsigned char key[13] = { 0 };
	uint64_t v;

	o.key_size = sizeof(key);
	o.release = NULL;
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
	for (unsigned n = 0; n < 256; n++) {
		key[12] = (unsigned char)n;
		v = n;
		assert_int_equal(rsz_hash_update(e->h, key, &v, RSZ_NOEXIST), 0);
	}
	assert_int_equal(hstat(e->h).count, 256);
	for (unsigned n = 0; n < 256; n++) {
		key[12] = (unsigned char)n;
		assert_int_equal(rsz_hash_lookup_copy(e->h, key, &v), 0);
		assert_int_equal(v, n);
	}
}

static void large_values_round_trip(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 4, 0);
	static unsigned char in[4096], out[4096];
	uint64_t k;

	o.value_size = sizeof(in);
	o.release = NULL;
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
	for (k = 0; k < 32; k++) {
		memset(in, (int)k, sizeof(in));
		in[0] = 0xee;
		assert_int_equal(rsz_hash_update(e->h, &k, in, RSZ_ANY), 0);
	}
	for (k = 0; k < 32; k++) {
		memset(in, (int)k, sizeof(in));
		in[0] = 0xee;
		assert_int_equal(rsz_hash_lookup_copy(e->h, &k, out), 0);
		assert_memory_equal(in, out, sizeof(in));
	}
	assert_exact_accounting(e);
}

/* ---- update -------------------------------------------------------------- */

static void update_any_inserts_missing_key(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	assert_int_equal(put(h, 3, 33, RSZ_ANY), 0);
	assert_int_equal(get(h, 3, &v), 0);
	assert_int_equal(v, 33);
	assert_int_equal(hstat(h).count, 1);
}

static void update_any_replaces_existing_key(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	assert_int_equal(put(h, 3, 33, RSZ_ANY), 0);
	assert_int_equal(put(h, 3, 34, RSZ_ANY), 0);
	assert_int_equal(get(h, 3, &v), 0);
	assert_int_equal(v, 34);
	assert_int_equal(hstat(h).count, 1);
}

static void update_noexist_on_existing_key_returns_eexist(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	assert_int_equal(put(h, 3, 33, RSZ_ANY), 0);
	assert_int_equal(put(h, 3, 34, RSZ_NOEXIST), -EEXIST);
	assert_int_equal(get(h, 3, &v), 0);
	assert_int_equal(v, 33);
	assert_int_equal(hstat(h).count, 1);
}

static void update_noexist_inserts_missing_key(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	assert_int_equal(put(h, 3, 33, RSZ_NOEXIST), 0);
	assert_int_equal(get(h, 3, &v), 0);
	assert_int_equal(v, 33);
}

static void update_exist_on_missing_key_returns_enoent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	assert_int_equal(put(h, 3, 33, RSZ_EXIST), -ENOENT);
	assert_int_equal(get(h, 3, &v), -ENOENT);
	assert_int_equal(hstat(h).count, 0);
}

static void update_exist_replaces_existing_key(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	assert_int_equal(put(h, 3, 33, RSZ_ANY), 0);
	assert_int_equal(put(h, 3, 35, RSZ_EXIST), 0);
	assert_int_equal(get(h, 3, &v), 0);
	assert_int_equal(v, 35);
	assert_int_equal(hstat(h).count, 1);
}

static void update_with_unknown_flags_returns_einval_before_any_key_check(void **state)
{
	static const uint64_t bad[] = { 3, 4, 7, 1ull << 32, UINT64_MAX };
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 1, 1);
	uint64_t v;

	assert_int_equal(put(h, 1, 11, RSZ_ANY), 0);	/* now at max_entries */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(put(h, 1, 12, bad[i]), -EINVAL);	/* existing */
		assert_int_equal(put(h, 2, 12, bad[i]), -EINVAL);	/* missing, at max */
	}
	assert_int_equal(get(h, 1, &v), 0);
	assert_int_equal(v, 11);
	assert_int_equal(get(h, 2, &v), -ENOENT);
	assert_int_equal(hstat(h).count, 1);
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 0);
}

static void update_with_null_key_or_value_returns_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 1, v = 2;

	assert_int_equal(rsz_hash_update(h, NULL, &v, RSZ_ANY), -EINVAL);
	assert_int_equal(rsz_hash_update(h, &k, NULL, RSZ_ANY), -EINVAL);
	assert_int_equal(rsz_hash_update(NULL, &k, &v, RSZ_ANY), -EINVAL);
	assert_int_equal(hstat(h).count, 0);
}

static void update_replace_at_max_entries_succeeds(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 8, 8);
	uint64_t v;

	fill(h, 0, 8);
	for (uint64_t k = 0; k < 8; k++) {
		assert_int_equal(put(h, k, 100 + k, RSZ_ANY), 0);
		assert_int_equal(put(h, k, 200 + k, RSZ_EXIST), 0);
	}
	assert_int_equal(get(h, 5, &v), 0);
	assert_int_equal(v, 205);
	assert_int_equal(hstat(h).count, 8);
}

static void update_insert_at_max_entries_returns_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 8, 8);
	uint64_t v;

	fill(h, 0, 8);
	assert_int_equal(ins(h, 8, RSZ_ANY), -E2BIG);
	assert_int_equal(ins(h, 9, RSZ_NOEXIST), -E2BIG);
	assert_int_equal(get(h, 8, &v), -ENOENT);
	assert_int_equal(hstat(h).count, 8);
	/* A delete makes room for exactly one. */
	assert_int_equal(del(h, 0), 0);
	assert_int_equal(ins(h, 8, RSZ_ANY), 0);
	assert_int_equal(ins(h, 9, RSZ_ANY), -E2BIG);
}

static void update_exist_on_missing_key_at_max_entries_returns_enoent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 8, 8);

	fill(h, 0, 8);
	assert_int_equal(ins(h, 100, RSZ_EXIST), -ENOENT);
}

static void update_noexist_on_existing_key_at_max_entries_returns_eexist(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 8, 8);

	fill(h, 0, 8);
	assert_int_equal(ins(h, 3, RSZ_NOEXIST), -EEXIST);
}

static void update_at_max_entries_and_memory_limit_returns_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 8, 8);

	fill(h, 0, 8);
	quiesce(e, h);
	assert_int_equal(rsz_mem_set_max(e->mem, mem_stat_of(e->mem).usage), 0);
	assert_int_equal(ins(h, 100, RSZ_ANY), -E2BIG);
	assert_int_equal(ins(h, 100, RSZ_EXIST), -ENOENT);
	assert_int_equal(ins(h, 3, RSZ_NOEXIST), -EEXIST);
}

static void update_at_memory_limit_returns_enomem_and_changes_nothing(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 64, 0);
	struct rsz_mem_stat before;
	uint64_t v;

	fill(h, 0, 10);
	quiesce(e, h);
	assert_int_equal(rsz_mem_set_max(e->mem, mem_stat_of(e->mem).usage), 0);
	before = mem_stat_of(e->mem);
	assert_int_equal(ins(h, 10, RSZ_ANY), -ENOMEM);
	assert_int_equal(ins(h, 11, RSZ_NOEXIST), -ENOMEM);
	assert_int_equal(get(h, 10, &v), -ENOENT);
	assert_int_equal(hstat(h).count, 10);
	assert_int_equal(mem_stat_of(e->mem).usage, before.usage);
	assert_true(mem_stat_of(e->mem).failcnt > before.failcnt);
	for (uint64_t k = 0; k < 10; k++) {
		assert_int_equal(get(h, k, &v), 0);
		assert_int_equal(v, val_of(k));
	}
	assert_exact_accounting(e);
	/* Room again: the map is usable. */
	assert_int_equal(rsz_mem_set_max(e->mem, RSZ_MEM_UNLIMITED), 0);
	assert_int_equal(ins(h, 10, RSZ_ANY), 0);
}

static void update_allocator_failure_returns_enomem_and_changes_nothing(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 64, 0);
	uint64_t v, usage;

	fill(h, 0, 10);
	quiesce(e, h);
	usage = mem_stat_of(e->mem).usage;
	__atomic_store_n(&e->ta.fail_at, e->ta.calls + 1, __ATOMIC_RELAXED);
	assert_int_equal(ins(h, 10, RSZ_ANY), -ENOMEM);
	assert_int_equal(e->ta.failures, 1);
	assert_int_equal(get(h, 10, &v), -ENOENT);
	assert_int_equal(hstat(h).count, 10);
	assert_int_equal(mem_stat_of(e->mem).usage, usage);
	assert_exact_accounting(e);
	assert_int_equal(ins(h, 10, RSZ_ANY), 0);
}

static void default_mode_insert_never_fails_below_limits(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 1, 0);
	uint64_t n = test_scaled(100000, 5000);

	for (uint64_t k = 0; k < n; k++) {
		int r = ins(h, k, RSZ_NOEXIST);

		if (r)
			fail_msg("insert %llu of %llu returned %d",
				 (unsigned long long)k, (unsigned long long)n, r);
	}
	assert_int_equal(hstat(h).count, n);
	assert_exact_accounting(e);
	rsz_hash_destroy(h);
	e->h = NULL;
	assert_int_equal(rel_calls(&e->rel), n);
}

static void manual_default_mode_insert_into_full_table_grows_it(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 4, 0);
	uint64_t n = test_scaled(20000, 2000);
	struct rsz_hash_stat st;

	for (uint64_t k = 0; k < n; k++) {
		int r = ins(h, k, RSZ_NOEXIST);

		if (r)
			fail_msg("insert %llu returned %d", (unsigned long long)k, r);
		st = hstat(h);
		if (st.capacity < st.count)
			fail_msg("capacity %llu < count %llu",
				 (unsigned long long)st.capacity, (unsigned long long)st.count);
	}
	assert_exact_accounting(e);
}

/* ---- delete -------------------------------------------------------------- */

static void delete_removes_key(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	fill(h, 0, 10);
	assert_int_equal(del(h, 4), 0);
	assert_int_equal(get(h, 4, &v), -ENOENT);
	assert_int_equal(hstat(h).count, 9);
	assert_int_equal(get(h, 5, &v), 0);
}

static void delete_of_missing_key_returns_enoent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	fill(h, 0, 10);
	assert_int_equal(del(h, 10), -ENOENT);
	assert_int_equal(del(h, 3), 0);
	assert_int_equal(del(h, 3), -ENOENT);
	assert_int_equal(hstat(h).count, 9);
}

static void delete_with_null_key_returns_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 1;

	fill(h, 0, 3);
	assert_int_equal(rsz_hash_delete(h, NULL), -EINVAL);
	assert_int_equal(rsz_hash_delete(NULL, &k), -EINVAL);
	assert_int_equal(hstat(h).count, 3);
}

static void deleted_key_can_be_inserted_again(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t v;

	for (int round = 0; round < 100; round++) {
		assert_int_equal(put(h, 1, (uint64_t)round, RSZ_NOEXIST), 0);
		assert_int_equal(get(h, 1, &v), 0);
		assert_int_equal(v, (uint64_t)round);
		assert_int_equal(del(h, 1), 0);
	}
	assert_int_equal(hstat(h).count, 0);
	assert_exact_accounting(e);
}

/* ---- replace publishes a new element ------------------------------------- */

static void replace_keeps_old_value_behind_earlier_lookup_pointer(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 9, *old, *cur;

	assert_int_equal(put(h, k, 1000, RSZ_ANY), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	old = rsz_hash_lookup(h, &k);
	assert_non_null(old);
	assert_int_equal(put(h, k, 2000, RSZ_ANY), 0);
	assert_int_equal(put(h, k, 3000, RSZ_EXIST), 0);
	/* rsz never writes an element readers can reach. */
	assert_int_equal(*old, 1000);
	cur = rsz_hash_lookup(h, &k);
	assert_non_null(cur);
	assert_ptr_not_equal(cur, old);
	assert_int_equal(*cur, 3000);
	assert_int_equal(rel_calls(&e->rel), 0);
	test_rcu_read_unlock(&urcu_memb_flavor);
}

static void prealloc_replace_keeps_old_value_behind_earlier_lookup_pointer(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC, 64, 0);
	uint64_t k = 9, *old, *cur;

	assert_int_equal(put(h, k, 1000, RSZ_ANY), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	old = rsz_hash_lookup(h, &k);
	assert_non_null(old);
	assert_int_equal(put(h, k, 2000, RSZ_ANY), 0);
	assert_int_equal(*old, 1000);
	cur = rsz_hash_lookup(h, &k);
	assert_non_null(cur);
	assert_ptr_not_equal(cur, old);
	assert_int_equal(*cur, 2000);
	test_rcu_read_unlock(&urcu_memb_flavor);
}

static void value_written_through_lookup_pointer_is_kept(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 4, 0);
	uint64_t k = 1, v;

	assert_int_equal(put(h, k, 10, RSZ_ANY), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	__atomic_add_fetch((uint64_t *)rsz_hash_lookup(h, &k), 5, __ATOMIC_RELAXED);
	test_rcu_read_unlock(&urcu_memb_flavor);
	/* Resizes never move an element. */
	assert_int_equal(rsz_hash_grow(h, 10000, RSZ_GROW_WAIT), 0);
	fill(h, 100, 1100);
	assert_int_equal(get(h, k, &v), 0);
	assert_int_equal(v, 15);
}

static void resize_never_moves_an_element(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t *before[64];

	fill(h, 0, 64);
	test_rcu_read_lock(&urcu_memb_flavor);
	for (uint64_t k = 0; k < 64; k++)
		before[k] = rsz_hash_lookup(h, &k);
	test_rcu_read_unlock(&urcu_memb_flavor);
	assert_int_equal(rsz_hash_grow(h, 50000, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	test_rcu_read_lock(&urcu_memb_flavor);
	for (uint64_t k = 0; k < 64; k++)
		assert_ptr_equal(rsz_hash_lookup(h, &k), before[k]);
	test_rcu_read_unlock(&urcu_memb_flavor);
}

/* ---- release ------------------------------------------------------------- */

static void release_is_called_once_per_deleted_element(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	fill(h, 0, 100);
	for (uint64_t k = 0; k < 100; k += 2)
		assert_int_equal(del(h, k), 0);
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 50);
	for (uint64_t k = 0; k < 100; k++)
		assert_int_equal(e->rel.per_key[k], k % 2 == 0);
}

static void release_is_called_once_per_replaced_element_with_old_value(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	assert_int_equal(put(h, 1, 100, RSZ_ANY), 0);
	assert_int_equal(put(h, 1, 200, RSZ_ANY), 0);
	assert_int_equal(put(h, 1, 300, RSZ_EXIST), 0);
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 2);
	assert_int_equal(e->rel.per_key[1], 2);
	assert_int_equal(e->rel.value_sum, 300);	/* 100 and 200 left */
}

static void release_is_called_for_every_element_at_destroy(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t sum = 0;

	fill(h, 0, 1000);
	for (uint64_t k = 0; k < 1000; k++)
		sum += val_of(k);
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 0);
	rsz_hash_destroy(h);
	e->h = NULL;
	assert_int_equal(rel_calls(&e->rel), 1000);
	assert_int_equal(e->rel.value_sum, sum);
	for (uint64_t k = 0; k < 1000; k++)
		assert_int_equal(e->rel.per_key[k], 1);
}

static void release_is_not_called_for_failed_updates(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 4, 4);

	fill(h, 0, 4);
	assert_int_equal(ins(h, 0, RSZ_NOEXIST), -EEXIST);
	assert_int_equal(ins(h, 9, RSZ_EXIST), -ENOENT);
	assert_int_equal(ins(h, 9, RSZ_ANY), -E2BIG);
	assert_int_equal(del(h, 9), -ENOENT);
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 0);
}

static void prealloc_release_is_called_once_per_element_that_leaves(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC, 256, 0);

	fill(h, 0, 100);
	for (uint64_t k = 0; k < 50; k++)
		assert_int_equal(del(h, k), 0);
	for (uint64_t k = 50; k < 60; k++)
		assert_int_equal(put(h, k, 7, RSZ_EXIST), 0);
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 60);
	for (uint64_t k = 0; k < 100; k++)
		assert_int_equal(e->rel.per_key[k], k < 60);
	rsz_hash_destroy(h);
	e->h = NULL;
	assert_int_equal(rel_calls(&e->rel), 110);
	for (uint64_t k = 0; k < 100; k++)
		assert_int_equal(e->rel.per_key[k], 1 + (k >= 50 && k < 60));
}

struct holder {
	struct rsz_hash *h;
	uint64_t key;
	uint64_t seen;		/* value read under the lock, after the delete */
	int stage;		/* 1: holding the lock; 2: main says drop it; 3: dropped */
	bool found;
};

static void *hold_read_lock(void *arg)
{
	struct holder *hd = arg;
	uint64_t *p;

	urcu_memb_register_thread();
	test_rcu_read_lock(&urcu_memb_flavor);
	p = rsz_hash_lookup(hd->h, &hd->key);
	hd->found = p != NULL;
	__atomic_store_n(&hd->stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&hd->stage, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	if (p)
		hd->seen = *p;
	test_rcu_read_unlock(&urcu_memb_flavor);
	__atomic_store_n(&hd->stage, 3, __ATOMIC_RELEASE);
	urcu_memb_unregister_thread();
	return NULL;
}

static void release_waits_for_readers_grace_period(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	static struct holder hd;	/* outlives a failed assert */
	pthread_t t;

	hd = (struct holder){ .h = h, .key = 5 };
	fill(h, 0, 10);
	assert_int_equal(pthread_create(&t, NULL, hold_read_lock, &hd), 0);
	while (__atomic_load_n(&hd.stage, __ATOMIC_ACQUIRE) != 1)
		usleep(1000);
	assert_true(hd.found);
	assert_int_equal(del(h, 5), 0);
	assert_int_equal(put(h, 6, 1, RSZ_ANY), 0);
	/* The reader still holds its section: nothing may be released. */
	usleep(100000);
	assert_int_equal(rel_calls(&e->rel), 0);
	__atomic_store_n(&hd.stage, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	/* ...and what it read after the delete was still the element. */
	assert_int_equal(hd.seen, val_of(5));
	quiesce(e, h);
	assert_int_equal(rel_calls(&e->rel), 2);
	assert_int_equal(e->rel.per_key[5], 1);
	assert_int_equal(e->rel.per_key[6], 1);
}

struct long_reader {
	uint64_t stage;		/* 1: inside; 2: main says leave; 3: left */
	bool timed_out;
};

static void *hold_section(void *arg)
{
	struct long_reader *lr = arg;

	urcu_memb_register_thread();
	urcu_memb_read_lock();
	__atomic_store_n(&lr->stage, 1, __ATOMIC_RELEASE);
	/* At most 10 s: a resize that waits for this reader's grace period
	 * fails the test instead of hanging it. */
	for (int i = 0; i < 10000 && __atomic_load_n(&lr->stage, __ATOMIC_ACQUIRE) != 2; i++)
		usleep(1000);
	lr->timed_out = __atomic_load_n(&lr->stage, __ATOMIC_ACQUIRE) != 2;
	urcu_memb_read_unlock();
	__atomic_store_n(&lr->stage, 3, __ATOMIC_RELEASE);
	urcu_memb_unregister_thread();
	return NULL;
}

static void resize_completes_while_a_reader_holds_its_section(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	static struct long_reader lr;	/* outlives a failed assert */
	struct rsz_hash_stat st0, st;
	pthread_t t;

	memset(&lr, 0, sizeof(lr));
	fill(h, 0, 100);
	quiesce(e, h);
	st0 = hstat(h);
	assert_int_equal(pthread_create(&t, NULL, hold_section, &lr), 0);
	while (__atomic_load_n(&lr.stage, __ATOMIC_ACQUIRE) != 1)
		usleep(1000);
	/* No grace-period wait lies on a resize's path. */
	assert_int_equal(rsz_hash_grow(h, 50000, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	st = hstat(h);
	assert_int_equal(__atomic_load_n(&lr.stage, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(st.nr_grow, st0.nr_grow + 1);
	assert_int_equal(st.nr_shrink, st0.nr_shrink + 1);
	assert_int_equal(st.grow_pending, 0);
	/* The old tables wait for the reader, charged and shown as deferred. */
	assert_true(mem_stat_of(e->mem).deferred > 0);
	assert_int_equal(mem_stat_of(e->mem).usage, test_alloc_live(&e->ta));
	__atomic_store_n(&lr.stage, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_false(lr.timed_out);
	assert_exact_accounting(e);
}

/* ---- get_next_key -------------------------------------------------------- */

/* The full walk, in order; returns its length. */
static size_t walk(struct rsz_hash *h, uint64_t *out, size_t cap)
{
	uint64_t cur, next;
	size_t n = 0;
	int r = rsz_hash_get_next_key(h, NULL, &next);

	while (r == 0) {
		assert_true(n < cap);
		out[n++] = next;
		cur = next;
		r = rsz_hash_get_next_key(h, &cur, &next);
	}
	assert_int_equal(r, -ENOENT);
	return n;
}

static void get_next_key_on_empty_map_returns_enoent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 1, next;

	assert_int_equal(rsz_hash_get_next_key(h, NULL, &next), -ENOENT);
	assert_int_equal(rsz_hash_get_next_key(h, &k, &next), -ENOENT);
}

static void get_next_key_walk_returns_every_key_once(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	enum { N = 3000 };
	static uint64_t seen[N + 1];
	static uint8_t hits[N];
	size_t n;

	memset(hits, 0, sizeof(hits));
	fill(h, 0, N);
	n = walk(h, seen, N + 1);
	assert_int_equal(n, N);
	for (size_t i = 0; i < n; i++) {
		assert_true(seen[i] < N);
		assert_int_equal(hits[seen[i]]++, 0);
	}
}

static void get_next_key_from_last_key_returns_enoent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t seen[10], next;

	fill(h, 0, 10);
	assert_int_equal(walk(h, seen, 10), 10);
	assert_int_equal(rsz_hash_get_next_key(h, &seen[9], &next), -ENOENT);
}

static void get_next_key_with_null_next_returns_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t k = 0, next;

	fill(h, 0, 3);
	assert_int_equal(rsz_hash_get_next_key(h, NULL, NULL), -EINVAL);
	assert_int_equal(rsz_hash_get_next_key(h, &k, NULL), -EINVAL);
	assert_int_equal(rsz_hash_get_next_key(NULL, &k, &next), -EINVAL);
}

static void get_next_key_works_inside_read_section(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t seen[50];
	size_t n;

	fill(h, 0, 50);
	test_rcu_read_lock(&urcu_memb_flavor);
	n = walk(h, seen, 50);
	test_rcu_read_unlock(&urcu_memb_flavor);
	assert_int_equal(n, 50);
}

static void get_next_key_from_deleted_key_continues_at_its_place(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	enum { N = 500 };
	static uint64_t order[N];
	uint64_t next;

	fill(h, 0, N);
	assert_int_equal(walk(h, order, N), N);
	/* Walk again, deleting each key before asking for its successor,
	 * with a resize in between now and then: the order is fixed, so the
	 * successor of a deleted key is the next one of the first walk. */
	assert_int_equal(rsz_hash_get_next_key(h, NULL, &next), 0);
	assert_int_equal(next, order[0]);
	for (size_t i = 0; i < N; i++) {
		uint64_t cur = order[i];
		int r;

		assert_int_equal(del(h, cur), 0);
		if (i % 97 == 0)
			assert_int_equal(rsz_hash_grow(h, 2 * N + 64 * i, RSZ_GROW_WAIT), 0);
		if (i % 131 == 0)
			assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
		r = rsz_hash_get_next_key(h, &cur, &next);
		if (i + 1 < N) {
			assert_int_equal(r, 0);
			assert_int_equal(next, order[i + 1]);
		} else {
			assert_int_equal(r, -ENOENT);
		}
	}
}

static void get_next_key_from_never_present_key_continues_at_its_place(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, RSZ_F_ZERO_SEED, 16, 0);
	struct rsz_hash *with, *without;
	enum { N = 200, X = 1000 };
	uint64_t order[N + 1], next;
	size_t n, at;

	/* Two maps with the same fixed seed have the same order: the one
	 * holding X tells where X's place is in the other. */
	o.release = NULL;
	with = rsz_hash_new(&o);
	without = rsz_hash_new(&o);
	assert_non_null(with);
	assert_non_null(without);
	fill(with, 0, N);
	fill(without, 0, N);
	assert_int_equal(ins(with, X, RSZ_NOEXIST), 0);
	n = walk(with, order, N + 1);
	assert_int_equal(n, N + 1);
	for (at = 0; at < n && order[at] != X; at++)
		;
	assert_true(at < n);
	{
		uint64_t x = X;
		int r = rsz_hash_get_next_key(without, &x, &next);

		if (at + 1 < n) {
			assert_int_equal(r, 0);
			assert_int_equal(next, order[at + 1]);
		} else {
			assert_int_equal(r, -ENOENT);
		}
	}
	rsz_hash_destroy(with);
	rsz_hash_destroy(without);
}

static void maps_without_zero_seed_are_keyed_differently(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);
	struct rsz_hash *a, *b;
	enum { N = 64 };
	uint64_t oa[N], ob[N];

	/* Hash-flooding defence is a per-map random seed: two maps holding
	 * the same keys walk them in different orders (64! orders; equal
	 * only if the seeds collide). */
	o.release = NULL;
	a = rsz_hash_new(&o);
	b = rsz_hash_new(&o);
	assert_non_null(a);
	assert_non_null(b);
	fill(a, 0, N);
	fill(b, 0, N);
	assert_int_equal(walk(a, oa, N), N);
	assert_int_equal(walk(b, ob, N), N);
	assert_memory_not_equal(oa, ob, sizeof(oa));
	rsz_hash_destroy(a);
	rsz_hash_destroy(b);
}

static void maps_with_zero_seed_walk_in_the_same_order(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, RSZ_F_ZERO_SEED, 16, 0);
	struct rsz_hash *a, *b;
	enum { N = 64 };
	uint64_t oa[N], ob[N];

	o.release = NULL;
	a = rsz_hash_new(&o);
	o.initial_entries = 5000;	/* another table size, same order */
	b = rsz_hash_new(&o);
	assert_non_null(a);
	assert_non_null(b);
	fill(a, 0, N);
	for (uint64_t k = N; k-- > 0;)
		assert_int_equal(ins(b, k, RSZ_NOEXIST), 0);
	assert_int_equal(walk(a, oa, N), N);
	assert_int_equal(walk(b, ob, N), N);
	assert_memory_equal(oa, ob, sizeof(oa));
	rsz_hash_destroy(a);
	rsz_hash_destroy(b);
}

static void get_next_key_order_is_unchanged_by_resizes(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	enum { N = 400 };
	uint64_t a[N], b[N];

	fill(h, 0, N);
	assert_int_equal(walk(h, a, N), N);
	assert_int_equal(rsz_hash_grow(h, 100000, RSZ_GROW_WAIT), 0);
	assert_int_equal(walk(h, b, N), N);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_int_equal(walk(h, b, N), N);
	assert_memory_equal(a, b, sizeof(a));
}

/* ---- copies that wrap around (white box) ---------------------------------- */

/*
 * A migration's copy cannot fail, so when tombstones crowd the end of the
 * new table (a key deleted and inserted again while the migration runs,
 * its run growing past the table's end), the copy wraps to slot 0. Built
 * here directly: the tail of a same-size rehash target is filled with
 * tombstones before the copies run. Before copies wrapped, this aborted
 * (WARN_ON in copy_slot; a release build would have lost the elements).
 * Returns the table's home slot count; @tail gets WRAP_KEYS + 1 keys whose
 * home is the last home slot, the first WRAP_KEYS of them in the map (and
 * wrapped), with WRAP_PLAIN keys 0.. besides.
 */
enum { WRAP_KEYS = 8, WRAP_PLAIN = 300 };

static uint64_t map_with_wrapped_keys(struct rsz_hash *h, uint64_t *tail)
{
	uint64_t nslots = hstat(h).table_slots, size = nslots - 256;
	unsigned int bits = (unsigned int)__builtin_ctzll(size);
	size_t ntail = 0, wrapped = 0;
	struct rsz_htab *t, *n;

	assert_true(size >= 512 && (size & (size - 1)) == 0);
	for (uint64_t k = 1000000; ntail < WRAP_KEYS + 1; k++)
		if (rsz_hash_bytes(&k, 8, 0) >> (64 - bits) == size - 1)
			tail[ntail++] = k;
	for (size_t i = 0; i < WRAP_KEYS; i++)
		assert_int_equal(put(h, tail[i], val_of(tail[i]), RSZ_NOEXIST), 0);
	fill(h, 0, WRAP_PLAIN);

	test_rcu_read_lock(FL);
	t = rsz_dereference(h->tbl);
	assert_int_equal(htab_start_migration(h, t, size), 0);
	n = rsz_dereference(t->next);
	assert_int_equal(n->nslots, nslots);
	for (uint64_t i = size - 1; i < n->nslots; i++)
		n->slots[i] = SLOT_TOMB;
	n->used += n->nslots - (size - 1);
	htab_finish_migration(h, t);
	t = rsz_dereference(h->tbl);
	for (uint64_t i = 0; i < size - 1; i++) {
		uint64_t w = t->slots[i];

		for (size_t j = 0; slot_has_elem(w) && j < WRAP_KEYS; j++)
			if (*(const uint64_t *)elem_key(h, slot_elem(w)) == tail[j])
				wrapped++;
	}
	test_rcu_read_unlock(FL);
	assert_int_equal(wrapped, WRAP_KEYS);
	return size;
}

/* Every key of map_with_wrapped_keys() is walked exactly once. */
static void assert_walk_is_exact(struct rsz_hash *h, const uint64_t *tail)
{
	uint64_t seen[WRAP_KEYS + WRAP_PLAIN + 1];
	static uint8_t hits[WRAP_KEYS + WRAP_PLAIN];
	size_t n = walk(h, seen, WRAP_KEYS + WRAP_PLAIN + 1);

	memset(hits, 0, sizeof(hits));
	for (size_t i = 0; i < n; i++) {
		size_t slot = seen[i] < WRAP_PLAIN ? seen[i] : WRAP_PLAIN + WRAP_KEYS;

		for (size_t j = 0; slot == WRAP_PLAIN + WRAP_KEYS && j < WRAP_KEYS; j++)
			if (seen[i] == tail[j])
				slot = WRAP_PLAIN + j;
		assert_true(slot < WRAP_KEYS + WRAP_PLAIN);
		assert_int_equal(hits[slot]++, 0);
	}
	assert_int_equal(n, hstat(h).count);
}

static void wrapped_keys_are_found_walked_replaced_and_deleted(struct env *e, uint32_t flags)
{
	struct rsz_hash *h = mk(e, flags | RSZ_F_ZERO_SEED | RSZ_F_MANUAL, 700, 0);
	uint64_t tail[WRAP_KEYS + 1], v;

	map_with_wrapped_keys(h, tail);
	for (size_t i = 0; i < WRAP_KEYS; i++) {
		assert_int_equal(get(h, tail[i], &v), 0);
		assert_int_equal(v, val_of(tail[i]));
	}
	assert_walk_is_exact(h, tail);
	assert_int_equal(put(h, tail[0], 7, RSZ_EXIST), 0);
	assert_int_equal(get(h, tail[0], &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(del(h, tail[1]), 0);
	assert_int_equal(get(h, tail[1], &v), -ENOENT);
	/* A run of tombstones past the probe limit: default mode rehashes
	 * before inserting, PREALLOC inserts (wrapping) and asks for one. */
	assert_int_equal(put(h, tail[WRAP_KEYS], 9, RSZ_NOEXIST), 0);
	assert_int_equal(put(h, tail[WRAP_KEYS], 9, RSZ_NOEXIST), -EEXIST);
	assert_int_equal(hstat(h).count, WRAP_KEYS + WRAP_PLAIN);
	assert_int_equal(rsz_hash_maintain(h), 0);
	for (size_t i = 2; i <= WRAP_KEYS; i++)
		assert_int_equal(get(h, tail[i], &v), 0);
	for (uint64_t k = 0; k < WRAP_PLAIN; k++)
		assert_int_equal(get(h, k, &v), 0);
	assert_exact_accounting(e);
}

static void copies_that_find_the_table_end_crowded_wrap(void **state)
{
	wrapped_keys_are_found_walked_replaced_and_deleted(*state, 0);
}

static void prealloc_copies_that_find_the_table_end_crowded_wrap(void **state)
{
	wrapped_keys_are_found_walked_replaced_and_deleted(*state, RSZ_F_PREALLOC);
}

/*
 * The table with wrapped keys is itself migrated, with no chunk handed out
 * (so only operations move keys) and a copier stopped after confirming a
 * wrapped key's copy but before clearing its PENDING bit: lookups
 * (pending_counts), updates (htab_resolve_pending), deletes
 * (htab_migrate_key) and the walk must follow runs across the end of the
 * old table. From a review's test of the wrap.
 */
static void wrapped_table_migrates_with_a_copier_stopped(struct env *e, uint32_t flags)
{
	struct rsz_hash *h = mk(e, flags | RSZ_F_ZERO_SEED | RSZ_F_MANUAL, 700, 0);
	uint64_t tail[WRAP_KEYS + 1], v, p0 = ~0ULL, size = map_with_wrapped_keys(h, tail);
	struct rsz_htab *t, *n;

	test_rcu_read_lock(FL);
	t = rsz_dereference(h->tbl);
	assert_int_equal(htab_start_migration(h, t, size), 0);
	n = rsz_dereference(t->next);
	t->chunk_claim = t->nr_chunks;
	for (uint64_t i = 0; i < size - 1; i++) {
		uint64_t w = t->slots[i];

		if (slot_has_elem(w) && *(const uint64_t *)elem_key(h, slot_elem(w)) == tail[0])
			p0 = i;
	}
	assert_true(p0 < size - 1);
	/* The stopped copier: new[size - 1] PENDING, old[p0] MOVED there. */
	assert_int_equal(n->slots[size - 1], SLOT_EMPTY);
	n->slots[size - 1] = t->slots[p0] | SLOT_PENDING;
	t->slots[p0] = slot_moved(size - 1);
	test_rcu_read_unlock(FL);

	assert_int_equal(get(h, tail[0], &v), 0);
	assert_int_equal(v, val_of(tail[0]));
	assert_walk_is_exact(h, tail);
	assert_int_equal(put(h, tail[0], 7, RSZ_EXIST), 0);
	assert_int_equal(get(h, tail[0], &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(del(h, tail[1]), 0);
	assert_int_equal(put(h, tail[2], 9, RSZ_NOEXIST), -EEXIST);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(get(h, tail[1], &v), -ENOENT);
	for (size_t i = 2; i < WRAP_KEYS; i++)
		assert_int_equal(get(h, tail[i], &v), 0);
	for (uint64_t k = 0; k < WRAP_PLAIN; k++)
		assert_int_equal(get(h, k, &v), 0);
	assert_int_equal(hstat(h).count, WRAP_KEYS + WRAP_PLAIN - 1);
	assert_exact_accounting(e);
}

static void wrapped_table_migrates_with_a_copier_stopped_after_confirming(void **state)
{
	wrapped_table_migrates_with_a_copier_stopped(*state, 0);
}

static void prealloc_wrapped_table_migrates_with_a_copier_stopped_after_confirming(void **state)
{
	wrapped_table_migrates_with_a_copier_stopped(*state, RSZ_F_PREALLOC);
}

/* ---- grow ---------------------------------------------------------------- */

static void grow_async_when_satisfied_returns_zero(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 1000, 0);
	struct rsz_hash_stat st = hstat(h);

	assert_int_equal(rsz_hash_grow(h, st.capacity, RSZ_GROW_ASYNC), 0);
	assert_int_equal(rsz_hash_grow(h, 10, RSZ_GROW_ASYNC), 0);
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_int_equal(hstat(h).capacity, st.capacity);
}

static void grow_async_queues_and_returns_einprogress(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_grow(h, 5000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_hash_grow(h, 5000, RSZ_GROW_ASYNC), -EINPROGRESS);
	/* MANUAL: nothing happens until maintain. */
	usleep(20000);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).nr_grow, 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_true(hstat(h).capacity >= 5000);
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_int_equal(hstat(h).nr_grow, 1);
	assert_exact_accounting(e);
}

static void grow_async_completes_in_background(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	int r = rsz_hash_grow(h, 5000, RSZ_GROW_ASYNC);

	assert_true(r == -EINPROGRESS || r == 0);
	wait_idle(h);
	assert_true(hstat(h).capacity >= 5000);
	assert_true(hstat(h).nr_grow >= 1);
}

static void grow_async_hint_raises_queued_target_to_larger(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);

	assert_int_equal(rsz_hash_grow(h, 1000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_hash_grow(h, 4000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_hash_grow(h, 2000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_true(hstat(h).capacity >= 4000);
	assert_int_equal(hstat(h).grow_pending, 0);
}

static void grow_wait_reaches_requested_capacity(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);

	fill(h, 0, 10);
	assert_int_equal(rsz_hash_grow(h, 10000, RSZ_GROW_WAIT), 0);
	assert_true(hstat(h).capacity >= 10000);
	assert_true(hstat(h).nr_grow >= 1);
	assert_int_equal(hstat(h).count, 10);
	assert_exact_accounting(e);
}

static void grow_hint_is_absolute_and_idempotent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	struct rsz_hash_stat st;
	uint64_t bytes;

	assert_int_equal(rsz_hash_grow(h, 3000, RSZ_GROW_WAIT), 0);
	quiesce(e, h);
	st = hstat(h);
	bytes = st.mem_bytes;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(rsz_hash_grow(h, 3000, RSZ_GROW_WAIT), 0);
		assert_int_equal(rsz_hash_grow(h, 3000, RSZ_GROW_ASYNC), 0);
		assert_int_equal(rsz_hash_grow(h, 100, RSZ_GROW_WAIT), 0);
	}
	quiesce(e, h);
	assert_int_equal(hstat(h).capacity, st.capacity);
	assert_int_equal(hstat(h).nr_grow, st.nr_grow);
	assert_int_equal(hstat(h).mem_bytes, bytes);
}

static void prealloc_grow_hint_is_absolute_and_idempotent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 16, 0);
	struct rsz_hash_stat st;

	assert_int_equal(rsz_hash_grow(h, 3000, RSZ_GROW_WAIT), 0);
	quiesce(e, h);
	st = hstat(h);
	assert_true(st.capacity >= 3000);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rsz_hash_grow(h, 3000, RSZ_GROW_WAIT), 0);
	quiesce(e, h);
	assert_int_equal(hstat(h).capacity, st.capacity);
	assert_int_equal(hstat(h).mem_bytes, st.mem_bytes);
}

static void grow_with_unknown_flag_returns_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_grow(h, 5000, 2), -EINVAL);
	assert_int_equal(rsz_hash_grow(h, 5000, 0x80), -EINVAL);
	assert_int_equal(rsz_hash_shrink(h, 2), -EINVAL);
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_int_equal(hstat(h).capacity, cap);
}

static void grow_beyond_max_entries_returns_e2big_and_raises_capacity_to_cap(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 10, 1000);

	assert_int_equal(rsz_hash_grow(h, 5000, RSZ_GROW_WAIT), -E2BIG);
	assert_true(hstat(h).capacity >= 1000);
	fill(h, 0, 1000);
	assert_int_equal(ins(h, 1000, RSZ_ANY), -E2BIG);
}

static void grow_async_beyond_max_entries_returns_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 10, 1000);

	assert_int_equal(rsz_hash_grow(h, 5000, RSZ_GROW_ASYNC), -E2BIG);
	(void)rsz_hash_maintain(h);
	assert_true(hstat(h).capacity >= 1000);
}

static void prealloc_grow_beyond_max_entries_fills_pool_to_exactly_the_cap(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 10, 1000);
	uint64_t n = 0;

	assert_int_equal(rsz_hash_grow(h, 5000, RSZ_GROW_WAIT), -E2BIG);
	assert_int_equal(hstat(h).capacity, 1000);
	/* Every one of them is real, without -EAGAIN. */
	for (uint64_t k = 0; k < 1000; k++)
		n += ins(h, k, RSZ_NOEXIST) == 0;
	assert_int_equal(n, 1000);
	assert_int_equal(ins(h, 1000, RSZ_NOEXIST), -E2BIG);
}

static void grow_refused_by_memory_limit_returns_enomem_and_records_it(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	struct rsz_hash_stat before, after;

	fill(h, 0, 10);
	quiesce(e, h);
	assert_int_equal(rsz_mem_set_max(e->mem, mem_stat_of(e->mem).usage + 64), 0);
	before = hstat(h);
	assert_int_equal(rsz_hash_grow(h, 100000, RSZ_GROW_WAIT), -ENOMEM);
	after = hstat(h);
	assert_int_equal(after.capacity, before.capacity);
	assert_int_equal(after.nr_grow, before.nr_grow);
	assert_int_equal(after.nr_grow_failed, before.nr_grow_failed + 1);
	assert_int_equal(after.last_grow_error, -ENOMEM);
	assert_int_equal(after.count, 10);
	assert_exact_accounting(e);
	/* The next hint tries again. */
	assert_int_equal(rsz_mem_set_max(e->mem, RSZ_MEM_UNLIMITED), 0);
	assert_int_equal(rsz_hash_grow(h, 100000, RSZ_GROW_WAIT), 0);
	assert_true(hstat(h).capacity >= 100000);
}

static void grow_async_refused_by_memory_limit_is_recorded_by_maintain(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t cap = hstat(h).capacity;

	quiesce(e, h);
	assert_int_equal(rsz_mem_set_max(e->mem, mem_stat_of(e->mem).usage), 0);
	assert_int_equal(rsz_hash_grow(h, 100000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_hash_maintain(h), -ENOMEM);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).nr_grow_failed, 1);
	assert_int_equal(hstat(h).last_grow_error, -ENOMEM);
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_exact_accounting(e);
}

static void grow_allocator_failure_returns_enomem_and_changes_nothing(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t cap;
	uint64_t v;

	fill(h, 0, 10);
	quiesce(e, h);
	cap = hstat(h).capacity;
	e->ta.fail_every = 1;
	__atomic_store_n(&e->ta.fail_at, e->ta.calls + 1, __ATOMIC_RELAXED);
	assert_int_equal(rsz_hash_grow(h, 100000, RSZ_GROW_WAIT), -ENOMEM);
	__atomic_store_n(&e->ta.fail_at, 0, __ATOMIC_RELAXED);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).nr_grow_failed, 1);
	assert_int_equal(hstat(h).last_grow_error, -ENOMEM);
	for (uint64_t k = 0; k < 10; k++) {
		assert_int_equal(get(h, k, &v), 0);
		assert_int_equal(v, val_of(k));
	}
	assert_exact_accounting(e);
	assert_int_equal(rsz_hash_grow(h, 100000, RSZ_GROW_WAIT), 0);
}

static void grow_fails_cleanly(struct env *e, uint32_t flags)
{
	/* Fail the k-th allocation of a grow for every k up to 32: each
	 * failure leaves the map whole and exact. */
	for (uint64_t nth = 1; nth <= 32; nth++) {
		struct rsz_hash *h = mk(e, RSZ_F_MANUAL | flags, 16, 0);
		uint64_t v;
		int r;

		fill(h, 0, 16);
		quiesce(e, h);
		__atomic_store_n(&e->ta.fail_at, e->ta.calls + nth, __ATOMIC_RELAXED);
		r = rsz_hash_grow(h, 20000, RSZ_GROW_WAIT);
		__atomic_store_n(&e->ta.fail_at, 0, __ATOMIC_RELAXED);
		assert_true(r == 0 || r == -ENOMEM);
		for (uint64_t k = 0; k < 16; k++) {
			assert_int_equal(get(h, k, &v), 0);
			assert_int_equal(v, val_of(k));
		}
		assert_exact_accounting(e);
		/* A failed grow leaves the map usable: the next hint grows it
		 * (a MANUAL PREALLOC map's pool grows only by hints). */
		assert_int_equal(rsz_hash_grow(h, 100, RSZ_GROW_WAIT), 0);
		fill(h, 16, 100);
		rsz_hash_destroy(h);
		e->h = NULL;
		assert_int_equal(test_alloc_live(&e->ta), 0);
		assert_int_equal(mem_stat_of(e->mem).usage, 0);
	}
}

static void grow_fails_cleanly_at_every_allocation(void **state)
{
	grow_fails_cleanly(*state, 0);
}

static void prealloc_grow_fails_cleanly_at_every_allocation(void **state)
{
	grow_fails_cleanly(*state, RSZ_F_PREALLOC);
}

static void prealloc_after_grow_wait_n_minus_count_inserts_succeed(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC, 16, 0);
	uint64_t n = test_scaled(20000, 2000), c = 10;

	fill(h, 0, c);
	assert_int_equal(rsz_hash_grow(h, n, RSZ_GROW_WAIT), 0);
	for (uint64_t k = c; k < n; k++) {
		int r = ins(h, k, RSZ_NOEXIST);

		if (r)
			fail_msg("insert %llu of %llu after grow WAIT: %d",
				 (unsigned long long)k, (unsigned long long)n, r);
	}
	assert_int_equal(hstat(h).count, n);
}

static void manual_prealloc_after_grow_wait_n_minus_count_inserts_succeed(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 16, 0);
	uint64_t n = 5000, c = 10;

	fill(h, 0, c);
	assert_int_equal(rsz_hash_grow(h, n, RSZ_GROW_WAIT), 0);
	for (uint64_t k = c; k < n; k++)
		assert_int_equal(ins(h, k, RSZ_NOEXIST), 0);
}

/* ---- PREALLOC pool ------------------------------------------------------- */

static void prealloc_capacity_is_count_plus_free_pool_elements(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 100, 0);
	uint64_t cap, ok = 0, k = 0;
	int r;

	fill(h, 0, 30);
	cap = hstat(h).capacity;
	assert_int_equal(hstat(h).count, 30);
	/* MANUAL: the pool does not grow behind our back, so exactly
	 * capacity - count more inserts fit. */
	for (k = 30; (r = ins(h, k, RSZ_NOEXIST)) == 0; k++)
		ok++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(ok, cap - 30);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).count, cap);
}

static void prealloc_insert_with_dry_pool_returns_eagain_with_grow_queued(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 64, 0);
	uint64_t k, v;

	assert_int_equal(rsz_hash_set_watermarks(h, 0, 0), 0);
	for (k = 0; ins(h, k, RSZ_NOEXIST) == 0; k++)
		;
	assert_int_equal(ins(h, k, RSZ_NOEXIST), -EAGAIN);
	assert_int_equal(get(h, k, &v), -ENOENT);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_int_equal(ins(h, k, RSZ_NOEXIST), 0);
}

static void prealloc_background_grow_refills_the_pool(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC, 16, 0);
	uint64_t n = test_scaled(20000, 1000), eagain = 0;

	for (uint64_t k = 0; k < n; k++) {
		int r;

		while ((r = ins(h, k, RSZ_NOEXIST)) == -EAGAIN) {
			eagain++;
			if (eagain > 100000)
				fail_msg("pool never refilled at key %llu", (unsigned long long)k);
			usleep(100);
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(hstat(h).count, n);
	assert_true(hstat(h).nr_grow >= 1);
	print_message("prealloc background: %llu inserts, %llu -EAGAIN, %llu grows\n",
		      (unsigned long long)n, (unsigned long long)eagain,
		      (unsigned long long)hstat(h).nr_grow);
	assert_exact_accounting(e);
}

static void prealloc_replace_at_max_entries_succeeds(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 64, 64);
	uint64_t v;

	fill(h, 0, 64);
	assert_int_equal(hstat(h).count, 64);
	assert_int_equal(put(h, 7, 1, RSZ_ANY), 0);
	quiesce(e, h);
	for (uint64_t k = 0; k < 64; k++) {
		assert_int_equal(put(h, k, 1000 + k, RSZ_EXIST), 0);
		quiesce(e, h);
	}
	assert_int_equal(get(h, 63, &v), 0);
	assert_int_equal(v, 1063);
	assert_int_equal(ins(h, 64, RSZ_ANY), -E2BIG);
}

static void prealloc_insert_at_max_entries_with_dry_pool_returns_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 32, 32);

	fill(h, 0, 32);
	assert_int_equal(ins(h, 32, RSZ_ANY), -E2BIG);
	assert_int_equal(ins(h, 32, RSZ_EXIST), -ENOENT);
	assert_int_equal(ins(h, 3, RSZ_NOEXIST), -EEXIST);
}

static void prealloc_dry_pool_after_memory_limit_failure_returns_enomem(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 64, 0);
	uint64_t cap;

	/* Automatic growth off, and the pool used up exactly, so that no
	 * grow is queued behind the test's back. */
	assert_int_equal(rsz_hash_set_watermarks(h, 0, 0), 0);
	cap = hstat(h).capacity;
	fill(h, 0, cap);
	quiesce(e, h);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(rsz_mem_set_max(e->mem, mem_stat_of(e->mem).usage), 0);
	assert_int_equal(rsz_hash_grow(h, cap + 1000, RSZ_GROW_WAIT), -ENOMEM);
	assert_int_equal(hstat(h).last_grow_error, -ENOMEM);
	assert_int_equal(ins(h, cap, RSZ_NOEXIST), -ENOMEM);
	assert_int_equal(hstat(h).count, cap);
	assert_int_equal(hstat(h).capacity, cap);
	/* EEXIST and ENOENT keep their places before it. */
	assert_int_equal(ins(h, 0, RSZ_NOEXIST), -EEXIST);
	assert_int_equal(ins(h, cap, RSZ_EXIST), -ENOENT);
	/* With room again, the next hint succeeds and so do inserts. */
	assert_int_equal(rsz_mem_set_max(e->mem, RSZ_MEM_UNLIMITED), 0);
	assert_int_equal(rsz_hash_grow(h, cap + 1000, RSZ_GROW_WAIT), 0);
	assert_int_equal(ins(h, cap, RSZ_NOEXIST), 0);
}

static void prealloc_update_and_delete_never_call_the_allocator(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 1000, 0);
	uint64_t calls_in_ops = 0;

	for (int round = 0; round < 5; round++) {
		uint64_t before = __atomic_load_n(&e->ta.calls, __ATOMIC_RELAXED);

		fill(h, 0, 300);
		for (uint64_t k = 0; k < 300; k++)
			assert_int_equal(put(h, k, k, RSZ_EXIST), 0);
		for (uint64_t k = 0; k < 300; k++)
			assert_int_equal(del(h, k), 0);
		calls_in_ops += __atomic_load_n(&e->ta.calls, __ATOMIC_RELAXED) - before;
		/* maintain may allocate (a grow); it is not update or delete */
		quiesce(e, h);
	}
	assert_int_equal(calls_in_ops, 0);
}

static void prealloc_deleted_elements_return_to_pool_after_grace_period(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 64, 0);
	uint64_t k, cap;

	assert_int_equal(rsz_hash_set_watermarks(h, 0, 0), 0);
	cap = hstat(h).capacity;
	fill(h, 0, cap);	/* the pool used up exactly: no grow queued */
	for (k = 0; k < cap / 2; k++)
		assert_int_equal(del(h, k), 0);
	quiesce(e, h);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).count, cap - cap / 2);
	for (k = 0; k < cap / 2; k++)
		assert_int_equal(ins(h, k, RSZ_NOEXIST), 0);
	assert_int_equal(ins(h, cap, RSZ_NOEXIST), -EAGAIN);
}

/* ---- shrink -------------------------------------------------------------- */

static void shrink_goes_down_to_smallest_capacity_at_most_half_full(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	struct rsz_hash_stat st;
	uint64_t big;

	assert_int_equal(rsz_hash_grow(h, 40000, RSZ_GROW_WAIT), 0);
	fill(h, 0, 20000);
	for (uint64_t k = 1000; k < 20000; k++)
		assert_int_equal(del(h, k), 0);
	quiesce(e, h);
	big = hstat(h).capacity;
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	st = hstat(h);
	assert_int_equal(st.count, 1000);
	assert_true(st.capacity < big);
	assert_true(st.capacity >= 2 * st.count);	/* at most half full */
	/* the smallest such: half of it would be more than half full (any
	 * doubling granularity) */
	assert_true(st.capacity / 2 < 2 * st.count);
	assert_true(st.nr_shrink >= 1);
	for (uint64_t k = 0; k < 1000; k++)
		assert_int_equal(ins(h, k, RSZ_NOEXIST), -EEXIST);
	assert_exact_accounting(e);
}

static void shrink_never_goes_below_initial_entries(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 1000, 0);

	fill(h, 0, 5000);
	for (uint64_t k = 10; k < 5000; k++)
		assert_int_equal(del(h, k), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_true(hstat(h).capacity >= 1000);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_true(hstat(h).capacity >= 1000);
}

static void shrink_never_leaves_free_capacity_below_low_watermark(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	struct rsz_hash_stat st;

	assert_int_equal(rsz_hash_grow(h, 20000, RSZ_GROW_WAIT), 0);
	fill(h, 0, 100);
	assert_int_equal(rsz_hash_set_watermarks(h, 3000, 4000), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	st = hstat(h);
	assert_true(st.capacity - st.count >= 3000);
	assert_true(st.capacity < 20000);
}

static void shrink_with_nothing_to_release_returns_zero(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 100, 0);
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_ASYNC), 0);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).nr_shrink, 0);
}

static void shrink_async_queues_and_maintain_completes_it(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t cap;

	assert_int_equal(rsz_hash_grow(h, 20000, RSZ_GROW_WAIT), 0);
	fill(h, 0, 10);
	cap = hstat(h).capacity;
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_ASYNC), -EINPROGRESS);
	usleep(20000);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).nr_shrink, 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_true(hstat(h).capacity < cap);
	assert_int_equal(hstat(h).nr_shrink, 1);
	assert_exact_accounting(e);
}

static void auto_shrink_queues_when_count_falls_below_a_quarter(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL | RSZ_F_SHRINK, 16, 0);
	uint64_t cap;

	assert_int_equal(rsz_hash_grow(h, 8000, RSZ_GROW_WAIT), 0);
	cap = hstat(h).capacity;
	fill(h, 0, cap / 2);
	for (uint64_t k = 0; k < cap / 2 - 10; k++)
		assert_int_equal(del(h, k), 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_true(hstat(h).nr_shrink >= 1);
	assert_true(hstat(h).capacity < cap);
	assert_int_equal(hstat(h).count, 10);
	assert_exact_accounting(e);
}

static void without_shrink_flag_nothing_shrinks_by_itself(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	uint64_t cap;

	assert_int_equal(rsz_hash_grow(h, 8000, RSZ_GROW_WAIT), 0);
	cap = hstat(h).capacity;
	fill(h, 0, cap / 2);
	for (uint64_t k = 0; k < cap / 2 - 10; k++)
		assert_int_equal(del(h, k), 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).nr_shrink, 0);
	assert_int_equal(hstat(h).capacity, cap);
}

static void prealloc_shrink_returns_memory_after_a_burst(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 64, 0);
	uint64_t peak;

	assert_int_equal(rsz_hash_grow(h, 50000, RSZ_GROW_WAIT), 0);
	fill(h, 0, 50000);
	quiesce(e, h);
	peak = hstat(h).mem_bytes;
	for (uint64_t k = 0; k < 50000; k++)
		assert_int_equal(del(h, k), 0);
	quiesce(e, h);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	quiesce(e, h);
	assert_true(hstat(h).capacity >= 64);
	assert_true(hstat(h).mem_bytes < peak / 4);
	assert_exact_accounting(e);
}

/* ---- watermarks ---------------------------------------------------------- */

static void set_watermarks_with_high_below_low_returns_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 1000, 0);
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_set_watermarks(h, 100, 99), -EINVAL);
	assert_int_equal(rsz_hash_set_watermarks(NULL, 1, 2), -EINVAL);
	/* The default policy is still in force: past 75% a grow is queued. */
	fill(h, 0, cap - cap / 4 + 1);
	assert_int_equal(hstat(h).grow_pending, 1);
}

static void set_watermarks_clamps_high_to_max_entries(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 100, 1000);

	assert_int_equal(rsz_hash_set_watermarks(h, 50, 5000), 0);
	fill(h, 0, hstat(h).capacity - 40);
	assert_int_equal(hstat(h).grow_pending, 1);
	/* high is the cap, not a grow beyond it: no failure, no E2BIG */
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_true(hstat(h).capacity >= 1000);
	assert_int_equal(hstat(h).nr_grow_failed, 0);
	assert_int_equal(hstat(h).last_grow_error, 0);
}

static void prealloc_set_watermarks_clamps_high_to_max_entries(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 100, 1000);

	assert_int_equal(rsz_hash_set_watermarks(h, 50, 5000), 0);
	fill(h, 0, hstat(h).capacity - 40);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).capacity, 1000);
	assert_int_equal(hstat(h).nr_grow_failed, 0);
	assert_int_equal(hstat(h).last_grow_error, 0);
}

static void watermark_low_zero_turns_automatic_growth_off(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 1000, 0);
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_set_watermarks(h, 0, 0), 0);
	fill(h, 0, cap - 1);
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).nr_grow, 0);
	assert_int_equal(hstat(h).capacity, cap);
	/* Hints still work. */
	assert_int_equal(rsz_hash_grow(h, 4 * cap, RSZ_GROW_WAIT), 0);
	assert_true(hstat(h).capacity >= 4 * cap);
}

static void prealloc_watermark_low_zero_turns_automatic_growth_off(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 1000, 0);
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_set_watermarks(h, 0, 0), 0);
	fill(h, 0, cap);	/* every free element, without one -EAGAIN */
	assert_int_equal(hstat(h).grow_pending, 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).nr_grow, 0);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(rsz_hash_grow(h, 4 * cap, RSZ_GROW_WAIT), 0);
	assert_true(hstat(h).capacity >= 4 * cap);
}

static void default_policy_grows_when_75_percent_full(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 1000, 0);
	uint64_t cap = hstat(h).capacity;

	/* free = cap/4 + 1: not yet */
	fill(h, 0, cap - cap / 4 - 1);
	assert_int_equal(hstat(h).grow_pending, 0);
	/* free = cap/4 - 1: below a quarter */
	fill(h, cap - cap / 4 - 1, cap - cap / 4 + 1);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(hstat(h).nr_grow, 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).nr_grow, 1);
	assert_true(hstat(h).capacity >= 2 * cap);	/* a grow doubles */
	assert_int_equal(hstat(h).grow_pending, 0);
}

static void prealloc_default_policy_counts_free_pool_elements(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | RSZ_F_MANUAL, 1000, 0);
	uint64_t cap = hstat(h).capacity;

	fill(h, 0, cap - cap / 4 - 1);
	assert_int_equal(hstat(h).grow_pending, 0);
	fill(h, cap - cap / 4 - 1, cap - cap / 4 + 1);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_true(hstat(h).capacity >= 2 * cap);
}

static void watermark_grow(struct env *e, uint32_t flags)
{
	struct rsz_hash *h = mk(e, flags | RSZ_F_MANUAL, 200, 0);
	struct rsz_hash_stat st;
	uint64_t cap = hstat(h).capacity;

	assert_int_equal(rsz_hash_set_watermarks(h, 100, 3000), 0);
	fill(h, 0, cap - 99);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(rsz_hash_maintain(h), 0);
	st = hstat(h);
	assert_true(st.capacity - st.count >= 3000);
}

static void watermark_grow_brings_free_capacity_to_high(void **state)
{
	watermark_grow(*state, 0);
}

static void prealloc_watermark_grow_brings_free_capacity_to_high(void **state)
{
	watermark_grow(*state, RSZ_F_PREALLOC);
}

static void default_map_grows_in_background_past_75_percent(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 1000, 0);
	uint64_t cap = hstat(h).capacity;

	fill(h, 0, cap - cap / 4 + 1);
	wait_idle(h);
	assert_true(hstat(h).nr_grow >= 1);
	assert_true(hstat(h).capacity >= 2 * cap);
}

/* ---- RSZ_F_MANUAL and maintain ------------------------------------------ */

static void manual_map_grows_nothing_until_maintain(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 100, 0);
	uint64_t cap = hstat(h).capacity;

	fill(h, 0, cap - 5);
	usleep(50000);
	assert_int_equal(hstat(h).nr_grow, 0);
	assert_int_equal(hstat(h).capacity, cap);
	assert_int_equal(hstat(h).grow_pending, 1);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(hstat(h).nr_grow, 1);
	assert_true(hstat(h).capacity > cap);
}

static void maintain_then_barrier_leaves_exact_accounting(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	struct rsz_hash_stat st;
	struct rsz_mem_stat ms;

	fill(h, 0, 3000);
	for (uint64_t k = 0; k < 3000; k += 3)
		assert_int_equal(del(h, k), 0);
	for (uint64_t k = 1; k < 3000; k += 3)
		assert_int_equal(put(h, k, 5, RSZ_EXIST), 0);
	assert_int_equal(rsz_hash_grow(h, 20000, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_int_equal(rsz_hash_maintain(h), 0);
	test_rcu_barrier(&urcu_memb_flavor);
	st = hstat(h);
	ms = mem_stat_of(e->mem);
	assert_int_equal(st.mem_bytes, test_alloc_live(&e->ta));
	assert_int_equal(ms.usage, test_alloc_live(&e->ta));
	assert_int_equal(ms.deferred, 0);
	assert_int_equal(st.grow_pending, 0);
	assert_int_equal(rel_calls(&e->rel), 2000);
}

static void prealloc_maintain_then_barrier_leaves_exact_accounting(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL | RSZ_F_PREALLOC, 16, 0);

	assert_int_equal(rsz_hash_grow(h, 4000, RSZ_GROW_WAIT), 0);
	fill(h, 0, 3000);
	for (uint64_t k = 0; k < 3000; k += 3)
		assert_int_equal(del(h, k), 0);
	for (uint64_t k = 1; k < 3000; k += 3)
		(void)put(h, k, 5, RSZ_EXIST);
	assert_int_equal(rsz_hash_maintain(h), 0);
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_exact_accounting(e);
}

/* ---- stat ---------------------------------------------------------------- */

static void stat_fills_caller_size_and_zeroes_unknown_tail(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 77);
	unsigned char buf[sizeof(struct rsz_hash_stat) + 64];
	struct rsz_hash_stat st;

	fill(h, 0, 5);
	memset(buf, 0xff, sizeof(buf));
	rsz_hash_stat(h, (struct rsz_hash_stat *)(void *)buf, sizeof(buf));
	for (size_t i = sizeof(struct rsz_hash_stat); i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	memcpy(&st, buf, sizeof(st));
	assert_int_equal(st.count, 5);
	assert_int_equal(st.max_entries, 77);
}

static void stat_with_smaller_size_writes_only_that_many_bytes(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 77);
	unsigned char buf[sizeof(struct rsz_hash_stat)];
	size_t small = offsetof(struct rsz_hash_stat, capacity);
	uint64_t count;

	fill(h, 0, 5);
	memset(buf, 0xff, sizeof(buf));
	rsz_hash_stat(h, (struct rsz_hash_stat *)(void *)buf, small);
	memcpy(&count, buf, sizeof(count));
	assert_int_equal(count, 5);
	for (size_t i = small; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xff);
}

/* ---- memory accounting --------------------------------------------------- */

static void mixed_operations(struct env *e, uint32_t flags)
{
	struct rsz_hash *h = mk(e, flags, 16, 0);
	uint64_t seed = 7, v;

	for (int i = 0; i < 20000; i++) {
		uint64_t k = test_rand(&seed) % 2000;
		int r;

		switch (test_rand(&seed) % 3) {
		case 0:
			r = ins(h, k, RSZ_ANY);
			assert_true(r == 0 || ((flags & RSZ_F_PREALLOC) && r == -EAGAIN));
			break;
		case 1:
			(void)del(h, k);
			break;
		default:
			(void)get(h, k, &v);
			break;
		}
	}
	assert_int_equal(rsz_hash_shrink(h, RSZ_GROW_WAIT), 0);
	assert_exact_accounting(e);
	rsz_hash_destroy(h);
	e->h = NULL;
	assert_int_equal(test_alloc_live(&e->ta), 0);
	assert_int_equal(mem_stat_of(e->mem).usage, 0);
}

static void usage_equals_allocator_live_bytes_after_mixed_operations(void **state)
{
	mixed_operations(*state, 0);
}

static void prealloc_usage_equals_allocator_live_bytes_after_mixed_operations(void **state)
{
	mixed_operations(*state, RSZ_F_PREALLOC);
}

static void deferred_frees_show_in_counter_until_grace_period(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_MANUAL, 16, 0);
	struct rsz_mem_stat ms;

	fill(h, 0, 100);
	quiesce(e, h);
	test_rcu_read_lock(&urcu_memb_flavor);
	for (uint64_t k = 0; k < 100; k++)
		assert_int_equal(del(h, k), 0);
	ms = mem_stat_of(e->mem);
	/* Nothing a reader may still see is gone: held, charged, deferred. */
	assert_int_equal(ms.usage, test_alloc_live(&e->ta));
	assert_int_equal(hstat(h).mem_bytes, ms.usage);
	test_rcu_read_unlock(&urcu_memb_flavor);
	assert_exact_accounting(e);
}

static void destroy_after(struct env *e, uint32_t flags)
{
	struct rsz_hash *h = mk(e, flags, 16, 0);

	if (flags & RSZ_F_PREALLOC)
		assert_int_equal(rsz_hash_grow(h, 1000, RSZ_GROW_WAIT), 0);
	fill(h, 0, 1000);
	for (uint64_t k = 0; k < 500; k++)
		assert_int_equal(del(h, k), 0);
	rsz_hash_destroy(h);
	e->h = NULL;
	assert_int_equal(test_alloc_live(&e->ta), 0);
	assert_int_equal(mem_stat_of(e->mem).usage, 0);
	assert_int_equal(mem_stat_of(e->mem).deferred, 0);
	assert_int_equal(rel_calls(&e->rel), 1000);
}

static void destroy_uncharges_everything(void **state)
{
	destroy_after(*state, 0);
}

static void prealloc_destroy_uncharges_everything(void **state)
{
	destroy_after(*state, RSZ_F_PREALLOC);
}

static void memory_counter_never_passes_its_max(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, 0, 16, 0);
	uint64_t limit = mem_stat_of(e->mem).usage + 200000;
	uint64_t k = 0;
	int r;

	assert_int_equal(rsz_mem_set_max(e->mem, limit), 0);
	while ((r = ins(h, k, RSZ_NOEXIST)) == 0)
		k++;
	assert_int_equal(r, -ENOMEM);
	assert_true(mem_stat_of(e->mem).peak <= limit);
	assert_int_equal(hstat(h).count, k);
	wait_idle(h);
	assert_true(mem_stat_of(e->mem).peak <= limit);
	assert_exact_accounting(e);
}

/* ---- bad input to rsz_hash_new ------------------------------------------- */

static void assert_new_fails(struct env *e, const struct rsz_hash_opts *o, int err)
{
	struct rsz_hash *h;

	errno = 0;
	h = rsz_hash_new(o);
	if (h) {
		rsz_hash_destroy(h);
		fail_msg("rsz_hash_new accepted bad options (expected errno %d)", err);
	}
	assert_int_equal(errno, err);
	assert_int_equal(mem_stat_of(e->mem).usage, 0);
	assert_int_equal(test_alloc_live(&e->ta), 0);
}

static void new_with_null_opts_fails_einval(void **state)
{
	struct env *e = *state;

	assert_new_fails(e, NULL, EINVAL);
}

static void new_with_key_size_zero_fails_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);

	o.key_size = 0;
	assert_new_fails(e, &o, EINVAL);
}

static void new_with_key_size_above_512_fails_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);

	o.key_size = 513;
	assert_new_fails(e, &o, E2BIG);
	o.key_size = UINT32_MAX;
	assert_new_fails(e, &o, E2BIG);
	o.key_size = 512;
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
}

static void new_with_value_size_too_large_fails_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 1, 0);

	o.value_size = RSZ_HASH_VALUE_SIZE_MAX + 1;
	assert_new_fails(e, &o, E2BIG);
	o.value_size = UINT32_MAX;
	assert_new_fails(e, &o, E2BIG);
	o.value_size = RSZ_HASH_VALUE_SIZE_MAX;
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
}

static void new_with_initial_entries_above_max_entries_fails_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 101, 100);

	assert_new_fails(e, &o, EINVAL);
	o.initial_entries = 100;
	e->h = rsz_hash_new(&o);
	assert_non_null(e->h);
}

static void new_with_overflowing_sizes_fails_e2big(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, UINT64_MAX / 1024, 0);

	o.key_size = 512;
	o.value_size = RSZ_HASH_VALUE_SIZE_MAX;
	assert_new_fails(e, &o, E2BIG);
	o.flags = RSZ_F_PREALLOC;
	assert_new_fails(e, &o, E2BIG);
	o = env_opts(e, RSZ_F_PREALLOC, UINT64_MAX, 0);
	assert_new_fails(e, &o, E2BIG);
}

static void new_with_unknown_flags_fails_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 1u << 4, 16, 0);

	assert_new_fails(e, &o, EINVAL);
	o.flags = 1u << 31;
	assert_new_fails(e, &o, EINVAL);
}

static void new_with_opts_sz_too_small_fails_einval(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);

	o.sz = 0;
	assert_new_fails(e, &o, EINVAL);
	o.sz = sizeof(size_t);
	assert_new_fails(e, &o, EINVAL);
	o.sz = sizeof(o) - 1;
	assert_new_fails(e, &o, EINVAL);
}

struct bigger_opts {
	struct rsz_hash_opts o;
	uint64_t future[3];
};

static void new_with_larger_opts_and_nonzero_tail_fails_einval(void **state)
{
	struct env *e = *state;
	struct bigger_opts b = { .o = env_opts(e, 0, 16, 0) };

	b.o.sz = sizeof(b);
	b.future[2] = 1;
	assert_new_fails(e, &b.o, EINVAL);
}

static void new_with_larger_opts_and_zero_tail_is_accepted(void **state)
{
	struct env *e = *state;
	struct bigger_opts b = { .o = env_opts(e, 0, 16, 0) };

	b.o.sz = sizeof(b);
	e->h = rsz_hash_new(&b.o);
	assert_non_null(e->h);
	assert_int_equal(ins(e->h, 1, RSZ_ANY), 0);
}

static void new_with_flavor_missing_functions_fails_einval(void **state)
{
	struct env *e = *state;
	struct rcu_flavor_struct f = urcu_memb_flavor;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);

	o.flavor = &f;
	f.read_lock = NULL;
	assert_new_fails(e, &o, EINVAL);
	f = urcu_memb_flavor;
	f.update_call_rcu = NULL;
	assert_new_fails(e, &o, EINVAL);
	f = urcu_memb_flavor;
	f.barrier = NULL;
	assert_new_fails(e, &o, EINVAL);
	f = urcu_memb_flavor;
	f.update_synchronize_rcu = NULL;
	assert_new_fails(e, &o, EINVAL);
}

static void new_with_allocator_missing_functions_fails_einval(void **state)
{
	struct env *e = *state;
	struct rsz_allocator a = e->ta.ops;
	struct rsz_hash_opts o = env_opts(e, 0, 16, 0);

	o.allocator = &a;
	a.alloc = NULL;
	assert_new_fails(e, &o, EINVAL);
	a = e->ta.ops;
	a.free = NULL;
	assert_new_fails(e, &o, EINVAL);
}

static void new_refused_by_memory_limit_fails_enomem(void **state)
{
	struct env *e = *state;
	struct rsz_hash_opts o = env_opts(e, 0, 1000, 0);

	assert_int_equal(rsz_mem_set_max(e->mem, 0), 0);
	assert_new_fails(e, &o, ENOMEM);
	assert_true(mem_stat_of(e->mem).failcnt >= 1);
	o.flags = RSZ_F_PREALLOC;
	assert_new_fails(e, &o, ENOMEM);
}

static void new_fails_cleanly(struct env *e, int prealloc)
{
	{
		for (uint64_t nth = 1;; nth++) {
			struct rsz_hash_opts o = env_opts(e, prealloc ? RSZ_F_PREALLOC : 0, 5000, 0);
			struct rsz_hash *h;

			e->ta.calls = 0;
			e->ta.fail_at = nth;
			errno = 0;
			h = rsz_hash_new(&o);
			e->ta.fail_at = 0;
			if (h) {
				assert_int_equal(ins(h, 1, RSZ_ANY), 0);
				rsz_hash_destroy(h);
				assert_int_equal(test_alloc_live(&e->ta), 0);
				break;
			}
			assert_int_equal(errno, ENOMEM);
			assert_int_equal(test_alloc_live(&e->ta), 0);
			assert_int_equal(mem_stat_of(e->mem).usage, 0);
			assert_true(nth < 10000);
		}
	}
}

static void new_fails_cleanly_at_every_allocation(void **state)
{
	new_fails_cleanly(*state, 0);
}

static void prealloc_new_fails_cleanly_at_every_allocation(void **state)
{
	new_fails_cleanly(*state, 1);
}

/* A small working set under long random churn: the map's count follows a
 * model exactly and its memory stays bounded: 16 MiB is over 20 times what
 * 256 keys need in default mode, so reaching it (an update then fails with
 * -ENOMEM even once every deferred free has run) means memory grows without
 * bound. Deferred frees alone can reach it when liburcu's call_rcu thread
 * gets little CPU (seen with the machine's two cores busy elsewhere). */
static void churn(struct env *e, uint32_t flags)
{
	enum { KEYS = 256 };
	static uint64_t value[KEYS];
	static uint8_t present[KEYS];
	struct rsz_hash *h = mk(e, flags, 16, 0);
	uint64_t ops = test_scaled(3000000, 30000), seed = 3, count = 0, eagain = 0, waits = 0;

	memset(present, 0, sizeof(present));
	assert_int_equal(rsz_mem_set_max(e->mem, 16u << 20), 0);
	for (uint64_t it = 0; it < ops; it++) {
		uint64_t k = test_rand(&seed) % KEYS, v = it, got;
		int r;

		switch (test_rand(&seed) % 3) {
		case 0:
			r = put(h, k, v, RSZ_ANY);
			if (r == -ENOMEM && mem_stat_of(e->mem).deferred) {
				waits++;
				quiesce(e, h);
				r = put(h, k, v, RSZ_ANY);
			}
			if (r == -EAGAIN && (flags & RSZ_F_PREALLOC)) {
				eagain++;
				break;
			}
			if (r)
				fail_msg("op %llu: update of key %llu: %d (count %llu, mem %llu)",
					 (unsigned long long)it, (unsigned long long)k, r,
					 (unsigned long long)hstat(h).count,
					 (unsigned long long)hstat(h).mem_bytes);
			count += !present[k];
			present[k] = 1;
			value[k] = v;
			break;
		case 1:
			r = del(h, k);
			if (r != (present[k] ? 0 : -ENOENT))
				fail_msg("op %llu: delete of key %llu (present %d): %d",
					 (unsigned long long)it, (unsigned long long)k, present[k], r);
			count -= present[k];
			present[k] = 0;
			break;
		default:
			r = get(h, k, &got);
			if (present[k] ? (r || got != value[k]) : r != -ENOENT)
				fail_msg("op %llu: lookup of key %llu (present %d): %d",
					 (unsigned long long)it, (unsigned long long)k, present[k], r);
			break;
		}
		if (it % 65536 == 0) {
			struct rsz_hash_stat st = hstat(h);

			if (st.count != count || st.capacity < st.count)
				fail_msg("op %llu: stat count %llu capacity %llu, model count %llu "
					 "(table_slots %llu, mem_bytes %llu)",
					 (unsigned long long)it, (unsigned long long)st.count,
					 (unsigned long long)st.capacity, (unsigned long long)count,
					 (unsigned long long)st.table_slots,
					 (unsigned long long)st.mem_bytes);
		}
	}
	print_message("churn: %llu ops, %llu -EAGAIN, %llu waits for deferred frees, count %llu, "
		      "capacity %llu, table_slots %llu, mem_bytes %llu, %llu grows, %llu shrinks, "
		      "%llu rehashes\n",
		      (unsigned long long)ops, (unsigned long long)eagain, (unsigned long long)waits,
		      (unsigned long long)hstat(h).count, (unsigned long long)hstat(h).capacity,
		      (unsigned long long)hstat(h).table_slots,
		      (unsigned long long)hstat(h).mem_bytes, (unsigned long long)hstat(h).nr_grow,
		      (unsigned long long)hstat(h).nr_shrink, (unsigned long long)hstat(h).nr_rehash);
	assert_int_equal(hstat(h).count, count);
	assert_exact_accounting(e);
	/* Quiescent now: free capacity is real, every key fits again. */
	if (hstat(h).capacity - hstat(h).count >= KEYS) {
		for (uint64_t k = 0; k < KEYS; k++) {
			int r = present[k] ? 0 : put(h, k, k, RSZ_NOEXIST);

			if (r)
				fail_msg("quiescent after churn, count %llu capacity %llu: "
					 "insert of key %llu gave %d",
					 (unsigned long long)hstat(h).count,
					 (unsigned long long)hstat(h).capacity,
					 (unsigned long long)k, r);
		}
	}
}

static void churn_on_a_small_working_set_keeps_count_exact_and_memory_bounded(void **state)
{
	churn(*state, 0);
}

static void prealloc_churn_on_a_small_working_set_keeps_count_exact_and_memory_bounded(void **state)
{
	churn(*state, RSZ_F_PREALLOC);
}

static void deleted_keys_never_clog(struct env *e, uint32_t flags)
{
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC | flags, 1024, 0);
	uint64_t rounds = test_scaled(2000, 50), key = 0;

	/* Every round starts quiescent with count 0 and capacity at least
	 * 1024, so each of its inserts of fresh keys must succeed, however
	 * many keys earlier rounds deleted. */
	if (flags & RSZ_F_MANUAL)
		assert_int_equal(rsz_hash_set_watermarks(h, 0, 0), 0);
	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t first = key;
		struct rsz_hash_stat st = hstat(h);

		assert_int_equal(st.count, 0);
		assert_true(st.capacity >= 1024);
		for (int i = 0; i < 512; i++, key++) {
			int err = ins(h, key, RSZ_NOEXIST);

			if (err)
				fail_msg("round %llu: insert %d of 512 into a map with count %llu, "
					 "capacity %llu, table_slots %llu: %d",
					 (unsigned long long)r, i, (unsigned long long)hstat(h).count,
					 (unsigned long long)hstat(h).capacity,
					 (unsigned long long)hstat(h).table_slots, err);
		}
		for (uint64_t k = first; k < key; k++)
			assert_int_equal(del(h, k), 0);
		quiesce(e, h);
	}
	assert_exact_accounting(e);
}

static void prealloc_deleted_keys_never_clog_inserts(void **state)
{
	deleted_keys_never_clog(*state, 0);
}

static void manual_prealloc_deleted_keys_never_clog_inserts(void **state)
{
	deleted_keys_never_clog(*state, RSZ_F_MANUAL);
}

/* ---- async-signal safety ------------------------------------------------- */

#define SIG_KEYS 256u
#define SIG_BASE 100000u

static struct {
	struct rsz_hash *h;
	uint8_t present[SIG_KEYS];
	uint64_t value[SIG_KEYS];
	volatile uint64_t handled, ops, eagain, violations;
	volatile int first_violation;	/* a line number */
	volatile int stop;
	struct rsz_hash_stat bad_stat;	/* the first inconsistent stat */
	uint64_t bad_at;		/* in the handler's run number */
} sig;

static void sig_violation(int line)
{
	if (sig.violations++ == 0)
		sig.first_violation = line;
}

/* A BPF program in NMI context: it may interrupt any call of the main
 * thread, and works on keys of its own, with its own model. */
static void sig_handler(int signo)
{
	int saved = errno;
	uint64_t n = sig.handled++;
	uint64_t i = n % SIG_KEYS, k = SIG_BASE + i, v = 0, nv;
	struct rsz_hash_stat st;
	int r;

	(void)signo;
	r = rsz_hash_lookup_copy(sig.h, &k, &v);
	if (sig.present[i] ? (r != 0 || v != sig.value[i]) : r != -ENOENT)
		sig_violation(__LINE__);
	test_rcu_read_lock(&urcu_memb_flavor);
	{
		uint64_t *p = rsz_hash_lookup(sig.h, &k);

		if (sig.present[i] ? (!p || *p != sig.value[i]) : p != NULL)
			sig_violation(__LINE__);
	}
	test_rcu_read_unlock(&urcu_memb_flavor);
	nv = (n << 20) ^ k;
	switch (n / SIG_KEYS % 3) {
	case 0:		/* insert, or replace */
	case 1:
		r = rsz_hash_update(sig.h, &k, &nv, sig.present[i] ? RSZ_EXIST : RSZ_NOEXIST);
		if (r == 0) {
			sig.present[i] = 1;
			sig.value[i] = nv;
		} else if (r == -EAGAIN) {
			sig.eagain++;
		} else {
			sig_violation(__LINE__);
		}
		break;
	default:
		r = rsz_hash_delete(sig.h, &k);
		if (r != (sig.present[i] ? 0 : -ENOENT))
			sig_violation(__LINE__);
		sig.present[i] = 0;
		break;
	}
	memset(&st, 0xa5, sizeof(st));
	rsz_hash_stat(sig.h, &st, sizeof(st));
	if (st.capacity < st.count || st.count > 2 * SIG_KEYS) {
		if (!sig.violations) {
			sig.bad_stat = st;
			sig.bad_at = n;
		}
		sig_violation(__LINE__);
	}
	r = rsz_hash_grow(sig.h, 4 * SIG_KEYS * 2, RSZ_GROW_ASYNC);
	if (r != 0 && r != -EINPROGRESS)
		sig_violation(__LINE__);
	sig.ops++;
	errno = saved;
}

static void *sig_sender(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	uint64_t seed = 99;

	while (!__atomic_load_n(&sig.stop, __ATOMIC_ACQUIRE)) {
		pthread_kill(target, SIGUSR1);
		usleep(20 + test_rand(&seed) % 200);
	}
	return NULL;
}

static void signal_handler_interrupting_prealloc_calls_keeps_contents_exact(void **state)
{
	struct env *e = *state;
	struct rsz_hash *h = mk(e, RSZ_F_PREALLOC, 16, 0);
	enum { MAIN_KEYS = 256 };
	static uint8_t present[MAIN_KEYS];
	static uint64_t value[MAIN_KEYS];
	struct sigaction sa = { .sa_handler = sig_handler };
	uint64_t iters = test_scaled(300000, 6000), seed = 1, violations = 0;
	uint64_t want = test_scaled(20000, 200), it, its;
	uint64_t main_eagain = 0, count = 0;
	sigset_t block;
	pthread_t self = pthread_self(), sender;
	char first[160] = "";

#define MAIN_VIOLATION(op, res) do {					\
		if (violations++ == 0)					\
			snprintf(first, sizeof(first),			\
				 "%s of key %llu (present %d) gave %d, after %llu signals", \
				 op, (unsigned long long)i, present[i], (int)(res), \
				 (unsigned long long)sig.handled);	\
	} while (0)

	memset(&sig, 0, sizeof(sig));
	memset(present, 0, sizeof(present));
	sig.h = h;
	/* 512 keys need far less: a leak fails the test, not the machine */
	assert_int_equal(rsz_mem_set_max(e->mem, 64u << 20), 0);
	assert_int_equal(rsz_hash_grow(h, 8 * (MAIN_KEYS + SIG_KEYS), RSZ_GROW_WAIT), 0);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	assert_int_equal(pthread_create(&sender, NULL, sig_sender, &self), 0);

	/* Until enough signals landed (each handler run interrupts one of
	 * these calls at a random point), at most ~60 s. */
	for (it = 0; it < iters || (sig.handled < want && it < 400 * iters); it++) {
		uint64_t i = test_rand(&seed) % MAIN_KEYS, v = 0, nv = it;
		int r;

		switch (test_rand(&seed) % 4) {
		case 0:
			r = rsz_hash_lookup_copy(h, &i, &v);
			if (present[i] ? (r != 0 || v != value[i]) : r != -ENOENT)
				MAIN_VIOLATION("lookup_copy", r);
			break;
		case 1:
			test_rcu_read_lock(&urcu_memb_flavor);
			{
				uint64_t *p = rsz_hash_lookup(h, &i);

				if (present[i] ? (!p || *p != value[i]) : p != NULL)
					MAIN_VIOLATION("lookup", p ? 1 : 0);
			}
			test_rcu_read_unlock(&urcu_memb_flavor);
			break;
		case 2:
			r = rsz_hash_update(h, &i, &nv, RSZ_ANY);
			if (r == 0) {
				present[i] = 1;
				value[i] = nv;
			} else if (r == -EAGAIN) {
				main_eagain++;
			} else {
				MAIN_VIOLATION("update", r);
			}
			break;
		default:
			r = rsz_hash_delete(h, &i);
			if (r != (present[i] ? 0 : -ENOENT))
				MAIN_VIOLATION("delete", r);
			present[i] = 0;
			break;
		}
	}

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	its = it;
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	__atomic_store_n(&sig.stop, 1, __ATOMIC_RELEASE);
	pthread_join(sender, NULL);
	signal(SIGUSR1, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);

	print_message("signal test: %llu iterations, %llu handler runs, eagain main %llu handler %llu\n",
		      (unsigned long long)its, (unsigned long long)sig.handled,
		      (unsigned long long)main_eagain, (unsigned long long)sig.eagain);
	if (sig.violations)
		fail_msg("%llu violations in the handler, first at line %d "
			 "(stat in handler run %llu: count %llu capacity %llu mem_bytes %llu "
			 "nr_grow %llu table_slots %llu)",
			 (unsigned long long)sig.violations, sig.first_violation,
			 (unsigned long long)sig.bad_at,
			 (unsigned long long)sig.bad_stat.count,
			 (unsigned long long)sig.bad_stat.capacity,
			 (unsigned long long)sig.bad_stat.mem_bytes,
			 (unsigned long long)sig.bad_stat.nr_grow,
			 (unsigned long long)sig.bad_stat.table_slots);
	if (violations)
		fail_msg("%llu violations in the main thread; first: %s",
			 (unsigned long long)violations, first);
	assert_true(sig.handled >= want);
	/* Final contents: exactly both models. */
	for (uint64_t i = 0; i < MAIN_KEYS; i++) {
		uint64_t v;
		int r = get(h, i, &v);

		if (present[i]) {
			assert_int_equal(r, 0);
			assert_int_equal(v, value[i]);
			count++;
		} else {
			assert_int_equal(r, -ENOENT);
		}
	}
	for (uint64_t i = 0; i < SIG_KEYS; i++) {
		uint64_t v;
		int r = get(h, SIG_BASE + i, &v);

		if (sig.present[i]) {
			assert_int_equal(r, 0);
			assert_int_equal(v, sig.value[i]);
			count++;
		} else {
			assert_int_equal(r, -ENOENT);
		}
	}
	assert_int_equal(hstat(h).count, count);
	assert_exact_accounting(e);
}

/* ---- fork ---------------------------------------------------------------- */

static int child_uses_map(struct rsz_hash *h)
{
	uint64_t v;

	alarm(20);	/* a hang in the child fails the test instead of the suite */
	for (uint64_t k = 0; k < 100; k++)
		if (get(h, k, &v) || v != val_of(k))
			return 10;
	for (uint64_t k = 100; k < 5000; k++)
		if (ins(h, k, RSZ_NOEXIST))
			return 11;
	for (uint64_t k = 0; k < 50; k++)
		if (del(h, k))
			return 12;
	if (rsz_hash_grow(h, 50000, RSZ_GROW_WAIT))
		return 13;
	for (uint64_t k = 50; k < 5000; k++)
		if (get(h, k, &v) || v != val_of(k))
			return 14;
	if (get(h, 0, &v) != -ENOENT)
		return 15;
	if (rsz_hash_maintain(h))
		return 16;
	rsz_hash_destroy(h);
	return 0;
}

static void fork_and_use(struct env *e, int prealloc)
{
	/* rsz restarts its worker in the child: the plain and ASan builds
	 * run this. */
	if (test_fork_unsupported())
		skip();
	{
		struct rsz_hash *h = mk(e, prealloc ? RSZ_F_PREALLOC : 0, 16, 0);
		int status;
		pid_t pid;
		uint64_t v;

		if (prealloc)
			assert_int_equal(rsz_hash_grow(h, 10000, RSZ_GROW_WAIT), 0);
		fill(h, 0, 100);
		assert_int_equal(del(h, 99), 0);	/* a callback in flight */
		assert_int_equal(ins(h, 99, RSZ_ANY), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(child_uses_map(h));
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("child (prealloc %d): %s %d", prealloc,
				 WIFEXITED(status) ? "exit" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		/* The parent's map is its own and still works. */
		assert_int_equal(hstat(h).count, 100);
		assert_int_equal(get(h, 4000, &v), -ENOENT);
		fill(h, 100, 3000);
		assert_exact_accounting(e);
		rsz_hash_destroy(h);
		e->h = NULL;
	}
}

static void forked_child_keeps_using_the_map(void **state)
{
	fork_and_use(*state, 0);
}

static void prealloc_forked_child_keeps_using_the_map(void **state)
{
	fork_and_use(*state, 1);
}

/* ------------------------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(new_map_capacity_is_at_least_initial_entries),
		T(new_prealloc_map_capacity_is_at_least_initial_entries),
		T(new_map_stat_reports_max_entries),
		T(new_map_charges_exactly_what_the_allocator_holds),
		T(new_map_without_counter_or_allocator_works),
		T(lookup_of_missing_key_returns_null),
		T(lookup_returns_pointer_to_value),
		T(lookup_with_null_key_returns_null),
		T(lookup_copy_copies_value_outside_read_section),
		T(lookup_outside_read_section_aborts_in_test_build),
		T(lookup_copy_of_missing_key_returns_enoent),
		T(lookup_copy_with_null_arguments_returns_einval),
		T(value_size_zero_lookup_returns_non_null_token),
		T(returned_values_are_8_byte_aligned),
		T(prealloc_returned_values_are_8_byte_aligned),
		T(keys_differing_only_in_last_byte_are_distinct),
		T(large_values_round_trip),
		T(update_any_inserts_missing_key),
		T(update_any_replaces_existing_key),
		T(update_noexist_on_existing_key_returns_eexist),
		T(update_noexist_inserts_missing_key),
		T(update_exist_on_missing_key_returns_enoent),
		T(update_exist_replaces_existing_key),
		T(update_with_unknown_flags_returns_einval_before_any_key_check),
		T(update_with_null_key_or_value_returns_einval),
		T(update_replace_at_max_entries_succeeds),
		T(update_insert_at_max_entries_returns_e2big),
		T(update_exist_on_missing_key_at_max_entries_returns_enoent),
		T(update_noexist_on_existing_key_at_max_entries_returns_eexist),
		T(update_at_max_entries_and_memory_limit_returns_e2big),
		T(update_at_memory_limit_returns_enomem_and_changes_nothing),
		T(update_allocator_failure_returns_enomem_and_changes_nothing),
		T(default_mode_insert_never_fails_below_limits),
		T(manual_default_mode_insert_into_full_table_grows_it),
		T(delete_removes_key),
		T(delete_of_missing_key_returns_enoent),
		T(delete_with_null_key_returns_einval),
		T(deleted_key_can_be_inserted_again),
		T(replace_keeps_old_value_behind_earlier_lookup_pointer),
		T(prealloc_replace_keeps_old_value_behind_earlier_lookup_pointer),
		T(value_written_through_lookup_pointer_is_kept),
		T(resize_never_moves_an_element),
		T(release_is_called_once_per_deleted_element),
		T(release_is_called_once_per_replaced_element_with_old_value),
		T(release_is_called_for_every_element_at_destroy),
		T(release_is_not_called_for_failed_updates),
		T(prealloc_release_is_called_once_per_element_that_leaves),
		T(release_waits_for_readers_grace_period),
		T(resize_completes_while_a_reader_holds_its_section),
		T(get_next_key_on_empty_map_returns_enoent),
		T(get_next_key_walk_returns_every_key_once),
		T(get_next_key_from_last_key_returns_enoent),
		T(copies_that_find_the_table_end_crowded_wrap),
		T(prealloc_copies_that_find_the_table_end_crowded_wrap),
		T(wrapped_table_migrates_with_a_copier_stopped_after_confirming),
		T(prealloc_wrapped_table_migrates_with_a_copier_stopped_after_confirming),
		T(get_next_key_with_null_next_returns_einval),
		T(get_next_key_works_inside_read_section),
		T(get_next_key_from_deleted_key_continues_at_its_place),
		T(get_next_key_from_never_present_key_continues_at_its_place),
		T(get_next_key_order_is_unchanged_by_resizes),
		T(maps_without_zero_seed_are_keyed_differently),
		T(maps_with_zero_seed_walk_in_the_same_order),
		T(grow_async_when_satisfied_returns_zero),
		T(grow_async_queues_and_returns_einprogress),
		T(grow_async_completes_in_background),
		T(grow_async_hint_raises_queued_target_to_larger),
		T(grow_wait_reaches_requested_capacity),
		T(grow_hint_is_absolute_and_idempotent),
		T(prealloc_grow_hint_is_absolute_and_idempotent),
		T(grow_with_unknown_flag_returns_einval),
		T(grow_beyond_max_entries_returns_e2big_and_raises_capacity_to_cap),
		T(grow_async_beyond_max_entries_returns_e2big),
		T(prealloc_grow_beyond_max_entries_fills_pool_to_exactly_the_cap),
		T(grow_refused_by_memory_limit_returns_enomem_and_records_it),
		T(grow_async_refused_by_memory_limit_is_recorded_by_maintain),
		T(grow_allocator_failure_returns_enomem_and_changes_nothing),
		T(grow_fails_cleanly_at_every_allocation),
		T(prealloc_grow_fails_cleanly_at_every_allocation),
		T(prealloc_after_grow_wait_n_minus_count_inserts_succeed),
		T(manual_prealloc_after_grow_wait_n_minus_count_inserts_succeed),
		T(prealloc_capacity_is_count_plus_free_pool_elements),
		T(prealloc_insert_with_dry_pool_returns_eagain_with_grow_queued),
		T(prealloc_background_grow_refills_the_pool),
		T(prealloc_replace_at_max_entries_succeeds),
		T(prealloc_insert_at_max_entries_with_dry_pool_returns_e2big),
		T(prealloc_dry_pool_after_memory_limit_failure_returns_enomem),
		T(prealloc_update_and_delete_never_call_the_allocator),
		T(prealloc_deleted_elements_return_to_pool_after_grace_period),
		T(shrink_goes_down_to_smallest_capacity_at_most_half_full),
		T(shrink_never_goes_below_initial_entries),
		T(shrink_never_leaves_free_capacity_below_low_watermark),
		T(shrink_with_nothing_to_release_returns_zero),
		T(shrink_async_queues_and_maintain_completes_it),
		T(auto_shrink_queues_when_count_falls_below_a_quarter),
		T(without_shrink_flag_nothing_shrinks_by_itself),
		T(prealloc_shrink_returns_memory_after_a_burst),
		T(set_watermarks_with_high_below_low_returns_einval),
		T(set_watermarks_clamps_high_to_max_entries),
		T(prealloc_set_watermarks_clamps_high_to_max_entries),
		T(watermark_low_zero_turns_automatic_growth_off),
		T(prealloc_watermark_low_zero_turns_automatic_growth_off),
		T(default_policy_grows_when_75_percent_full),
		T(prealloc_default_policy_counts_free_pool_elements),
		T(watermark_grow_brings_free_capacity_to_high),
		T(prealloc_watermark_grow_brings_free_capacity_to_high),
		T(default_map_grows_in_background_past_75_percent),
		T(manual_map_grows_nothing_until_maintain),
		T(maintain_then_barrier_leaves_exact_accounting),
		T(prealloc_maintain_then_barrier_leaves_exact_accounting),
		T(stat_fills_caller_size_and_zeroes_unknown_tail),
		T(stat_with_smaller_size_writes_only_that_many_bytes),
		T(usage_equals_allocator_live_bytes_after_mixed_operations),
		T(prealloc_usage_equals_allocator_live_bytes_after_mixed_operations),
		T(deferred_frees_show_in_counter_until_grace_period),
		T(destroy_uncharges_everything),
		T(prealloc_destroy_uncharges_everything),
		T(memory_counter_never_passes_its_max),
		T(new_with_null_opts_fails_einval),
		T(new_with_key_size_zero_fails_einval),
		T(new_with_key_size_above_512_fails_e2big),
		T(new_with_value_size_too_large_fails_e2big),
		T(new_with_initial_entries_above_max_entries_fails_einval),
		T(new_with_overflowing_sizes_fails_e2big),
		T(new_with_unknown_flags_fails_einval),
		T(new_with_opts_sz_too_small_fails_einval),
		T(new_with_larger_opts_and_nonzero_tail_fails_einval),
		T(new_with_larger_opts_and_zero_tail_is_accepted),
		T(new_with_flavor_missing_functions_fails_einval),
		T(new_with_allocator_missing_functions_fails_einval),
		T(new_refused_by_memory_limit_fails_enomem),
		T(new_fails_cleanly_at_every_allocation),
		T(prealloc_new_fails_cleanly_at_every_allocation),
		T(churn_on_a_small_working_set_keeps_count_exact_and_memory_bounded),
		T(prealloc_churn_on_a_small_working_set_keeps_count_exact_and_memory_bounded),
		T(prealloc_deleted_keys_never_clog_inserts),
		T(manual_prealloc_deleted_keys_never_clog_inserts),
		T(signal_handler_interrupting_prealloc_calls_keeps_contents_exact),
		T(forked_child_keeps_using_the_map),
		T(prealloc_forked_child_keeps_using_the_map),
	};

	/* RSZ_TEST_FILTER=pattern runs only the matching tests. */
	if (getenv("RSZ_TEST_FILTER"))
		cmocka_set_test_filter(getenv("RSZ_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
