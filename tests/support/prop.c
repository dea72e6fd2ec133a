/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prop.h"
#include "testutil.h"

/* Shrinking a failure costs at most this many extra runs, and at most
 * RSZ_PROP_SHRINK_SECONDS (default 60) of wall time: runs with grace
 * periods take milliseconds each. */
#define SHRINK_BUDGET 4000

static time_t shrink_deadline;

static bool budget_left(uint64_t runs)
{
	return runs < SHRINK_BUDGET && time(NULL) < shrink_deadline;
}

/* testutil's xorshift64*, from a fixed state when the seed is 0. */
uint64_t prop_rand(uint64_t *s)
{
	if (!*s)
		*s = 0x9e3779b97f4a7c15ULL;
	return test_rand(s);
}

uint64_t prop_below(uint64_t *s, uint64_t n)
{
	return n ? prop_rand(s) % n : 0;
}

/* Seeds 1, 2, 3 make poor xorshift states; spread them (splitmix64). */
static uint64_t mix_seed(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t prop_seed_cfg(uint64_t seed, unsigned int salt)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + salt;

	return prop_rand(&s);
}

void prop_gen_kinds(void *kinds, uint64_t *rng, struct prop_op *op)
{
	const struct prop_kinds *k = kinds;
	uint64_t r, acc = 0, sum = 0;

	for (unsigned int i = 0; i < k->nr; i++)
		sum += k->weight[i];
	r = prop_below(rng, sum);
	for (unsigned int i = 0; i < k->nr; i++) {
		acc += k->weight[i];
		if (r < acc) {
			op->kind = i;
			break;
		}
	}
	op->arg[0] = prop_rand(rng);
	op->arg[1] = prop_rand(rng);
	op->arg[2] = prop_rand(rng);
}

bool prop_simplify_args(void *ctx, const struct prop_op *op, unsigned int i,
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

void prop_print_kinds(void *kinds, const struct prop_op *op, FILE *f)
{
	const struct prop_kinds *k = kinds;

	fprintf(f, "%s(raw %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")", k->name[op->kind % k->nr],
		op->arg[0], op->arg[1], op->arg[2]);
}

static void generate(const struct prop *p, uint64_t seed, struct prop_op *ops, size_t n)
{
	uint64_t rng = mix_seed(seed);

	for (size_t i = 0; i < n; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		p->gen(p->ctx, &rng, &ops[i]);
	}
}

/* Run @ops on a fresh system: -1 and the message if it fails (*at is the
 * failing step, or n for teardown), 0 if it passes. */
static int run_seq(const struct prop *p, uint64_t seed, const struct prop_op *ops,
		   size_t n, size_t *at, char *msg, size_t len)
{
	void *state = p->setup(p->ctx, seed);
	char tmsg[256];

	msg[0] = 0;
	if (!state) {
		snprintf(msg, len, "setup failed");
		*at = 0;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (p->step(state, &ops[i], msg, len)) {
			*at = i;
			/* Teardown still frees; its verdict no longer matters. */
			p->teardown(state, tmsg, sizeof(tmsg));
			return -1;
		}
	}
	*at = n;
	return p->teardown(state, msg, len) ? -1 : 0;
}

/* Length of a failure message's kind: the text before its first digit.
 * Shrinking keeps only candidates that fail the same way, so that it does
 * not slip from the bug found to another one on the way. */
static size_t kind_len(const char *msg)
{
	size_t i = 0;

	while (msg[i] && !(msg[i] >= '0' && msg[i] <= '9'))
		i++;
	return i;
}

static bool same_kind(const char *a, const char *b)
{
	size_t n = kind_len(a);

	return n == kind_len(b) && !strncmp(a, b, n);
}

/* Shrink @ops (length *n, failing) in place; returns runs spent. */
static uint64_t shrink(const struct prop *p, uint64_t seed, struct prop_op *ops, size_t *n)
{
	char kind[256];
	struct prop_op *tmp = malloc(sizeof(*tmp) * (*n ? *n : 1));
	uint64_t runs = 0;
	char msg[256];
	size_t at;
	bool progress = true;

	if (!tmp)
		return 0;
	/* Everything after the failing step is irrelevant. */
	if (run_seq(p, seed, ops, *n, &at, msg, sizeof(msg)) && at < *n)
		*n = at + 1;
	snprintf(kind, sizeof(kind), "%s", msg);
	runs++;
	{
		const char *e = getenv("RSZ_PROP_SHRINK_SECONDS");

		shrink_deadline = time(NULL) + (e && *e ? atol(e) : 60);
	}
	while (progress && budget_left(runs)) {
		progress = false;
		/* ddmin: remove chunks, from halves down to single ops. */
		for (size_t chunk = *n / 2 ? *n / 2 : 1; chunk >= 1 && budget_left(runs);
		     chunk /= 2) {
			for (size_t start = 0; start < *n && budget_left(runs);) {
				size_t end = start + chunk > *n ? *n : start + chunk;
				size_t m = 0;

				for (size_t i = 0; i < *n; i++)
					if (i < start || i >= end)
						tmp[m++] = ops[i];
				runs++;
				if (m && run_seq(p, seed, tmp, m, &at, msg, sizeof(msg)) &&
				    same_kind(kind, msg)) {
					memcpy(ops, tmp, sizeof(*ops) * m);
					*n = at < m ? at + 1 : m;
					progress = true;
				} else {
					start = end;
				}
			}
			if (chunk == 1)
				break;
		}
		/* Simplify arguments, one op at a time. */
		for (size_t i = 0; p->simplify && i < *n && budget_left(runs); i++) {
			struct prop_op cand, orig = ops[i];

			for (unsigned int k = 0; budget_left(runs) &&
			     p->simplify(p->ctx, &orig, k, &cand); k++) {
				if (!memcmp(&cand, &orig, sizeof(cand)))
					continue;
				ops[i] = cand;
				runs++;
				if (run_seq(p, seed, ops, *n, &at, msg, sizeof(msg)) &&
				    same_kind(kind, msg)) {
					if (at < *n)
						*n = at + 1;
					progress = true;
					break;	/* simplify the new op again next round */
				}
				ops[i] = orig;
			}
		}
	}
	free(tmp);
	return runs;
}

int prop_run_seed(const struct prop *p, uint64_t seed, size_t nops,
		  struct prop_stats *st, FILE *out)
{
	struct prop_op *ops = calloc(nops ? nops : 1, sizeof(*ops));
	char msg[256];
	size_t at, n = nops;
	int ret = 0;

	if (!ops) {
		fprintf(out, "prop %s: out of memory\n", p->name);
		return -1;
	}
	generate(p, seed, ops, nops);
	st->seeds++;
	if (run_seq(p, seed, ops, nops, &at, msg, sizeof(msg))) {
		st->ops += at;
		st->failed_seed = seed;
		fprintf(out, "prop %s: FAILED, seed %" PRIu64 ", %zu ops, at op %zu: %s\n",
			p->name, seed, nops, at, msg);
		st->shrink_runs += shrink(p, seed, ops, &n);
		if (!run_seq(p, seed, ops, n, &at, msg, sizeof(msg)))
			snprintf(msg, sizeof(msg), "(passed when run again: the failure "
				 "depends on timing, not only on the sequence)");
		fprintf(out, "prop %s: minimal failing sequence, %zu ops "
			"(seed %" PRIu64 "; replay the original with RSZ_PROP_SEED=%" PRIu64
			" RSZ_PROP_OPS=%zu):\n", p->name, n, seed, seed, nops);
		for (size_t i = 0; i < n; i++) {
			if (i == 100 && n > 120) {	/* the tail is what failed */
				fprintf(out, "  ... %zu ops ...\n", n - 120);
				i = n - 20;
			}
			fprintf(out, "  %4zu: ", i);
			p->print(p->ctx, &ops[i], out);
			fputc('\n', out);
		}
		fprintf(out, "prop %s: fails %s: %s\n", p->name,
			at < n ? "at the last op" : "at teardown", msg);
		ret = -1;
	} else {
		st->ops += nops;
	}
	free(ops);
	return ret;
}

static int check_seeds(const struct prop *p, size_t nops, size_t nseeds,
		       struct prop_stats *st, FILE *out)
{
	const char *env = getenv("RSZ_PROP_SEED"), *envn = getenv("RSZ_PROP_OPS");
	uint64_t rnd;

	memset(st, 0, sizeof(*st));
	if (env && *env) {
		uint64_t seed = strtoull(env, NULL, 0);

		if (envn && *envn)
			nops = strtoull(envn, NULL, 0);
		fprintf(out, "prop %s: replaying seed %" PRIu64 ", %zu ops\n",
			p->name, seed, nops);
		return prop_run_seed(p, seed, nops, st, out);
	}
	for (size_t i = 1; i <= nseeds; i++)
		if (prop_run_seed(p, i, nops, st, out))
			return -1;
	/* One seed nobody chose, printed so that a failure can be replayed. */
	rnd = mix_seed((uint64_t)time(NULL) ^ ((uint64_t)clock() << 32) ^
		       (uint64_t)(uintptr_t)&rnd) >> 1;
	fprintf(out, "prop %s: random seed %" PRIu64 " (replay: RSZ_PROP_SEED=%" PRIu64 ")\n",
		p->name, rnd, rnd);
	return prop_run_seed(p, rnd, nops, st, out);
}

int prop_check(const struct prop *p, size_t nops, size_t nseeds,
	       struct prop_stats *st, FILE *out)
{
	int ret = check_seeds(p, nops, nseeds, st, out);

	if (!ret)
		fprintf(out, "prop %s: %" PRIu64 " sequences, %" PRIu64 " operations\n",
			p->name, st->seeds, st->ops);
	return ret;
}
