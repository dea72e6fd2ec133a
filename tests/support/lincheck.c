/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rsz/common.h>

#include "lincheck.h"

static uint64_t lc_clock;

uint64_t lc_tick(void)
{
	return __atomic_add_fetch(&lc_clock, 1, __ATOMIC_SEQ_CST);
}

/* Memo of configurations known to fail: (linearized mask, state). */
struct memo {
	size_t cap, n, ssz;
	unsigned char *keys;	/* cap entries of 8 + ssz bytes; mask 0 = empty */
};

static uint64_t hash_cfg(uint64_t mask, const void *state, size_t ssz)
{
	const unsigned char *p = state;
	uint64_t h = mask * 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < ssz; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* Insert; false if it was there already. The mask is never 0 here (a
 * configuration is memoised after one op at least). */
static bool memo_add(struct memo *mo, uint64_t mask, const void *state)
{
	size_t esz = 8 + mo->ssz;

	if ((mo->n + 1) * 2 > mo->cap) {
		struct memo big = { .cap = mo->cap ? mo->cap * 2 : 1024, .ssz = mo->ssz };

		big.keys = calloc(big.cap, esz);
		if (!big.keys)
			return true;	/* no memo: only slower */
		for (size_t i = 0; i < mo->cap; i++) {
			uint64_t m;

			memcpy(&m, mo->keys + i * esz, 8);
			if (m)
				memo_add(&big, m, mo->keys + i * esz + 8);
		}
		free(mo->keys);
		*mo = big;
	}
	for (size_t i = hash_cfg(mask, state, mo->ssz) & (mo->cap - 1);;
	     i = (i + 1) & (mo->cap - 1)) {
		unsigned char *e = mo->keys + i * esz;
		uint64_t m;

		memcpy(&m, e, 8);
		if (!m) {
			memcpy(e, &mask, 8);
			memcpy(e + 8, state, mo->ssz);
			mo->n++;
			return true;
		}
		if (m == mask && !memcmp(e + 8, state, mo->ssz))
			return false;
	}
}

struct search {
	const struct lc_model *m;
	const struct lc_op *ops;
	size_t n;
	struct memo memo;
};

static bool search(struct search *s, uint64_t done, const unsigned char *state)
{
	uint64_t all = s->n == 64 ? ~0ULL : (1ULL << s->n) - 1, min_resp = UINT64_MAX;
	unsigned char next[LC_MAX_STATE];

	if (done == all)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (!(done & (1ULL << i)) && s->ops[i].resp < min_resp)
			min_resp = s->ops[i].resp;
	/* Any pending op invoked before the earliest pending response may be
	 * the next linearization point; no other may. */
	for (size_t i = 0; i < s->n; i++) {
		uint64_t nd = done | (1ULL << i);

		if ((done & (1ULL << i)) || s->ops[i].inv > min_resp)
			continue;
		memcpy(next, state, s->m->state_size);
		if (!s->m->apply(next, &s->ops[i]))
			continue;
		if (!memo_add(&s->memo, nd, next))
			continue;	/* explored from here already, in vain */
		if (search(s, nd, next))
			return true;
	}
	return false;
}

bool lc_check(const struct lc_model *m, const struct lc_op *ops, size_t n)
{
	struct search s = { .m = m, .ops = ops, .n = n, .memo = { .ssz = m->state_size } };
	unsigned char state[LC_MAX_STATE];
	bool ok;

	if (n > LC_MAX_OPS || m->state_size > LC_MAX_STATE)
		return false;
	m->init(state);
	ok = search(&s, 0, state);
	free(s.memo.keys);
	return ok;
}

static int by_inv(const void *a, const void *b)
{
	const struct lc_op *x = a, *y = b;

	return x->inv < y->inv ? -1 : x->inv > y->inv;
}

void lc_print(const struct lc_model *m, const struct lc_op *ops, size_t n, FILE *f)
{
	struct lc_op sorted[LC_MAX_OPS];

	if (n > LC_MAX_OPS)
		n = LC_MAX_OPS;
	memcpy(sorted, ops, n * sizeof(*ops));
	qsort(sorted, n, sizeof(*sorted), by_inv);
	fprintf(f, "%s history, %zu operations (thread [invoked, responded] call -> result):\n",
		m->name, n);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  T%u [%4" PRIu64 ", %4" PRIu64 "] ", sorted[i].thread,
			sorted[i].inv, sorted[i].resp);
		m->print(&sorted[i], f);
		fputc('\n', f);
	}
}

/* ---- the hash map model ------------------------------------------------------ */

struct hash_state {
	uint64_t present;	/* bit per key */
	uint64_t val[LC_HASH_KEYS];
};

static void hash_init(void *state)
{
	memset(state, 0, sizeof(struct hash_state));
}

static bool hash_apply(void *state, const struct lc_op *op)
{
	struct hash_state *s = state;
	uint64_t bit = 1ULL << (op->key % LC_HASH_KEYS);
	bool here = s->present & bit;
	uint64_t *v = &s->val[op->key % LC_HASH_KEYS];

	switch (op->kind) {
	case LC_UPDATE:
		if (op->flags == RSZ_NOEXIST && here)
			return op->ret == -EEXIST;
		if (op->flags == RSZ_EXIST && !here)
			return op->ret == -ENOENT;
		if (op->ret != 0)
			return false;
		s->present |= bit;
		*v = op->val;
		return true;
	case LC_DELETE:
		if (!here)
			return op->ret == -ENOENT;
		if (op->ret != 0)
			return false;
		s->present &= ~bit;
		*v = 0;		/* states that differ only in dead values are one */
		return true;
	case LC_LOOKUP:
		if (!here)
			return op->ret == -ENOENT;
		return op->ret == 0 && op->out == *v;
	case LC_RESIZE:
		return true;
	}
	return false;
}

static void hash_print(const struct lc_op *op, FILE *f)
{
	static const char *const fl[3] = { "ANY", "NOEXIST", "EXIST" };

	switch (op->kind) {
	case LC_UPDATE:
		fprintf(f, "update(k%" PRIu64 ", %" PRIu64 ", %s) -> %" PRId64, op->key,
			op->val, op->flags < 3 ? fl[op->flags] : "?", op->ret);
		break;
	case LC_DELETE:
		fprintf(f, "delete(k%" PRIu64 ") -> %" PRId64, op->key, op->ret);
		break;
	case LC_LOOKUP:
		if (op->ret)
			fprintf(f, "lookup(k%" PRIu64 ") -> %" PRId64, op->key, op->ret);
		else
			fprintf(f, "lookup(k%" PRIu64 ") -> %" PRIu64, op->key, op->out);
		break;
	default:
		fprintf(f, "resize(%" PRIu64 ") -> %" PRId64, op->val, op->ret);
	}
}

const struct lc_model lc_hash_model = {
	.name = "hash",
	.state_size = sizeof(struct hash_state),
	.init = hash_init,
	.apply = hash_apply,
	.print = hash_print,
};
