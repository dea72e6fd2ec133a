/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

#include "mem_model.h"

static const int parent_of[MM_NODES] = { MM_NONE, 0, 0, 1, 1, 2 };
static const char *const node_name[MM_NODES] = { "root", "a", "b", "a1", "a2", "b1" };

/* rsz_mem_stat() sizes: exact, short (a caller that knows fewer fields),
 * long (a newer caller; rsz zeroes the tail). */
static const size_t stat_size[3] = {
	sizeof(struct rsz_mem_stat),
	offsetof(struct rsz_mem_stat, failcnt),
	sizeof(struct rsz_mem_stat) + 16,
};

void mem_model_clamp(struct prop_op *op)
{
	op->kind %= MM_NR_KINDS;
	op->arg[0] %= op->kind == MM_NULL ? 5 : MM_NODES;
	if (op->kind == MM_STAT)
		op->arg[1] %= 3;
}

int mem_model_init(struct mem_model *mm)
{
	memset(mm, 0, sizeof(*mm));
	for (int i = 0; i < MM_NODES; i++) {
		int p = parent_of[i];

		mm->m[i].parent = p;
		mm->m[i].max = RSZ_MEM_UNLIMITED;
		mm->c[i] = rsz_mem_new(p == MM_NONE ? NULL : mm->c[p], RSZ_MEM_UNLIMITED);
		if (!mm->c[i]) {
			while (i--)
				rsz_mem_destroy(mm->c[i]);
			return -1;
		}
	}
	return 0;
}

/* The contract, written plainly. */
static int model_charge(struct mem_model *mm, int n, uint64_t bytes)
{
	if (!bytes)
		return 0;
	for (int i = n; i != MM_NONE; i = mm->m[i].parent) {
		struct mm_node *x = &mm->m[i];

		if (x->usage > x->max || bytes > x->max - x->usage) {
			x->failcnt++;
			return -ENOMEM;
		}
	}
	for (int i = n; i != MM_NONE; i = mm->m[i].parent) {
		struct mm_node *x = &mm->m[i];

		x->usage += bytes;
		if (x->usage > x->peak)
			x->peak = x->usage;
	}
	return 0;
}

static int model_uncharge(struct mem_model *mm, int n, uint64_t bytes)
{
	if (!bytes)
		return 0;
	for (int i = n; i != MM_NONE; i = mm->m[i].parent)
		if (mm->m[i].usage < bytes)
			return -EINVAL;
	for (int i = n; i != MM_NONE; i = mm->m[i].parent)
		mm->m[i].usage -= bytes;
	return 0;
}

static bool has_children(int n)
{
	for (int i = 0; i < MM_NODES; i++)
		if (parent_of[i] == n)
			return true;
	return false;
}

static int compare_all(struct mem_model *mm, char *msg, size_t len)
{
	for (int i = 0; i < MM_NODES; i++) {
		struct rsz_mem_stat st;
		const struct mm_node *x = &mm->m[i];

		memset(&st, 0x5a, sizeof(st));
		rsz_mem_stat(mm->c[i], &st, sizeof(st));
		if (st.usage != x->usage || st.peak != x->peak || st.max != x->max ||
		    st.failcnt != x->failcnt || st.deferred != 0) {
			snprintf(msg, len, "counter %s: usage %" PRIu64 " peak %" PRIu64
				 " max %" PRIu64 " failcnt %" PRIu64 " deferred %" PRIu64
				 "; model: usage %" PRIu64 " peak %" PRIu64 " max %" PRIu64
				 " failcnt %" PRIu64 " deferred 0", node_name[i],
				 st.usage, st.peak, st.max, st.failcnt, st.deferred,
				 x->usage, x->peak, x->max, x->failcnt);
			return -1;
		}
	}
	return 0;
}

static int check_stat_size(struct mem_model *mm, int n, size_t size, char *msg, size_t len)
{
	unsigned char buf[sizeof(struct rsz_mem_stat) + 32];
	struct rsz_mem_stat want = {
		.usage = mm->m[n].usage, .deferred = 0, .peak = mm->m[n].peak,
		.max = mm->m[n].max, .failcnt = mm->m[n].failcnt,
	};
	size_t known = sizeof(want) < size ? sizeof(want) : size;

	memset(buf, 0xa5, sizeof(buf));
	rsz_mem_stat(mm->c[n], (struct rsz_mem_stat *)(void *)buf, size);
	if (memcmp(buf, &want, known)) {
		snprintf(msg, len, "stat(%s, size %zu): known fields differ", node_name[n], size);
		return -1;
	}
	for (size_t i = known; i < size; i++)
		if (buf[i]) {
			snprintf(msg, len, "stat(%s, size %zu): tail byte %zu not zeroed",
				 node_name[n], size, i);
			return -1;
		}
	for (size_t i = size; i < sizeof(buf); i++)
		if (buf[i] != 0xa5) {
			snprintf(msg, len, "stat(%s, size %zu): wrote byte %zu past size",
				 node_name[n], size, i);
			return -1;
		}
	return 0;
}

#define EXPECT(call, want) do {						\
		int got_ = (call), want_ = (want);			\
		if (got_ != want_) {					\
			snprintf(msg, len, "%s returned %d, model says %d", \
				 #call, got_, want_);			\
			return -1;					\
		}							\
	} while (0)

int mem_model_step(struct mem_model *mm, const struct prop_op *op0, char *msg, size_t len)
{
	struct prop_op o = *op0;
	int n;
	uint64_t v;

	mem_model_clamp(&o);
	n = (int)o.arg[0];
	v = o.arg[1];
	mm->steps++;
	switch (o.kind) {
	case MM_CHARGE:
		EXPECT(rsz_mem_charge(mm->c[n], v), model_charge(mm, n, v));
		break;
	case MM_UNCHARGE:
		EXPECT(rsz_mem_uncharge(mm->c[n], v), model_uncharge(mm, n, v));
		break;
	case MM_SET_MAX: {
		int want = mm->m[n].usage > v ? -EBUSY : 0;

		EXPECT(rsz_mem_set_max(mm->c[n], v), want);
		if (!want)
			mm->m[n].max = v;
		break;
	}
	case MM_STAT:
		if (check_stat_size(mm, n, stat_size[v], msg, len))
			return -1;
		break;
	case MM_DESTROY: {
		bool busy = mm->m[n].usage || has_children(n);

		EXPECT(rsz_mem_destroy(mm->c[n]), busy ? -EBUSY : 0);
		if (!busy) {
			int p = parent_of[n];

			mm->c[n] = rsz_mem_new(p == MM_NONE ? NULL : mm->c[p], v);
			if (!mm->c[n]) {
				snprintf(msg, len, "rsz_mem_new failed");
				return -1;
			}
			memset(&mm->m[n], 0, sizeof(mm->m[n]));
			mm->m[n].parent = p;
			mm->m[n].max = v;
		}
		break;
	}
	case MM_NULL:
		switch (n) {
		case 0: EXPECT(rsz_mem_charge(NULL, 1), -EINVAL); break;
		case 1: EXPECT(rsz_mem_uncharge(NULL, 1), -EINVAL); break;
		case 2: EXPECT(rsz_mem_set_max(NULL, 1), -EINVAL); break;
		case 3: EXPECT(rsz_mem_destroy(NULL), -EINVAL); break;
		default: {
			struct rsz_mem_stat st;

			/* Does nothing: neither crashes nor writes. */
			memset(&st, 0x77, sizeof(st));
			rsz_mem_stat(NULL, &st, sizeof(st));
			rsz_mem_stat(mm->c[0], NULL, sizeof(st));
			if (st.usage != 0x7777777777777777ULL) {
				snprintf(msg, len, "rsz_mem_stat(NULL) wrote its output");
				return -1;
			}
		}
		}
		break;
	}
	return compare_all(mm, msg, len);
}

int mem_model_fini(struct mem_model *mm, char *msg, size_t len)
{
	int ret = 0;
	bool progress = true;

	/*
	 * Bring every usage to zero through the API, children first, each
	 * time by the most the whole path holds. Uncharging at an ancestor
	 * directly is allowed (the contract checks only the levels it
	 * touches), so a parent may end up holding less than its child: what
	 * no uncharge can reach then is cleared through the internals (a
	 * charge to lift the parent could overflow a level above it).
	 */
	while (progress && !ret) {
		progress = false;
		for (int i = MM_NODES - 1; i >= 0 && !ret; i--) {
			uint64_t x = mm->m[i].usage;

			for (int a = parent_of[i]; a != MM_NONE; a = parent_of[a])
				if (mm->m[a].usage < x)
					x = mm->m[a].usage;
			if (!x)
				continue;
			progress = true;
			if (rsz_mem_uncharge(mm->c[i], x) || model_uncharge(mm, i, x)) {
				snprintf(msg, len, "draining %s failed", node_name[i]);
				ret = -1;
			}
		}
	}
	if (!ret)
		ret = compare_all(mm, msg, len);
	for (int i = 0; i < MM_NODES && !ret; i++) {
		__atomic_store_n(&mm->c[i]->usage, 0, __ATOMIC_RELAXED);
		mm->m[i].usage = 0;
	}
	if (!ret)
		ret = compare_all(mm, msg, len);
	for (int i = MM_NODES - 1; i >= 0; i--) {
		int err = rsz_mem_destroy(mm->c[i]);

		if (err && !ret) {
			snprintf(msg, len, "destroy(%s) = %d after draining", node_name[i], err);
			ret = -1;
		}
		if (err) {	/* still free it, so that the harness does not leak */
			uint64_t u = mm->m[i].usage;

			rsz_mem_uncharge(mm->c[i], u);
			rsz_mem_destroy(mm->c[i]);
		}
	}
	return ret;
}

void mem_model_print(const struct prop_op *op0, FILE *f)
{
	static const char *const kind[MM_NR_KINDS] = {
		"charge", "uncharge", "set_max", "stat", "destroy+recreate", "null",
	};
	static const char *const null_call[5] = {
		"charge", "uncharge", "set_max", "destroy", "stat",
	};
	struct prop_op o = *op0;

	mem_model_clamp(&o);
	if (o.kind == MM_NULL)
		fprintf(f, "rsz_mem_%s(NULL, ...)", null_call[o.arg[0]]);
	else if (o.kind == MM_STAT)
		fprintf(f, "stat(%s, size %zu)", node_name[o.arg[0]], stat_size[o.arg[1]]);
	else
		fprintf(f, "%s(%s, %" PRIu64 ")", kind[o.kind], node_name[o.arg[0]], o.arg[1]);
}

/* ---- the property --------------------------------------------------------- */

static void *prop_setup(void *ctx, uint64_t seed)
{
	struct mem_model *mm = malloc(sizeof(*mm));

	(void)ctx;
	(void)seed;
	if (mm && mem_model_init(mm)) {
		free(mm);
		return NULL;
	}
	return mm;
}

static int prop_step(void *state, const struct prop_op *op, char *msg, size_t len)
{
	return mem_model_step(state, op, msg, len);
}

static int prop_teardown(void *state, char *msg, size_t len)
{
	int ret = mem_model_fini(state, msg, len);

	free(state);
	return ret;
}

/* Sizes where limits bite: tiny, page-ish, and near UINT64_MAX (overflow). */
static uint64_t gen_bytes(uint64_t *rng)
{
	switch (prop_below(rng, 8)) {
	case 0: return 0;
	case 1: return UINT64_MAX - prop_below(rng, 4);
	case 2: return prop_below(rng, 1u << 16);
	default: return 1 + prop_below(rng, 64);
	}
}

static uint64_t gen_max(uint64_t *rng)
{
	switch (prop_below(rng, 6)) {
	case 0: return 0;
	case 1: return RSZ_MEM_UNLIMITED;
	case 2: return UINT64_MAX - 1 - prop_below(rng, 4);
	default: return prop_below(rng, 400);
	}
}

static void prop_gen(void *ctx, uint64_t *rng, struct prop_op *op)
{
	uint64_t r = prop_below(rng, 100);

	(void)ctx;
	op->arg[0] = prop_below(rng, MM_NODES);
	if (r < 40) {
		op->kind = MM_CHARGE;
		op->arg[1] = gen_bytes(rng);
	} else if (r < 70) {
		op->kind = MM_UNCHARGE;
		op->arg[1] = gen_bytes(rng);
	} else if (r < 82) {
		op->kind = MM_SET_MAX;
		op->arg[1] = gen_max(rng);
	} else if (r < 90) {
		op->kind = MM_STAT;
		op->arg[1] = prop_below(rng, 3);
	} else if (r < 97) {
		op->kind = MM_DESTROY;
		op->arg[1] = gen_max(rng);
	} else {
		op->kind = MM_NULL;
		op->arg[0] = prop_below(rng, 5);
	}
}

static bool prop_simplify(void *ctx, const struct prop_op *op, unsigned int i,
			  struct prop_op *out)
{
	(void)ctx;
	*out = *op;
	switch (i) {
	case 0: out->arg[1] = 0; return true;		/* smallest value */
	case 1: out->arg[1] = op->arg[1] / 2; return true;
	case 2: out->arg[1] = op->arg[1] ? op->arg[1] - 1 : 0; return true;
	case 3: out->arg[0] = 0; return true;		/* the root */
	case 4: out->kind = MM_STAT; out->arg[1] = 0; return true; /* read-only op */
	default: return false;
	}
}

static void prop_print(void *ctx, const struct prop_op *op, FILE *f)
{
	(void)ctx;
	mem_model_print(op, f);
}

const struct prop mem_model_prop = {
	.name = "mem",
	.setup = prop_setup,
	.step = prop_step,
	.teardown = prop_teardown,
	.gen = prop_gen,
	.simplify = prop_simplify,
	.print = prop_print,
};
