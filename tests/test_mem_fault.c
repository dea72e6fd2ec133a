/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Fault injection (suite fault) on charged allocation (lib/mem.c's
 * rsz_kvmalloc/rsz_kvfree, which every structure allocates through): each
 * allocator call fails once, and each step runs once at the memory limit.
 * A refused allocation returns NULL and -ENOMEM, charges nothing, holds
 * nothing, and the next allocation works. The driver's self-test shows it
 * catches a leak on an error path.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "faultinj.h"
#include "mem_internal.h"
#include "testutil.h"

#define NR_BLOCKS 24

struct held {
	void *p;
	size_t size;
};

static uint64_t usage_of(struct rsz_mem *m)
{
	struct rsz_mem_stat st;

	rsz_mem_stat(m, &st, sizeof(st));
	return st.usage;
}

/* One charged allocation, checked whichever way it goes; retried once
 * if a failure was injected (the retry must work). */
static void *checked_alloc(struct faultinj *fi, struct rsz_mctx *m, size_t size, size_t align)
{
	uint64_t bytes = m->bytes, usage = usage_of(m->mem), live = test_alloc_live(&fi->ta);
	int err = 0;
	void *p;

	faultinj_before(fi);
	p = rsz_kvmalloc(m, size, align, &err);
	if (faultinj_after(fi)) {
		FI_CHECK(fi, !p && err == -ENOMEM, "injected failure: p %p, err %d", p, err);
		FI_CHECK(fi, m->bytes == bytes && usage_of(m->mem) == usage &&
			 test_alloc_live(&fi->ta) == live, "a refused allocation changed the accounts");
		rsz_kvfree(m, p, size);		/* NULL: nothing */
		p = rsz_kvmalloc(m, size, align, &err);
	}
	FI_CHECK(fi, p != NULL, "allocation of %zu failed without injection: %d", size, err);
	if (p) {
		FI_CHECK(fi, ((uintptr_t)p & (align - 1)) == 0, "misaligned %p", p);
		FI_CHECK(fi, m->bytes == bytes + size && usage_of(m->mem) == usage + size,
			 "accounts after allocating %zu: %" PRIu64 ", %" PRIu64, size,
			 m->bytes, usage_of(m->mem));
		memset(p, 0xab, size);		/* the memory is really ours */
	}
	return p;
}

/* A structure's life: allocations of several sizes and alignments charged
 * to a child counter, frees in between, bytes retired and released after a
 * "grace period" (defer/undefer), everything freed at the end. */
static int kvmalloc_scenario(struct faultinj *fi, void *ctx)
{
	static const size_t sizes[] = { 8, 64, 4096, 24, 1 << 16, 200, 16, 8192 };
	static const size_t aligns[] = { 8, 16, 64, 4096 };
	struct held h[NR_BLOCKS] = { { 0 } };
	struct rsz_mctx m = { .allocator = &fi->ta.ops };
	int ret = 0;

	(void)ctx;
	m.mem = rsz_mem_new(fi->mem, RSZ_MEM_UNLIMITED);
	if (!m.mem)
		return -1;
	for (unsigned int i = 0; i < NR_BLOCKS; i++) {
		h[i].size = sizes[i % ARRAY_SIZE(sizes)];
		h[i].p = checked_alloc(fi, &m, h[i].size, aligns[i % ARRAY_SIZE(aligns)]);
		if (i % 3 == 2) {	/* free one in three at once */
			rsz_kvfree(&m, h[i - 1].p, h[i - 1].size);
			h[i - 1].p = NULL;
		}
		if (i % 5 == 4 && h[i].p) {	/* retire, then release */
			rsz_mctx_defer(&m, h[i].size);
			FI_CHECK(fi, m.deferred == h[i].size, "deferred %" PRIu64, m.deferred);
			rsz_mctx_undefer(&m, h[i].size);
			rsz_kvfree(&m, h[i].p, h[i].size);
			h[i].p = NULL;
		}
	}
	for (unsigned int i = 0; i < NR_BLOCKS; i++)
		rsz_kvfree(&m, h[i].p, h[i].size);
	FI_CHECK(fi, m.bytes == 0 && m.deferred == 0, "mctx holds %" PRIu64, m.bytes);
	if (rsz_mem_destroy(m.mem))
		ret = -1;
	return ret;
}

static void every_allocation_and_limit_failure_leaves_accounts_exact(void **state)
{
	const struct faultinj_scenario s = { .name = "kvmalloc", .run = kvmalloc_scenario };
	struct faultinj_stats st;
	int ret;

	(void)state;
	ret = faultinj_run(&s, &st, stdout);
	assert_int_equal(ret, 0);
	assert_int_equal(st.alloc_sites, NR_BLOCKS);
	assert_int_equal(st.alloc_runs, NR_BLOCKS + 1);
	/* Every allocation site and every step that charges was hit. */
	assert_int_equal(st.injected, 2 * NR_BLOCKS);
}

/* The driver must catch a scenario that leaks on its error path: it
 * allocates a pair, and when the second allocation fails it forgets the
 * first. */
static void *leaked;	/* kept reachable, so leak checkers stay quiet */

static int leaky_scenario(struct faultinj *fi, void *ctx)
{
	struct rsz_mctx m = { .allocator = &fi->ta.ops, .mem = fi->mem };
	void *a, *b;
	int err;

	(void)ctx;
	for (int i = 0; i < 3; i++) {
		faultinj_before(fi);
		a = rsz_kvmalloc(&m, 32, 8, &err);
		b = rsz_kvmalloc(&m, 64, 8, &err);
		faultinj_after(fi);
		if (!b) {	/* the bug: a is forgotten */
			leaked = a;
			continue;
		}
		rsz_kvfree(&m, a, 32);
		rsz_kvfree(&m, b, 64);
	}
	return 0;
}

static void driver_catches_a_leak_on_an_error_path(void **state)
{
	const struct faultinj_scenario s = { .name = "leaky", .run = leaky_scenario };
	struct faultinj_stats st;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int ret;

	(void)state;
	assert_non_null(f);
	ret = faultinj_run(&s, &st, f);
	fclose(f);
	printf("%s", buf);
	assert_int_equal(ret, -1);
	assert_non_null(strstr(buf, "allocation run, k = 2"));
	assert_non_null(strstr(buf, "leak at destroy: 1 blocks, 32 bytes"));
	free(buf);
	free(leaked);	/* test_alloc's blocks come from posix_memalign */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_allocation_and_limit_failure_leaves_accounts_exact),
		cmocka_unit_test(driver_catches_a_leak_on_an_error_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
