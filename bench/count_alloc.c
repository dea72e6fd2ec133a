/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "count_alloc.h"

static unsigned int next_shard;
static __thread unsigned int my_shard = ~0u;

static unsigned int shard_of_thread(void)
{
	if (my_shard == ~0u)
		my_shard = __atomic_fetch_add(&next_shard, 1, __ATOMIC_RELAXED) % COUNT_SHARDS;
	return my_shard;
}

/*
 * Relaxed adds: the sums are read only when the structure is quiescent
 * (after joins and rcu_barrier), which orders everything before them.
 * Atomic because more than COUNT_SHARDS threads may share a shard.
 */
static void account(struct count_alloc *ca, void *p, int sign)
{
	unsigned int s = shard_of_thread();

	__atomic_add_fetch(&ca->shard[s].usable, sign * (int64_t)malloc_usable_size(p),
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&ca->shard[s].blocks, sign, __ATOMIC_RELAXED);
}

void *count_malloc(struct count_alloc *ca, size_t size, size_t align)
{
	void *p;

	if (align > 16) {
		if (posix_memalign(&p, align, size))
			return NULL;
	} else {
		p = malloc(size);
	}
	if (p && ca)
		account(ca, p, 1);
	return p;
}

void *count_zalloc(struct count_alloc *ca, size_t size, size_t align)
{
	void *p;

	if (align <= 16) {	/* calloc may skip zeroing fresh mmapped pages */
		p = calloc(1, size);
		if (p && ca)
			account(ca, p, 1);
		return p;
	}
	p = count_malloc(ca, size, align);
	if (p)
		memset(p, 0, size);
	return p;
}

void count_free(struct count_alloc *ca, void *p)
{
	if (!p)
		return;
	if (ca)
		account(ca, p, -1);
	free(p);
}

static void *ops_alloc(size_t size, size_t align, void *ctx)
{
	return count_malloc(ctx, size, align);
}

static void ops_free(void *p, size_t size, void *ctx)
{
	(void)size;
	count_free(ctx, p);
}

void count_alloc_init(struct count_alloc *ca)
{
	memset(ca, 0, sizeof(*ca));
	ca->ops.alloc = ops_alloc;
	ca->ops.free = ops_free;
	ca->ops.ctx = ca;
}

uint64_t count_alloc_usable(const struct count_alloc *ca)
{
	int64_t sum = 0;

	for (int i = 0; i < COUNT_SHARDS; i++)
		sum += __atomic_load_n(&ca->shard[i].usable, __ATOMIC_RELAXED);
	return sum > 0 ? (uint64_t)sum : 0;
}

uint64_t count_alloc_blocks(const struct count_alloc *ca)
{
	int64_t sum = 0;

	for (int i = 0; i < COUNT_SHARDS; i++)
		sum += __atomic_load_n(&ca->shard[i].blocks, __ATOMIC_RELAXED);
	return sum > 0 ? (uint64_t)sum : 0;
}

uint64_t count_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}
