/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * mem.c - hierarchical memory counters and charged allocation.
 *
 * Every level is changed by compare-and-swap against its own limit, child
 * first, and the levels already changed are rolled back when a higher one
 * refuses. So no level's usage ever exceeds its max, not even for an
 * instant, which memcg's speculative page_counter does not promise. The
 * price is that a refused charge may have raised a lower level for a
 * moment, so a concurrent charge at that lower level may be refused when
 * it would have fit a moment later; refusals are always real at the
 * instant they happen, and counted in the failcnt of the level that
 * refused. Counters are rarely shared by many CPUs in one hot loop (the
 * structures charge per table, segment or element batch), so one cache line
 * per counter is enough.
 */
#include "mem_internal.h"

/* The counters themselves are plain allocations: they are the accounts,
 * not something charged to one. */
static const struct rsz_allocator *const counter_allocator = NULL;

struct rsz_mem *rsz_mem_new(struct rsz_mem *parent, uint64_t max_bytes)
{
	struct rsz_mem *m = rsz_sys_alloc(counter_allocator, sizeof(*m), 8);

	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	m->parent = parent;
	m->max = max_bytes;
	if (parent)
		atomic_add_return(&parent->children, 1);
	return m;
}

int rsz_mem_destroy(struct rsz_mem *mem)
{
	if (!mem)
		return -EINVAL;
	if (READ_ONCE(mem->usage) || READ_ONCE(mem->children))
		return -EBUSY;
	if (mem->parent)
		atomic_sub_return_relaxed(&mem->parent->children, 1);
	rsz_sys_free(counter_allocator, mem, sizeof(*mem));
	return 0;
}

int rsz_mem_set_max(struct rsz_mem *mem, uint64_t max_bytes)
{
	uint64_t old;

	if (!mem)
		return -EINVAL;
	/*
	 * A charge checks max and then raises usage by CAS, and re-reads max
	 * after its CAS (level_charge). All of these are seq-cst, so of this
	 * store-then-load and the charge's CAS-then-load, at least one side
	 * sees the other: either we see the charge here and report -EBUSY,
	 * or the charge sees the new max and rolls itself back.
	 */
	old = xchg(&mem->max, max_bytes);
	if (__atomic_load_n(&mem->usage, __ATOMIC_SEQ_CST) > max_bytes) {
		uint64_t cur = max_bytes;

		try_cmpxchg(&mem->max, &cur, old);
		return -EBUSY;
	}
	return 0;
}

void rsz_mem_stat(const struct rsz_mem *mem, struct rsz_mem_stat *st, size_t size)
{
	struct rsz_mem_stat s;

	if (!mem || !st)
		return;
	s.usage = READ_ONCE(mem->usage);
	s.deferred = READ_ONCE(mem->deferred);
	s.peak = READ_ONCE(mem->peak);
	s.max = READ_ONCE(mem->max);
	s.failcnt = READ_ONCE(mem->failcnt);
	if (size > sizeof(s)) {
		memset((char *)st + sizeof(s), 0, size - sizeof(s));
		size = sizeof(s);
	}
	memcpy(st, &s, size);
}

/* Raise one level; false if its max refuses. The CAS compares usage with
 * the max read just before it; the re-read after it closes the race with a
 * concurrent rsz_mem_set_max() (see there). */
static bool level_charge(struct rsz_mem *m, uint64_t bytes, uint64_t *now)
{
	uint64_t u = READ_ONCE(m->usage);

	do {
		uint64_t max = __atomic_load_n(&m->max, __ATOMIC_SEQ_CST);

		if (u > max || bytes > max - u)
			return false;
	} while (!try_cmpxchg(&m->usage, &u, u + bytes));
	if (u + bytes > __atomic_load_n(&m->max, __ATOMIC_SEQ_CST)) {
		atomic_sub_return_relaxed(&m->usage, bytes);
		return false;
	}
	*now = u + bytes;
	return true;
}

static bool level_uncharge(struct rsz_mem *m, uint64_t bytes)
{
	uint64_t u = READ_ONCE(m->usage);

	do {
		if (u < bytes)
			return false;
	} while (!try_cmpxchg(&m->usage, &u, u - bytes));
	return true;
}

static void level_force(struct rsz_mem *m, uint64_t bytes, bool add)
{
	if (add)
		atomic_add_return(&m->usage, bytes);
	else
		atomic_sub_return_relaxed(&m->usage, bytes);
}

static void update_peak(struct rsz_mem *m, uint64_t now)
{
	uint64_t p = READ_ONCE(m->peak);

	while (p < now && !try_cmpxchg_relaxed(&m->peak, &p, now))
		;
}

int rsz_mem_charge(struct rsz_mem *mem, uint64_t bytes)
{
	uint64_t now[64];	/* value each level reached; trees are shallow */
	struct rsz_mem *m, *failed = NULL;
	unsigned int depth = 0;

	if (!mem)
		return -EINVAL;
	if (!bytes)
		return 0;
	for (m = mem; m; m = m->parent, depth++) {
		uint64_t n = 0;

		if (!level_charge(m, bytes, &n)) {
			failed = m;
			break;
		}
		if (depth < ARRAY_SIZE(now))
			now[depth] = n;
		/* Lower levels raised, higher ones not yet. */
		RSZ_STALL_POINT("mem.charge.level_raised");
	}
	if (failed) {
		atomic_add_return_relaxed(&failed->failcnt, 1);
		/* Only the levels below `failed' were raised. Lowering them
		 * cannot fail: they hold at least these bytes. */
		for (m = mem; m != failed; m = m->parent)
			level_force(m, bytes, false);
		return -ENOMEM;
	}
	/* Peaks count only charges that succeeded at every level. */
	depth = 0;
	for (m = mem; m; m = m->parent, depth++)
		update_peak(m, depth < ARRAY_SIZE(now) ? now[depth] : READ_ONCE(m->usage));
	return 0;
}

int rsz_mem_uncharge(struct rsz_mem *mem, uint64_t bytes)
{
	struct rsz_mem *m, *failed = NULL;

	if (!mem)
		return -EINVAL;
	if (!bytes)
		return 0;
	for (m = mem; m; m = m->parent) {
		if (!level_uncharge(m, bytes)) {
			failed = m;
			break;
		}
		RSZ_STALL_POINT("mem.uncharge.level_lowered");
	}
	if (failed) {
		/* A caller bug (uncharging what was never charged): restore
		 * the levels already lowered, without a limit check, since
		 * those bytes were charged there a moment ago. */
		for (m = mem; m != failed; m = m->parent)
			level_force(m, bytes, true);
		return -EINVAL;
	}
	return 0;
}

bool rsz_mem_would_fit(const struct rsz_mem *mem, uint64_t bytes)
{
	for (; mem; mem = mem->parent) {
		uint64_t u = READ_ONCE(mem->usage), max = READ_ONCE(mem->max);

		if (u > max || bytes > max - u)
			return false;
	}
	return true;
}

static void defer_levels(struct rsz_mem *mem, uint64_t bytes, bool add)
{
	for (; mem; mem = mem->parent) {
		if (add)
			atomic_add_return_relaxed(&mem->deferred, bytes);
		else
			atomic_sub_return_relaxed(&mem->deferred, bytes);
	}
}

void *rsz_kvmalloc(struct rsz_mctx *m, size_t size, size_t align, int *err)
{
	void *p;

	if (m->mem && rsz_mem_charge(m->mem, size)) {
		*err = -ENOMEM;
		return NULL;
	}
	p = rsz_sys_alloc(m->allocator, size, align);
	if (!p) {
		if (m->mem)
			rsz_mem_uncharge(m->mem, size);
		*err = -ENOMEM;
		return NULL;
	}
	atomic_add_return_relaxed(&m->bytes, size);
	return p;
}

void rsz_kvfree(struct rsz_mctx *m, void *p, size_t size)
{
	if (!p)
		return;
	rsz_sys_free(m->allocator, p, size);
	atomic_sub_return_relaxed(&m->bytes, size);
	if (m->mem) {
		int err = rsz_mem_uncharge(m->mem, size);

		RSZ_WARN_ON(err);
		(void)err;
	}
}

void rsz_mctx_defer(struct rsz_mctx *m, uint64_t size)
{
	atomic_add_return_relaxed(&m->deferred, size);
	defer_levels(m->mem, size, true);
}

void rsz_mctx_undefer(struct rsz_mctx *m, uint64_t size)
{
	atomic_sub_return_relaxed(&m->deferred, size);
	defer_levels(m->mem, size, false);
}
