/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * lfalloc.h - a lock-free allocator for the stall-injection tests.
 *
 * glibc's malloc takes arena locks: a thread parked inside rsz while it
 * holds one would stop other threads in malloc, and the test would blame
 * rsz. This allocator takes no lock: one arena reserved at init (virtual
 * memory only), a bump pointer advanced by compare-and-swap, and a
 * lock-free free list per power-of-two size class (a Treiber stack whose
 * head carries a generation tag against ABA). Blocks are never returned
 * to the system; a block's header records its class so that free() needs
 * no size. It counts live blocks and bytes for leak checks.
 */
#ifndef RSZ_LFALLOC_H
#define RSZ_LFALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <rsz/common.h>

#define LFA_CLASSES 40

struct lfalloc {
	struct rsz_allocator ops;	/* hand &ops to a structure */
	char *base;
	size_t size;
	uint64_t bump;			/* bytes handed out from the arena */
	uint64_t head[LFA_CLASSES];	/* (tag << 32) | (block index + 1) */
	uint64_t live_bytes;
	uint64_t live_blocks;
	uint64_t calls;
	uint64_t failures;		/* arena exhausted */
};

/* Reserve @arena_bytes of address space; 0 or -errno. Before any thread
 * uses it. */
int lfalloc_init(struct lfalloc *a, size_t arena_bytes);
void lfalloc_fini(struct lfalloc *a);
/* lfalloc_fini() once the structure using @a is destroyed: 0, or -1 if
 * blocks are still live (leaked), said in @msg unless it is NULL. */
int lfalloc_fini_checked(struct lfalloc *a, char *msg, size_t len);
void *lfalloc_alloc(struct lfalloc *a, size_t size, size_t align);
void lfalloc_free(struct lfalloc *a, void *p);

#endif /* RSZ_LFALLOC_H */
