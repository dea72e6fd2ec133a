/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * hash_model.h - the hash map's model-based check, shared by the property
 * test and the fuzz target. Operations are struct prop_op: kind is enum
 * hkind (mod H_NR), the arguments are raw and reduced by the step.
 */
#ifndef RSZ_HASH_MODEL_H
#define RSZ_HASH_MODEL_H

#include <stdbool.h>
#include <stdio.h>

#include "platform.h"
#include "prop.h"

enum hkind {
	H_UPDATE,	/* key, val, flags */
	H_DELETE,	/* key */
	H_LOOKUP,	/* key */
	H_LOOKUP_COPY,	/* key */
	H_WALK,
	H_GROW,		/* n, wait */
	H_SHRINK,	/* wait */
	H_MAINTAIN,
	H_WATERMARKS,	/* low, high */
	H_STAT,
	H_BAD,		/* selector */
	H_NR,
};

/* The property: seeds choose key range (1, 10, 10^6), cap and flags. */
extern const struct prop hash_model_prop;

/* A map and its model: keys 0 .. range-1; @capped: max_entries is
 * min(range, 4096); @flavor NULL: rsz's default, urcu-memb, of which the
 * caller is a registered thread. NULL on failure. */
void *hash_model_new(uint64_t range, bool capped, uint64_t initial, bool shrink,
		     rsz_flavor_t flavor);
/* One step: 0, or -1 with what disagreed in @msg. */
int hash_model_step(void *state, const struct prop_op *op, char *msg, size_t len);
/* Destroy; -1 with @msg if anything leaked. */
int hash_model_free(void *state, char *msg, size_t len);
void hash_model_print(void *ctx, const struct prop_op *op, FILE *f);

#endif /* RSZ_HASH_MODEL_H */
