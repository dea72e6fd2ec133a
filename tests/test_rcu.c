/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The platform layer's RCU on every liburcu flavor (suite unit): readers
 * follow a published object and read its plain fields while a writer
 * replaces it and frees the old one after rsz_synchronize_rcu() or from an
 * rsz_call_rcu() callback that first poisons it. A reader that sees a
 * poisoned or torn object, or memcheck/ASan seeing a use after free, means
 * the grace period did not cover the reader. Under TSan this is also the
 * test of the grace-period annotation (lib/platform.h): without it, TSan
 * reports each free as a race with the readers' plain loads.
 * urcu-signal is skipped under TSan (RSZ_UNDER_TSAN): its synchronize_rcu
 * never returns there once the call_rcu thread exists.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "platform.h"
#include "testutil.h"

extern const struct rcu_flavor_struct urcu_memb_flavor;
extern const struct rcu_flavor_struct urcu_mb_flavor;
extern const struct rcu_flavor_struct urcu_qsbr_flavor;
extern const struct rcu_flavor_struct urcu_signal_flavor;
extern const struct rcu_flavor_struct urcu_bp_flavor;

#define READERS 3	/* with the writer, more threads than the 2 cores */
#define SUM 1000003ULL

struct obj {
	struct rsz_rcu_head head;
	uint64_t a, b;		/* a + b == SUM while live */
};

static struct {
	rsz_flavor_t f;
	bool qsbr;
	struct obj *cur;
	bool stop;
	uint64_t reads;
	unsigned int started;	/* readers that completed a section */
	uint64_t callbacks;	/* plain: read after rsz_rcu_barrier() */
} rt;

static void *reader_main(void *arg)
{
	rsz_flavor_t f = rt.f;
	uint64_t n = 0;

	(void)arg;
	f->register_thread();
	while (!__atomic_load_n(&rt.stop, __ATOMIC_ACQUIRE)) {
		struct obj *o;

		rsz_rcu_read_lock(f);
		o = rsz_dereference(rt.cur);
		if (o->a + o->b != SUM)
			TEST_RECORD("reader saw a=%" PRIu64 " b=%" PRIu64, o->a, o->b);
		rsz_rcu_read_unlock(f);
		if (rt.qsbr)
			f->read_quiescent_state();
		if (n++ == 0)
			__atomic_add_fetch(&rt.started, 1, __ATOMIC_RELEASE);
	}
	if (rt.qsbr)
		f->thread_offline();
	f->unregister_thread();
	__atomic_add_fetch(&rt.reads, n, __ATOMIC_RELAXED);
	return NULL;
}

static void free_cb(struct rsz_rcu_head *head)
{
	struct obj *o = container_of(head, struct obj, head);

	/* Poison first: a reader still inside would see it. */
	o->a = 0;
	o->b = 0;
	free(o);
	rt.callbacks++;	/* callbacks run one at a time on the call_rcu thread */
}

/* @n grace periods: urcu-qsbr and urcu-signal take 5-15 ms each here
 * with the cores oversubscribed, the others well under 1 ms. */
static void run_flavor(rsz_flavor_t f, bool qsbr, uint64_t n)
{
	pthread_t th[READERS];
	uint64_t queued = 0;

	memset(&rt, 0, sizeof(rt));
	rt.f = f;
	rt.qsbr = qsbr;
	rt.cur = malloc(sizeof(*rt.cur));
	assert_non_null(rt.cur);
	rt.cur->a = SUM;
	rt.cur->b = 0;
	f->register_thread();	/* rsz_rcu_prime() is for registered threads */
	rsz_rcu_prime(f);
	f->unregister_thread();
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, NULL), 0);
	/* Replace only while every reader is in its loop. */
	while (__atomic_load_n(&rt.started, __ATOMIC_ACQUIRE) < READERS)
		rsz_yield();
	for (uint64_t i = 1; i <= n; i++) {
		struct obj *o = malloc(sizeof(*o)), *old;

		assert_non_null(o);
		o->a = i;
		o->b = SUM - i;
		old = rt.cur;
		rsz_assign_pointer(rt.cur, o);
		if (i % 2) {
			rsz_synchronize_rcu(f);
			old->a = old->b = 0;	/* no reader can see it any more */
			free(old);
		} else {
			rsz_call_rcu(f, &old->head, free_cb);
			queued++;
		}
	}
	__atomic_store_n(&rt.stop, true, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	rsz_rcu_barrier(f);
	ASSERT_NO_RECORDS();
	assert_int_equal(rt.callbacks, queued);
	assert_true(rt.reads >= READERS);
	free(rt.cur);
}

#define FAST_GPS test_scaled(2000, 40)
#define SLOW_GPS test_scaled(200, 10)

static void rcu_memb(void **state) { (void)state; run_flavor(&urcu_memb_flavor, false, FAST_GPS); }
static void rcu_mb(void **state)   { (void)state; run_flavor(&urcu_mb_flavor, false, FAST_GPS); }
static void rcu_qsbr(void **state) { (void)state; run_flavor(&urcu_qsbr_flavor, true, SLOW_GPS); }
static void rcu_bp(void **state)   { (void)state; run_flavor(&urcu_bp_flavor, false, FAST_GPS); }

static void rcu_signal(void **state)
{
	(void)state;
	if (getenv("RSZ_UNDER_TSAN")) {
		/* liburcu-signal's synchronize_rcu() hangs under TSan once the
		 * call_rcu thread exists (../shared/toolchain-notes.md). */
		skip();
	}
	run_flavor(&urcu_signal_flavor, false, SLOW_GPS);
}

int main(void)
{
	const char *only = getenv("RSZ_TEST_FILTER");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rcu_memb),
		cmocka_unit_test(rcu_mb),
		cmocka_unit_test(rcu_qsbr),
		cmocka_unit_test(rcu_bp),
		cmocka_unit_test(rcu_signal),
	};

	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
