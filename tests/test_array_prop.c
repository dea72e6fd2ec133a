/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Property test of the segmented array (suite property): random sequences
 * of every public operation (update, lookup, alloc, release, grow and
 * shrink in both modes, maintain, watermarks, stat, bad input) on an
 * RSZ_F_MANUAL array, so that every step is deterministic, against a plain
 * model: per index its value and whether the slot is free, allocated, or
 * released and waiting for a grace period (rsz_array_maintain() waits for
 * it). Capacity after a resize is read back and checked against the
 * contract's bounds, not predicted. Index ranges of 1, 10 and 10^6.
 *
 * Replay: RSZ_PROP_SEED=<seed> [RSZ_PROP_OPS=<n>] test_array_prop
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rsz/array.h>

#include "platform.h"
#include "prop.h"
#include "testutil.h"

/* The default flavor. Shrinks, maintains and barriers wait for grace
 * periods and liburcu's call_rcu thread, which polls every 10 ms, so they
 * are kept to about 1.5 in 1000 operations: a million operations then
 * take about 15 s, nearly all of it waiting. */
#define FLAVOR rsz_default_flavor()

#define ARRAY_PROP_SEEDS 12
#define ARRAY_PROP_OPS   80000	/* 13 x 80000 = 1.04 million at full scale */
#define VSZ_MAX 24

enum { SLOT_FREE, SLOT_USED, SLOT_PENDING };

enum akind {
	A_UPDATE,	/* idx, val seed, flags selector */
	A_LOOKUP,	/* idx */
	A_ALLOC,
	A_RELEASE,	/* idx (0: the last allocated, else raw) */
	A_GROW,		/* n, wait? */
	A_SHRINK,	/* wait? */
	A_MAINTAIN,
	A_WATERMARKS,	/* low, high */
	A_STAT,
	A_CHECK,	/* compare every element (a bounded prefix) */
	A_BAD,		/* selector: NULL arguments, unknown flags */
	A_NR,
};

struct amodel {
	struct test_alloc ta;
	struct rsz_mem *mem;
	struct rsz_array *a;
	uint64_t range;		/* index range of this seed: 1, 10 or 10^6 */
	uint64_t limit;		/* max_entries, or UINT64_MAX for none */
	uint64_t initial;
	uint32_t vsz;
	uint64_t cap;
	uint64_t model_len;	/* indices the model holds */
	unsigned char *slot;
	uint64_t *val;		/* the seed a value was made from; 0: zeroes */
	uint64_t last_alloc;
	bool have_last;
	uint64_t nused;		/* SLOT_USED */
	uint64_t busy_hi;	/* no busy slot at or above this */
	uint64_t *pending;	/* SLOT_PENDING indices, with the epoch of */
	uint64_t *pending_epoch;	/* their release */
	uint64_t npending, pending_cap;
	uint64_t epoch;		/* bumped by every op that may wait a grace period */
};

static void make_value(uint32_t vsz, uint64_t seed, unsigned char *out)
{
	for (uint32_t i = 0; i < vsz; i++)
		out[i] = seed ? (unsigned char)((seed >> (8 * (i % 8))) + i) : 0;
}

static uint64_t seed_cfg(uint64_t seed, unsigned int salt)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + salt;

	return prop_rand(&s);
}

static void *a_setup(void *ctx, uint64_t seed)
{
	static const uint64_t ranges[3] = { 1, 10, 1000000 };
	static const uint32_t vszs[3] = { 1, 8, VSZ_MAX };
	struct amodel *m = calloc(1, sizeof(*m));
	RSZ_OPTS(rsz_array_opts, o, .flags = RSZ_F_MANUAL);
	struct rsz_array_stat st;

	(void)ctx;
	if (!m)
		return NULL;
	m->range = ranges[seed_cfg(seed, 1) % 3];
	m->vsz = vszs[seed_cfg(seed, 2) % 3];
	/* Half the seeds have a cap at the range, the others none. */
	m->limit = seed_cfg(seed, 3) % 2 ? m->range : UINT64_MAX;
	m->initial = seed_cfg(seed, 4) % (m->range < 64 ? m->range + 1 : 64);
	if (seed_cfg(seed, 5) % 3 == 0)
		o.flags |= RSZ_F_SHRINK;
	test_alloc_init(&m->ta);
	m->mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	o.value_size = m->vsz;
	o.max_entries = m->limit == UINT64_MAX ? 0 : m->limit;
	o.initial_entries = m->initial;
	o.mem = m->mem;
	o.allocator = &m->ta.ops;
	m->a = m->mem ? rsz_array_new(&o) : NULL;
	/* The model covers every index an op can name and what a grow to
	 * it may round up to. */
	m->model_len = 2 * roundup_pow_of_two(m->range + m->range / 8 + 2) + 1024;
	m->slot = calloc(m->model_len, 1);
	m->val = calloc(m->model_len, sizeof(*m->val));
	if (!m->a || !m->slot || !m->val) {
		if (m->a)
			rsz_array_destroy(m->a);
		if (m->mem)
			rsz_mem_destroy(m->mem);
		free(m->slot);
		free(m->val);
		free(m);
		return NULL;
	}
	rsz_array_stat(m->a, &st, sizeof(st));
	m->cap = st.capacity;
	return m;
}

/* Index + 1 of the highest slot rsz must keep: allocated, or released
 * with no grace period since (an older release may have been reclaimed
 * already, and then a shrink may drop it). 0 if none. */
static uint64_t highest_busy(struct amodel *m)
{
	uint64_t hi;

	while (m->busy_hi && m->slot[m->busy_hi - 1] == SLOT_FREE)
		m->busy_hi--;
	hi = m->busy_hi;
	while (hi && m->slot[hi - 1] != SLOT_USED)
		hi--;
	for (uint64_t k = 0; k < m->npending; k++)
		if (m->pending_epoch[k] == m->epoch && m->pending[k] + 1 > hi)
			hi = m->pending[k] + 1;
	return hi;
}

#define FAIL(...) do { snprintf(msg, len, __VA_ARGS__); return -1; } while (0)

/* Capacity may have changed (resize, maintain): read it, check the
 * contract's bounds, and bring the model along. */
static int refresh_cap(struct amodel *m, uint64_t at_least, char *msg, size_t len)
{
	struct rsz_array_stat st;
	uint64_t old = m->cap, busy = highest_busy(m);

	rsz_array_stat(m->a, &st, sizeof(st));
	if (st.capacity > m->limit)
		FAIL("capacity %" PRIu64 " above max_entries %" PRIu64, st.capacity, m->limit);
	if (st.capacity < busy)
		FAIL("capacity %" PRIu64 " dropped slot %" PRIu64 " that is allocated or "
		     "waiting for its grace period", st.capacity, busy - 1);
	if (st.capacity < at_least)
		FAIL("capacity %" PRIu64 " below %" PRIu64, st.capacity, at_least);
	if (st.capacity < m->initial)
		FAIL("capacity %" PRIu64 " below initial_entries %" PRIu64, st.capacity,
		     m->initial);
	/* Watermark grows may take an unlimited array anywhere. */
	if (st.capacity > m->model_len) {
		uint64_t nl = st.capacity + st.capacity / 2;
		unsigned char *ns = realloc(m->slot, nl);
		uint64_t *nv;

		if (ns)
			m->slot = ns;
		nv = ns ? realloc(m->val, nl * sizeof(*nv)) : NULL;
		if (!nv)
			FAIL("model out of memory at capacity %" PRIu64, st.capacity);
		m->val = nv;
		memset(m->slot + m->model_len, 0, nl - m->model_len);
		memset(m->val + m->model_len, 0, (nl - m->model_len) * sizeof(*nv));
		m->model_len = nl;
	}
	/* Dropped indices are forgotten (released ones were reclaimed);
	 * re-added ones come back zeroed. */
	for (uint64_t k = 0; k < m->npending;) {
		if (m->pending[k] >= st.capacity) {
			m->pending[k] = m->pending[m->npending - 1];
			m->pending_epoch[k] = m->pending_epoch[m->npending - 1];
			m->npending--;
		} else {
			k++;
		}
	}
	for (uint64_t i = st.capacity; i < old; i++) {
		m->slot[i] = SLOT_FREE;
		m->val[i] = 0;
	}
	m->cap = st.capacity;
	return 0;
}

static int check_elem(struct amodel *m, uint64_t i, char *msg, size_t len)
{
	unsigned char want[VSZ_MAX];
	rsz_flavor_t f = FLAVOR;
	void *p;
	int bad;

	make_value(m->vsz, m->val[i], want);
	rsz_rcu_read_lock(f);
	p = rsz_array_lookup(m->a, i);
	bad = !p ? 1 : ((uintptr_t)p & 7) ? 2 : memcmp(p, want, m->vsz) ? 3 : 0;
	rsz_rcu_read_unlock(f);
	if (bad)
		FAIL("element %" PRIu64 " (capacity %" PRIu64 "): %s", i, m->cap,
		     bad == 1 ? "lookup NULL" : bad == 2 ? "misaligned" : "value differs");
	return 0;
}

static int a_step(void *state, const struct prop_op *op, char *msg, size_t len)
{
	struct amodel *m = state;
	rsz_flavor_t f = FLAVOR;
	uint64_t idx = op->arg[0] % (m->range + m->range / 8 + 1);
	unsigned char buf[VSZ_MAX];
	int ret;

	switch (op->kind % A_NR) {
	case A_UPDATE: {
		static const uint64_t flags[3] = { RSZ_ANY, RSZ_EXIST, RSZ_NOEXIST };
		uint64_t fl = flags[op->arg[2] % 3], vs = op->arg[1] | 1;

		make_value(m->vsz, vs, buf);
		ret = rsz_array_update(m->a, idx, buf, fl);
		if (idx >= m->cap) {
			if (ret != -E2BIG)
				FAIL("update(%" PRIu64 ") beyond capacity %" PRIu64 ": %d",
				     idx, m->cap, ret);
		} else if (fl == RSZ_NOEXIST) {
			if (ret != -EEXIST)
				FAIL("update(%" PRIu64 ", NOEXIST): %d, want -EEXIST", idx, ret);
		} else if (ret) {
			FAIL("update(%" PRIu64 "): %d", idx, ret);
		} else {
			m->val[idx] = vs;
		}
		return 0;
	}
	case A_LOOKUP: {
		void *p;

		if (idx < m->cap)
			return check_elem(m, idx, msg, len);
		rsz_rcu_read_lock(f);
		p = rsz_array_lookup(m->a, idx);
		rsz_rcu_read_unlock(f);
		if (p)
			FAIL("lookup(%" PRIu64 ") beyond capacity %" PRIu64 " not NULL", idx, m->cap);
		return 0;
	}
	case A_ALLOC: {
		uint64_t got = UINT64_MAX, nfree = m->cap - m->nused - m->npending;

		ret = rsz_array_alloc(m->a, &got);
		if (ret && nfree)
			FAIL("alloc: %d with %" PRIu64 " slots free", ret, nfree);
		if (!ret) {
			if (got < m->cap && m->slot[got] == SLOT_PENDING) {
				/* Allowed once a grace period may have passed
				 * since its release (WAIT resizes wait for one). */
				uint64_t k = 0;

				while (k < m->npending && m->pending[k] != got)
					k++;
				if (k == m->npending || m->pending_epoch[k] == m->epoch)
					FAIL("alloc handed out %" PRIu64 " within the grace period "
					     "of its release", got);
				m->pending[k] = m->pending[m->npending - 1];
				m->pending_epoch[k] = m->pending_epoch[m->npending - 1];
				m->npending--;
				m->slot[got] = SLOT_FREE;
			}
			if (got >= m->cap || m->slot[got] != SLOT_FREE)
				FAIL("alloc handed out %" PRIu64 ", which is not free", got);
			m->slot[got] = SLOT_USED;
			m->nused++;
			if (got + 1 > m->busy_hi)
				m->busy_hi = got + 1;
			m->val[got] = 0;	/* handed out zeroed */
			m->last_alloc = got;
			m->have_last = true;
			return check_elem(m, got, msg, len);
		}
		if (m->cap >= m->limit ? ret != -E2BIG : ret != -EAGAIN)
			FAIL("alloc with no free slot (capacity %" PRIu64 ", max %" PRIu64 "): %d",
			     m->cap, m->limit, ret);
		return 0;
	}
	case A_RELEASE: {
		uint64_t i = op->arg[0] % 2 && m->have_last ? m->last_alloc : idx;
		bool ok = i < m->cap && m->slot[i] == SLOT_USED;

		ret = rsz_array_release(m->a, i);
		if (ret != (ok ? 0 : -EINVAL))
			FAIL("release(%" PRIu64 "): %d, want %d", i, ret, ok ? 0 : -EINVAL);
		if (ok) {
			if (m->npending == m->pending_cap) {
				uint64_t nc = m->pending_cap ? 2 * m->pending_cap : 256;
				uint64_t *np = realloc(m->pending, nc * sizeof(*np));

				if (!np)
					FAIL("out of memory");
				m->pending = np;
				np = realloc(m->pending_epoch, nc * sizeof(*np));
				if (!np)
					FAIL("out of memory");
				m->pending_epoch = np;
				m->pending_cap = nc;
			}
			m->slot[i] = SLOT_PENDING;
			m->pending_epoch[m->npending] = m->epoch;
			m->pending[m->npending++] = i;
			m->nused--;
		}
		return 0;
	}
	case A_GROW: {
		uint64_t n = op->arg[0] % (m->range + m->range / 8 + 2);
		bool wait = op->arg[1] % 2;
		int want;

		ret = rsz_array_grow(m->a, n, wait ? RSZ_GROW_WAIT : RSZ_GROW_ASYNC);
		if (n > m->limit)
			want = -E2BIG;
		else if (n <= m->cap)
			want = 0;
		else
			want = wait ? 0 : -EINPROGRESS;
		if (ret != want)
			FAIL("grow(%" PRIu64 ", %s) at capacity %" PRIu64 ": %d, want %d", n,
			     wait ? "WAIT" : "ASYNC", m->cap, ret, want);
		m->epoch += wait;
		if (wait)
			return refresh_cap(m, n < m->limit ? n : m->limit, msg, len);
		return refresh_cap(m, 0, msg, len);
	}
	case A_SHRINK: {
		bool wait = op->arg[1] % 2;

		ret = rsz_array_shrink(m->a, wait ? RSZ_GROW_WAIT : RSZ_GROW_ASYNC);
		m->epoch += wait;
		if (ret != 0 && !(ret == -EINPROGRESS && !wait))
			FAIL("shrink(%s): %d", wait ? "WAIT" : "ASYNC", ret);
		return refresh_cap(m, 0, msg, len);
	}
	case A_MAINTAIN:
		ret = rsz_array_maintain(m->a);
		if (ret)
			FAIL("maintain: %d", ret);
		/* The grace period has passed: released slots are free again. */
		for (uint64_t i = 0; i < m->npending; i++)
			m->slot[m->pending[i]] = SLOT_FREE;
		m->npending = 0;
		m->epoch++;
		return refresh_cap(m, 0, msg, len);
	case A_WATERMARKS: {
		uint64_t lo = op->arg[0] % 64, hi = op->arg[1] % 128;

		ret = rsz_array_set_watermarks(m->a, lo, hi);
		if (ret != (hi < lo ? -EINVAL : 0))
			FAIL("set_watermarks(%" PRIu64 ", %" PRIu64 "): %d", lo, hi, ret);
		return 0;
	}
	case A_STAT: {
		struct rsz_array_stat st;
		uint64_t used = m->nused;

		memset(&st, 0xa5, sizeof(st));
		rsz_array_stat(m->a, &st, sizeof(st));
		if (st.capacity != m->cap || st.allocated != used ||
		    st.max_entries != (m->limit == UINT64_MAX ? 0 : m->limit))
			FAIL("stat: capacity %" PRIu64 " allocated %" PRIu64 " max %" PRIu64
			     "; model %" PRIu64 " %" PRIu64, st.capacity, st.allocated,
			     st.max_entries, m->cap, used);
		/* Frees deferred to the call_rcu thread change the two one
		 * after the other: compare once they are all done, on the
		 * rarer check op (a barrier waits for the call_rcu thread). */
		if (!(op->arg[1] % 64)) {
			rsz_rcu_barrier(FLAVOR);	/* annotated for TSan */
			rsz_array_stat(m->a, &st, sizeof(st));
		}
		if (!(op->arg[1] % 64) && st.mem_bytes != test_alloc_live(&m->ta))
			FAIL("stat: mem_bytes %" PRIu64 ", allocator holds %" PRIu64,
			     st.mem_bytes, test_alloc_live(&m->ta));
		return 0;
	}
	case A_CHECK: {
		uint64_t n = m->cap < 2048 ? m->cap : 2048;

		for (uint64_t i = 0; i < n; i++)
			if (check_elem(m, i, msg, len))
				return -1;
		for (uint64_t i = n; i < m->cap && i < n + 64; i++)
			if (check_elem(m, n + prop_below(&idx, m->cap - n), msg, len))
				return -1;
		return 0;
	}
	case A_BAD:
		switch (op->arg[0] % 4) {
		case 0:
			ret = rsz_array_alloc(m->a, NULL);
			break;
		case 1:
			ret = m->cap ? rsz_array_update(m->a, 0, NULL, RSZ_ANY) : -EINVAL;
			break;
		case 2:
			make_value(m->vsz, 1, buf);
			ret = m->cap ? rsz_array_update(m->a, 0, buf, 3 + op->arg[1] % 100) : -EINVAL;
			break;
		default:
			ret = rsz_array_grow(m->a, 1, 2 + (unsigned int)(op->arg[1] % 100));
		}
		if (ret != -EINVAL)
			FAIL("bad input %" PRIu64 ": %d, want -EINVAL", op->arg[0] % 4, ret);
		return 0;
	}
	return 0;
}

static int a_teardown(void *state, char *msg, size_t len)
{
	struct amodel *m = state;
	struct rsz_mem_stat ms;
	int ret = 0;

	rsz_array_destroy(m->a);
	rsz_mem_stat(m->mem, &ms, sizeof(ms));
	if (test_alloc_live(&m->ta) || ms.usage) {
		snprintf(msg, len, "after destroy: allocator holds %" PRIu64 ", counter %" PRIu64,
			 test_alloc_live(&m->ta), ms.usage);
		ret = -1;
	}
	if (!ret && rsz_mem_destroy(m->mem)) {
		snprintf(msg, len, "counter not destroyable");
		ret = -1;
	}
	free(m->slot);
	free(m->val);
	free(m->pending);
	free(m->pending_epoch);
	free(m);
	return ret;
}

static void a_gen(void *ctx, uint64_t *rng, struct prop_op *op)
{
	/* Weights: data ops common, resizes and maintain (grace periods) rare. */
	static const unsigned short w[A_NR] = { 300, 220, 200, 160, 20, 1, 1, 20, 30, 10, 10 };
	uint64_t r, acc = 0, sum = 0;

	(void)ctx;
	for (unsigned int k = 0; k < A_NR; k++)
		sum += w[k];
	r = prop_below(rng, sum);
	for (unsigned int k = 0; k < A_NR; k++) {
		acc += w[k];
		if (r < acc) {
			op->kind = k;
			break;
		}
	}
	op->arg[0] = prop_rand(rng);
	op->arg[1] = prop_rand(rng);
	op->arg[2] = prop_rand(rng);
}

static bool a_simplify(void *ctx, const struct prop_op *op, unsigned int i,
		       struct prop_op *out)
{
	(void)ctx;
	*out = *op;
	if (i < 3) {
		out->arg[i] = 0;
		return true;
	}
	if (i < 6) {
		out->arg[i - 3] /= 2;
		return true;
	}
	return false;
}

static void a_print(void *ctx, const struct prop_op *op, FILE *f)
{
	static const char *const name[A_NR] = {
		"update", "lookup", "alloc", "release", "grow", "shrink", "maintain",
		"set_watermarks", "stat", "check", "bad_input",
	};

	(void)ctx;
	fprintf(f, "%s(raw %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")", name[op->kind % A_NR],
		op->arg[0], op->arg[1], op->arg[2]);
}

static const struct prop array_prop = {
	.name = "array",
	.setup = a_setup,
	.step = a_step,
	.teardown = a_teardown,
	.gen = a_gen,
	.simplify = a_simplify,
	.print = a_print,
};

static void array_matches_the_model(void **state)
{
	struct prop_stats st;
	size_t nops = test_scaled(ARRAY_PROP_OPS, 300);
	int ret;

	(void)state;
	FLAVOR->register_thread();
	ret = prop_check(&array_prop, nops, ARRAY_PROP_SEEDS, &st, stdout);
	FLAVOR->unregister_thread();
	printf("prop array: %" PRIu64 " sequences, %" PRIu64 " operations\n", st.seeds, st.ops);
	assert_int_equal(ret, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(array_matches_the_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
