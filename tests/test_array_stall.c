/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Stall injection on the segmented array and its slot allocator (suite
 * stress). A victim thread allocs, writes, releases, maintains, grows and
 * shrinks; it is parked at each of the array's stall points in turn.
 * Meanwhile 3 other threads each finish a fixed number of allocs, updates,
 * lookups and releases with exact results (no slot handed out twice, every
 * value read back), and:
 *
 * - with the victim parked inside a read-side section (alloc, release), or
 *   inside a reclaim batch (maintain), a grow and a shrink (RSZ_GROW_WAIT)
 *   complete; with a reader parked the dropped segment's free stays
 *   deferred (the grace period cannot end), and the shrink does not wait
 *   for it;
 * - with the victim parked inside a grow or a shrink, which hold the
 *   array's resize lock (resizes are serialised by design, docs/array.md),
 *   a grow and a shrink asked with RSZ_GROW_ASYNC return at once and run
 *   after the victim lets go, and rsz's worker, which every structure of
 *   the process shares, keeps serving another array meanwhile.
 *
 * The allocator is lfalloc, so the parked thread holds no lock outside
 * rsz. Updates and lookups have no intermediate state (a copy into a slot
 * the caller owns, one load), so they have no stall point.
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rsz/array.h>

#include "lfalloc.h"
#include "platform.h"
#include "stall.h"
#include "testutil.h"

/* Where the victim holds a read-side section: no grace period ends. */
static const char *const reader_points[] = {
	"array.alloc.after_claim",
	"array.release.before_cas",
	"array.release.after_cas",
};

/* Inside maintain's reclaim batch: after the harvest, after the grace
 * period with slots half returned, before the counts follow. */
static const char *const reclaim_points[] = {
	"array.reclaim.harvested",
	"array.reclaim.before_clear",
	"array.reclaim.before_count",
};

/* Inside a grow or a shrink, under the resize lock. */
static const char *const resize_points[] = {
	"array.grow.before_install",
	"array.grow.before_publish",
	"array.shrink.sealed",
	"array.shrink.before_free",
};

#define OTHERS 3
#define HELD 16			/* slots an other thread holds at most */
#define CAP0 65536		/* the capacity a pinned top slot keeps */
#define MAXE (8u * CAP0)
#define VALUE_WORDS 2

/* Where the victim is parked, the scenario's ctx. */
enum parked { PARKED_READER, PARKED_RECLAIM, PARKED_RESIZER };
static const enum parked parked_reader = PARKED_READER;
static const enum parked parked_reclaim = PARKED_RECLAIM;
static const enum parked parked_resizer = PARKED_RESIZER;

/* Totals over every point of a scenario, for the report. */
static uint64_t total_ops, total_eagain;

struct world {
	struct lfalloc la;
	struct rsz_mem *mem;
	struct rsz_array *a;
	struct rsz_array *b;	/* another array on the same worker */
	uint64_t pin;		/* allocated at CAP0 - 1 for the whole run */
	uint32_t owner[MAXE];	/* test thread id + 1 holding the slot */
	bool asked;		/* PARKED_RESIZER: a grow was queued */
};

static void value_of(uint64_t *v, uint64_t idx, uint64_t tag)
{
	v[0] = idx;
	v[1] = tag;
}

static struct rsz_array_stat stat_of(struct rsz_array *a)
{
	struct rsz_array_stat st;

	rsz_array_stat(a, &st, sizeof(st));
	return st;
}

static void *w_setup(void *ctx)
{
	struct world *w = calloc(1, sizeof(*w));
	RSZ_OPTS(rsz_array_opts, o, .value_size = 8 * VALUE_WORDS, .initial_entries = 64,
		 .max_entries = MAXE);
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t idx = 0;

	(void)ctx;
	if (!w || lfalloc_init(&w->la, (size_t)1 << 30)) {
		free(w);
		return NULL;
	}
	w->mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	o.allocator = &w->la.ops;
	o.mem = w->mem;
	f->register_thread();
	w->a = rsz_array_new(&o);
	o.mem = NULL;
	w->b = rsz_array_new(&o);
	/* No growth but what the test asks for: the capacity is CAP0, and
	 * its top slot stays allocated, so every shrink stops there. */
	if (w->a && w->b && !rsz_array_set_watermarks(w->a, 0, 0) &&
	    !rsz_array_grow(w->a, CAP0, RSZ_GROW_WAIT)) {
		while (rsz_array_alloc(w->a, &idx) == 0 && idx < CAP0 - 1)
			;
		for (uint64_t i = 0; i < idx; i++)
			rsz_array_release(w->a, i);
		rsz_array_maintain(w->a);
	}
	f->unregister_thread();
	if (!w->a || !w->b || idx != CAP0 - 1 || stat_of(w->a).capacity != CAP0 ||
	    stat_of(w->a).allocated != 1) {
		fprintf(stderr, "array stall setup: pin at %" PRIu64 "\n", idx);
		if (w->a)
			rsz_array_destroy(w->a);
		if (w->b)
			rsz_array_destroy(w->b);
		rsz_mem_destroy(w->mem);
		lfalloc_fini(&w->la);
		free(w);
		return NULL;
	}
	w->pin = idx;
	return w;
}

/* A grow queued while the victim held the resize lock must be run by the
 * worker by itself once the lock is free: nobody calls maintain here (the
 * victim of this scenario does not either), and a request deferred
 * because of the lock is never lost. */
static int deferred_grow_ran(struct world *w, char *msg, size_t len)
{
	for (int i = 0; i < 10000 && stat_of(w->a).grow_pending; i++)
		usleep(1000);
	if (stat_of(w->a).grow_pending) {
		snprintf(msg, len, "the grow queued while the victim held the resize lock "
			 "did not run within 10 s after it let go");
		return -1;
	}
	return 0;
}

static int w_teardown(void *obj, void *ctx, char *msg, size_t len)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	struct rsz_array_stat st;
	struct rsz_mem_stat ms;
	int ret = 0;

	(void)ctx;
	if (w->asked)
		ret = deferred_grow_ran(w, msg, len);
	f->register_thread();
	rsz_array_maintain(w->a);
	st = stat_of(w->a);
	for (uint64_t i = 0; i < MAXE && !ret; i++)
		if (w->owner[i]) {
			snprintf(msg, len, "slot %" PRIu64 " still owned by thread %u", i,
				 w->owner[i] - 1);
			ret = -1;
		}
	if (!ret && st.allocated != 1) {
		snprintf(msg, len, "%" PRIu64 " slots allocated at the end, want 1 (the pin)",
			 st.allocated);
		ret = -1;
	}
	if (rsz_array_release(w->a, w->pin) && !ret) {
		snprintf(msg, len, "the pinned slot was lost");
		ret = -1;
	}
	rsz_array_maintain(w->a);
	rsz_rcu_barrier(f);
	rsz_mem_stat(w->mem, &ms, sizeof(ms));
	st = stat_of(w->a);
	if (!ret && (st.allocated || ms.deferred || ms.usage != st.mem_bytes)) {
		snprintf(msg, len, "quiescent: allocated %" PRIu64 ", deferred %" PRIu64
			 ", charged %" PRIu64 " != held %" PRIu64, st.allocated, ms.deferred,
			 ms.usage, st.mem_bytes);
		ret = -1;
	}
	rsz_array_destroy(w->a);
	rsz_array_destroy(w->b);
	f->unregister_thread();
	rsz_mem_stat(w->mem, &ms, sizeof(ms));
	if (!ret && (ms.usage || rsz_mem_destroy(w->mem))) {
		snprintf(msg, len, "%" PRIu64 " bytes still charged after destroy", ms.usage);
		ret = -1;
	}
	if (lfalloc_fini_checked(&w->la, ret ? NULL : msg, len))
		ret = -1;
	free(w);
	return ret;
}

/* Allocs, writes and releases a few slots, then maintains, or grows past
 * the pin and shrinks back: it passes through every point. When parked in
 * a resize it never maintains, so that only the worker can run the work
 * queued meanwhile (deferred_grow_ran). */
static void w_victim(void *obj, void *ctx, const bool *stop)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	bool maintains = *(const enum parked *)ctx != PARKED_RESIZER;
	uint64_t i = 0;

	f->register_thread();
	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		uint64_t idx[8], v[VALUE_WORDS];
		unsigned int n = 0;

		while (n < 8 && rsz_array_alloc(w->a, &idx[n]) == 0) {
			value_of(v, idx[n], i);
			rsz_array_update(w->a, idx[n], v, RSZ_ANY);
			n++;
		}
		while (n)
			rsz_array_release(w->a, idx[--n]);
		if (i++ % 2 == 0 && maintains) {
			rsz_array_maintain(w->a);
		} else {
			rsz_array_grow(w->a, 2 * CAP0, RSZ_GROW_WAIT);
			rsz_array_shrink(w->a, RSZ_GROW_WAIT);
		}
	}
	f->unregister_thread();
}

/* A fixed number of allocs and releases, each checked: the slot was free
 * (nobody else owns it), the value written reads back. */
static int w_other(void *obj, void *ctx, unsigned int tid)
{
	struct world *w = obj;
	rsz_flavor_t f = rsz_default_flavor();
	/* A parked reader stops every reuse (no grace period ends), so all
	 * the others' allocations must fit below the pin (about half of the
	 * operations are allocs). */
	uint64_t n = test_scaled(3000, 100), rng = tid * 7919ull, held[HELD], done = 0;
	uint64_t eagain = 0;

	if (n > CAP0 / OTHERS)
		n = CAP0 / OTHERS;
	unsigned int nheld = 0;
	int bad = 0;

	(void)ctx;
	f->register_thread();
	while (done < n || nheld) {
		uint64_t idx, v[VALUE_WORDS], *p;
		uint32_t zero = 0, mine = tid + 1;
		int err;

		if (done < n && nheld < HELD && (!nheld || test_rand(&rng) % 2)) {
			err = rsz_array_alloc(w->a, &idx);
			if (err == -EAGAIN) {
				eagain++;
				rsz_yield();
				continue;
			}
			if (err || idx >= MAXE) {
				TEST_RECORD("thread %u: alloc %d, index %" PRIu64, tid, err, idx);
				bad++;
				break;
			}
			if (!__atomic_compare_exchange_n(&w->owner[idx], &zero, tid + 1, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
				TEST_RECORD("slot %" PRIu64 " handed to thread %u while thread %u "
					    "owns it", idx, tid, zero - 1);
				bad++;
			}
			value_of(v, idx, tid);
			if (rsz_array_update(w->a, idx, v, RSZ_EXIST))
				bad++;
			rsz_rcu_read_lock(f);
			p = rsz_array_lookup(w->a, idx);
			if (!p || memcmp(p, v, sizeof(v)))
				bad++;
			rsz_rcu_read_unlock(f);
			held[nheld++] = idx;
		} else {
			unsigned int j = (unsigned int)(test_rand(&rng) % nheld);

			idx = held[j];
			held[j] = held[--nheld];
			if (!__atomic_compare_exchange_n(&w->owner[idx], &mine, 0, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ||
			    rsz_array_release(w->a, idx)) {
				TEST_RECORD("thread %u: release of its slot %" PRIu64 " failed",
					    tid, idx);
				bad++;
			}
		}
		done++;
	}
	f->unregister_thread();
	__atomic_add_fetch(&total_ops, done, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_eagain, eagain, __ATOMIC_RELAXED);
	if (bad)
		TEST_RECORD("thread %u: %d operations went wrong", tid, bad);
	return bad;
}

/* The victim holds no lock: a grow and a shrink complete. With a reader
 * parked, the shrink's free must still be deferred when it returns: it
 * did not wait for the grace period. */
static int resize_completes(struct world *w, enum parked how)
{
	rsz_flavor_t f = rsz_default_flavor();
	struct rsz_array_stat st;
	struct rsz_mem_stat ms;
	int g, s;

	f->register_thread();
	g = rsz_array_grow(w->a, 4 * CAP0, RSZ_GROW_WAIT);
	st = stat_of(w->a);
	s = rsz_array_shrink(w->a, RSZ_GROW_WAIT);
	rsz_mem_stat(w->mem, &ms, sizeof(ms));
	f->unregister_thread();
	if (g || st.capacity < 4 * CAP0) {
		TEST_RECORD("grow WAIT: %d, capacity %" PRIu64, g, st.capacity);
		return g ? g : -1;
	}
	st = stat_of(w->a);
	if (s || st.capacity > CAP0) {
		TEST_RECORD("shrink WAIT: %d, capacity %" PRIu64 " (the pin keeps %u)", s,
			    st.capacity, CAP0);
		return s ? s : -1;
	}
	if (how == PARKED_READER && !ms.deferred) {
		TEST_RECORD("a segment was freed while a reader was parked");
		return -1;
	}
	return 0;
}

/* The victim holds the resize lock: growth waits for it, by design. What
 * must not wait: the asynchronous requests, and the shared worker, which
 * grows another array meanwhile. */
static int resize_is_deferred(struct world *w)
{
	rsz_flavor_t f = rsz_default_flavor();
	struct rsz_array_stat st = stat_of(w->a);
	uint64_t target = stat_of(w->b).capacity * 2;
	int g, s, gb;

	f->register_thread();
	w->asked = true;
	g = rsz_array_grow(w->a, st.capacity + 1, RSZ_GROW_ASYNC);
	s = rsz_array_shrink(w->a, RSZ_GROW_ASYNC);
	gb = rsz_array_grow(w->b, target, RSZ_GROW_ASYNC);
	while (stat_of(w->b).capacity < target)
		rsz_yield();
	f->unregister_thread();
	if (g != -EINPROGRESS || s != -EINPROGRESS || gb != -EINPROGRESS) {
		TEST_RECORD("asynchronous requests: grow %d, shrink %d, other grow %d", g, s, gb);
		return -1;
	}
	return 0;
}

static int w_resize(void *obj, void *ctx)
{
	enum parked how = *(const enum parked *)ctx;

	return how == PARKED_RESIZER ? resize_is_deferred(obj) : resize_completes(obj, how);
}

static void run_points(const char *name, const char *const *points, size_t npoints,
		       const enum parked *how)
{
	const struct stall_scenario s = {
		.name = name,
		.points = points,
		.npoints = npoints,
		.nothers = OTHERS,
		.timeout_ms = 20000,
		.ctx = (void *)how,
		.setup = w_setup,
		.teardown = w_teardown,
		.victim = w_victim,
		.other = w_other,
		.resize = w_resize,
	};
	struct stall_stats st;
	int ret;

	total_ops = total_eagain = 0;
	/* Every point must be reached: the victim passes through all. */
	ret = stall_run(&s, true, &st, stdout);
	ASSERT_NO_RECORDS();
	stall_print(stdout, name, npoints, &st);
	printf("stall %s: %" PRIu64 " operations by the others, %" PRIu64
	       " allocs found no free slot\n", name, total_ops, total_eagain);
	assert_int_equal(ret, 0);
	assert_int_equal(st.reached, npoints);
}

static void others_finish_and_resizes_complete_with_a_reader_parked(void **state)
{
	(void)state;
	run_points("array reader", reader_points, ARRAY_SIZE(reader_points),
		   &parked_reader);
}

static void others_finish_and_resizes_complete_with_a_reclaimer_parked(void **state)
{
	(void)state;
	run_points("array reclaim", reclaim_points, ARRAY_SIZE(reclaim_points),
		   &parked_reclaim);
}

static void others_finish_and_resizes_are_deferred_with_a_resizer_parked(void **state)
{
	(void)state;
	run_points("array resize", resize_points, ARRAY_SIZE(resize_points),
		   &parked_resizer);
}

/* ---- a shrink that needs a grace period ----------------------------------- */

struct held_reader {
	pthread_t th;
	bool inside, leave;
};

static void *reader_main(void *arg)
{
	struct held_reader *r = arg;
	rsz_flavor_t f = rsz_default_flavor();

	f->register_thread();
	rsz_rcu_read_lock(f);
	__atomic_store_n(&r->inside, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->leave, __ATOMIC_ACQUIRE))
		rsz_yield();
	rsz_rcu_read_unlock(f);
	f->unregister_thread();
	return NULL;
}

struct call {
	pthread_t th;
	struct rsz_array *a;
	uint64_t n;
	int ret;
	bool done;
};

static void *shrink_main(void *arg)
{
	struct call *c = arg;
	rsz_flavor_t f = rsz_default_flavor();

	f->register_thread();
	c->ret = rsz_array_shrink(c->a, RSZ_GROW_WAIT);
	f->unregister_thread();
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void *grow_main(void *arg)
{
	struct call *c = arg;
	rsz_flavor_t f = rsz_default_flavor();

	f->register_thread();
	c->ret = rsz_array_grow(c->a, c->n, RSZ_GROW_WAIT);
	f->unregister_thread();
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Poll @done for up to @ms milliseconds. */
static bool within(const bool *done, unsigned int ms)
{
	for (unsigned int i = 0; i < ms && !__atomic_load_n(done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return __atomic_load_n(done, __ATOMIC_ACQUIRE);
}

static uint64_t capacity_within(struct rsz_array *a, uint64_t want, unsigned int ms)
{
	for (unsigned int i = 0; i < ms && stat_of(a).capacity != want; i++)
		usleep(1000);
	return stat_of(a).capacity;
}

/* 1024 slots, the top segment's 512 released while a reader holds its
 * section: to drop that segment a shrink must wait for their grace
 * period, which the reader holds up. */
static struct rsz_array *half_released(void)
{
	RSZ_OPTS(rsz_array_opts, o, .value_size = 8);
	struct rsz_array *a = rsz_array_new(&o);
	uint64_t idx;

	assert_non_null(a);
	assert_int_equal(rsz_array_set_watermarks(a, 0, 0), 0);
	assert_int_equal(rsz_array_grow(a, 1024, RSZ_GROW_WAIT), 0);
	for (uint64_t i = 0; i < 1024; i++) {
		assert_int_equal(rsz_array_alloc(a, &idx), 0);
		assert_int_equal(idx, i);
	}
	return a;
}

static void release_top_half(struct rsz_array *a)
{
	for (uint64_t i = 512; i < 1024; i++)
		assert_int_equal(rsz_array_release(a, i), 0);
}

static void finish(struct rsz_array *a)
{
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(rsz_array_release(a, i), 0);
	rsz_array_destroy(a);
}

/*
 * The legitimate wait, and what must not wait behind it. A shrink that
 * needs released slots back waits for their grace period: RSZ_GROW_WAIT
 * blocks its caller until the reader leaves, without holding the resize
 * lock meanwhile (a grow completes); RSZ_GROW_ASYNC returns at once and
 * the worker, which never waits for a grace period (another array's grow
 * completes meanwhile), runs the shrink again after the reclaim batch.
 */
static void a_shrink_waiting_for_released_slots_blocks_no_one_else(void **state)
{
	rsz_flavor_t f = rsz_default_flavor();
	struct held_reader r = { 0 };
	struct call sh = { 0 }, gr = { 0 };
	RSZ_OPTS(rsz_array_opts, o, .value_size = 8);
	struct rsz_array *a, *b;
	uint64_t idx;

	(void)state;
	f->register_thread();
	/* RSZ_GROW_WAIT. */
	a = half_released();
	pthread_create(&r.th, NULL, reader_main, &r);
	while (!__atomic_load_n(&r.inside, __ATOMIC_ACQUIRE))
		rsz_yield();
	release_top_half(a);
	sh.a = a;
	pthread_create(&sh.th, NULL, shrink_main, &sh);
	assert_false(within(&sh.done, 50));	/* waits for the reader: intended */
	gr.a = a;
	gr.n = 4096;
	pthread_create(&gr.th, NULL, grow_main, &gr);
	if (!within(&gr.done, 5000))
		fail_msg("a grow waited behind a shrink that waits for a grace period");
	assert_int_equal(gr.ret, 0);
	assert_int_equal(rsz_array_alloc(a, &idx), 0);	/* the data path goes on */
	assert_int_equal(rsz_array_release(a, idx), 0);
	__atomic_store_n(&r.leave, true, __ATOMIC_RELEASE);
	pthread_join(r.th, NULL);
	pthread_join(gr.th, NULL);
	pthread_join(sh.th, NULL);
	assert_int_equal(sh.ret, 0);
	/* The slot released above may come after that shrink's harvest (the
	 * two ran concurrently); run alone, a shrink gets to the allocated
	 * half. */
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_WAIT), 0);
	assert_int_equal(stat_of(a).capacity, 512);
	finish(a);

	/* RSZ_GROW_ASYNC, nobody calling maintain. */
	a = half_released();
	b = rsz_array_new(&o);
	assert_non_null(b);
	r = (struct held_reader){ 0 };
	pthread_create(&r.th, NULL, reader_main, &r);
	while (!__atomic_load_n(&r.inside, __ATOMIC_ACQUIRE))
		rsz_yield();
	release_top_half(a);
	assert_int_equal(rsz_array_shrink(a, RSZ_GROW_ASYNC), -EINPROGRESS);
	assert_int_equal(rsz_array_grow(b, 4096, RSZ_GROW_ASYNC), -EINPROGRESS);
	if (capacity_within(b, 4096, 5000) != 4096)
		fail_msg("the worker waited for a grace period a reader holds up");
	assert_int_equal(stat_of(a).capacity, 1024);	/* still waiting: intended */
	__atomic_store_n(&r.leave, true, __ATOMIC_RELEASE);
	pthread_join(r.th, NULL);
	if (capacity_within(a, 512, 10000) != 512)
		fail_msg("the deferred shrink did not run after the grace period "
			 "(capacity %" PRIu64 ")", stat_of(a).capacity);
	finish(a);
	rsz_array_destroy(b);
	f->unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(others_finish_and_resizes_complete_with_a_reader_parked),
		cmocka_unit_test(others_finish_and_resizes_complete_with_a_reclaimer_parked),
		cmocka_unit_test(others_finish_and_resizes_are_deferred_with_a_resizer_parked),
		cmocka_unit_test(a_shrink_waiting_for_released_slots_blocks_no_one_else),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
