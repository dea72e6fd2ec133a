/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * array_model.h - the segmented array's model-based check, shared by the
 * property test (test_array_prop.c) and the fuzz target (fuzz/fuzz_array.c).
 * Operations are struct prop_op: kind is enum akind (mod A_NR), the
 * arguments are raw and reduced by the step.
 */
#ifndef RSZ_ARRAY_MODEL_H
#define RSZ_ARRAY_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "prop.h"

#define ARRAY_MODEL_VSZ_MAX 24	/* value sizes 1 .. this */

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
	A_MEM_MAX,	/* selector, bytes: the memory counter's limit */
	A_NR,
};

struct rcu_flavor_struct;

struct array_model_cfg {
	uint64_t range;		/* ops name indices 0 .. range + range/8 */
	uint32_t value_size;	/* 1 .. ARRAY_MODEL_VSZ_MAX */
	uint64_t max_entries;	/* 0: none */
	uint64_t initial_entries;
	bool shrink;		/* RSZ_F_SHRINK */
	uint64_t mem_max;	/* the counter's limit at creation */
	/* NULL: rsz's default. With test_inline_flavor() (every RCU
	 * callback has run when call_rcu returns) set @exact_mem: then
	 * mem_bytes, the counter's usage and the allocator's live bytes are
	 * compared after every step, not only after a barrier. */
	const struct rcu_flavor_struct *flavor;
	bool exact_mem;
};

/* The property: seeds choose the index range (1, 10, 10^6), value size,
 * cap, initial_entries and RSZ_F_SHRINK; no memory limit (A_MEM_MAX is
 * never drawn). The caller is a registered thread of the default flavor. */
extern const struct prop array_model_prop;

/*
 * array_model_new() - an RSZ_F_MANUAL array (every step deterministic) and
 * its model, charged to a counter of its own with @cfg->mem_max.
 * Return: 0 with the state in *@state; 0 with *@state NULL if the array
 * was refused as the contract allows (ENOMEM under a memory limit, with
 * nothing left held or charged); -1 with @msg otherwise.
 */
int array_model_new(const struct array_model_cfg *cfg, void **state, char *msg, size_t len);
/* One step: 0, or -1 with what disagreed in @msg. */
int array_model_step(void *state, const struct prop_op *op, char *msg, size_t len);
/* Destroy; -1 with @msg if anything leaked. */
int array_model_free(void *state, char *msg, size_t len);
void array_model_print(const struct prop_op *op, FILE *f);

#endif /* RSZ_ARRAY_MODEL_H */
