/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * faultinj.h - allocation-failure and memory-limit injection at every site.
 *
 * A scenario is a deterministic run of operations on one structure, built
 * with the driver's allocator (fi->ta.ops) and charged to the driver's
 * counter (fi->mem, or a child of it). The driver runs it:
 *
 *  - once clean, counting allocator calls and steps;
 *  - for k = 1, 2, 3, ...: with the k-th allocator call failing, until a
 *    run sees no failure (every allocation site failed once);
 *  - for k = 1 .. steps: with fi->mem's max lowered to its usage for the
 *    k-th step only, so that any charge of that step is refused.
 *
 * After every run, the allocator's live blocks and bytes and the counter's
 * usage must be zero and the counter destroyable. The scenario itself
 * checks, around each operation (faultinj_before/faultinj_after), that an
 * operation hit by a failure returned its documented error and changed
 * nothing, and that the structure keeps working afterwards (retry it).
 */
#ifndef RSZ_FAULTINJ_H
#define RSZ_FAULTINJ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "testutil.h"

enum faultinj_mode {
	FI_CLEAN,	/* nothing fails */
	FI_ALLOC,	/* the k-th allocator call fails */
	FI_LIMIT,	/* the k-th step runs at the memory limit */
};

struct faultinj {
	struct test_alloc ta;	/* hand &ta.ops to the structure */
	struct rsz_mem *mem;	/* charge to it (or to a child of it) */
	enum faultinj_mode mode;
	uint64_t k;
	uint64_t step;		/* steps begun in this run */
	uint64_t injected;	/* operations hit by a failure in this run */
	/* private */
	uint64_t fails_before, failcnt_before;
	bool limited;
	char msg[512];
	bool failed;
};

/* Around each operation of a scenario: returns true from faultinj_after()
 * if an injected failure (allocator or limit) hit the operation. */
void faultinj_before(struct faultinj *fi);
bool faultinj_after(struct faultinj *fi);

/* Record a violation (the first one's message is kept); returns !cond. */
bool faultinj_check(struct faultinj *fi, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define FI_CHECK(fi, cond, fmt, ...) \
	faultinj_check((fi), (cond), "%s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__)

struct faultinj_scenario {
	const char *name;
	/* Build, operate, destroy. Return 0, or non-zero on a harness error
	 * (violations go through FI_CHECK). */
	int (*run)(struct faultinj *fi, void *ctx);
	void *ctx;
};

struct faultinj_stats {
	uint64_t alloc_sites;	/* allocator calls of the clean run */
	uint64_t alloc_runs;	/* runs with one allocation failing */
	uint64_t limit_steps;	/* steps of the clean run, each run at the limit */
	uint64_t injected;	/* operations hit by a failure, over all runs */
};

/* Run every injection, with the calling thread registered with rsz's
 * default flavor; 0 with a summary line printed, or -1 with the first
 * violation printed. */
int faultinj_run(const struct faultinj_scenario *s, struct faultinj_stats *st, FILE *out);

#endif /* RSZ_FAULTINJ_H */
