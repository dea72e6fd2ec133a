/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * rsz/mem.h - hierarchical memory counters.
 *
 * A counter is charged for every byte a structure obtains from its
 * allocator, before the allocation, and uncharged when the memory really
 * goes back (after an RCU grace period for anything readers may still see).
 * Counters form a tree: a charge applies to the counter and every ancestor
 * and fails whole if any level would pass its max, like memory cgroups'
 * page_counter. Charging and uncharging are lock-free.
 */
#ifndef RSZ_MEM_H
#define RSZ_MEM_H

#include <rsz/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RSZ_MEM_UNLIMITED UINT64_MAX

struct rsz_mem;

struct rsz_mem_stat {
	uint64_t usage;    /* bytes charged now, including this counter's descendants */
	uint64_t deferred; /* part of usage waiting for an RCU grace period before it is freed */
	uint64_t peak;     /* highest usage seen */
	uint64_t max;      /* the limit */
	uint64_t failcnt;  /* charges refused because of this counter's limit */
};

/**
 * rsz_mem_new() - create a counter.
 * @parent: the counter whose usage includes this one's, or NULL for a root.
 * @max_bytes: the limit; 0 is valid (nothing may be charged),
 *             RSZ_MEM_UNLIMITED for none.
 *
 * Context: any thread; allocates with malloc (the counter itself is not
 * charged anywhere); not async-signal-safe.
 * Return: the counter, or NULL with errno ENOMEM.
 */
RSZ_API struct rsz_mem *rsz_mem_new(struct rsz_mem *parent, uint64_t max_bytes);

/**
 * rsz_mem_destroy() - free a counter.
 *
 * Context: any thread; no concurrent call may use @mem.
 * Return: 0; -EBUSY (and nothing changed) while @mem is charged or has
 * children; -EINVAL if @mem is NULL.
 */
RSZ_API int rsz_mem_destroy(struct rsz_mem *mem);

/**
 * rsz_mem_set_max() - change the limit.
 *
 * Context: any thread, lock-free, async-signal-safe.
 * Return: 0; -EBUSY if usage is above @max_bytes (limit unchanged);
 * -EINVAL if @mem is NULL.
 */
RSZ_API int rsz_mem_set_max(struct rsz_mem *mem, uint64_t max_bytes);

/**
 * rsz_mem_stat() - read the counter.
 * @size: sizeof(*st) as the caller knows it; rsz fills that many bytes and
 *        zeroes any tail it does not know.
 *
 * Each field is read atomically, but not all of them at one instant.
 * Context: any thread, lock-free, async-signal-safe. With @mem or @st NULL
 * it does nothing.
 */
RSZ_API void rsz_mem_stat(const struct rsz_mem *mem, struct rsz_mem_stat *st,
			  size_t size);

/**
 * rsz_mem_charge() - charge @bytes to @mem and all its ancestors.
 *
 * No level's usage ever passes its max, not even transiently: each level is
 * raised by compare-and-swap against its own max, and the levels already
 * raised are lowered again if a higher one refuses.
 * Context: any thread, lock-free, async-signal-safe.
 * Return: 0 (also for 0 bytes); -ENOMEM and nothing charged if any level
 * would pass its max (that level's failcnt counts it); -EINVAL if @mem is
 * NULL.
 */
RSZ_API int rsz_mem_charge(struct rsz_mem *mem, uint64_t bytes);

/**
 * rsz_mem_uncharge() - give back @bytes at @mem and all its ancestors.
 *
 * Context: any thread, lock-free, async-signal-safe.
 * Return: 0 (also for 0 bytes); -EINVAL and nothing changed if any level
 * would go below zero or @mem is NULL.
 */
RSZ_API int rsz_mem_uncharge(struct rsz_mem *mem, uint64_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* RSZ_MEM_H */
