/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * lincheck.h - linearizability checking of short concurrent histories.
 *
 * Threads record each operation's invocation and response as ticks of one
 * global atomic counter (lc_tick()), with its arguments and result. The
 * checker searches for a sequential order that respects real time (an
 * operation that responded before another was invoked comes first) and in
 * which the sequential model gives every recorded result: Wing and Gong's
 * search with Lowe's memoisation of (linearized set, model state) pairs
 * already explored. Histories hold at most 64 operations.
 */
#ifndef RSZ_LINCHECK_H
#define RSZ_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LC_MAX_OPS 64
#define LC_MAX_STATE 128	/* bytes of model state */

struct lc_op {
	uint32_t thread;
	uint32_t kind;		/* the model's */
	uint64_t key, val, flags;	/* arguments */
	int64_t ret;		/* result code */
	uint64_t out;		/* value returned (lookups) */
	uint64_t inv, resp;	/* lc_tick() before the call and after it */
};

struct lc_model {
	const char *name;
	size_t state_size;	/* <= LC_MAX_STATE */
	void (*init)(void *state);
	/* Apply @op to @state if the model gives @op's recorded result;
	 * false (state unspecified) if not. */
	bool (*apply)(void *state, const struct lc_op *op);
	void (*print)(const struct lc_op *op, FILE *f);
};

/* The clock: seq-cst, so ticks order the calls as the threads saw them. */
uint64_t lc_tick(void);

/* Is the history linearizable? (ops in any order; n <= LC_MAX_OPS) */
bool lc_check(const struct lc_model *m, const struct lc_op *ops, size_t n);
/* Print the history in full, one operation a line, by invocation. */
void lc_print(const struct lc_model *m, const struct lc_op *ops, size_t n, FILE *f);

/* The hash map model: keys 0 .. LC_HASH_KEYS-1, 64-bit values. */
#define LC_HASH_KEYS 8
enum lc_hash_kind {
	LC_UPDATE,	/* key, val, flags (RSZ_ANY/NOEXIST/EXIST) -> ret */
	LC_DELETE,	/* key -> ret */
	LC_LOOKUP,	/* key -> ret (0 or -ENOENT), out */
	LC_RESIZE,	/* grow or shrink: no effect on contents; any ret */
};
extern const struct lc_model lc_hash_model;

#endif /* RSZ_LINCHECK_H */
