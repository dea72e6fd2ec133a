/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * rsz/hash.h - lock-free resizable hash map with BPF-map semantics.
 *
 * Lookups are wait-free, updates lock-free, resizes incremental and
 * cooperative, and an element's address never changes because of a
 * resize: values may be modified in place through the pointer
 * rsz_hash_lookup() returns. Every byte is charged to opts.mem.
 *
 * Every thread that calls a function below is registered with the map's
 * RCU flavor (its rcu_register_thread()); urcu-qsbr users also report
 * quiescent states. docs/man/rsz_hash.3 has the long form of this header.
 */
#ifndef RSZ_HASH_H
#define RSZ_HASH_H

#include <rsz/common.h>
#include <rsz/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rcu_flavor_struct;	/* liburcu's, from <urcu/flavor.h> */
struct rsz_hash;

#define RSZ_HASH_KEY_SIZE_MAX   512u		/* MAX_BPF_STACK, as BPF */
#define RSZ_HASH_VALUE_SIZE_MAX (1u << 20)	/* larger values give -E2BIG */

struct rsz_hash_opts {
	size_t   sz;                /* sizeof(struct rsz_hash_opts), for ABI growth */
	uint32_t key_size;          /* bytes, 1 .. 512 */
	uint32_t value_size;        /* bytes, may be 0 */
	uint64_t max_entries;       /* hard cap on elements; 0: no cap */
	uint64_t initial_entries;   /* elements storable at creation without growing */
	uint32_t flags;             /* RSZ_F_* */
	struct rsz_mem *mem;        /* charged for every byte; NULL: uncharged */
	const struct rcu_flavor_struct *flavor;  /* liburcu flavor; NULL: urcu-memb */
	const struct rsz_allocator *allocator;   /* NULL: default */
	/* Called after a grace period for every element that leaves the map
	 * (delete, replace, destroy), from liburcu's call_rcu thread, rsz's
	 * worker, rsz_hash_maintain() or rsz_hash_destroy(). NULL: none. */
	void (*release)(void *key, void *value, void *ctx);
	void *release_ctx;
};

struct rsz_hash_stat {
	uint64_t count;          /* elements now */
	uint64_t capacity;       /* elements storable without any further growth */
	uint64_t max_entries;
	uint64_t mem_bytes;      /* bytes this map holds from its allocator, deferred frees included */
	uint64_t nr_grow;        /* completed grows */
	uint64_t nr_shrink;      /* completed shrinks */
	uint64_t grow_pending;   /* 1 while a grow is queued or running */
	uint64_t nr_grow_failed; /* grows that failed (memory limit or allocator) */
	int64_t  last_grow_error;/* the last failed grow's error, 0 if none */
	/* Extensions (past the contract's fields). */
	uint64_t table_slots;    /* slots of the current table */
	uint64_t nr_rehash;      /* same-size migrations that dropped tombstones */
	uint64_t low_watermark;  /* as set, or the default */
	uint64_t high_watermark;
};

/**
 * rsz_hash_bytes() - the keyed hash rsz uses: @len bytes at @key under
 * @seed. Exported so that benchmarks and tools can hash as the map does.
 * Context: any; pure function, async-signal-safe.
 */
RSZ_API uint64_t rsz_hash_bytes(const void *key, size_t len, uint64_t seed);

/**
 * rsz_hash_new() - create a map.
 *
 * Without RSZ_F_MANUAL this starts rsz's worker thread if it is not
 * running and primes the flavor's call_rcu thread, so that later
 * async-signal-safe calls never create threads.
 * Context: a registered thread, outside any read-side section; allocates
 * and may block.
 * Return: the map, or NULL with errno: EINVAL (NULL @opts, key_size 0,
 * unknown flag, opts.sz too small, or larger with non-zero bytes past the
 * known fields, initial_entries above max_entries, a flavor or allocator
 * with a NULL function), E2BIG (key_size above 512, value_size above
 * RSZ_HASH_VALUE_SIZE_MAX, initial_entries whose memory would overflow),
 * ENOMEM (memory limit or allocator).
 */
RSZ_API struct rsz_hash *rsz_hash_new(const struct rsz_hash_opts *opts);

/**
 * rsz_hash_destroy() - free a map.
 *
 * Waits for queued work and pending grace periods, calls opts.release for
 * every remaining element, and uncharges everything.
 * Context: not inside a read-side section or an RCU callback (debug builds
 * assert it); blocks; no concurrent call may use @h.
 */
RSZ_API void rsz_hash_destroy(struct rsz_hash *h);

/**
 * rsz_hash_lookup() - find @key.
 *
 * Context: inside a read-side section of the map's flavor (debug builds
 * assert it). Wait-free: never blocks, never retries on another thread's
 * account, never allocates. Async-signal-safe.
 * Return: the value's address, valid until the read-side section ends and
 * never moved by a resize (8-byte aligned; with value_size 0, a non-NULL
 * token); NULL if @key is absent or @h or @key is NULL.
 */
RSZ_API void *rsz_hash_lookup(struct rsz_hash *h, const void *key);

/**
 * rsz_hash_lookup_copy() - copy @key's value into @value.
 *
 * Context: a registered thread; takes the read lock itself. Wait-free,
 * async-signal-safe.
 * Return: 0; -ENOENT if absent; -EINVAL for NULL arguments.
 */
RSZ_API int rsz_hash_lookup_copy(struct rsz_hash *h, const void *key, void *value);

/**
 * rsz_hash_update() - insert or replace, with BPF's semantics.
 * @flags: RSZ_ANY, RSZ_NOEXIST or RSZ_EXIST.
 *
 * A replace publishes a new element atomically: readers see the whole old
 * value or the whole new one, and never a change in a value they hold a
 * pointer to. Checks, in order: bad arguments or flags; for an existing
 * key, RSZ_NOEXIST fails and the others replace (even at max_entries); for
 * a missing key, RSZ_EXIST fails, then max_entries, the memory limit and
 * (RSZ_F_PREALLOC) the pool.
 * Context: a registered thread; takes the read lock itself; lock-free.
 * Default mode allocates the element and, if the table itself is full,
 * may migrate it in the caller; not async-signal-safe. RSZ_F_PREALLOC
 * never calls the allocator and is async-signal-safe.
 * Return: 0; -EINVAL (NULL argument, unknown flags); -EEXIST; -ENOENT;
 * -E2BIG (max_entries reached); -ENOMEM (memory limit or allocator; with
 * RSZ_F_PREALLOC, the pool is dry and the last grow failed on the memory
 * limit); -EAGAIN (RSZ_F_PREALLOC: no free element; a grow is queued).
 */
RSZ_API int rsz_hash_update(struct rsz_hash *h, const void *key,
			    const void *value, uint64_t flags);

/**
 * rsz_hash_delete() - remove @key.
 *
 * The element is retired: readers that found it keep a valid pointer until
 * their read-side section ends; opts.release runs after a grace period.
 * Context: a registered thread; takes the read lock itself; lock-free;
 * never allocates. Async-signal-safe with RSZ_F_PREALLOC.
 * Return: 0; -ENOENT if absent; -EINVAL for NULL arguments.
 */
RSZ_API int rsz_hash_delete(struct rsz_hash *h, const void *key);

/**
 * rsz_hash_get_next_key() - iterate in the map's fixed order (hash, key).
 * @key: NULL for the first key, else the previous key returned.
 *
 * A full walk returns every key present for the entire walk exactly once,
 * whatever resizes happen meanwhile; no key twice; keys inserted or deleted
 * during the walk may or may not appear. If @key is not in the map, the
 * walk goes on from @key's place in the order; it does not restart.
 * Context: a registered thread, inside or outside a read-side section;
 * lock-free, never allocates.
 * Return: 0 with the next key in @next_key; -ENOENT at the end; -EINVAL for
 * NULL @h or @next_key.
 */
RSZ_API int rsz_hash_get_next_key(struct rsz_hash *h, const void *key, void *next_key);

/**
 * rsz_hash_grow() - ask that capacity become at least @nr_entries.
 *
 * Absolute, so repeating a hint never over-grows; a hint raises a queued
 * target to the larger of the two. This is the talk's bpf_grow_map().
 * With RSZ_F_PREALLOC it fills the pool; otherwise it sizes the table.
 * Context: RSZ_GROW_ASYNC: any registered thread, never blocks or
 * allocates, async-signal-safe. RSZ_GROW_WAIT: outside a read-side
 * section; allocates and may block.
 * Return: 0 (satisfied, or done with RSZ_GROW_WAIT); -EINPROGRESS (queued,
 * RSZ_GROW_ASYNC); -E2BIG if @nr_entries is beyond max_entries (capacity
 * goes to the cap); -ENOMEM if the memory counter or allocator refuses
 * (capacity unchanged, nr_grow_failed and last_grow_error record it);
 * -EINVAL for a bad flag.
 */
RSZ_API int rsz_hash_grow(struct rsz_hash *h, uint64_t nr_entries, unsigned int flags);

/**
 * rsz_hash_shrink() - release capacity: down to the smallest capacity at
 * which the map is at most half full, never below the low watermark's free
 * capacity nor below initial_entries.
 * Context and Return: as rsz_hash_grow() (0 also when there is nothing to
 * release).
 */
RSZ_API int rsz_hash_shrink(struct rsz_hash *h, unsigned int flags);

/**
 * rsz_hash_set_watermarks() - grow policy.
 *
 * Whenever free capacity (capacity - count) falls below @low, a grow is
 * queued that brings it to at least @high. @low 0 turns automatic growth
 * off. @high is clamped to max_entries. The default is low = capacity / 4,
 * recomputed after each resize, with a grow doubling capacity.
 * Context: any registered thread; lock-free, async-signal-safe.
 * Return: 0; -EINVAL if @high < @low or @h is NULL.
 */
RSZ_API int rsz_hash_set_watermarks(struct rsz_hash *h, uint64_t low, uint64_t high);

/**
 * rsz_hash_maintain() - run queued work (grows, shrinks, deferred frees)
 * in the caller.
 *
 * After it returns and the caller calls the flavor's barrier(), with no
 * concurrent operation, mem_bytes equals the bytes the map holds, the
 * counter's deferred is 0 and grow_pending is 0.
 * Context: a registered thread, not inside a read-side section or an RCU
 * callback; allocates, blocks and waits for grace periods.
 * Return: 0, or the error of a failed grow or shrink (also recorded in the
 * statistics).
 */
RSZ_API int rsz_hash_maintain(struct rsz_hash *h);

/**
 * rsz_hash_stat() - statistics.
 * @size: sizeof(*st) as the caller knows it; the tail rsz does not know is
 *        zeroed.
 * Context: any registered thread; wait-free, async-signal-safe. Fields are
 * read one by one, not at one instant.
 */
RSZ_API void rsz_hash_stat(struct rsz_hash *h, struct rsz_hash_stat *st, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* RSZ_HASH_H */
