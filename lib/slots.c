/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * slots.c - the array as a pool of slots: alloc, release, and the
 * reclaimer that hands released slots out again after a grace period.
 *
 * Each segment carries one struct rsz_slot_word per 64 indices (see
 * array_internal.h). alloc claims a 0 bit of A with one compare-and-swap,
 * starting at a shared hint that points at the lowest word that may have
 * one; release clears U (detecting a double release) and sets R. The
 * reclaimer moves R to its private W with one exchange per word, waits a
 * grace period, and only then clears the A bits of W. So a reader that
 * still holds an index it found before the release never sees the next
 * owner's data: the next owner can only exist after every read-side
 * section that began before the release has ended.
 *
 * Everything here is lock-free, never allocates, never blocks and is
 * async-signal-safe (also when a signal handler interrupts alloc or
 * release on the same thread: each step is a single atomic RMW on shared
 * state, and a half-done alloc or release leaves a state the other
 * operations already handle). alloc and release take the read lock
 * themselves, because a shrink frees the bitmaps of dropped segments after
 * a grace period and a bogus release may race with it.
 */
#include "array_internal.h"

static inline struct rsz_slot_word *slot_word_of(struct rsz_array *a, uint64_t index,
						 uint64_t *bit)
{
	unsigned int k = rsz__seg_of(a, index);
	uint64_t off = index - rsz__seg_first(a, k);

	*bit = 1ull << (off & 63);
	/* words[k] was stored before the capacity that covers @index was
	 * published (release); the caller loaded capacity with acquire. */
	return &READ_ONCE(a->words[k])[off >> 6];
}

void rsz__slots_lower_hint(struct rsz_array *a, uint64_t w)
{
	uint64_t cur = READ_ONCE(a->hint);

	/* Relaxed: the hint only steers the search; correctness never
	 * depends on it (a failed search rescans from 0 when slots are
	 * known to be free). */
	while (cur > w && !try_cmpxchg_relaxed(&a->hint, &cur, w))
		;
}

static uint64_t grow_target_for(struct rsz_array *a, uint64_t cap, uint64_t used)
{
	uint64_t t;

	if (READ_ONCE(a->wm_user)) {
		uint64_t high = READ_ONCE(a->wm_high);

		t = used + high;
		if (t < used)	/* overflow */
			t = a->cap_limit;
	} else {
		t = cap * 2;	/* the default: a grow doubles */
	}
	if (t <= cap)
		t = cap + 1;
	return t < a->cap_limit ? t : a->cap_limit;
}

/* The watermark after a successful alloc: below `low' free slots, queue a
 * grow; but after a grow failed on memory, only once the next step fits
 * again (the next crossing or hint tries again, not every alloc). */
static void check_low_watermark(struct rsz_array *a, uint64_t cap, uint64_t used)
{
	uint64_t low = READ_ONCE(a->wm_low);
	uint64_t free = cap > used ? cap - used : 0;

	if (likely(!low || free >= low) || cap >= a->cap_limit)
		return;
	if (READ_ONCE(a->grow_target) > cap)
		return;		/* queued already */
	if (READ_ONCE(a->grow_failed) && rsz__array_next_grow_hopeless(a))
		return;
	rsz__array_queue_grow(a, grow_target_for(a, cap, used));
}

/* RSZ_F_SHRINK: fewer than a quarter of the capacity allocated. An auto
 * shrink keeps the array at most half full and a default grow happens at
 * three quarters, which is the hysteresis: neither can undo the other. */
void rsz__slots_check_shrink(struct rsz_array *a)
{
	uint64_t cap = smp_load_acquire(&a->capacity);
	uint64_t used = READ_ONCE(a->nr_used), pend = READ_ONCE(a->nr_pending);
	uint64_t allocated = used > pend ? used - pend : 0;
	uint64_t futile = READ_ONCE(a->shrink_futile);
	uint32_t none = RSZ_SHRINK_NONE;

	if (allocated >= cap / 4 || READ_ONCE(a->nr_segs) <= 1)
		return;
	/* An auto shrink that found nothing to drop is retried only once
	 * the allocated count halved again, not on every release. */
	if (futile && allocated >= futile / 2)
		return;
	if (try_cmpxchg_relaxed(&a->shrink_req, &none, RSZ_SHRINK_AUTO))
		rsz__array_kick(a);
}

int rsz_array_alloc(struct rsz_array *a, uint64_t *index)
{
	struct rsz_slot_word *w = NULL;
	uint64_t cap, nwords, start, gw = 0, av = 0, bit = 0, used, idx;
	int pass;

	if (unlikely(!a || !index))
		return -EINVAL;
	rsz_rcu_read_lock(a->flavor);
	/* Acquire pairs with the release that published the capacity, so
	 * the words[] of every segment below it are visible. */
	cap = smp_load_acquire(&a->capacity);
	nwords = (cap + 63) >> 6;
	start = READ_ONCE(a->hint);
	if (start >= nwords)
		start = 0;
	for (pass = 0; pass < 3; pass++) {
		gw = start;
		while (gw < nwords) {
			unsigned int k = rsz__seg_of(a, gw << 6);
			uint64_t wfirst = rsz__seg_first(a, k) >> 6;
			uint64_t wend = rsz__seg_first(a, k + 1) >> 6;
			struct rsz_slot_word *words = READ_ONCE(a->words[k]);

			if (wend > nwords)
				wend = nwords;
			for (; gw < wend; gw++) {
				w = &words[gw - wfirst];
				av = READ_ONCE(w->avail);
				while (~av) {
					bit = ~av & (av + 1);	/* lowest 0 bit */
					/* Acquire pairs with the reclaimer's
					 * fetch_and: the slot's grace period and
					 * the reclaim hook are over before we
					 * zero the element. */
					if (try_cmpxchg_acquire(&w->avail, &av, av | bit))
						goto claimed;
				}
			}
		}
		/* Nothing from `start' on. Slots freed below it meanwhile
		 * (the hint is a hint) or by a racing reclaim are found by a
		 * rescan from 0, only when the count says some are free. */
		used = READ_ONCE(a->nr_used);
		if (used >= cap || (start == 0 && pass > 0))
			break;
		start = 0;
	}
	rsz_rcu_read_unlock(a->flavor);

	if (cap >= a->cap_limit)
		return -E2BIG;
	if (READ_ONCE(a->grow_failed) == RSZ_GROW_FAILED_LIMIT &&
	    rsz__array_next_grow_hopeless(a))
		return -ENOMEM;
	rsz__array_queue_grow(a, grow_target_for(a, cap, READ_ONCE(a->nr_used)));
	return -EAGAIN;

claimed:
	idx = (gw << 6) + (uint64_t)__builtin_ctzll(bit);
	/* Claimed in A, not yet in U nor in nr_used: in use to everyone
	 * else, not yet releasable, and the count lags. */
	RSZ_STALL_POINT("array.alloc.after_claim");
	/* Relaxed: U is read by release only through the ordering that
	 * hands it the index (the caller's own program order, or whatever
	 * passed the index to another thread). */
	atomic_fetch_or_relaxed(&w->ur[(idx >> 5) & 1], 1ull << (idx & 31));
	if (!a->hooks.raw)
		memset(rsz__array_elem(a, idx), 0, a->stride);
	/* Relaxed: a statistic and a watermark input, exact when quiet. */
	used = atomic_add_return_relaxed(&a->nr_used, 1);
	if (gw != start || (av | bit) == ~0ull) {
		/* Move the shared hint past words found full; a CAS so that
		 * a reclaim that lowered it meanwhile wins. */
		uint64_t h = start;

		try_cmpxchg_relaxed(&a->hint, &h, (av | bit) == ~0ull ? gw + 1 : gw);
	}
	rsz_rcu_read_unlock(a->flavor);
	*index = idx;
	check_low_watermark(a, cap, used);
	return 0;
}

int rsz_array_release(struct rsz_array *a, uint64_t index)
{
	struct rsz_slot_word *w;
	uint64_t cap, bit, ubit, old, pend, *ur;

	if (unlikely(!a))
		return -EINVAL;
	rsz_rcu_read_lock(a->flavor);
	cap = smp_load_acquire(&a->capacity);
	if (unlikely(index >= cap)) {
		rsz_rcu_read_unlock(a->flavor);
		return -EINVAL;
	}
	w = slot_word_of(a, index, &bit);
	ur = &w->ur[(index >> 5) & 1];
	ubit = 1ull << (index & 31);
	/* The slot word located, inside the section that keeps its segment. */
	RSZ_STALL_POINT("array.release.before_cas");
	old = READ_ONCE(*ur);
	/* U off and R on in one seq-cst CAS (a release at least): the
	 * owner's writes to the element precede the release, and of two
	 * racing releases of one slot exactly one sees U set. */
	do {
		if (unlikely(!(old & ubit))) {
			rsz_rcu_read_unlock(a->flavor);
			return -EINVAL;	/* not allocated: nothing changed */
		}
	} while (!try_cmpxchg(ur, &old, (old & ~ubit) | (ubit << 32)));
	/* R set, nr_pending not yet counted: a reclaimer may take the R
	 * bit now, and its grace period waits for this section. */
	RSZ_STALL_POINT("array.release.after_cas");
	/* R before the pending count, both seq-cst: a reclaimer that sees the
	 * count including this slot (its own subtraction reads it) harvests
	 * after R is set. Both stay inside the read-side section, so the
	 * grace period of a batch that already took this R bit cannot end
	 * before the count includes it: nr_pending never goes below zero. */
	pend = atomic_add_return(&a->nr_pending, 1);
	rsz_rcu_read_unlock(a->flavor);
	/* The first pending slot wakes the reclaimer; later ones find it
	 * queued or busy, and a finished batch re-queues itself while slots
	 * are pending. */
	if (pend == 1)
		rsz__array_kick(a);
	if (a->flags & RSZ_F_SHRINK)
		rsz__slots_check_shrink(a);
	return 0;
}

uint64_t rsz__slots_harvest(struct rsz_array *a)
{
	uint64_t cap = READ_ONCE(a->capacity), nwords = (cap + 63) >> 6;
	uint64_t n = 0, lo = UINT64_MAX, hi = 0, gw = 0;

	for (unsigned int k = 0; gw < nwords; k++) {
		uint64_t wend = rsz__seg_first(a, k + 1) >> 6;
		struct rsz_slot_word *words = a->words[k];
		uint64_t wfirst = gw;

		if (wend > nwords)
			wend = nwords;
		for (; gw < wend; gw++) {
			struct rsz_slot_word *w = &words[gw - wfirst];
			uint64_t r = 0;

			for (unsigned int j = 0; j < 2; j++) {
				/* A relaxed peek skips the common case, no R
				 * bit, without taking the line exclusive. */
				if (!(READ_ONCE(w->ur[j]) & ~RSZ_SLOT_U_MASK))
					continue;
				/* Seq-cst: every R bit taken here was set by a
				 * release ordered before it; U bits stay. */
				r |= (atomic_fetch_and(&w->ur[j], RSZ_SLOT_U_MASK) >> 32) << (32 * j);
			}
			if (!r)
				continue;
			/* W is the reclaimer's alone; atomics only so that the
			 * hand-over through call_rcu (liburcu's own atomics,
			 * invisible to TSan) needs no annotation. */
			WRITE_ONCE(w->reclaim, READ_ONCE(w->reclaim) | r);
			n += (uint64_t)__builtin_popcountll(r);
			if (gw < lo)
				lo = gw;
			hi = gw;
		}
	}
	WRITE_ONCE(a->batch_lo, lo);
	WRITE_ONCE(a->batch_hi, hi);
	WRITE_ONCE(a->batch_n, n);
	return n;
}

uint64_t rsz__slots_reclaim(struct rsz_array *a)
{
	uint64_t lo = READ_ONCE(a->batch_lo), hi = READ_ONCE(a->batch_hi);
	uint64_t n = READ_ONCE(a->batch_n), gw = lo;

	if (!n)
		return 0;
	/* No shrink can drop a segment in [lo, hi]: hi's segment holds A
	 * bits until below, and segments go only from the top. That is why
	 * this runs without the resize lock (in the call_rcu callback, and in
	 * reclaim_sync() after it dropped the lock): a shrink seals only words
	 * whose A is 0, and a word with W bits keeps them in A until the
	 * fetch_and below, after which we never touch its segment again. */
	while (gw <= hi) {
		unsigned int k = rsz__seg_of(a, gw << 6);
		uint64_t wfirst = rsz__seg_first(a, k) >> 6;
		uint64_t wend = rsz__seg_first(a, k + 1) >> 6;
		struct rsz_slot_word *words = READ_ONCE(a->words[k]);

		if (wend > hi + 1)
			wend = hi + 1;
		for (; gw < wend; gw++) {
			struct rsz_slot_word *w = &words[gw - wfirst];
			uint64_t wv = READ_ONCE(w->reclaim);

			if (!wv)
				continue;
			if (a->hooks.reclaim) {
				for (uint64_t m = wv; m; m &= m - 1) {
					uint64_t idx = (gw << 6) + (uint64_t)__builtin_ctzll(m);

					a->hooks.reclaim(a->hooks.ctx, rsz__array_elem(a, idx), idx);
				}
			}
			WRITE_ONCE(w->reclaim, 0);
			/* W cleared, A not yet: the slots are neither
			 * pending nor free. */
			RSZ_STALL_POINT("array.reclaim.before_clear");
			/* Seq-cst (release at least): the grace period and the
			 * hook happen before the acquire CAS of the next owner. */
			atomic_fetch_and(&w->avail, ~wv);
		}
	}
	/* Free in A, still counted in nr_used and below the hint. */
	RSZ_STALL_POINT("array.reclaim.before_count");
	WRITE_ONCE(a->batch_n, 0);
	atomic_sub_return_relaxed(&a->nr_used, n);
	rsz__slots_lower_hint(a, lo);
	return n;
}

static uint64_t seg_words(struct rsz_array *a, unsigned int k)
{
	return a->seg_nr[k] >> 6;
}

bool rsz__slots_seal(struct rsz_array *a, unsigned int k)
{
	struct rsz_slot_word *words = a->words[k];
	uint64_t nw = seg_words(a, k), j;

	for (j = 0; j < nw; j++) {
		uint64_t expect = j == nw - 1 ? a->pad_mask[k] : 0;

		/* Seq-cst CAS against alloc's claim CAS on the same word:
		 * either the claim comes first and we see its bit and back
		 * off, or the word is sealed (all ones) and alloc skips it.
		 * A, U, R and W are all 0 for slots whose A bit is 0 (U, R
		 * and W are subsets of A), so nothing pending is dropped. */
		if (!try_cmpxchg(&words[j].avail, &expect, ~0ull))
			break;
	}
	if (j == nw)
		return true;
	while (j--) {
		uint64_t expect = j == nw - 1 ? a->pad_mask[k] : 0;

		/* Only we change a sealed word: alloc skips it, and the
		 * reclaimer has no W bits in it (W is a subset of A). */
		WRITE_ONCE(words[j].avail, expect);
	}
	return false;
}

bool rsz__slots_in_use(struct rsz_array *a, unsigned int k)
{
	struct rsz_slot_word *words = a->words[k];
	uint64_t nw = seg_words(a, k);

	/* Relaxed: a hint for whether a grace period would let a shrink go
	 * on; the seal's compare-and-swap is what decides. */
	for (uint64_t j = 0; j < nw; j++)
		if ((READ_ONCE(words[j].ur[0]) | READ_ONCE(words[j].ur[1])) & RSZ_SLOT_U_MASK)
			return true;
	return false;
}
