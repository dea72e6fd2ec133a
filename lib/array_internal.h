/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * array_internal.h - the segmented array's layout, shared by array.c (the
 * segments, resizing, lifecycle) and slots.c (the slot allocator), and the
 * internal API the hash map's element pool builds on.
 *
 * docs/array.md explains the design: doubling segments under a fixed
 * directory, per-segment slot bitmaps, grace-period reuse, the shrink
 * protocol, and why each memory order suffices.
 */
#ifndef RSZ_ARRAY_INTERNAL_H
#define RSZ_ARRAY_INTERNAL_H

#include "platform.h"
#include "mem_internal.h"
#include "rsz/array.h"

#define RSZ_ARRAY_MAX_SEGS	64
#define RSZ_ARRAY_MIN_BASE	64		/* one bitmap word */
/* Beyond the documented limit a grow gives -E2BIG, as for max_entries:
 * 2^48 elements keeps every element offset and segment size in 64 bits
 * for values up to RSZ_ARRAY_VALUE_SIZE_MAX. */
#define RSZ_ARRAY_ENTRIES_LIMIT	(1ull << 48)

/*
 * The slot state of 64 consecutive indices, 32 bytes, two groups per cache
 * line, so alloc and release each touch one line.
 *   avail (A): 1 = handed out, waiting for its grace period, sealed by a
 *              shrink, or past max_entries (pad). alloc claims 0 bits.
 *   ur[2]:     for slots 32j .. 32j+31 of the group, U in bits 0..31 and
 *              R in bits 32..63 of ur[j]. U = handed out and not
 *              released; R = released, not yet collected. Keeping both in
 *              one word lets release clear U and set R in one
 *              compare-and-swap (a U bit already 0 is a double release),
 *              and the reclaimer takes the R half with one fetch_and.
 *   reclaim (W): the reclaimer's own copy of R for the batch in flight.
 */
struct rsz_slot_word {
	uint64_t avail;
	uint64_t ur[2];
	uint64_t reclaim;
};

#define RSZ_SLOT_U_MASK 0x00000000ffffffffull

/* At the end of every segment block: what the deferred free needs. */
struct rsz_seg_tail {
	struct rsz_rcu_head rcu;
	struct rsz_array *array;
	size_t bytes;
};

struct rsz_array_hooks {
	/* After the grace period, before the slot can be handed out again;
	 * runs in the reclaimer (rsz's worker, liburcu's call_rcu thread, or
	 * the caller of maintain). May be NULL. */
	void (*reclaim)(void *ctx, void *elem, uint64_t index);
	/* The array queued work (grow, shrink, reclaim) and wants
	 * rsz__array_maintain() to run soon. Called from alloc and release,
	 * so it must be async-signal-safe. When set, the array has no worker
	 * of its own (as with RSZ_F_MANUAL). */
	void (*kick)(void *ctx);
	void *ctx;
	/* The owner initialises every byte of an element it reads (the hash
	 * map's pool): skip zeroing segments at growth and slots at hand-out,
	 * which would double the cost of absorbing a burst. */
	bool raw;
};

enum {
	RSZ_GROW_FAILED_NONE = 0,
	RSZ_GROW_FAILED_ALLOC = 1,	/* the allocator returned NULL */
	RSZ_GROW_FAILED_LIMIT = 2,	/* the memory counter refused */
};

enum {
	RSZ_SHRINK_NONE = 0,
	RSZ_SHRINK_AUTO = 1,	/* RSZ_F_SHRINK: keep the array at most half full */
	RSZ_SHRINK_ALL = 2,	/* rsz_array_shrink(): every free trailing segment */
};

struct rsz_array {
	/* ---- read-mostly: everything lookup touches ---- */
	uint64_t capacity;		/* published with release after dir[] */
	uint32_t stride;		/* round_up(value_size, 8) */
	uint32_t base_shift;		/* log2 of segment 0's size B */
	uint32_t seg_shift;		/* base_shift - 1, for rsz__seg_of() */
	/* dir[63 - k] = address of segment k minus (first index of k) *
	 * stride, as an integer, so element i is dir[clz] + i * stride with
	 * no subtraction (the wrap-around of the bias is well defined on
	 * uintptr_t), and the directory is indexed by the count of leading
	 * zeros itself, which LZCNT gives in one instruction. */
	uintptr_t dir[RSZ_ARRAY_MAX_SEGS];
	struct rsz_slot_word *words[RSZ_ARRAY_MAX_SEGS];

	/* ---- fixed at creation ---- */
	uint32_t value_size;
	uint32_t flags;
	uint64_t max_entries;		/* as given; 0: none */
	uint64_t cap_limit;		/* max_entries, or the documented limit */
	uint64_t initial_entries;
	rsz_flavor_t flavor;
	struct rsz_array_hooks hooks;
	bool own_worker;

	/* ---- resize side: under resize_lock unless noted ---- */
	uint32_t resize_lock;
	unsigned int nr_segs;		/* installed segments, 0 .. nr_segs-1 */
	uint64_t seg_nr[RSZ_ARRAY_MAX_SEGS];	/* elements allocated, multiple of 64 */
	void *seg_mem[RSZ_ARRAY_MAX_SEGS];
	size_t seg_bytes[RSZ_ARRAY_MAX_SEGS];
	uint64_t pad_mask[RSZ_ARRAY_MAX_SEGS];	/* A bits past max_entries in the last word */
	uint64_t grow_target;		/* queued grow (atomic); 0: none */
	uint32_t shrink_req;		/* RSZ_SHRINK_* queued (atomic) */
	uint32_t shrink_retry;		/* RSZ_SHRINK_* to queue after the reclaim batch (atomic) */
	uint32_t work_deferred;		/* the worker found resize_lock held (atomic) */
	uint64_t shrink_futile;		/* allocated when an auto shrink last found nothing */
	uint64_t wm_low;		/* atomic */
	uint64_t wm_high;		/* atomic */
	bool wm_user;			/* set_watermarks was called */
	uint64_t nr_grow, nr_shrink, nr_grow_failed;
	int64_t last_grow_error;	/* the last failure's error, never reset */
	uint32_t grow_failed;		/* RSZ_GROW_FAILED_*: the last grow's outcome */
	uint32_t dying;
	struct rsz_work work;
	struct rsz_mctx mctx;

	/* ---- reclaimer: one batch in flight ---- */
	uint32_t reclaim_busy;		/* a call_rcu batch is in flight */
	uint64_t batch_lo, batch_hi;	/* global word range holding W bits */
	uint64_t batch_n;
	struct rsz_rcu_head reclaim_rcu;

	/* ---- data-path counters, each on its own line ---- */
	uint64_t nr_used __rsz_cacheline_aligned;	/* A bits set, pads and seals excluded */
	uint64_t nr_pending __rsz_cacheline_aligned;	/* released, grace period not yet over */
	uint64_t hint __rsz_cacheline_aligned;		/* lowest word that may have a free bit */
};

/* Segment k's first index and first global bitmap word. */
static inline uint64_t rsz__seg_first(const struct rsz_array *a, unsigned int k)
{
	return k ? (uint64_t)1 << (a->base_shift + k - 1) : 0;
}

static inline unsigned int rsz__seg_of(const struct rsz_array *a, uint64_t index)
{
	/* fls64(index >> base_shift) without its branch for 0: shifting by
	 * one less maps [0, B) to {0, 1} and [B, 2B) to {2, 3}, so
	 * floor(log2(x | 1)) gives 0 for segment 0, 1 for segment 1, and k
	 * for [B << (k-1), B << k). (TBB's segment_index_of trick.) */
	return 63u ^ (unsigned int)__builtin_clzll((index >> a->seg_shift) | 1);
}

/* Where segment k's entry sits in dir[]. */
static inline unsigned int rsz__dir_slot(unsigned int k)
{
	return 63u - k;
}

/* dir[] index of @index's segment: 63 - rsz__seg_of(), as a 64-bit value
 * so that the indexing needs no widening (the lookup path counts its
 * instructions; see docs/array.md). */
static inline uint64_t rsz__dir_index(const struct rsz_array *a, uint64_t index)
{
	return (uint64_t)(unsigned int)__builtin_clzll((index >> a->seg_shift) | 1);
}

/* ---- internal API (the hash map's element pool uses it) ---- */

/* rsz_array_new() with @hooks (may be NULL: then exactly rsz_array_new()).
 * With hooks->kick set the array starts no worker of its own. */
struct rsz_array *rsz__array_new(const struct rsz_array_opts *opts,
				 const struct rsz_array_hooks *hooks) RSZ_INTERNAL;
/* Free slots now: capacity minus slots handed out or waiting for their
 * grace period. Cheap (two loads), async-signal-safe. */
uint64_t rsz__array_free_slots(const struct rsz_array *a) RSZ_INTERNAL;
/* What the array's own worker runs: queued grows and shrinks, and the
 * released slots handed to call_rcu; never waits for a grace period. For
 * an owner's background work (the hash map's pool). */
void rsz__array_run(struct rsz_array *a) RSZ_INTERNAL;
/* rsz_array_maintain() under another name, for the pool's own maintain. */
int rsz__array_maintain(struct rsz_array *a) RSZ_INTERNAL;
/* The element at @index, which the caller knows is below capacity (a slot
 * it owns, or one it holds inside a read-side section), without the checks
 * of rsz_array_lookup(). */
static inline void *rsz__array_elem(struct rsz_array *a, uint64_t index)
{
	/* Relaxed: the caller's acquire of a capacity covering @index (or the
	 * ordering that gave it the slot) made the dir[] entry visible. */
	const uintptr_t *dir = a->dir;

	return (void *)(READ_ONCE(dir[rsz__dir_index(a, index)]) +
			(uintptr_t)index * a->stride);
}

/* ---- between array.c and slots.c ---- */

/* Queue the background work (worker, kick hook, or nothing in MANUAL). */
void rsz__array_kick(struct rsz_array *a) RSZ_INTERNAL;
/* Queue a grow to @target entries (raising a queued one); async-signal-safe. */
void rsz__array_queue_grow(struct rsz_array *a, uint64_t target) RSZ_INTERNAL;
/* Would the next segment's charge fail now? (the -ENOMEM rule of alloc) */
bool rsz__array_next_grow_hopeless(struct rsz_array *a) RSZ_INTERNAL;

/* Move R to W over every word; returns the slots in the batch. Under
 * resize_lock, with no batch in flight. */
uint64_t rsz__slots_harvest(struct rsz_array *a) RSZ_INTERNAL;
/* After a grace period: run the reclaim hook and clear the batch's A bits,
 * so its slots can be handed out again. Returns the batch's size; the
 * caller then lowers nr_pending by it. By the batch's owner (reclaim_busy),
 * with or without resize_lock. */
uint64_t rsz__slots_reclaim(struct rsz_array *a) RSZ_INTERNAL;
/* RSZ_F_SHRINK: queue an automatic shrink if the array is mostly empty. */
void rsz__slots_check_shrink(struct rsz_array *a) RSZ_INTERNAL;
/* Seal every word of segment @k against alloc; false (and nothing
 * changed) if a slot of it is in use. Under resize_lock. */
bool rsz__slots_seal(struct rsz_array *a, unsigned int k) RSZ_INTERNAL;
/* Does segment @k hold a slot that is handed out (a U bit)? Its other A
 * bits are released slots waiting for a grace period, or an alloc between
 * its claim and its U bit. Under resize_lock. */
bool rsz__slots_in_use(struct rsz_array *a, unsigned int k) RSZ_INTERNAL;
/* Lower the allocation hint to global word @w. */
void rsz__slots_lower_hint(struct rsz_array *a, uint64_t w) RSZ_INTERNAL;

#endif /* RSZ_ARRAY_INTERNAL_H */
