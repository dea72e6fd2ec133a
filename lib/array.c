/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * array.c - the segmented growable array: segments, lookup, update,
 * grow and shrink, watermarks, maintain, stat and the lifecycle.
 *
 * Segment 0 holds B = 2^base_shift elements (B >= 64 and >= the initial
 * entries), segment k >= 1 holds B << (k-1), so segments 0..k hold B << k
 * and index i lives in segment fls64(i >> base_shift). A fixed directory
 * of 64 biased segment addresses sits in the struct: a lookup is a bounds
 * check against the capacity (acquire), a shift, a count of leading zeros,
 * one load of dir[k] and the element. No lock, no loop, and growth never
 * copies: it only adds segments. docs/array.md has the whole design.
 *
 * Resizes (grow, shrink) are serialised by resize_lock, held only by
 * rsz's worker, maintain() and RSZ_GROW_WAIT callers, who may block. The
 * data path (lookup, update, alloc, release, stat, RSZ_GROW_ASYNC) never
 * takes it.
 */
#include "array_internal.h"

#define ARRAY_KNOWN_FLAGS	(RSZ_F_SHRINK | RSZ_F_MANUAL)
/* The first published struct rsz_array_opts ends with `allocator'. */
#define ARRAY_OPTS_V1_SZ	(offsetof(struct rsz_array_opts, allocator) + \
				 sizeof(((struct rsz_array_opts *)0)->allocator))

/* ---- segments ----------------------------------------------------------- */

static uint64_t seg_size(const struct rsz_array *a, unsigned int k)
{
	return k ? (uint64_t)1 << (a->base_shift + k - 1) : (uint64_t)1 << a->base_shift;
}

/* Capacity once segments 0..k are installed. */
static uint64_t cap_after(const struct rsz_array *a, unsigned int k)
{
	uint64_t c = rsz__seg_first(a, k) + seg_size(a, k);

	return c < a->cap_limit ? c : a->cap_limit;
}

/* Elements segment k holds: the whole segment, or, for the one that
 * reaches max_entries, up to the next bitmap word past it. */
static uint64_t seg_alloc_nr(const struct rsz_array *a, unsigned int k)
{
	uint64_t first = rsz__seg_first(a, k), n = seg_size(a, k);

	if (a->cap_limit - first < n)
		n = ALIGN_UP(a->cap_limit - first, (uint64_t)64);
	return n;
}

/* Bytes of segment k's block: elements, slot words, the tail. 0 if they
 * do not fit in a size_t. */
static size_t seg_block_bytes(const struct rsz_array *a, unsigned int k)
{
	uint64_t n = seg_alloc_nr(a, k), elems, total;

	if (check_mul_overflow_u64(n, a->stride, &elems))
		return 0;
	total = elems + (n / 64) * sizeof(struct rsz_slot_word) + sizeof(struct rsz_seg_tail);
	if (total < elems || total > (uint64_t)SIZE_MAX)
		return 0;
	return (size_t)total;
}

struct new_seg {
	void *mem;
	size_t bytes;
};

static int seg_alloc(struct rsz_array *a, unsigned int k, struct new_seg *s)
{
	size_t bytes = seg_block_bytes(a, k);
	int err = -ENOMEM;

	s->bytes = bytes;
	s->mem = bytes ? rsz_kvmalloc(&a->mctx, bytes, RSZ_CACHELINE, &err) : NULL;
	if (!s->mem) {
		/* Was it the counter's limit, or the allocator? alloc's
		 * -ENOMEM rule needs to know (a retry helps only the latter). */
		bool limit = !bytes || (a->mctx.mem && !rsz_mem_would_fit(a->mctx.mem, bytes));

		WRITE_ONCE(a->grow_failed, limit ? RSZ_GROW_FAILED_LIMIT : RSZ_GROW_FAILED_ALLOC);
		return err;
	}
	/* Elements are zero when they come into existence, and the slot
	 * words start free. This is the growth's first touch. A raw owner
	 * initialises its elements itself: only the slot words. */
	if (a->hooks.raw) {
		size_t elems = (size_t)seg_alloc_nr(a, k) * a->stride;

		memset((char *)s->mem + elems, 0, bytes - elems);
	} else {
		memset(s->mem, 0, bytes);
	}
	return 0;
}

/* Publish segment k. Under resize_lock. */
static void seg_install(struct rsz_array *a, unsigned int k, const struct new_seg *s)
{
	uint64_t n = seg_alloc_nr(a, k), first = rsz__seg_first(a, k);
	uint64_t valid = a->cap_limit - first;	/* may exceed n */
	struct rsz_slot_word *words = (struct rsz_slot_word *)((char *)s->mem + n * a->stride);
	struct rsz_seg_tail *tail = (struct rsz_seg_tail *)(words + n / 64);

	a->pad_mask[k] = 0;
	if (valid < n && (valid & 63))
		a->pad_mask[k] = ~0ull << (valid & 63);
	/* Pad bits (indices at or past max_entries in the last word) are
	 * never free; no other reader sees this word before the publish. */
	words[n / 64 - 1].avail = a->pad_mask[k];
	tail->array = a;
	tail->bytes = s->bytes;
	a->seg_nr[k] = n;
	a->seg_mem[k] = s->mem;
	a->seg_bytes[k] = s->bytes;
	WRITE_ONCE(a->words[k], words);
	/* The bias makes element i = dir + i * stride; unsigned wrap. */
	WRITE_ONCE(a->dir[rsz__dir_slot(k)], (uintptr_t)s->mem - (uintptr_t)(first * a->stride));
	WRITE_ONCE(a->nr_segs, k + 1);
}

static void seg_free_rcu(struct rsz_rcu_head *head)
{
	struct rsz_seg_tail *tail = container_of(head, struct rsz_seg_tail, rcu);
	struct rsz_array *a = READ_ONCE(tail->array);
	size_t bytes = READ_ONCE(tail->bytes);
	void *mem = (char *)(tail + 1) - bytes;

	rsz_mctx_undefer(&a->mctx, bytes);
	rsz_kvfree(&a->mctx, mem, bytes);
}

/* ---- resize lock ---------------------------------------------------------- */

/* Give the CPU away while waiting for another thread. An online urcu-qsbr
 * thread (rsz's worker while it runs) goes offline meanwhile, so that a
 * grace period the other thread waits for is not held up by us; in the
 * other flavors read_ongoing is false here and nothing changes. */
static void wait_a_little(struct rsz_array *a)
{
	bool online = rsz_rcu_read_ongoing(a->flavor);

	if (online)
		a->flavor->thread_offline();
	rsz_yield();
	if (online)
		a->flavor->thread_online();
}

static bool resize_trylock(struct rsz_array *a)
{
	uint32_t unlocked = 0;

	/* Acquire: the holder sees everything the previous holder did.
	 * Seq-cst on success for the handshake in resize_trylock_or_defer(). */
	return try_cmpxchg(&a->resize_lock, &unlocked, 1);
}

/* For the callers that may block (maintain, RSZ_GROW_WAIT, destroy). */
static void resize_lock(struct rsz_array *a)
{
	while (!resize_trylock(a))
		wait_a_little(a);
}

/*
 * For the worker, which serves every structure of the process: it never
 * waits for the lock, whose holder may be a preempted RSZ_GROW_WAIT
 * caller. If the lock is held it leaves a note and returns; the holder's
 * resize_unlock() queues the work again. The note is a seq-cst store
 * followed by a seq-cst second try; the unlock is a seq-cst store
 * followed by a seq-cst load of the note: of the two, one sees the other,
 * so either the second try succeeds or the holder runs the work again.
 */
static bool resize_trylock_or_defer(struct rsz_array *a)
{
	uint32_t unlocked = 0;

	if (resize_trylock(a))
		return true;
	__atomic_store_n(&a->work_deferred, 1, __ATOMIC_SEQ_CST);
	/* Seq-cst also when it fails: that load is half of the handshake. */
	return __atomic_compare_exchange_n(&a->resize_lock, &unlocked, 1, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void resize_unlock(struct rsz_array *a)
{
	/* Seq-cst (release at least): see resize_trylock_or_defer(). */
	__atomic_store_n(&a->resize_lock, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&a->work_deferred, __ATOMIC_SEQ_CST) &&
	    xchg(&a->work_deferred, 0) && !READ_ONCE(a->dying))
		rsz__array_kick(a);
}

/* ---- grow ----------------------------------------------------------------- */

static void recompute_default_watermarks(struct rsz_array *a)
{
	if (!READ_ONCE(a->wm_user))
		WRITE_ONCE(a->wm_low, READ_ONCE(a->capacity) / 4);
}

/* Grow to at least @target (at most cap_limit). Every segment it needs is
 * allocated before any is installed, so a failure leaves the capacity
 * unchanged. Under resize_lock. */
static int do_grow(struct rsz_array *a, uint64_t target)
{
	struct new_seg segs[RSZ_ARRAY_MAX_SEGS];
	bool capped = target > a->cap_limit;
	unsigned int k0 = a->nr_segs, k;
	uint64_t cap = a->capacity;
	int err;

	if (capped)
		target = a->cap_limit;
	if (cap >= target)
		return capped ? -E2BIG : 0;
	for (k = k0; cap < target; k++) {
		err = seg_alloc(a, k, &segs[k - k0]);
		if (err) {
			while (k-- > k0)
				rsz_kvfree(&a->mctx, segs[k - k0].mem, segs[k - k0].bytes);
			WRITE_ONCE(a->nr_grow_failed, a->nr_grow_failed + 1);
			WRITE_ONCE(a->last_grow_error, (int64_t)err);
			return err;
		}
		cap = cap_after(a, k);
	}
	/* Every segment allocated and zeroed, none installed. */
	RSZ_STALL_POINT("array.grow.before_install");
	for (unsigned int j = k0; j < k; j++)
		seg_install(a, j, &segs[j - k0]);
	/* Installed (dir[], words[], nr_segs), capacity not yet raised. */
	RSZ_STALL_POINT("array.grow.before_publish");
	/* Release: whoever sees the new capacity (lookup, alloc, release)
	 * sees the zeroed segments and their dir[] and words[] entries. */
	smp_store_release(&a->capacity, cap);
	WRITE_ONCE(a->grow_failed, RSZ_GROW_FAILED_NONE);
	WRITE_ONCE(a->nr_grow, a->nr_grow + 1);
	WRITE_ONCE(a->shrink_futile, 0);
	recompute_default_watermarks(a);
	return capped ? -E2BIG : 0;
}

bool rsz__array_next_grow_hopeless(struct rsz_array *a)
{
	unsigned int k = READ_ONCE(a->nr_segs);
	size_t bytes;

	if (k >= RSZ_ARRAY_MAX_SEGS)
		return true;
	bytes = seg_block_bytes(a, k);
	return !bytes || (a->mctx.mem && !rsz_mem_would_fit(a->mctx.mem, bytes));
}

void rsz__array_kick(struct rsz_array *a)
{
	if (a->hooks.kick)
		a->hooks.kick(a->hooks.ctx);
	else if (a->own_worker)
		rsz_queue_work(&a->work);	/* lock-free, async-signal-safe */
}

void rsz__array_queue_grow(struct rsz_array *a, uint64_t target)
{
	uint64_t cur = READ_ONCE(a->grow_target);

	/* Seq-cst: the target is visible to the run the kick causes. A hint
	 * only ever raises the queued target, so repeating one is a no-op. */
	while (cur < target) {
		if (try_cmpxchg(&a->grow_target, &cur, target)) {
			rsz__array_kick(a);
			return;
		}
	}
}

/* ---- reclaim -------------------------------------------------------------- */

static void reclaim_done(struct rsz_array *a, uint64_t n)
{
	uint64_t pend;

	/* Seq-cst: pairs with release()'s increment. Either that increment
	 * comes first and we see slots still pending and kick, or it comes
	 * after, saw the count back at 0 and kicked itself; reclaim_busy
	 * was cleared before, so that kick's run starts a batch. */
	pend = __atomic_sub_fetch(&a->nr_pending, n, __ATOMIC_SEQ_CST);
	if (pend && !READ_ONCE(a->dying))
		rsz__array_kick(a);
}

static void queue_shrink(struct rsz_array *a, uint32_t mode)
{
	uint32_t cur = READ_ONCE(a->shrink_req);

	/* Seq-cst: the request is visible to the run the kick causes. An
	 * explicit request (RSZ_SHRINK_ALL) outranks a queued automatic one. */
	while (cur < mode && !try_cmpxchg(&a->shrink_req, &cur, mode))
		;
	rsz__array_kick(a);
}

/* A batch's slots are free again: the next batch may start, the counts
 * follow, and a shrink that stopped at released slots runs again. */
static void reclaim_finish(struct rsz_array *a, uint64_t n)
{
	uint32_t retry;

	__atomic_store_n(&a->reclaim_busy, 0, __ATOMIC_SEQ_CST);
	reclaim_done(a, n);
	/* Seq-cst, after the count: pairs with defer_shrink(). */
	retry = xchg(&a->shrink_retry, RSZ_SHRINK_NONE);
	if (retry && !READ_ONCE(a->dying))
		queue_shrink(a, retry);
}

static void reclaim_rcu_cb(struct rsz_rcu_head *head)
{
	struct rsz_array *a = container_of(head, struct rsz_array, reclaim_rcu);

	reclaim_finish(a, rsz__slots_reclaim(a));
	if ((a->flags & RSZ_F_SHRINK) && !READ_ONCE(a->dying))
		rsz__slots_check_shrink(a);
}

/* Worker: hand the released slots to call_rcu, one batch in flight, so
 * the shared worker never waits for a grace period. Under resize_lock. */
static void reclaim_async(struct rsz_array *a)
{
	if (__atomic_load_n(&a->reclaim_busy, __ATOMIC_SEQ_CST) ||
	    !READ_ONCE(a->nr_pending) || READ_ONCE(a->dying))
		return;
	if (!rsz__slots_harvest(a))
		return;
	WRITE_ONCE(a->reclaim_busy, 1);
	rsz_call_rcu(a->flavor, &a->reclaim_rcu, reclaim_rcu_cb);
}

/*
 * maintain and a waiting shrink: the same in the caller, waiting for the
 * grace period. Called and returns with resize_lock held, but drops it
 * while it waits (for the batch in flight, then for the grace period):
 * a reader that stays in its section delays this caller only, never a
 * grow or the worker. The batch is ours meanwhile (reclaim_busy), and
 * rsz__slots_reclaim() needs no lock (see there).
 */
static void reclaim_sync(struct rsz_array *a)
{
	uint64_t n;

	/* One batch at a time: W is one bit per slot. Not rcu_barrier():
	 * the batch may be another caller's, and a urcu-qsbr thread must be
	 * offline while it waits. */
	while (__atomic_load_n(&a->reclaim_busy, __ATOMIC_SEQ_CST)) {
		resize_unlock(a);
		wait_a_little(a);
		resize_lock(a);
	}
	if (!READ_ONCE(a->nr_pending))
		return;
	n = rsz__slots_harvest(a);
	if (!n)
		return;
	/* Seq-cst: the worker (under the lock we still hold) and the next
	 * reclaim_sync see the batch taken before they can take the lock. */
	__atomic_store_n(&a->reclaim_busy, 1, __ATOMIC_SEQ_CST);
	resize_unlock(a);
	/* R taken into W, the grace period not yet begun. */
	RSZ_STALL_POINT("array.reclaim.harvested");
	rsz_synchronize_rcu(a->flavor);
	reclaim_finish(a, rsz__slots_reclaim(a));
	resize_lock(a);
}

/* ---- shrink --------------------------------------------------------------- */

enum shrink_stop {
	SHRINK_STOP_DONE,	/* as far as it goes */
	SHRINK_STOP_PENDING,	/* released slots, once back, would let it go on */
};

/* The shrink stopped at segment @k. Would a grace period let it go on?
 * Only if the released slots are what stops it (@then_ok: the policy
 * would allow it without them) and no slot of k is handed out: a slot in
 * use keeps the segment whatever the grace period returns. */
static enum shrink_stop stopped_at(struct rsz_array *a, unsigned int k, bool then_ok)
{
	return then_ok && READ_ONCE(a->nr_pending) && !rsz__slots_in_use(a, k) ?
		SHRINK_STOP_PENDING : SHRINK_STOP_DONE;
}

/* Drop trailing segments that hold no slot in use, as far as @mode lets
 * it: RSZ_SHRINK_ALL goes down to segment 0 (which covers
 * initial_entries); RSZ_SHRINK_AUTO keeps the array at most half full.
 * Both keep a low watermark the owner set. Counts what it dropped in
 * *@removed. Never waits. Under resize_lock. */
static enum shrink_stop shrink_segments(struct rsz_array *a, uint32_t mode,
					unsigned int *removed)
{
	while (a->nr_segs > 1) {
		unsigned int k = a->nr_segs - 1;
		uint64_t first = rsz__seg_first(a, k);
		uint64_t used = READ_ONCE(a->nr_used), pend = READ_ONCE(a->nr_pending);
		/* nr_used once the released slots are back. */
		uint64_t kept = used > pend ? used - pend : 0;
		uint64_t low = READ_ONCE(a->wm_user) ? READ_ONCE(a->wm_low) : 0;
		struct rsz_seg_tail *tail;

		if (mode == RSZ_SHRINK_AUTO && used > first / 2)
			return stopped_at(a, k, kept <= first / 2);
		if (READ_ONCE(a->wm_user) && (first < used || first - used < low))
			return stopped_at(a, k, first >= kept && first - kept >= low);
		if (!rsz__slots_seal(a, k))
			return stopped_at(a, k, true);
		/* Sealed, capacity not yet lowered: allocs skip it. */
		RSZ_STALL_POINT("array.shrink.sealed");
		/* Sealed: no alloc can claim a slot of k any more. Readers
		 * that loaded the old capacity may still reach the segment
		 * until the grace period the free waits for; dir[k] and
		 * words[k] stay as they are (stale, unreachable through any
		 * capacity from now on) until a grow installs k again. */
		smp_store_release(&a->capacity, first);
		WRITE_ONCE(a->nr_segs, k);
		/* Capacity lowered, the block not yet handed to call_rcu. */
		RSZ_STALL_POINT("array.shrink.before_free");
		tail = (struct rsz_seg_tail *)((char *)a->seg_mem[k] + a->seg_bytes[k]) - 1;
		rsz_mctx_defer(&a->mctx, a->seg_bytes[k]);
		rsz_call_rcu(a->flavor, &tail->rcu, seg_free_rcu);
		a->seg_mem[k] = NULL;
		(*removed)++;
	}
	return SHRINK_STOP_DONE;
}

/* The worker does not wait for released slots: the shrink runs again when
 * the next reclaim batch is done (reclaim_finish()). */
static void defer_shrink(struct rsz_array *a, uint32_t mode)
{
	uint32_t cur = READ_ONCE(a->shrink_retry), take;

	while (cur < mode && !try_cmpxchg(&a->shrink_retry, &cur, mode))
		;
	/* Seq-cst, against reclaim_finish() (busy cleared, count lowered,
	 * then the retry taken): if no batch is in flight and nothing is
	 * pending, the batch that would take the retry may have finished
	 * already, so queue it now. If slots are pending, this run's
	 * reclaim_async() starts their batch (or a kick does). */
	if (!__atomic_load_n(&a->reclaim_busy, __ATOMIC_SEQ_CST) &&
	    !__atomic_load_n(&a->nr_pending, __ATOMIC_SEQ_CST)) {
		take = xchg(&a->shrink_retry, RSZ_SHRINK_NONE);
		if (take)
			queue_shrink(a, take);
	}
}

/* A shrink: segments free now go at once. When released slots are all
 * that keep it from going on, a caller that may block (@may_wait) waits
 * for their grace period and goes on; the worker never waits, and the
 * shrink runs again after the reclaim batch. Under resize_lock, which
 * reclaim_sync() drops while it waits. */
static void do_shrink(struct rsz_array *a, uint32_t mode, bool may_wait)
{
	unsigned int removed = 0;
	enum shrink_stop stop = shrink_segments(a, mode, &removed);

	if (stop == SHRINK_STOP_PENDING && may_wait) {
		reclaim_sync(a);
		stop = shrink_segments(a, mode, &removed);
	} else if (stop == SHRINK_STOP_PENDING) {
		defer_shrink(a, mode);
	}
	if (removed) {
		WRITE_ONCE(a->nr_shrink, a->nr_shrink + 1);
		WRITE_ONCE(a->shrink_futile, 0);
		recompute_default_watermarks(a);
	} else if (mode == RSZ_SHRINK_AUTO && stop != SHRINK_STOP_PENDING) {
		uint64_t used = READ_ONCE(a->nr_used), pend = READ_ONCE(a->nr_pending);

		WRITE_ONCE(a->shrink_futile, used > pend ? used - pend + 1 : 1);
	}
}

/* ---- queued work ---------------------------------------------------------- */

/* Returns 0, or the error of the last grow that ran and failed (which the
 * statistics record too): maintain() reports it, the worker cannot. */
static int run_queued(struct rsz_array *a, bool may_wait)
{
	uint64_t t = READ_ONCE(a->grow_target);
	uint32_t req;
	int err = 0;

	while (t) {
		err = do_grow(a, t);
		/* Cleared only if no larger hint came meanwhile, so that
		 * grow_pending stays 1 until every queued target ran. */
		if (try_cmpxchg(&a->grow_target, &t, 0))
			break;
	}
	req = xchg(&a->shrink_req, RSZ_SHRINK_NONE);
	if (req)
		do_shrink(a, req, may_wait);
	return err;
}

/* The worker's run (or the owner's, through rsz__array_run()): never
 * waits, neither for the resize lock nor for a grace period. */
static void array_work(struct rsz_work *w)
{
	struct rsz_array *a = container_of(w, struct rsz_array, work);

	if (READ_ONCE(a->dying))
		return;
	if (!resize_trylock_or_defer(a))
		return;
	run_queued(a, false);
	reclaim_async(a);
	resize_unlock(a);
}

void rsz__array_run(struct rsz_array *a)
{
	array_work(&a->work);
}

int rsz__array_maintain(struct rsz_array *a)
{
	int err;

	if (!a)
		return -EINVAL;
	RSZ_WARN_ON(!rsz_rcu_may_block(a->flavor));
	resize_lock(a);
	err = run_queued(a, true);
	/* Released slots come back even if a grow failed. */
	reclaim_sync(a);
	resize_unlock(a);
	return err;
}

int rsz_array_maintain(struct rsz_array *a)
{
	return rsz__array_maintain(a);
}

/* ---- public calls ------------------------------------------------------------- */

RSZ_CLZ_CLONES void *rsz_array_lookup(struct rsz_array *a, uint64_t index)
{
	uint64_t cap;

	/* No NULL check for @a: this is the one call whose instruction count
	 * is the figure (targets.md); a NULL array is a caller bug here as
	 * it is for every BPF helper. */
#ifdef RSZ_TESTING
	/* The read-side check costs a call into liburcu per lookup, which
	 * doubled the time of a lookup batch: only the test build (and
	 * so every test) has it. */
	RSZ_WARN_ON(!rsz_rcu_read_ongoing(a->flavor));
#endif
	/* Acquire pairs with do_grow()'s release: dir[k] and the zeroed
	 * segment are visible for every index below what we read. */
	cap = smp_load_acquire(&a->capacity);
	if (unlikely(index >= cap))
		return NULL;
	return rsz__array_elem(a, index);
}

int rsz_array_update(struct rsz_array *a, uint64_t index, const void *value, uint64_t flags)
{
	uint64_t cap;

	/* BPF's order: unknown flags, then the index, then RSZ_NOEXIST. */
	if (unlikely(!a || !value || flags > RSZ_EXIST))
		return -EINVAL;
	rsz_rcu_read_lock(a->flavor);
	cap = smp_load_acquire(&a->capacity);
	if (unlikely(index >= cap)) {
		rsz_rcu_read_unlock(a->flavor);
		return -E2BIG;
	}
	if (flags == RSZ_NOEXIST) {
		rsz_rcu_read_unlock(a->flavor);
		return -EEXIST;	/* every index below capacity exists */
	}
	memcpy(rsz__array_elem(a, index), value, a->value_size);
	rsz_rcu_read_unlock(a->flavor);
	return 0;
}

int rsz_array_grow(struct rsz_array *a, uint64_t nr_entries, unsigned int flags)
{
	uint64_t cap;
	int err;

	if (!a || flags > RSZ_GROW_WAIT)
		return -EINVAL;
	cap = smp_load_acquire(&a->capacity);
	if (nr_entries <= cap)
		return 0;
	if (cap >= a->cap_limit)
		return -E2BIG;
	if (flags == RSZ_GROW_ASYNC) {
		if (READ_ONCE(a->grow_failed) == RSZ_GROW_FAILED_LIMIT &&
		    rsz__array_next_grow_hopeless(a))
			return -ENOMEM;
		rsz__array_queue_grow(a, nr_entries < a->cap_limit ? nr_entries : a->cap_limit);
		return nr_entries > a->cap_limit ? -E2BIG : -EINPROGRESS;
	}
	RSZ_WARN_ON(!rsz_rcu_may_block(a->flavor));
	resize_lock(a);
	err = do_grow(a, nr_entries);
	resize_unlock(a);
	return err;
}

int rsz_array_shrink(struct rsz_array *a, unsigned int flags)
{
	if (!a || flags > RSZ_GROW_WAIT)
		return -EINVAL;
	if (flags == RSZ_GROW_ASYNC) {
		if (READ_ONCE(a->nr_segs) <= 1)
			return 0;	/* nothing to release */
		queue_shrink(a, RSZ_SHRINK_ALL);
		return -EINPROGRESS;
	}
	RSZ_WARN_ON(!rsz_rcu_may_block(a->flavor));
	resize_lock(a);
	do_shrink(a, RSZ_SHRINK_ALL, true);
	resize_unlock(a);
	return 0;
}

int rsz_array_set_watermarks(struct rsz_array *a, uint64_t low, uint64_t high)
{
	uint64_t cap, used;

	if (!a || high < low)
		return -EINVAL;
	if (a->max_entries && high > a->max_entries)
		high = a->max_entries;
	WRITE_ONCE(a->wm_high, high);
	WRITE_ONCE(a->wm_low, low);
	WRITE_ONCE(a->wm_user, true);
	/* Already below the new mark: queue the grow now, not at the next
	 * alloc, which may never come. */
	cap = smp_load_acquire(&a->capacity);
	used = READ_ONCE(a->nr_used);
	if (low && (cap < used || cap - used < low) && cap < a->cap_limit) {
		uint64_t t = used + high;

		if (t < used || t > a->cap_limit)
			t = a->cap_limit;
		if (t > cap)
			rsz__array_queue_grow(a, t);
	}
	return 0;
}

uint64_t rsz__array_free_slots(const struct rsz_array *a)
{
	uint64_t cap = smp_load_acquire(&a->capacity), used = READ_ONCE(a->nr_used);

	return cap > used ? cap - used : 0;
}

void rsz_array_stat(struct rsz_array *a, struct rsz_array_stat *st, size_t size)
{
	struct rsz_array_stat s;
	uint64_t used, pend;

	if (!a || !st)
		return;
	memset(&s, 0, sizeof(s));
	s.capacity = smp_load_acquire(&a->capacity);
	used = READ_ONCE(a->nr_used);
	pend = READ_ONCE(a->nr_pending);
	s.allocated = used > pend ? used - pend : 0;
	s.max_entries = a->max_entries;
	s.mem_bytes = READ_ONCE(a->mctx.bytes);
	s.nr_grow = READ_ONCE(a->nr_grow);
	s.nr_shrink = READ_ONCE(a->nr_shrink);
	s.grow_pending = READ_ONCE(a->grow_target) != 0;
	s.nr_grow_failed = READ_ONCE(a->nr_grow_failed);
	s.last_grow_error = READ_ONCE(a->last_grow_error);
	if (size > sizeof(s)) {
		memset((char *)st + sizeof(s), 0, size - sizeof(s));
		size = sizeof(s);
	}
	memcpy(st, &s, size);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static int check_opts(const struct rsz_array_opts *in, struct rsz_array_opts *o)
{
	uint64_t bytes;

	if (!in || in->sz < ARRAY_OPTS_V1_SZ)
		return -EINVAL;
	/* A newer caller's fields we do not know must be zero. */
	for (size_t i = sizeof(*o); i < in->sz; i++)
		if (((const unsigned char *)in)[i])
			return -EINVAL;
	memset(o, 0, sizeof(*o));
	memcpy(o, in, in->sz < sizeof(*o) ? in->sz : sizeof(*o));
	if (o->flags & ~ARRAY_KNOWN_FLAGS)
		return -EINVAL;
	if (!o->value_size)
		return -EINVAL;
	if (o->allocator && (!o->allocator->alloc || !o->allocator->free))
		return -EINVAL;
	if (rsz_flavor_check(o->flavor ? o->flavor : rsz_default_flavor()))
		return -EINVAL;
	if (o->value_size > RSZ_ARRAY_VALUE_SIZE_MAX)
		return -E2BIG;
	if (o->max_entries > RSZ_ARRAY_ENTRIES_LIMIT || o->initial_entries > RSZ_ARRAY_ENTRIES_LIMIT)
		return -E2BIG;
	if (o->max_entries && o->initial_entries > o->max_entries)
		return -EINVAL;	/* a bad argument, as for the hash map */
	if (check_mul_overflow_u64(o->max_entries, ALIGN_UP(o->value_size, 8u), &bytes) ||
	    check_mul_overflow_u64(o->initial_entries, ALIGN_UP(o->value_size, 8u), &bytes))
		return -E2BIG;
	return 0;
}

static void free_all(struct rsz_array *a)
{
	struct rsz_mctx m;

	for (unsigned int k = 0; k < a->nr_segs; k++)
		rsz_kvfree(&a->mctx, a->seg_mem[k], a->seg_bytes[k]);
	m = a->mctx;
	rsz_kvfree(&m, a, sizeof(*a));
}

struct rsz_array *rsz__array_new(const struct rsz_array_opts *opts,
				 const struct rsz_array_hooks *hooks)
{
	struct rsz_array_opts o;
	struct rsz_mctx m;
	struct rsz_array *a;
	uint64_t base;
	int err;

	err = check_opts(opts, &o);
	if (err) {
		errno = -err;
		return NULL;
	}
	/* The struct itself is charged like the segments, so mem_bytes is
	 * everything the array holds from its allocator. */
	memset(&m, 0, sizeof(m));
	m.allocator = o.allocator;
	m.mem = o.mem;
	a = rsz_kvmalloc(&m, sizeof(*a), RSZ_CACHELINE, &err);
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	memset(a, 0, sizeof(*a));
	a->mctx = m;
	a->value_size = o.value_size;
	a->stride = ALIGN_UP(o.value_size, 8u);
	a->flags = o.flags;
	a->max_entries = o.max_entries;
	a->cap_limit = o.max_entries ? o.max_entries : RSZ_ARRAY_ENTRIES_LIMIT;
	a->initial_entries = o.initial_entries;
	a->flavor = o.flavor ? o.flavor : rsz_default_flavor();
	if (hooks)
		a->hooks = *hooks;
	/* Segment 0 covers initial_entries, so a shrink never needs to look
	 * below it. */
	base = roundup_pow_of_two(o.initial_entries > RSZ_ARRAY_MIN_BASE ?
				  o.initial_entries : RSZ_ARRAY_MIN_BASE);
	a->base_shift = (uint32_t)__builtin_ctzll(base);
	a->seg_shift = a->base_shift - 1;
	rsz_work_init(&a->work, array_work, a->flavor);

	err = do_grow(a, 1);
	if (err) {
		free_all(a);
		errno = -err;
		return NULL;
	}
	a->nr_grow = 0;		/* creation is not a grow */
	recompute_default_watermarks(a);

	/* Everything a signal handler may reach later exists now: the
	 * flavor's call_rcu thread (and urcu-bp's registration), and the
	 * worker unless the owner runs the work itself. */
	rsz_rcu_prime(a->flavor);
	rsz_fork_track_flavor(a->flavor);
	if (!a->hooks.kick && !(o.flags & RSZ_F_MANUAL)) {
		err = rsz_worker_get(a->flavor);
		if (err) {
			free_all(a);
			errno = -err;
			return NULL;
		}
		a->own_worker = true;
	}
	return a;
}

struct rsz_array *rsz_array_new(const struct rsz_array_opts *opts)
{
	return rsz__array_new(opts, NULL);
}

void rsz_array_destroy(struct rsz_array *a)
{
	if (!a)
		return;
	RSZ_WARN_ON(!rsz_rcu_may_block(a->flavor));
	/* Seq-cst: a reclaim callback that runs after this sees it and
	 * kicks no more work. */
	__atomic_store_n(&a->dying, 1, __ATOMIC_SEQ_CST);
	if (a->own_worker)
		rsz_flush_work(&a->work);
	/* The in-flight reclaim batch and the frees of shrunk segments. */
	rsz_rcu_barrier(a->flavor);
	if (a->own_worker) {
		rsz_flush_work(&a->work);
		rsz_worker_put();
	}
	free_all(a);
}
