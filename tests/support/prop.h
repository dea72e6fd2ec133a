/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * prop.h - model-based property testing with shrinking and seed replay.
 *
 * A property names a system under test and a plain reference model. The
 * harness draws a random sequence of operations from a seed, runs it on a
 * fresh system and model, and lets the property compare them after each
 * step. When a step disagrees, the sequence is shrunk (delta debugging:
 * drop chunks of operations, halving the chunk size, then simplify each
 * operation's arguments) to a minimal sequence that still fails, which is
 * printed with its seed so that the failure can be replayed:
 *
 *	RSZ_PROP_SEED=<seed> [RSZ_PROP_OPS=<n>] ./test_mem_prop
 *
 * Sequences are generated whole before they run, so a sequence depends on
 * the seed and its length only, never on what the system answered.
 */
#ifndef RSZ_PROP_H
#define RSZ_PROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One operation: a kind and up to four arguments, meaning the property's. */
struct prop_op {
	uint32_t kind;
	uint64_t arg[4];
};

struct prop {
	const char *name;
	void *ctx;		/* passed to every callback */
	/* A fresh system and model; NULL on failure (a harness error). */
	void *(*setup)(void *ctx, uint64_t seed);
	/* Apply @op to both and compare: 0, or non-zero with a message in
	 * @msg. Called with any op in any state (shrinking drops ops), so
	 * every op must be valid input whose answer the model predicts. */
	int (*step)(void *state, const struct prop_op *op, char *msg, size_t len);
	/* Final checks (nothing leaked, counters at zero) and free: 0 or
	 * non-zero with a message. */
	int (*teardown)(void *state, char *msg, size_t len);
	/* Draw one op. @rng is xorshift state: use prop_rand(). */
	void (*gen)(void *ctx, uint64_t *rng, struct prop_op *op);
	/* Candidate simplification number @i of @op into @out (smaller
	 * arguments, a simpler kind); false when there are no more. NULL: no
	 * argument simplification. */
	bool (*simplify)(void *ctx, const struct prop_op *op, unsigned int i,
			 struct prop_op *out);
	/* Print @op as one line a human can read (no newline). */
	void (*print)(void *ctx, const struct prop_op *op, FILE *f);
};

struct prop_stats {
	uint64_t seeds;		/* sequences run (shrinking not counted) */
	uint64_t ops;		/* operations applied, shrinking not counted */
	uint64_t shrink_runs;	/* runs spent shrinking */
	uint64_t failed_seed;	/* the seed of a failure, if any */
};

/* xorshift64*; a zero state is replaced by a fixed non-zero one. */
uint64_t prop_rand(uint64_t *s);
/* Uniform in [0, n) (n > 0). */
uint64_t prop_below(uint64_t *s, uint64_t n);

/* A seed's configuration draw number @salt (ranges, caps, flags), so that
 * a property's setup depends on the seed alone. */
uint64_t prop_seed_cfg(uint64_t seed, unsigned int salt);

/*
 * Operation kinds drawn by weight, with three raw arguments each: what the
 * array and hash models share. With a struct prop_kinds as the property's
 * ctx, prop_gen_kinds, prop_simplify_args and prop_print_kinds serve as
 * its gen, simplify and print.
 */
struct prop_kinds {
	unsigned int nr;
	const unsigned short *weight;	/* nr entries; 0: never drawn */
	const char *const *name;	/* nr entries */
};

/* A kind by weight, then arg[0..2] uniformly. @kinds: struct prop_kinds. */
void prop_gen_kinds(void *kinds, uint64_t *rng, struct prop_op *op);
/* Candidates 0-2: arg[i] to 0; 3-5: arg[i-3] halved. */
bool prop_simplify_args(void *ctx, const struct prop_op *op, unsigned int i,
			struct prop_op *out);
/* "name(raw a0, a1, a2)", the kind taken modulo kinds->nr. */
void prop_print_kinds(void *kinds, const struct prop_op *op, FILE *f);

/* In a step, with `char *msg, size_t len' in scope: say what disagreed
 * and fail the step. */
#define PROP_FAIL(...) do { snprintf(msg, len, __VA_ARGS__); return -1; } while (0)

/*
 * prop_run_seed() - run one sequence of @nops ops from @seed; on failure
 * shrink and print the minimal failing sequence to @out. Returns 0 or -1.
 */
int prop_run_seed(const struct prop *p, uint64_t seed, size_t nops,
		  struct prop_stats *st, FILE *out);

/*
 * prop_check() - the CI entry point: sequences of @nops ops from each of
 * @nseeds fixed seeds (1 .. nseeds, mixed), plus one random seed which is
 * printed; or, if RSZ_PROP_SEED is set, only that seed (with RSZ_PROP_OPS
 * ops if set). Stops at the first failure. Returns 0 with a summary line
 * printed, or -1.
 */
int prop_check(const struct prop *p, size_t nops, size_t nseeds,
	       struct prop_stats *st, FILE *out);

#endif /* RSZ_PROP_H */
