/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * count_alloc.h - the counting allocator memory is judged on
 * (../shared/spec/targets.md): the sum of malloc_usable_size() of every
 * live block, i.e. what the allocator really holds, not what was asked.
 *
 * One counter serves rsz (hand &ca->ops to opts.allocator) and the
 * baselines (count_malloc/count_free). The sums are sharded per thread so
 * that counting adds no shared cache line to the timed paths.
 */
#ifndef RSZ_BENCH_COUNT_ALLOC_H
#define RSZ_BENCH_COUNT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <rsz/common.h>

#define COUNT_SHARDS 16

struct count_alloc {
	struct rsz_allocator ops;	/* for rsz's opts.allocator */
	struct {
		int64_t usable;		/* may go negative: frees happen on other threads */
		int64_t blocks;
		char pad[48];
	} shard[COUNT_SHARDS] __attribute__((aligned(64)));
};

void count_alloc_init(struct count_alloc *ca);

/* @align: 0 or a power of two; @ca NULL: plain malloc, nothing counted. */
void *count_malloc(struct count_alloc *ca, size_t size, size_t align);
void *count_zalloc(struct count_alloc *ca, size_t size, size_t align);
void count_free(struct count_alloc *ca, void *p);

/* Bytes and blocks held now (exact once the structure is quiescent). */
uint64_t count_alloc_usable(const struct count_alloc *ca);
uint64_t count_alloc_blocks(const struct count_alloc *ca);

/*
 * Bytes the whole process holds from malloc (mallinfo2: in-use arena bytes
 * plus mmapped chunks). For memory a library allocates behind our back:
 * rculfhash's bucket tables come from liburcu's own calloc.
 */
uint64_t count_heap_in_use(void);

#endif /* RSZ_BENCH_COUNT_ALLOC_H */
