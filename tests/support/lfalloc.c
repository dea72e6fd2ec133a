/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "lfalloc.h"

#define LFA_GRAIN 16u	/* blocks start on 16 bytes; indices count grains */

/* A block: [link or size: 8][... tag: 8][user memory, aligned]. The first
 * word is the free-list link while free and the requested size while in
 * use; the 8 bytes just before the user pointer hold the block's start and
 * class. User memory starts at least 16 bytes in (blocks start on 16). */
struct lfa_tag {
	uint32_t block;		/* block start, in grains from base */
	uint32_t cls;
};

static unsigned int class_of(size_t bytes)
{
	unsigned int c = 4;	/* 16 bytes */

	while (((size_t)1 << c) < bytes)
		c++;
	return c;
}

static void *ops_alloc(size_t size, size_t align, void *ctx)
{
	return lfalloc_alloc(ctx, size, align);
}

static void ops_free(void *p, size_t size, void *ctx)
{
	(void)size;
	lfalloc_free(ctx, p);
}

int lfalloc_init(struct lfalloc *a, size_t arena_bytes)
{
	memset(a, 0, sizeof(*a));
	/* Indices are 32-bit grains. */
	if (arena_bytes > (size_t)UINT32_MAX * LFA_GRAIN)
		return -EINVAL;
	a->base = mmap(NULL, arena_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->base == MAP_FAILED) {
		a->base = NULL;
		return -errno;
	}
	a->size = arena_bytes;
	a->ops.alloc = ops_alloc;
	a->ops.free = ops_free;
	a->ops.ctx = a;
	return 0;
}

void lfalloc_fini(struct lfalloc *a)
{
	if (a->base)
		munmap(a->base, a->size);
	a->base = NULL;
}

int lfalloc_fini_checked(struct lfalloc *a, char *msg, size_t len)
{
	uint64_t live = __atomic_load_n(&a->live_blocks, __ATOMIC_RELAXED);

	if (live && msg)
		snprintf(msg, len, "%" PRIu64 " blocks live after destroy", live);
	lfalloc_fini(a);
	return live ? -1 : 0;
}

/* The free list's link lives in the block's first word; it is read while
 * another thread may pop and reuse the block, which is why it is atomic
 * (the tag then makes the stale CAS fail). */
static void **link_of(struct lfalloc *a, uint32_t idx)
{
	return (void **)(void *)(a->base + (size_t)idx * LFA_GRAIN);
}

static int64_t pop(struct lfalloc *a, unsigned int c)
{
	/* Acquire: the link we read was stored before the push published it. */
	uint64_t h = __atomic_load_n(&a->head[c], __ATOMIC_ACQUIRE);

	for (;;) {
		uint32_t idx1 = (uint32_t)h, next1;
		uint64_t n;

		if (!idx1)
			return -1;
		next1 = (uint32_t)(uintptr_t)__atomic_load_n(link_of(a, idx1 - 1),
							      __ATOMIC_RELAXED);
		n = ((h >> 32) + 1) << 32 | next1;
		if (__atomic_compare_exchange_n(&a->head[c], &h, n, false,
						__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
			return idx1 - 1;
	}
}

static void push(struct lfalloc *a, unsigned int c, uint32_t idx)
{
	uint64_t h = __atomic_load_n(&a->head[c], __ATOMIC_RELAXED), n;

	do {
		__atomic_store_n(link_of(a, idx), (void *)(uintptr_t)(uint32_t)h,
				 __ATOMIC_RELAXED);
		n = ((h >> 32) + 1) << 32 | (idx + 1);
		/* Release: the link and the user's last writes precede reuse. */
	} while (!__atomic_compare_exchange_n(&a->head[c], &h, n, false,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void *lfalloc_alloc(struct lfalloc *a, size_t size, size_t align)
{
	unsigned int c;
	size_t need;
	int64_t idx;
	char *blk, *user;
	struct lfa_tag tag;

	__atomic_add_fetch(&a->calls, 1, __ATOMIC_RELAXED);
	if (align < LFA_GRAIN)
		align = LFA_GRAIN;
	/* Room for the tag before an aligned user pointer. */
	need = size + align + sizeof(tag);
	c = class_of(need);
	if (c >= LFA_CLASSES)
		goto fail;
	idx = pop(a, c);
	if (idx < 0) {
		uint64_t b = __atomic_fetch_add(&a->bump, (uint64_t)1 << c, __ATOMIC_RELAXED);

		if (b + ((uint64_t)1 << c) > a->size)
			goto fail;	/* the bump stays past the end: later calls fail too */
		idx = (int64_t)(b / LFA_GRAIN);
	}
	blk = a->base + (size_t)idx * LFA_GRAIN;
	user = blk + sizeof(tag);
	user = (char *)(((uintptr_t)user + align - 1) & ~(uintptr_t)(align - 1));
	tag.block = (uint32_t)idx;
	tag.cls = c;
	memcpy(user - sizeof(tag), &tag, sizeof(tag));
	__atomic_add_fetch(&a->live_bytes, size, __ATOMIC_RELAXED);
	__atomic_add_fetch(&a->live_blocks, 1, __ATOMIC_RELAXED);
	/* The request's size, for live_bytes at free, in the link word: a
	 * stale pop() may still read that word, hence atomic. */
	__atomic_store_n((uint64_t *)(void *)blk, (uint64_t)size, __ATOMIC_RELAXED);
	return user;
fail:
	__atomic_add_fetch(&a->failures, 1, __ATOMIC_RELAXED);
	return NULL;
}

void lfalloc_free(struct lfalloc *a, void *p)
{
	struct lfa_tag tag;
	size_t size;

	if (!p)
		return;
	memcpy(&tag, (char *)p - sizeof(tag), sizeof(tag));
	size = (size_t)__atomic_load_n((uint64_t *)(void *)(a->base +
			(size_t)tag.block * LFA_GRAIN), __ATOMIC_RELAXED);
	__atomic_sub_fetch(&a->live_bytes, size, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&a->live_blocks, 1, __ATOMIC_RELAXED);
	push(a, tag.cls, tag.block);
}
