/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * array_model.c - the segmented array against a plain model, for the
 * property test (test_array_prop.c) and the fuzz target
 * (fuzz/fuzz_array.c): every public operation (update, lookup, alloc,
 * release, grow and shrink in both modes, maintain, watermarks, stat, bad
 * input, the memory counter's limit) on an RSZ_F_MANUAL array, so that
 * every step is deterministic. The model holds per index its value and
 * whether the slot is free, allocated, or released and waiting for a
 * grace period (rsz_array_maintain() waits for it). Capacity after a
 * resize is read back and checked against the contract's bounds, not
 * predicted; so are the errors a memory limit allows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rsz/array.h>

#include "array_model.h"
#include "platform.h"
#include "testutil.h"

enum { SLOT_FREE, SLOT_USED, SLOT_PENDING };

struct amodel {
	struct test_alloc ta;
	struct rsz_mem *mem;
	struct rsz_array *a;
	rsz_flavor_t flavor;
	uint64_t range;		/* ops name indices 0 .. range + range/8 */
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
	uint64_t mem_max;	/* the counter's limit now */
	uint64_t nr_grow, nr_grow_failed;	/* as last seen in the stats */
	bool last_grow_failed;	/* the last grow that ran failed */
	bool exact_mem;		/* see struct array_model_cfg */
};

static void make_value(uint32_t vsz, uint64_t seed, unsigned char *out)
{
	for (uint32_t i = 0; i < vsz; i++)
		out[i] = seed ? (unsigned char)((seed >> (8 * (i % 8))) + i) : 0;
}

static void model_free(struct amodel *m)
{
	free(m->slot);
	free(m->val);
	free(m->pending);
	free(m->pending_epoch);
	free(m);
}

int array_model_new(const struct array_model_cfg *cfg, void **state, char *msg, size_t len)
{
	struct amodel *m = calloc(1, sizeof(*m));
	RSZ_OPTS(rsz_array_opts, o, .flags = RSZ_F_MANUAL);
	struct rsz_array_stat st;

	*state = NULL;
	msg[0] = 0;
	if (!m)
		PROP_FAIL("model out of memory");
	m->flavor = cfg->flavor ? cfg->flavor : rsz_default_flavor();
	m->range = cfg->range ? cfg->range : 1;
	m->vsz = cfg->value_size;
	m->limit = cfg->max_entries ? cfg->max_entries : UINT64_MAX;
	m->initial = cfg->initial_entries;
	m->mem_max = cfg->mem_max;
	m->exact_mem = cfg->exact_mem;
	if (cfg->shrink)
		o.flags |= RSZ_F_SHRINK;
	test_alloc_init(&m->ta);
	m->mem = rsz_mem_new(NULL, cfg->mem_max);
	o.value_size = m->vsz;
	o.max_entries = cfg->max_entries;
	o.initial_entries = m->initial;
	o.mem = m->mem;
	o.flavor = m->flavor;
	o.allocator = &m->ta.ops;
	m->a = m->mem ? rsz_array_new(&o) : NULL;
	if (m->mem && !m->a && errno == ENOMEM && m->mem_max != RSZ_MEM_UNLIMITED) {
		/* Refused by the limit: legal, if nothing is left behind. */
		int ret = test_all_returned(&m->ta, m->mem, msg, len);

		model_free(m);
		return ret;
	}
	/* The model covers every index an op can name and what a grow to
	 * it may round up to. */
	m->model_len = 2 * roundup_pow_of_two(m->range + m->range / 8 + 2) + 1024;
	m->slot = calloc(m->model_len, 1);
	m->val = calloc(m->model_len, sizeof(*m->val));
	if (!m->a || !m->slot || !m->val) {
		snprintf(msg, len, "%s", !m->mem ? "rsz_mem_new failed" :
			 !m->a ? "rsz_array_new failed" : "model out of memory");
		if (m->a)
			rsz_array_destroy(m->a);
		if (m->mem)
			rsz_mem_destroy(m->mem);
		model_free(m);
		return -1;
	}
	rsz_array_stat(m->a, &st, sizeof(st));
	m->cap = st.capacity;
	*state = m;
	return 0;
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

/* Capacity may have changed (resize, maintain): read it, check the
 * contract's bounds, and bring the model along. */
static int refresh_cap(struct amodel *m, uint64_t at_least, char *msg, size_t len)
{
	struct rsz_array_stat st;
	uint64_t old = m->cap, busy = highest_busy(m);

	rsz_array_stat(m->a, &st, sizeof(st));
	if (st.capacity > m->limit)
		PROP_FAIL("capacity %" PRIu64 " above max_entries %" PRIu64, st.capacity,
			  m->limit);
	if (st.capacity < busy)
		PROP_FAIL("capacity %" PRIu64 " dropped slot %" PRIu64 " that is allocated or "
			  "waiting for its grace period", st.capacity, busy - 1);
	if (st.capacity < at_least)
		PROP_FAIL("capacity %" PRIu64 " below %" PRIu64, st.capacity, at_least);
	if (st.capacity < m->initial)
		PROP_FAIL("capacity %" PRIu64 " below initial_entries %" PRIu64, st.capacity,
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
			PROP_FAIL("model out of memory at capacity %" PRIu64, st.capacity);
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
	unsigned char want[ARRAY_MODEL_VSZ_MAX];
	void *p;
	int bad;

	make_value(m->vsz, m->val[i], want);
	rsz_rcu_read_lock(m->flavor);
	p = rsz_array_lookup(m->a, i);
	bad = !p ? 1 : ((uintptr_t)p & 7) ? 2 : memcmp(p, want, m->vsz) ? 3 : 0;
	rsz_rcu_read_unlock(m->flavor);
	if (bad)
		PROP_FAIL("element %" PRIu64 " (capacity %" PRIu64 "): %s", i, m->cap,
			  bad == 1 ? "lookup NULL" : bad == 2 ? "misaligned" : "value differs");
	return 0;
}

static struct rsz_array_stat stat_of(struct amodel *m)
{
	struct rsz_array_stat st;

	memset(&st, 0xa5, sizeof(st));
	rsz_array_stat(m->a, &st, sizeof(st));
	return st;
}

/* -ENOMEM from alloc or an asynchronous grow: only under a memory limit,
 * and only when the last grow failed (on it: the test allocator never
 * fails). Whether the next grow would still fail is not checked. */
static bool enomem_allowed(struct amodel *m)
{
	return m->mem_max != RSZ_MEM_UNLIMITED && m->last_grow_failed &&
	       stat_of(m).last_grow_error == -ENOMEM;
}

/* A waiting grow that failed: the limit allows it; capacity unchanged and
 * the failure recorded. */
static int check_failed_grow(struct amodel *m, uint64_t failed_before, char *msg, size_t len)
{
	struct rsz_array_stat st = stat_of(m);

	if (m->mem_max == RSZ_MEM_UNLIMITED)
		PROP_FAIL("a grow failed with -ENOMEM with no memory limit");
	if (st.capacity != m->cap)
		PROP_FAIL("failed grow changed capacity %" PRIu64 " to %" PRIu64, m->cap,
			  st.capacity);
	if (st.nr_grow_failed != failed_before + 1 || st.last_grow_error != -ENOMEM)
		PROP_FAIL("failed grow recorded as nr_grow_failed %" PRIu64 " (was %" PRIu64
			  "), last_grow_error %" PRId64, st.nr_grow_failed, failed_before,
			  st.last_grow_error);
	return 0;
}

static int a_alloc(struct amodel *m, char *msg, size_t len)
{
	uint64_t got = UINT64_MAX, nfree = m->cap - m->nused - m->npending;
	int ret = rsz_array_alloc(m->a, &got);

	if (ret && nfree)
		PROP_FAIL("alloc: %d with %" PRIu64 " slots free", ret, nfree);
	if (!ret) {
		if (got < m->cap && m->slot[got] == SLOT_PENDING) {
			/* Allowed once a grace period may have passed since
			 * its release (WAIT resizes wait for one). */
			uint64_t k = 0;

			while (k < m->npending && m->pending[k] != got)
				k++;
			if (k == m->npending || m->pending_epoch[k] == m->epoch)
				PROP_FAIL("alloc handed out %" PRIu64 " within the grace period "
					  "of its release", got);
			m->pending[k] = m->pending[m->npending - 1];
			m->pending_epoch[k] = m->pending_epoch[m->npending - 1];
			m->npending--;
			m->slot[got] = SLOT_FREE;
		}
		if (got >= m->cap || m->slot[got] != SLOT_FREE)
			PROP_FAIL("alloc handed out %" PRIu64 ", which is not free", got);
		m->slot[got] = SLOT_USED;
		m->nused++;
		if (got + 1 > m->busy_hi)
			m->busy_hi = got + 1;
		m->val[got] = 0;	/* handed out zeroed */
		m->last_alloc = got;
		m->have_last = true;
		return check_elem(m, got, msg, len);
	}
	if (m->cap < m->limit && ret == -ENOMEM && enomem_allowed(m))
		return 0;
	if (m->cap >= m->limit ? ret != -E2BIG : ret != -EAGAIN)
		PROP_FAIL("alloc with no free slot (capacity %" PRIu64 ", max %" PRIu64 "): %d",
			  m->cap, m->limit, ret);
	return 0;
}

static int a_release(struct amodel *m, uint64_t i, char *msg, size_t len)
{
	bool ok = i < m->cap && m->slot[i] == SLOT_USED;
	int ret = rsz_array_release(m->a, i);

	if (ret != (ok ? 0 : -EINVAL))
		PROP_FAIL("release(%" PRIu64 "): %d, want %d", i, ret, ok ? 0 : -EINVAL);
	if (!ok)
		return 0;
	if (m->npending == m->pending_cap) {
		uint64_t nc = m->pending_cap ? 2 * m->pending_cap : 256;
		uint64_t *np = realloc(m->pending, nc * sizeof(*np));

		if (!np)
			PROP_FAIL("out of memory");
		m->pending = np;
		np = realloc(m->pending_epoch, nc * sizeof(*np));
		if (!np)
			PROP_FAIL("out of memory");
		m->pending_epoch = np;
		m->pending_cap = nc;
	}
	m->slot[i] = SLOT_PENDING;
	m->pending_epoch[m->npending] = m->epoch;
	m->pending[m->npending++] = i;
	m->nused--;
	return 0;
}

static int a_grow(struct amodel *m, const struct prop_op *op, char *msg, size_t len)
{
	uint64_t n = op->arg[0] % (m->range + m->range / 8 + 2);
	uint64_t failed_before = stat_of(m).nr_grow_failed;
	bool wait = op->arg[1] % 2;
	int ret, want;

	ret = rsz_array_grow(m->a, n, wait ? RSZ_GROW_WAIT : RSZ_GROW_ASYNC);
	if (n > m->cap && m->cap < m->limit && ret == -ENOMEM) {
		/* Refused by the memory limit, waiting or not. */
		if (wait)
			return check_failed_grow(m, failed_before, msg, len);
		if (!enomem_allowed(m))
			PROP_FAIL("grow(%" PRIu64 ", ASYNC): -ENOMEM, but no grow failed on "
				  "the limit", n);
		return 0;
	}
	if (n > m->limit)
		want = -E2BIG;
	else if (n <= m->cap)
		want = 0;
	else
		want = wait ? 0 : -EINPROGRESS;
	if (ret != want)
		PROP_FAIL("grow(%" PRIu64 ", %s) at capacity %" PRIu64 ": %d, want %d", n,
			  wait ? "WAIT" : "ASYNC", m->cap, ret, want);
	m->epoch += wait;
	if (wait)
		return refresh_cap(m, n < m->limit ? n : m->limit, msg, len);
	return refresh_cap(m, 0, msg, len);
}

static int a_maintain(struct amodel *m, char *msg, size_t len)
{
	uint64_t failed_before = stat_of(m).nr_grow_failed, failed;
	int ret = rsz_array_maintain(m->a);

	/* A queued grow may fail on the memory limit; maintain says so
	 * (the contract: "0, or the error of a failed grow or shrink"). */
	failed = stat_of(m).nr_grow_failed - failed_before;
	if (ret && !(ret == -ENOMEM && failed && m->mem_max != RSZ_MEM_UNLIMITED))
		PROP_FAIL("maintain: %d", ret);
	if (!ret && failed)
		PROP_FAIL("maintain: 0, but %" PRIu64 " grows failed in it", failed);
	/* The grace period has passed: released slots are free again. */
	for (uint64_t i = 0; i < m->npending; i++)
		m->slot[m->pending[i]] = SLOT_FREE;
	m->npending = 0;
	m->epoch++;
	return refresh_cap(m, 0, msg, len);
}

static int a_stat(struct amodel *m, const struct prop_op *op, char *msg, size_t len)
{
	struct rsz_array_stat st = stat_of(m);
	uint64_t used = m->nused;

	if (st.capacity != m->cap || st.allocated != used ||
	    st.max_entries != (m->limit == UINT64_MAX ? 0 : m->limit))
		PROP_FAIL("stat: capacity %" PRIu64 " allocated %" PRIu64 " max %" PRIu64
			  "; model %" PRIu64 " %" PRIu64, st.capacity, st.allocated,
			  st.max_entries, m->cap, used);
	/* Frees deferred to the call_rcu thread change the two one after
	 * the other: compare once they are all done, on the rarer check op
	 * (a barrier waits for the call_rcu thread). */
	if (!(op->arg[1] % 64)) {
		rsz_rcu_barrier(m->flavor);	/* annotated for TSan */
		rsz_array_stat(m->a, &st, sizeof(st));
	}
	if (!(op->arg[1] % 64) && st.mem_bytes != test_alloc_live(&m->ta))
		PROP_FAIL("stat: mem_bytes %" PRIu64 ", allocator holds %" PRIu64,
			  st.mem_bytes, test_alloc_live(&m->ta));
	return 0;
}

static int a_check(struct amodel *m, uint64_t rng, char *msg, size_t len)
{
	uint64_t n = m->cap < 2048 ? m->cap : 2048;

	for (uint64_t i = 0; i < n; i++)
		if (check_elem(m, i, msg, len))
			return -1;
	for (uint64_t i = n; i < m->cap && i < n + 64; i++)
		if (check_elem(m, n + prop_below(&rng, m->cap - n), msg, len))
			return -1;
	return 0;
}

static int a_bad(struct amodel *m, const struct prop_op *op, char *msg, size_t len)
{
	unsigned char buf[ARRAY_MODEL_VSZ_MAX];
	int ret;

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
		PROP_FAIL("bad input %" PRIu64 ": %d, want -EINVAL", op->arg[0] % 4, ret);
	return 0;
}

/* The counter's limit: none, a little or some room above the usage, or
 * below it (-EBUSY, limit unchanged). */
static int a_mem_max(struct amodel *m, const struct prop_op *op, char *msg, size_t len)
{
	struct rsz_mem_stat ms;
	uint64_t max;
	int ret, want;

	rsz_mem_stat(m->mem, &ms, sizeof(ms));
	switch (op->arg[0] % 4) {
	case 0:
		max = RSZ_MEM_UNLIMITED;
		break;
	case 1:
		max = ms.usage + op->arg[1] % 4096;
		break;
	case 2:
		max = ms.usage + op->arg[1] % 65536;
		break;
	default:
		max = ms.usage ? ms.usage - 1 - op->arg[1] % ms.usage : 0;
	}
	want = max < ms.usage ? -EBUSY : 0;
	ret = rsz_mem_set_max(m->mem, max);
	if (ret != want)
		PROP_FAIL("mem_set_max(%" PRIu64 ") at usage %" PRIu64 ": %d, want %d", max,
			  ms.usage, ret, want);
	if (!ret)
		m->mem_max = max;
	return 0;
}

static int a_step(struct amodel *m, const struct prop_op *op, char *msg, size_t len)
{
	uint64_t idx = op->arg[0] % (m->range + m->range / 8 + 1);
	unsigned char buf[ARRAY_MODEL_VSZ_MAX];
	int ret;

	switch (op->kind % A_NR) {
	case A_UPDATE: {
		static const uint64_t flags[3] = { RSZ_ANY, RSZ_EXIST, RSZ_NOEXIST };
		uint64_t fl = flags[op->arg[2] % 3], vs = op->arg[1] | 1;

		make_value(m->vsz, vs, buf);
		ret = rsz_array_update(m->a, idx, buf, fl);
		if (idx >= m->cap) {
			if (ret != -E2BIG)
				PROP_FAIL("update(%" PRIu64 ") beyond capacity %" PRIu64 ": %d",
					  idx, m->cap, ret);
		} else if (fl == RSZ_NOEXIST) {
			if (ret != -EEXIST)
				PROP_FAIL("update(%" PRIu64 ", NOEXIST): %d, want -EEXIST", idx,
					  ret);
		} else if (ret) {
			PROP_FAIL("update(%" PRIu64 "): %d", idx, ret);
		} else {
			m->val[idx] = vs;
		}
		return 0;
	}
	case A_LOOKUP: {
		void *p;

		if (idx < m->cap)
			return check_elem(m, idx, msg, len);
		rsz_rcu_read_lock(m->flavor);
		p = rsz_array_lookup(m->a, idx);
		rsz_rcu_read_unlock(m->flavor);
		if (p)
			PROP_FAIL("lookup(%" PRIu64 ") beyond capacity %" PRIu64 " not NULL", idx,
				  m->cap);
		return 0;
	}
	case A_ALLOC:
		return a_alloc(m, msg, len);
	case A_RELEASE:
		return a_release(m, op->arg[0] % 2 && m->have_last ? m->last_alloc : idx,
				 msg, len);
	case A_GROW:
		return a_grow(m, op, msg, len);
	case A_SHRINK: {
		bool wait = op->arg[1] % 2;

		ret = rsz_array_shrink(m->a, wait ? RSZ_GROW_WAIT : RSZ_GROW_ASYNC);
		m->epoch += wait;
		if (ret != 0 && !(ret == -EINPROGRESS && !wait))
			PROP_FAIL("shrink(%s): %d", wait ? "WAIT" : "ASYNC", ret);
		return refresh_cap(m, 0, msg, len);
	}
	case A_MAINTAIN:
		return a_maintain(m, msg, len);
	case A_WATERMARKS: {
		uint64_t lo = op->arg[0] % 64, hi = op->arg[1] % 128;

		ret = rsz_array_set_watermarks(m->a, lo, hi);
		if (ret != (hi < lo ? -EINVAL : 0))
			PROP_FAIL("set_watermarks(%" PRIu64 ", %" PRIu64 "): %d", lo, hi, ret);
		return 0;
	}
	case A_STAT:
		return a_stat(m, op, msg, len);
	case A_CHECK:
		return a_check(m, idx, msg, len);
	case A_BAD:
		return a_bad(m, op, msg, len);
	case A_MEM_MAX:
		return a_mem_max(m, op, msg, len);
	}
	return 0;
}

/* What holds after every step: no level of the counter above its limit
 * (not even transiently, says rsz_mem_charge()); with callbacks run
 * inline, the array's, the counter's and the allocator's bytes agree.
 * And the outcome of the last grow, for the -ENOMEM rule. */
static int check_mem(struct amodel *m, char *msg, size_t len)
{
	struct rsz_array_stat st = stat_of(m);
	struct rsz_mem_stat ms;
	uint64_t bytes;

	/* Both changed in one step (maintain runs every queued target):
	 * which was last is unknown, so allow -ENOMEM. */
	if (st.nr_grow != m->nr_grow)
		m->last_grow_failed = false;
	if (st.nr_grow_failed != m->nr_grow_failed)
		m->last_grow_failed = true;
	m->nr_grow = st.nr_grow;
	m->nr_grow_failed = st.nr_grow_failed;
	rsz_mem_stat(m->mem, &ms, sizeof(ms));
	if (ms.usage > m->mem_max)
		PROP_FAIL("counter usage %" PRIu64 " above its max %" PRIu64, ms.usage,
			  m->mem_max);
	if (!m->exact_mem)
		return 0;
	bytes = st.mem_bytes;
	if (bytes != ms.usage || bytes != test_alloc_live(&m->ta) || ms.deferred)
		PROP_FAIL("mem_bytes %" PRIu64 ", counter %" PRIu64 " (deferred %" PRIu64
			  "), allocator %" PRIu64, bytes, ms.usage, ms.deferred,
			  test_alloc_live(&m->ta));
	return 0;
}

int array_model_step(void *state, const struct prop_op *op, char *msg, size_t len)
{
	struct amodel *m = state;

	if (a_step(m, op, msg, len))
		return -1;
	return check_mem(m, msg, len);
}

int array_model_free(void *state, char *msg, size_t len)
{
	struct amodel *m = state;
	int ret;

	rsz_array_destroy(m->a);
	ret = test_all_returned(&m->ta, m->mem, msg, len);
	model_free(m);
	return ret;
}

/* Index ranges 1, 10 and 10^6; value sizes 1, 8 and 24; half the seeds
 * capped at the range; a third with RSZ_F_SHRINK; no memory limit. */
static void *a_setup(void *ctx, uint64_t seed)
{
	static const uint64_t ranges[3] = { 1, 10, 1000000 };
	static const uint32_t vszs[3] = { 1, 8, ARRAY_MODEL_VSZ_MAX };
	struct array_model_cfg cfg = { .mem_max = RSZ_MEM_UNLIMITED };
	char msg[256];
	void *m;

	(void)ctx;
	cfg.range = ranges[prop_seed_cfg(seed, 1) % 3];
	cfg.value_size = vszs[prop_seed_cfg(seed, 2) % 3];
	cfg.max_entries = prop_seed_cfg(seed, 3) % 2 ? cfg.range : 0;
	cfg.initial_entries = prop_seed_cfg(seed, 4) % (cfg.range < 64 ? cfg.range + 1 : 64);
	cfg.shrink = prop_seed_cfg(seed, 5) % 3 == 0;
	if (array_model_new(&cfg, &m, msg, sizeof(msg)))
		fprintf(stderr, "array model: %s\n", msg);
	return m;
}

/* Weights: data ops common, resizes and maintain (grace periods) rare;
 * the memory limit only in the fuzz target. */
static const unsigned short array_weight[A_NR] = {
	300, 220, 200, 160, 20, 1, 1, 20, 30, 10, 10, 0,
};
static const char *const array_name[A_NR] = {
	"update", "lookup", "alloc", "release", "grow", "shrink", "maintain",
	"set_watermarks", "stat", "check", "bad_input", "mem_set_max",
};
static struct prop_kinds array_kinds = { A_NR, array_weight, array_name };

void array_model_print(const struct prop_op *op, FILE *f)
{
	prop_print_kinds(&array_kinds, op, f);
}

const struct prop array_model_prop = {
	.name = "array",
	.ctx = &array_kinds,
	.setup = a_setup,
	.step = array_model_step,
	.teardown = array_model_free,
	.gen = prop_gen_kinds,
	.simplify = prop_simplify_args,
	.print = prop_print_kinds,
};
