/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * rsz/array.h - segmented growable array and slot allocator.
 *
 * Capacity grows by adding segments; no element is ever copied or moved,
 * so the address of element i is stable while i stays below capacity.
 * The array doubles as a pool of slots for a program's associated data:
 * rsz_array_alloc() hands out a free index, rsz_array_release() takes it
 * back, and a released slot is reused only after an RCU grace period.
 *
 * Every thread that calls a function below is registered with the array's
 * RCU flavor (urcu-qsbr users also report quiescent states; the calls
 * that may block may be made online or offline). docs/man/rsz_array.3 has
 * the long form of this header, docs/array.md the design.
 */
#ifndef RSZ_ARRAY_H
#define RSZ_ARRAY_H

#include <rsz/common.h>
#include <rsz/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rcu_flavor_struct;
struct rsz_array;

#define RSZ_ARRAY_VALUE_SIZE_MAX (1u << 20)	/* larger values give E2BIG */

struct rsz_array_opts {
	size_t   sz;                /* sizeof(struct rsz_array_opts) */
	uint32_t value_size;        /* bytes, >= 1; elements are 8-byte aligned */
	uint64_t max_entries;       /* hard cap on capacity; 0: no cap */
	uint64_t initial_entries;   /* capacity at creation */
	uint32_t flags;             /* RSZ_F_SHRINK, RSZ_F_MANUAL */
	struct rsz_mem *mem;
	const struct rcu_flavor_struct *flavor;
	const struct rsz_allocator *allocator;
};

struct rsz_array_stat {
	uint64_t capacity;     /* valid indices are 0 .. capacity-1 */
	uint64_t allocated;    /* slots handed out by rsz_array_alloc and not released */
	uint64_t max_entries;
	uint64_t mem_bytes;
	uint64_t nr_grow;
	uint64_t nr_shrink;
	uint64_t grow_pending;
	uint64_t nr_grow_failed;
	int64_t  last_grow_error;
};

/**
 * rsz_array_new() - create an array of at least opts.initial_entries zeroed
 * elements.
 * Context: a registered thread outside a read-side section; allocates,
 * may block; starts rsz's worker unless RSZ_F_MANUAL.
 * Return: the array, or NULL with errno EINVAL (bad options, unknown flag,
 * bad opts.sz, initial_entries above max_entries), E2BIG (value_size too
 * large, overflowing sizes) or ENOMEM.
 */
RSZ_API struct rsz_array *rsz_array_new(const struct rsz_array_opts *opts);

/**
 * rsz_array_destroy() - free the array.
 * Context: not inside a read-side section or an RCU callback; blocks; no
 * concurrent call may use @a.
 */
RSZ_API void rsz_array_destroy(struct rsz_array *a);

/**
 * rsz_array_lookup() - address of element @index.
 * Context: inside a read-side section; wait-free, async-signal-safe. @a
 * must be a live array (this call, alone, does not check for NULL).
 * Return: the 8-byte aligned address, stable while @index < capacity;
 * NULL if @index >= capacity.
 */
RSZ_API void *rsz_array_lookup(struct rsz_array *a, uint64_t index);

/**
 * rsz_array_update() - store @value at @index (not atomic for values wider
 * than a word, as BPF arrays).
 * Context: a registered thread; takes the read lock itself; wait-free,
 * async-signal-safe.
 * Return: 0; -EINVAL for NULL arguments or unknown flags; then -E2BIG if
 * @index >= capacity; then -EEXIST for RSZ_NOEXIST (BPF's order).
 */
RSZ_API int rsz_array_update(struct rsz_array *a, uint64_t index,
			     const void *value, uint64_t flags);

/**
 * rsz_array_alloc() - hand out a free slot, zeroed, preferring low indices.
 * Context: a registered thread; lock-free, never allocates or blocks,
 * async-signal-safe (also when it interrupts itself on the same thread).
 * Return: 0 with the index in @index; -E2BIG if no slot is free and
 * capacity is at max_entries; -ENOMEM if the last grow failed on the
 * memory limit and the next would still fail; -EAGAIN with a grow queued
 * otherwise; -EINVAL for NULL arguments.
 */
RSZ_API int rsz_array_alloc(struct rsz_array *a, uint64_t *index);

/**
 * rsz_array_release() - give a slot back; it is handed out again only
 * after a grace period.
 * Context: as rsz_array_alloc().
 * Return: 0; -EINVAL if @index is not allocated (never allocated, already
 * released, or beyond capacity).
 */
RSZ_API int rsz_array_release(struct rsz_array *a, uint64_t index);

/**
 * rsz_array_grow() - capacity at least @nr_entries; as rsz_hash_grow().
 */
RSZ_API int rsz_array_grow(struct rsz_array *a, uint64_t nr_entries, unsigned int flags);

/**
 * rsz_array_shrink() - drop trailing capacity holding no allocated slot,
 * after a grace period for readers; never below initial_entries. As
 * rsz_hash_shrink() otherwise.
 */
RSZ_API int rsz_array_shrink(struct rsz_array *a, unsigned int flags);

/**
 * rsz_array_set_watermarks() - as rsz_hash_set_watermarks(), counting free
 * slots (slots waiting for their grace period count as allocated).
 */
RSZ_API int rsz_array_set_watermarks(struct rsz_array *a, uint64_t low, uint64_t high);

/**
 * rsz_array_maintain() - run queued work in the caller (grows, shrinks,
 * the return of released slots); as rsz_hash_maintain().
 * Return: 0; -ENOMEM if a queued grow failed (capacity unchanged,
 * nr_grow_failed and last_grow_error record it), released slots being
 * returned all the same; -EINVAL if @a is NULL.
 */
RSZ_API int rsz_array_maintain(struct rsz_array *a);

/**
 * rsz_array_stat() - statistics, filled to @size bytes.
 * Context: any registered thread; wait-free, async-signal-safe.
 */
RSZ_API void rsz_array_stat(struct rsz_array *a, struct rsz_array_stat *st, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* RSZ_ARRAY_H */
