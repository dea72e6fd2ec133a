/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * mem_internal.h - charged allocation for rsz's structures.
 *
 * Every byte a structure obtains goes through rsz_kvmalloc(): charged to the
 * structure's counter first (with the same size), then allocated; freed by
 * rsz_kvfree(), which uncharges after the memory is really returned. Memory
 * that readers may still reach is freed from an RCU callback; between the
 * retire and the callback it is counted in the counter's `deferred'.
 */
#ifndef RSZ_MEM_INTERNAL_H
#define RSZ_MEM_INTERNAL_H

#include "platform.h"
#include "rsz/mem.h"

struct rsz_mem {
	struct rsz_mem *parent;
	uint64_t max;
	uint64_t usage;
	uint64_t deferred;
	uint64_t peak;
	uint64_t failcnt;
	uint64_t children;
};

/* One structure's allocation context. */
struct rsz_mctx {
	const struct rsz_allocator *allocator;	/* NULL: the build's default */
	struct rsz_mem *mem;			/* NULL: uncharged */
	uint64_t bytes;				/* held now, deferred included */
	uint64_t deferred;			/* of which waiting for a grace period */
};

/* Charged allocation: 0-filled only if the caller zeroes it. On failure
 * returns NULL with *err = -ENOMEM (limit or allocator); nothing charged. */
void *rsz_kvmalloc(struct rsz_mctx *m, size_t size, size_t align, int *err) RSZ_INTERNAL;
void rsz_kvfree(struct rsz_mctx *m, void *p, size_t size) RSZ_INTERNAL;
/* @size bytes of @m are retired and wait for a grace period. */
void rsz_mctx_defer(struct rsz_mctx *m, uint64_t size) RSZ_INTERNAL;
/* The grace period passed: rsz_kvfree() follows for the same bytes. */
void rsz_mctx_undefer(struct rsz_mctx *m, uint64_t size) RSZ_INTERNAL;
/* Would a charge of @bytes succeed now? (no side effect) */
bool rsz_mem_would_fit(const struct rsz_mem *mem, uint64_t bytes) RSZ_INTERNAL;

#endif /* RSZ_MEM_INTERNAL_H */
