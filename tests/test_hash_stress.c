/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * The hash map under concurrency: more threads than the machine's cores,
 * workers record violations, the main thread asserts invariants (nothing
 * lost, nothing duplicated, exact counts) after joining them.
 *
 * Tests (a) and (b) also run with random delays at every stall point
 * (support/stall.h: a yield or a 50 us sleep inside update, delete and
 * migration steps), so that threads are preempted between the atomic
 * steps of an operation far more often than the scheduler alone would.
 *
 * Full counts in the plain build; RSZ_TEST_SCALE < 1 (sanitizers) scales
 * them down with test_scaled(), and RSZ_TEST_SCALE=100 (`tools/dev long')
 * runs them a hundred times longer. Each test prints the operations and
 * resizes it did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

#include <urcu/urcu-memb.h>

#define FL (&urcu_memb_flavor)
#define HASHTEST_STRESS	/* keys beyond the release recorder's range */
#include "hashtest.h"
#include "stall.h"

/* A yield at one stall-point hit in DELAY_ONE_IN, a 50 us sleep at one in
 * 8 * DELAY_ONE_IN. */
#define DELAY_ONE_IN 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st_(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* The shared state of one concurrent test. */
struct run {
	struct rsz_hash *h;
	uint64_t stop;		/* set by main: workers finish */
	uint64_t stable;	/* keys [0, stable) are present the whole time */
	uint64_t lookups[8];	/* per reader */
	uint64_t incs[8];	/* per incrementer */
	uint64_t created[8];	/* (a): elements each writer created */
	uint64_t cycles;	/* grow+shrink cycles the resizer completed */
	uint64_t max_cycles;	/* the resizer stops after this many (0: until stop) */
	uint64_t big, small;	/* the resizer's alternating grow targets */
	uint64_t walks;		/* (e): full walks to do, */
	uint64_t walks_started;	/* and claimed so far */
	bool prealloc;
};

struct worker {
	struct run *r;
	int id;
	pthread_t t;
};

static bool stopping(struct run *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) != 0;
}

/* Grows and shrinks the map as fast as it can, with alternating targets. */
static void *resizer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;

	urcu_memb_register_thread();
	while (!stopping(r) && (!r->max_cycles || ld(&r->cycles) < r->max_cycles)) {
		uint64_t target = ld(&r->cycles) % 2 ? r->big : r->big / 2 + r->small;
		int e1 = rsz_hash_grow(r->h, target, RSZ_GROW_WAIT);
		int e2 = rsz_hash_shrink(r->h, RSZ_GROW_WAIT);

		TEST_CHECK(e1 == 0, "grow WAIT to %llu returned %d",
			   (unsigned long long)target, e1);
		TEST_CHECK(e2 == 0, "shrink WAIT returned %d", e2);
		__atomic_add_fetch(&r->cycles, 1, __ATOMIC_RELAXED);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void start(struct worker *w, struct run *r, int id, void *(*fn)(void *))
{
	w->r = r;
	w->id = id;
	if (pthread_create(&w->t, NULL, fn, w))
		fail_msg("pthread_create");
}

/* ---- (a) readers never miss a stable key --------------------------------- */

static void *stable_reader(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t seed = 0x1234 + (uint64_t)w->id, n = 0;

	urcu_memb_register_thread();
	while (!stopping(r)) {
		test_rcu_read_lock(&urcu_memb_flavor);
		for (int i = 0; i < 256; i++) {
			uint64_t k = test_rand(&seed) % r->stable;
			uint64_t *p = rsz_hash_lookup(r->h, &k);

			if (!p)
				TEST_RECORD("lookup of stable key %llu missed after %llu lookups",
					    (unsigned long long)k, (unsigned long long)n);
			else if (*p != val_of(k))
				TEST_RECORD("stable key %llu: value %llx, expected %llx",
					    (unsigned long long)k, (unsigned long long)*p,
					    (unsigned long long)val_of(k));
		}
		test_rcu_read_unlock(&urcu_memb_flavor);
		n += 256;
		st_(&r->lookups[w->id], n);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* Owns keys [base, base + 4096): its model is exact. */
static void *churn_writer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	enum { KEYS = 4096 };
	uint64_t base = 1000000 + (uint64_t)w->id * 100000, seed = 77 + (uint64_t)w->id;
	uint64_t created = 0;
	static __thread uint64_t model[KEYS];	/* 0: absent, else value */

	memset(model, 0, sizeof(model));
	urcu_memb_register_thread();
	while (!stopping(r)) {
		uint64_t i = test_rand(&seed) % KEYS, k = base + i, v, got;
		int e;

		switch (test_rand(&seed) % 4) {
		case 0:
			v = test_rand(&seed) | 1;
			e = put(r->h, k, v, model[i] ? RSZ_EXIST : RSZ_NOEXIST);
			if (e == 0) {
				model[i] = v;
				created++;	/* an insert or a replace */
			} else if (!(r->prealloc && e == -EAGAIN))
				TEST_RECORD("writer update of key %llu: %d", (unsigned long long)k, e);
			break;
		case 1:
			v = test_rand(&seed) | 1;
			e = put(r->h, k, v, model[i] ? RSZ_NOEXIST : RSZ_EXIST);
			TEST_CHECK(e == (model[i] ? -EEXIST : -ENOENT),
				   "writer wrong-flag update of key %llu: %d", (unsigned long long)k, e);
			break;
		case 2:
			e = del(r->h, k);
			TEST_CHECK(e == (model[i] ? 0 : -ENOENT),
				   "writer delete of key %llu: %d (model %llx)",
				   (unsigned long long)k, e, (unsigned long long)model[i]);
			model[i] = 0;
			break;
		default:
			e = get(r->h, k, &got);
			if (model[i])
				TEST_CHECK(e == 0 && got == model[i],
					   "writer lookup of key %llu: %d, %llx != %llx",
					   (unsigned long long)k, e, (unsigned long long)got,
					   (unsigned long long)model[i]);
			else
				TEST_CHECK(e == -ENOENT, "writer lookup of absent key %llu: %d",
					   (unsigned long long)k, e);
			break;
		}
	}
	st_(&r->created[w->id], created);
	urcu_memb_unregister_thread();
	return NULL;
}

static uint64_t sum(const uint64_t *a, int n)
{
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += ld(&a[i]);
	return s;
}

static void stable_keys(struct env *e, bool delays)
{
	struct run r = { .stable = 1000, .big = 32768, .small = 4096 };
	enum { READERS = 3, WRITERS = 2 };
	struct worker rd[READERS], wr[WRITERS], rs;
	/*
	 * With delays the run is timed instead (at least two grows and two
	 * shrinks): a migration passes a stall point per slot, and a yield
	 * with more runnable threads than cores costs up to a time slice, so
	 * what a count of resizes costs depends on the machine's load (one
	 * run did 100 in 1.7 s, the next in 128 s).
	 */
	uint64_t want_lookups = delays ? 1 : test_scaled(100000000, 200000);
	uint64_t want_resizes = delays ? 2 : test_scaled(1000, 20);
	double t0 = now(), deadline = t0 + 600 * (test_scale() > 1 ? test_scale() : 1);
	double until = t0 + (delays ? (double)test_scaled(8, 1) : 0);
	struct rsz_hash_stat st;

	r.h = mk(e, 0, 1024, 0);
	if (delays)
		stall_delays_begin(DELAY_ONE_IN);
	for (uint64_t k = 0; k < r.stable; k++)
		assert_int_equal(ins(r.h, k, RSZ_NOEXIST), 0);
	for (int i = 0; i < READERS; i++)
		start(&rd[i], &r, i, stable_reader);
	for (int i = 0; i < WRITERS; i++)
		start(&wr[i], &r, i, churn_writer);
	start(&rs, &r, 0, resizer);
	for (;;) {
		st = hstat(r.h);
		if (sum(r.lookups, READERS) >= want_lookups && now() >= until &&
		    st.nr_grow >= want_resizes && st.nr_shrink >= want_resizes)
			break;
		if (now() > deadline || test_failures.count)
			break;
		usleep(10000);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i].t, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wr[i].t, NULL);
	pthread_join(rs.t, NULL);
	if (delays)
		stall_delays_end(stdout, "(a)");
	st = hstat(r.h);
	print_message("(a)%s %.1f s: %llu lookups by %d readers, %llu writer updates, %llu "
		      "grows, %llu shrinks, %llu resizer cycles\n", delays ? " with delays" : "",
		      now() - t0,
		      (unsigned long long)sum(r.lookups, READERS), READERS,
		      (unsigned long long)sum(r.created, WRITERS),
		      (unsigned long long)st.nr_grow, (unsigned long long)st.nr_shrink,
		      (unsigned long long)r.cycles);
	ASSERT_NO_RECORDS();
	assert_true(sum(r.lookups, READERS) >= want_lookups);
	assert_true(st.nr_grow >= want_resizes);
	assert_true(st.nr_shrink >= want_resizes);
	for (uint64_t k = 0; k < r.stable; k++) {
		uint64_t v;

		assert_int_equal(get(r.h, k, &v), 0);
		assert_int_equal(v, val_of(k));
	}
	assert_exact_accounting(e);
	/* Every element created left exactly once: by delete, by replace or
	 * at destroy. */
	rsz_hash_destroy(r.h);
	e->h = NULL;
	assert_int_equal(rel_calls(&e->rel), r.stable + sum(r.created, WRITERS));
}

static void readers_never_miss_stable_keys_while_writers_and_resizer_run(void **state)
{
	stable_keys(*state, false);
}

static void readers_never_miss_stable_keys_with_random_delays(void **state)
{
	stable_keys(*state, true);
}

/* ---- (b) in-place increments survive resizes ----------------------------- */

static void *incrementer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t seed = 5 + (uint64_t)w->id, n = 0;

	urcu_memb_register_thread();
	while (!stopping(r)) {
		test_rcu_read_lock(&urcu_memb_flavor);
		for (int i = 0; i < 64; i++) {
			uint64_t k = test_rand(&seed) % r->stable;
			uint64_t *p = rsz_hash_lookup(r->h, &k);

			if (!p) {
				TEST_RECORD("counter key %llu missing", (unsigned long long)k);
				continue;
			}
			__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
			n++;
		}
		test_rcu_read_unlock(&urcu_memb_flavor);
		st_(&r->lookups[w->id], n);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* Inserts and deletes keys of its own, so that migrations have work. */
static void *inserter_deleter(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t base = 1u << 30, k;

	urcu_memb_register_thread();
	while (!stopping(r)) {
		for (k = 0; k < 3000 && !stopping(r); k++) {
			int e = ins(r->h, base + k, RSZ_NOEXIST);

			TEST_CHECK(e == 0 || (r->prealloc && e == -EAGAIN),
				   "churn insert %llu: %d", (unsigned long long)k, e);
		}
		for (k = 0; k < 3000; k++) {
			int e = del(r->h, base + k);

			TEST_CHECK(e == 0 || e == -ENOENT, "churn delete: %d", e);
		}
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void in_place_increments(struct env *e, bool prealloc)
{
	struct run r = { .stable = 256, .big = 16384, .small = 1024, .prealloc = prealloc };
	enum { INCS = 3 };
	struct worker inc[INCS], rs, ch;
	uint64_t per = test_scaled(4000000, 20000), total = 0, done = 0;
	double deadline = now() + 300;
	struct rsz_hash_stat st0, st;

	r.h = mk(e, prealloc ? RSZ_F_PREALLOC : 0, 512, 0);
	for (uint64_t k = 0; k < r.stable; k++)
		assert_int_equal(put(r.h, k, 0, RSZ_NOEXIST), 0);
	st0 = hstat(r.h);
	for (int i = 0; i < INCS; i++)
		start(&inc[i], &r, i, incrementer);
	start(&rs, &r, 0, resizer);
	start(&ch, &r, 0, inserter_deleter);
	/* Until enough increments and at least two grows and two shrinks
	 * happened under them (slow under sanitizers, hence no fixed count). */
	for (;;) {
		st = hstat(r.h);
		if (sum(r.lookups, INCS) >= INCS * per && st.nr_grow - st0.nr_grow >= 2 &&
		    st.nr_shrink - st0.nr_shrink >= 2)
			break;
		if (now() > deadline || test_failures.count)
			break;
		usleep(10000);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < INCS; i++)
		pthread_join(inc[i].t, NULL);
	pthread_join(rs.t, NULL);
	pthread_join(ch.t, NULL);
	ASSERT_NO_RECORDS();
	for (int i = 0; i < INCS; i++)
		done += r.lookups[i];
	for (uint64_t k = 0; k < r.stable; k++) {
		uint64_t v;

		assert_int_equal(get(r.h, k, &v), 0);
		total += v;
	}
	st = hstat(r.h);
	print_message("(b) %s: %llu increments, %llu counted, %llu grows, %llu shrinks\n",
		      prealloc ? "prealloc" : "default", (unsigned long long)done,
		      (unsigned long long)total,
		      (unsigned long long)(st.nr_grow - st0.nr_grow),
		      (unsigned long long)(st.nr_shrink - st0.nr_shrink));
	assert_true(done >= INCS * per);
	assert_int_equal(total, done);
	assert_true(st.nr_grow - st0.nr_grow >= 2);
	assert_true(st.nr_shrink - st0.nr_shrink >= 2);
	assert_exact_accounting(e);
}

static void in_place_increments_are_never_lost_across_resizes(void **state)
{
	in_place_increments(*state, false);
}

static void prealloc_in_place_increments_are_never_lost_across_resizes(void **state)
{
	in_place_increments(*state, true);
}

/* ---- (c) replace atomicity ----------------------------------------------- */

#define VW 8	/* 64-byte values */

static void make_value(uint64_t *v, uint64_t x)
{
	v[0] = x;
	for (int i = 1; i < VW; i++)
		v[i] = ~x * (uint64_t)(2 * i + 1) ^ (uint64_t)i << 56;
}

static bool value_ok(const uint64_t *v)
{
	uint64_t want[VW];

	make_value(want, v[0]);
	return memcmp(want, v, sizeof(want)) == 0;
}

static void *replacer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t seed = 11 + (uint64_t)w->id, x = (uint64_t)(w->id + 1) << 48, n = 0;

	urcu_memb_register_thread();
	while (!stopping(r)) {
		uint64_t k = test_rand(&seed) % r->stable, v[VW];
		int e;

		make_value(v, ++x);
		e = rsz_hash_update(r->h, &k, v, test_rand(&seed) % 2 ? RSZ_EXIST : RSZ_ANY);
		if (e == 0)
			n++;
		else
			TEST_CHECK(r->prealloc && e == -EAGAIN, "replace of key %llu: %d",
				   (unsigned long long)k, e);
	}
	st_(&r->incs[w->id], n);
	urcu_memb_unregister_thread();
	return NULL;
}

static void *atomicity_reader(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t seed = 3 + (uint64_t)w->id, n = 0;

	urcu_memb_register_thread();
	while (!stopping(r)) {
		uint64_t k = test_rand(&seed) % r->stable, copy[VW];
		int e;

		test_rcu_read_lock(&urcu_memb_flavor);
		for (int i = 0; i < 32; i++) {
			const uint64_t *p = rsz_hash_lookup(r->h, &k);
			uint64_t snap[VW];

			if (!p) {
				TEST_RECORD("replaced key %llu missing", (unsigned long long)k);
				break;
			}
			memcpy(snap, p, sizeof(snap));
			if (!value_ok(snap))
				TEST_RECORD("key %llu: torn value through lookup pointer (x=%llx)",
					    (unsigned long long)k, (unsigned long long)snap[0]);
			/* The element under a pointer we hold never changes. */
			memcpy(copy, p, sizeof(copy));
			if (memcmp(copy, snap, sizeof(copy)))
				TEST_RECORD("key %llu: value changed under a held pointer",
					    (unsigned long long)k);
			n++;
		}
		test_rcu_read_unlock(&urcu_memb_flavor);
		e = rsz_hash_lookup_copy(r->h, &k, copy);
		if (e || !value_ok(copy))
			TEST_RECORD("key %llu: lookup_copy %d, torn %d", (unsigned long long)k,
				    e, e ? 0 : !value_ok(copy));
		n++;
		st_(&r->lookups[w->id], n);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void replace_atomicity(struct env *e, bool prealloc)
{
	struct run r = { .stable = 64, .big = 8192, .small = 256, .prealloc = prealloc };
	struct rsz_hash_opts o = env_opts(e, prealloc ? RSZ_F_PREALLOC : 0, 128, 0);
	enum { READERS = 3, REPLACERS = 2 };
	struct worker rd[READERS], rp[REPLACERS], rs;
	uint64_t want = test_scaled(20000000, 50000);
	double deadline = now() + 300;

	o.value_size = VW * 8;
	o.release = NULL;
	r.h = mk_opts(e, &o);
	for (uint64_t k = 0; k < r.stable; k++) {
		uint64_t v[VW];

		make_value(v, k);
		assert_int_equal(rsz_hash_update(r.h, &k, v, RSZ_NOEXIST), 0);
	}
	for (int i = 0; i < READERS; i++)
		start(&rd[i], &r, i, atomicity_reader);
	for (int i = 0; i < REPLACERS; i++)
		start(&rp[i], &r, i, replacer);
	start(&rs, &r, 0, resizer);
	while (sum(r.lookups, READERS) < want && now() < deadline && !test_failures.count)
		usleep(10000);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i].t, NULL);
	for (int i = 0; i < REPLACERS; i++)
		pthread_join(rp[i].t, NULL);
	pthread_join(rs.t, NULL);
	print_message("(c) %s: %llu checked reads, %llu replaces, %llu resize cycles\n",
		      prealloc ? "prealloc" : "default",
		      (unsigned long long)sum(r.lookups, READERS),
		      (unsigned long long)sum(r.incs, REPLACERS), (unsigned long long)r.cycles);
	ASSERT_NO_RECORDS();
	assert_true(sum(r.incs, REPLACERS) > 1000);
	assert_true(sum(r.lookups, READERS) > 1000);
	assert_exact_accounting(e);
}

static void replace_is_atomic_for_readers(void **state)
{
	replace_atomicity(*state, false);
}

static void prealloc_replace_is_atomic_for_readers(void **state)
{
	replace_atomicity(*state, true);
}

/* ---- (d) exact max_entries under racing inserts -------------------------- */

enum { RACERS = 6, PER_RACER = 3 };

struct race {
	pthread_barrier_t go, done;
	struct rsz_hash *h;
	uint64_t round;
	int attempts[RACERS];	/* keys each racer inserts this round */
	int ok[RACERS], e2big[RACERS], other[RACERS];
	bool quit;
};

static void *racer(void *arg)
{
	struct worker *w = arg;
	struct race *rc = (struct race *)(void *)w->r;

	urcu_memb_register_thread();
	for (;;) {
		pthread_barrier_wait(&rc->go);
		if (rc->quit)
			break;
		rc->ok[w->id] = rc->e2big[w->id] = rc->other[w->id] = 0;
		for (int i = 0; i < rc->attempts[w->id]; i++) {
			uint64_t k = (rc->round << 20) | (uint64_t)(w->id * PER_RACER + i) | 1u << 16;
			int e = ins(rc->h, k, RSZ_NOEXIST);

			if (e == 0)
				rc->ok[w->id]++;
			else if (e == -E2BIG)
				rc->e2big[w->id]++;
			else {
				rc->other[w->id]++;
				TEST_RECORD("racing insert: %d", e);
			}
		}
		pthread_barrier_wait(&rc->done);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void max_entries_race(struct env *e, bool prealloc)
{
	struct race rc = { 0 };
	struct worker w[RACERS];
	uint64_t rounds = test_scaled(3000, 100), seed = 42, max = 64;
	uint64_t exact_hits = 0;

	pthread_barrier_init(&rc.go, NULL, RACERS + 1);
	pthread_barrier_init(&rc.done, NULL, RACERS + 1);
	rc.h = mk(e, prealloc ? RSZ_F_PREALLOC : 0, 16, max);
	if (prealloc)
		assert_int_equal(rsz_hash_grow(rc.h, max, RSZ_GROW_WAIT), 0);
	for (int i = 0; i < RACERS; i++) {
		w[i].r = (struct run *)(void *)&rc;
		w[i].id = i;
		assert_int_equal(pthread_create(&w[i].t, NULL, racer, &w[i]), 0);
	}
	for (uint64_t round = 1; round <= rounds; round++) {
		uint64_t free_ = test_rand(&seed) % 10, count, k_total = 0, ok = 0, big = 0;
		uint64_t cap_before;
		struct rsz_hash_stat st;

		/* bring count to max - free_ with keys of this round's prefill */
		count = hstat(rc.h).count;
		for (uint64_t k = 0; count > max - free_; k++) {
			uint64_t got, key;

			assert_int_equal(rsz_hash_get_next_key(rc.h, NULL, &got), 0);
			key = got;
			assert_int_equal(del(rc.h, key), 0);
			count--;
			(void)k;
		}
		for (uint64_t k = 0; count < max - free_; k++) {
			int r = ins(rc.h, (round << 20) | k | 1u << 19, RSZ_NOEXIST);

			if (r == -EAGAIN && prealloc) {
				quiesce(e, rc.h);
				k--;
				continue;
			}
			assert_int_equal(r, 0);
			count++;
		}
		if (prealloc) {
			/* freed elements back in the pool, and the pool full:
			 * capacity (count + free elements) reaches max */
			quiesce(e, rc.h);
			assert_int_equal(rsz_hash_grow(rc.h, max, RSZ_GROW_WAIT), 0);
			if (hstat(rc.h).capacity < max)
				fail_msg("round %llu: capacity %llu < max_entries %llu after grow WAIT",
					 (unsigned long long)round,
					 (unsigned long long)hstat(rc.h).capacity,
					 (unsigned long long)max);
		}
		assert_int_equal(hstat(rc.h).count, max - free_);
		cap_before = hstat(rc.h).capacity;
		rc.round = round;
		for (int i = 0; i < RACERS; i++) {
			rc.attempts[i] = (int)(test_rand(&seed) % (PER_RACER + 1));
			k_total += (uint64_t)rc.attempts[i];
		}
		pthread_barrier_wait(&rc.go);
		pthread_barrier_wait(&rc.done);
		for (int i = 0; i < RACERS; i++) {
			ok += (uint64_t)rc.ok[i];
			big += (uint64_t)rc.e2big[i];
		}
		st = hstat(rc.h);
		if (test_failures.count)
			print_error("round %llu: %llu racing inserts into %llu free entries "
				    "(capacity %llu before, %llu after): %llu succeeded, %llu E2BIG\n",
				    (unsigned long long)round, (unsigned long long)k_total,
				    (unsigned long long)free_, (unsigned long long)cap_before,
				    (unsigned long long)st.capacity,
				    (unsigned long long)ok, (unsigned long long)big);
		ASSERT_NO_RECORDS();
		if (ok != (k_total < free_ ? k_total : free_) || ok + big != k_total ||
		    st.count != max - free_ + ok)
			fail_msg("round %llu: %llu racing inserts into %llu free entries: "
				 "%llu succeeded, %llu E2BIG, count %llu (max %llu)",
				 (unsigned long long)round, (unsigned long long)k_total,
				 (unsigned long long)free_, (unsigned long long)ok,
				 (unsigned long long)big, (unsigned long long)st.count,
				 (unsigned long long)max);
		exact_hits += k_total > free_;
	}
	rc.quit = true;
	pthread_barrier_wait(&rc.go);
	for (int i = 0; i < RACERS; i++)
		pthread_join(w[i].t, NULL);
	pthread_barrier_destroy(&rc.go);
	pthread_barrier_destroy(&rc.done);
	print_message("(d) %s: %llu rounds, %llu with more racers than free entries\n",
		      prealloc ? "prealloc" : "default", (unsigned long long)rounds,
		      (unsigned long long)exact_hits);
	ASSERT_NO_RECORDS();
	assert_exact_accounting(e);
}

static void racing_inserts_stop_exactly_at_max_entries(void **state)
{
	max_entries_race(*state, false);
}

static void prealloc_racing_inserts_stop_exactly_at_max_entries(void **state)
{
	max_entries_race(*state, true);
}

/* ---- (e) iteration exactly once under resizes ---------------------------- */

#define CHURN_BASE 100000u
#define CHURN_KEYS 20000u

static void *walker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t total = r->stable + CHURN_KEYS, nwalks = 0;
	uint8_t *seen = calloc(total, 1);

	urcu_memb_register_thread();
	while (seen && __atomic_fetch_add(&r->walks_started, 1, __ATOMIC_RELAXED) < r->walks) {
		uint64_t cur, next, stable_seen = 0;
		int e;

		memset(seen, 0, total);
		e = rsz_hash_get_next_key(r->h, NULL, &next);
		while (e == 0) {
			uint64_t idx = next < r->stable ? next :
				next >= CHURN_BASE && next < CHURN_BASE + CHURN_KEYS ?
				r->stable + next - CHURN_BASE : UINT64_MAX;

			if (idx == UINT64_MAX) {
				TEST_RECORD("walk returned a key never inserted: %llu",
					    (unsigned long long)next);
				break;
			}
			if (seen[idx]++)
				TEST_RECORD("walk %llu returned key %llu twice",
					    (unsigned long long)nwalks, (unsigned long long)next);
			stable_seen += next < r->stable;
			cur = next;
			e = rsz_hash_get_next_key(r->h, &cur, &next);
		}
		TEST_CHECK(e == -ENOENT || e == 0, "walk ended with %d", e);
		if (stable_seen != r->stable) {
			uint64_t missing = 0;

			for (uint64_t k = 0; k < r->stable; k++)
				if (!seen[k]) {
					missing = k;
					break;
				}
			TEST_RECORD("walk %llu saw %llu of %llu stable keys (e.g. %llu missing)",
				    (unsigned long long)nwalks, (unsigned long long)stable_seen,
				    (unsigned long long)r->stable, (unsigned long long)missing);
		}
		nwalks++;
	}
	st_(&r->lookups[w->id], nwalks);
	free(seen);
	urcu_memb_unregister_thread();
	return NULL;
}

static void *churner(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t seed = 1000 + (uint64_t)w->id;

	urcu_memb_register_thread();
	while (!stopping(r)) {
		uint64_t k = CHURN_BASE + (uint64_t)w->id * (CHURN_KEYS / 2) +
			test_rand(&seed) % (CHURN_KEYS / 2);
		int e = test_rand(&seed) % 2 ? ins(r->h, k, RSZ_ANY) : del(r->h, k);

		TEST_CHECK(e == 0 || e == -ENOENT || (r->prealloc && e == -EAGAIN),
			   "churn on key %llu: %d", (unsigned long long)k, e);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void walk_exactly_once(struct env *e, bool prealloc)
{
	struct run r = { .stable = 2000, .big = 65536, .small = 2048, .prealloc = prealloc };
	enum { WALKERS = 2, CHURNERS = 2 };
	struct worker wk[WALKERS], ch[CHURNERS], rs;
	uint64_t walks = test_scaled(400, 10);
	struct rsz_hash_stat st0, st;

	r.walks = walks;
	r.h = mk(e, prealloc ? RSZ_F_PREALLOC : 0, 64, 0);
	for (uint64_t k = 0; k < r.stable; k++)
		while (ins(r.h, k, RSZ_NOEXIST) == -EAGAIN)
			usleep(1000);
	assert_int_equal(hstat(r.h).count, r.stable);
	st0 = hstat(r.h);
	for (int i = 0; i < CHURNERS; i++)
		start(&ch[i], &r, i, churner);
	start(&rs, &r, 0, resizer);
	for (int i = 0; i < WALKERS; i++)
		start(&wk[i], &r, i, walker);
	for (int i = 0; i < WALKERS; i++)
		pthread_join(wk[i].t, NULL);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(ch[i].t, NULL);
	pthread_join(rs.t, NULL);
	st = hstat(r.h);
	print_message("(e) %s: %llu full walks, %llu grows, %llu shrinks meanwhile\n",
		      prealloc ? "prealloc" : "default",
		      (unsigned long long)sum(r.lookups, WALKERS),
		      (unsigned long long)(st.nr_grow - st0.nr_grow),
		      (unsigned long long)(st.nr_shrink - st0.nr_shrink));
	ASSERT_NO_RECORDS();
	assert_int_equal(sum(r.lookups, WALKERS), walks);
	assert_true(st.nr_grow - st0.nr_grow >= 2);
	assert_exact_accounting(e);
}

static void walk_returns_stable_keys_exactly_once_under_resizes(void **state)
{
	walk_exactly_once(*state, false);
}

static void prealloc_walk_returns_stable_keys_exactly_once_under_resizes(void **state)
{
	walk_exactly_once(*state, true);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(readers_never_miss_stable_keys_while_writers_and_resizer_run),
		T(readers_never_miss_stable_keys_with_random_delays),
		T(in_place_increments_are_never_lost_across_resizes),
		T(prealloc_in_place_increments_are_never_lost_across_resizes),
		T(replace_is_atomic_for_readers),
		T(prealloc_replace_is_atomic_for_readers),
		T(racing_inserts_stop_exactly_at_max_entries),
		T(prealloc_racing_inserts_stop_exactly_at_max_entries),
		T(walk_returns_stable_keys_exactly_once_under_resizes),
		T(prealloc_walk_returns_stable_keys_exactly_once_under_resizes),
	};

	/* RSZ_TEST_FILTER=pattern runs only the matching tests. */
	if (getenv("RSZ_TEST_FILTER"))
		cmocka_set_test_filter(getenv("RSZ_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
