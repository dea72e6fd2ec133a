/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * mem_model.h - the memory counters of include/rsz/mem.h against a plain
 * model, for the property test (test_mem_prop.c) and the fuzz target
 * (fuzz/fuzz_mem.c), which share the operations and the comparison.
 *
 * The tree has three levels: root; a, b under it; a1, a2 under a; b1
 * under b. Every step compares the call's result with the model's, then
 * every counter's rsz_mem_stat() with the model.
 */
#ifndef RSZ_MEM_MODEL_H
#define RSZ_MEM_MODEL_H

#include <stdio.h>

#include "prop.h"

enum {
	MM_NODES = 6,
	MM_NONE = -1,
};

enum mm_kind {
	MM_CHARGE,	/* arg0 node, arg1 bytes */
	MM_UNCHARGE,	/* arg0 node, arg1 bytes */
	MM_SET_MAX,	/* arg0 node, arg1 max */
	MM_STAT,	/* arg0 node, arg1 size variant */
	MM_DESTROY,	/* arg0 node, arg1 max of the counter recreated if it went */
	MM_NULL,	/* arg0 which call gets a NULL counter */
	MM_NR_KINDS,
};

struct mm_node {
	int parent;
	uint64_t usage, peak, max, failcnt;
};

struct mem_model {
	struct rsz_mem *c[MM_NODES];
	struct mm_node m[MM_NODES];
	uint64_t steps;
};

/* The property (ctx unused): setup/step/teardown/gen/simplify/print. */
extern const struct prop mem_model_prop;

int mem_model_init(struct mem_model *mm);
int mem_model_step(struct mem_model *mm, const struct prop_op *op, char *msg, size_t len);
/* Drain and destroy every counter; non-zero if anything disagrees. */
int mem_model_fini(struct mem_model *mm, char *msg, size_t len);
void mem_model_print(const struct prop_op *op, FILE *f);
/* Normalise decoded or generated arguments into the op's valid domain. */
void mem_model_clamp(struct prop_op *op);

#endif /* RSZ_MEM_MODEL_H */
