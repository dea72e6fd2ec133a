/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * hash_table.c - slot tables and their cooperative migration.
 *
 * A migration copies slot words, never elements: it freezes each slot of
 * the old table (after which nobody changes it) and inserts the element
 * pointer it holds into the new table as PENDING, then confirms the copy by
 * turning the old slot into MOVED(j), where j is the copy's slot, and only
 * then clears PENDING. Any thread may copy any slot, any number of times:
 * the MOVED word names the one copy that counts, and every other copy of
 * the same slot resolves to a tombstone (I4). So a thread stopped at any
 * point never stops a migration; whoever needs it done redoes its part.
 * docs/design.md has the whole argument.
 */
#include "hash_internal.h"

static inline uint64_t slot_load(const uint64_t *s)
{
	/* Acquire: the element a slot points to was initialised before the
	 * CAS that published it (I1). */
	return __atomic_load_n(s, __ATOMIC_ACQUIRE);
}

uint64_t htab_size_for(uint64_t capacity)
{
	/* Full at 3/4 of the home slots: ceil(capacity * 4 / 3) slots. */
	uint64_t want = capacity + (capacity + 2) / 3;

	return want < 64 ? 64 : roundup_pow_of_two(want);
}

uint64_t htab_capacity(const struct rsz_htab *t)
{
	return t->max_used;
}

struct rsz_htab *htab_alloc(struct rsz_hash *h, uint64_t size, int *err)
{
	uint64_t limit = size < 16 ? 16 : size > 256 ? 256 : size;
	uint64_t nslots = size + limit;
	uint64_t nr_chunks = (nslots + HTAB_CHUNK_SLOTS - 1) / HTAB_CHUNK_SLOTS;
	uint64_t bits_words = (nr_chunks + 63) / 64;
	size_t bytes = sizeof(struct rsz_htab) + (size_t)(nslots + bits_words) * sizeof(uint64_t);
	struct rsz_htab *t;

	/* Every size comes from htab_size_for() or a doubling, so at least
	 * 64, which htab_home()'s shift by 64 - log2(size) needs. */
	RSZ_WARN_ON(size < 64 || (size & (size - 1)));
	if (size > (1ULL << 58)) {
		*err = -E2BIG;
		return NULL;
	}
	t = rsz_kvmalloc(&h->mctx, bytes, RSZ_CACHELINE, err);
	if (!t)
		return NULL;
	/* Slots start EMPTY (0): zero the whole table, chunk bits included. */
	memset(t, 0, bytes);
	t->size = size;
	t->nslots = nslots;
	t->shift = 64 - (unsigned int)(fls64(size) - 1);
	t->probe_limit = (unsigned int)limit;
	t->max_used = size - size / 4;
	t->budget = t->max_used;
	t->alloc_size = bytes;
	t->nr_chunks = nr_chunks;
	t->chunk_bits = &t->slots[nslots];
	t->map = h;
	return t;
}

void htab_free_now(struct rsz_hash *h, struct rsz_htab *t)
{
	rsz_kvfree(&h->mctx, t, t->alloc_size);
}

/* Freeze slot @i of @t (which is being migrated) and return the frozen
 * word. A PENDING word there is a copy from an older, finished migration
 * (I6): settle it first, so that frozen words never carry PENDING. */
static uint64_t freeze_slot(struct rsz_hash *h, struct rsz_htab *t, uint64_t i)
{
	uint64_t w = slot_load(&t->slots[i]);

	for (;;) {
		if (slot_is_frozen(w))
			return w;
		if (slot_has_elem(w) && (w & SLOT_PENDING)) {
			htab_resolve_pending(h, t, i, w);
			w = slot_load(&t->slots[i]);
			continue;
		}
		/* Seq-cst CAS: the freeze is ordered before our reads of the
		 * new table that follow, and against updaters' CASes on this
		 * slot, which either land before it (and get copied) or fail. */
		if (try_cmpxchg(&t->slots[i], &w, w | SLOT_FROZEN)) {
			RSZ_STALL_POINT("hash.migrate.after_freeze");
			return w | SLOT_FROZEN;
		}
	}
}

/* Confirm our copy @cand at new[j] of the frozen word @w at old[i].
 * Returns true if ours is the copy that counts. */
static bool confirm_copy(struct rsz_htab *old, uint64_t i, uint64_t w,
			 struct rsz_htab *new, uint64_t j, uint64_t cand)
{
	uint64_t x = w;

	if (try_cmpxchg(&old->slots[i], &x, slot_moved(j)) || x == slot_moved(j)) {
		RSZ_STALL_POINT("hash.migrate.after_moved");
		/*
		 * Ours won. Clear PENDING by CAS, not by a store: a resolver
		 * may have confirmed and cleared this same copy first, and an
		 * update may then have replaced or deleted it; a store would
		 * bring the retired element back (found by ASan in the stress
		 * test when this was a store).
		 */
		x = cand;
		try_cmpxchg(&new->slots[j], &x, cand & ~SLOT_PENDING);
		return true;
	}
	/* Another copy won: ours never counted; make it a tombstone. */
	x = cand;
	try_cmpxchg(&new->slots[j], &x, SLOT_TOMB);
	return false;
}

/* Copy the frozen word @w of old[i] to old->next, unless that is done.
 * Returns true if this call made and confirmed the copy that counts. */
static bool copy_slot(struct rsz_hash *h, struct rsz_htab *old, uint64_t i, uint64_t w)
{
	struct rsz_htab *new = rsz_dereference(old->next);
	struct rsz_hash_elem *e;
	uint64_t hash;

	if (!slot_has_elem(w) || slot_is_moved(w))
		return false;
	e = slot_elem(w);
	hash = elem_hash(h, e);
	htab_for_each_probe(new, hash, j, n) {
		uint64_t w2 = slot_load(&new->slots[j]);
again:
		if (w2 == SLOT_EMPTY) {
			uint64_t cand = slot_make(e, hash) | SLOT_PENDING;

			/* A copy read from old[i] before another thread
			 * confirmed it would only add a losing copy, which
			 * takes a slot the new table's budget never counted
			 * (under churn and several rescuers these pile up):
			 * look again before claiming a slot. */
			if (slot_load(&old->slots[i]) != w)
				return false;

			if (!try_cmpxchg(&new->slots[j], &w2, cand))
				goto again;
			RSZ_STALL_POINT("hash.migrate.after_pending");
			return confirm_copy(old, i, w, new, j, cand);
		}
		/* The new table is migrating further only once this migration
		 * finished (I6), and then old[i] is MOVED already. */
		if (slot_is_frozen(w2))
			return false;
		if (!slot_has_elem(w2) || rsz_tagptr_tag(w2) != hash_tag(hash))
			continue;
		if (!elem_match(h, slot_elem(w2), elem_key(h, e)))
			continue;
		if (w2 & SLOT_PENDING) {
			htab_resolve_pending(h, new, j, w2);
			w2 = slot_load(&new->slots[j]);
			goto again;
		}
		/* The key lives in the new table: a copy was confirmed, since
		 * nobody writes a key there before its old slot is MOVED. */
		return false;
	}
	/*
	 * No EMPTY slot in the whole new table. Its non-empty slots are at
	 * most its cap (htab_start_migration() reserved the counted copies
	 * in `used' and held room below the cap for the rest until
	 * give_back_slack() counts them; inserts and so tombstones reserve
	 * their own) plus one insert per thread that read the old table's
	 * budget or the old table itself just before the new one was
	 * published: three quarters of the home slots plus that, against a
	 * quarter of them and the overflow area left free. Only broken
	 * sizing lands here.
	 */
	RSZ_WARN_ON(true);
	return false;
}

void htab_resolve_pending(struct rsz_hash *h, struct rsz_htab *t, uint64_t j, uint64_t w)
{
	struct rsz_htab *old = rsz_dereference(t->prev);
	struct rsz_hash_elem *e = slot_elem(w);
	uint64_t hash = elem_hash(h, e);
	uint64_t frozen = slot_make(e, hash) | SLOT_FROZEN;
	bool confirmed = false;
	uint64_t x;

	if (old) {
		htab_for_each_probe(old, hash, i, n) {
			uint64_t s = slot_load(&old->slots[i]);

			if (s == frozen) {
				/* Undecided: this copy becomes the one. */
				x = s;
				confirmed = try_cmpxchg(&old->slots[i], &x, slot_moved(j)) ||
					    x == slot_moved(j);
				break;
			}
			if (s == slot_moved(j)) {
				confirmed = true;
				break;
			}
			if (s == SLOT_EMPTY || s == SLOT_FROZEN)
				break;	/* end of the element's probe run */
		}
	}
	/* With no migration source left, the migration that made this copy
	 * finished, and it confirmed its winners before finishing (I6): an
	 * unconfirmed copy is a loser. */
	x = w;
	try_cmpxchg(&t->slots[j], &x, confirmed ? (w & ~SLOT_PENDING) : SLOT_TOMB);
}

void htab_migrate_key(struct rsz_hash *h, struct rsz_htab *old, uint64_t hash)
{
	if (!rsz_dereference(old->next))
		return;
	htab_for_each_probe(old, hash, i, n) {
		uint64_t w = freeze_slot(h, old, i);

		copy_slot(h, old, i, w);
		if (w == SLOT_FROZEN)
			break;	/* was EMPTY: the key's run ends here (I2) */
	}
}

/* Lower @t's insert budget to at most @cap, and hold it there. */
static void budget_hold(struct rsz_htab *t, uint64_t cap)
{
	uint64_t b = READ_ONCE(t->budget), nb;

	do {
		nb = (b & ~HTAB_BUDGET_CAP) + HTAB_BUDGET_HOLDER;
		nb |= (b & HTAB_BUDGET_CAP) < cap ? (b & HTAB_BUDGET_CAP) : cap;
	} while (!try_cmpxchg(&t->budget, &b, nb));
}

/* Let go of a hold; the last one gives the full budget back. */
static void budget_release(struct rsz_htab *t)
{
	uint64_t b = READ_ONCE(t->budget), nb;

	do {
		nb = b - HTAB_BUDGET_HOLDER;
		if (nb < HTAB_BUDGET_HOLDER)
			nb = t->max_used;
	} while (!try_cmpxchg(&t->budget, &b, nb));
}

/*
 * The new table @n of a migration from @old: reserve in `used' the copies
 * of the inserts @old took since its set-up held it, and lift the hold
 * that kept room for them. Once, by whoever comes first: the set-up right
 * after publishing (so that inserts racing the migration get the room), or
 * finish(), before a migration from @n can start (I6). If the set-up
 * comes first, inserts into @old still to come are those of threads that
 * read it before it was published: one each. The add only ever raises
 * `used', and the release only lifts the cap if no set-up of a migration
 * from @n holds it too: so however late it lands, no bound of such a
 * set-up breaks (if it lands during one, the add is counted by that
 * set-up as inserts into @n: over-reserved, never under). A thread
 * stopped between the claim and the release leaves @n's cap lowered:
 * inserts then find @n full and migrate it (default mode; the worker for
 * PREALLOC, whose fit check reads the cap).
 */
static void give_back_slack(struct rsz_htab *old, struct rsz_htab *n)
{
	int64_t took;

	if (!xchg(&n->slack_pending, 0))
		return;
	RSZ_STALL_POINT("hash.migrate.slack_claimed");
	/* Seq-cst, after the seq-cst CAS that published @n: an insert
	 * that missed @n (it loads next after its `used' RMW) is seen here.
	 * Undone reservations can make it negative: none taken then. */
	took = (int64_t)(__atomic_load_n(&old->used, __ATOMIC_SEQ_CST) - n->prev_used0);
	if (took > 0)
		atomic_add_return_relaxed(&n->used, (uint64_t)took);
	budget_release(n);
}

static void finish(struct rsz_hash *h, struct rsz_htab *old)
{
	struct rsz_htab *new = rsz_dereference(old->next);
	struct rsz_htab *x = old;

	/* Publish the new table if its starter stalled before doing so. */
	try_cmpxchg(&h->tbl, &x, new);
	give_back_slack(old, new);
	/* Release: whoever sees prev == NULL sees every confirmation. */
	smp_store_release(&new->prev, NULL);
	hash_migration_done(h, old, new);
}

static void process_chunk(struct rsz_hash *h, struct rsz_htab *old, uint64_t c)
{
	struct rsz_htab *new = rsz_dereference(old->next);
	uint64_t lo = c * HTAB_CHUNK_SLOTS;
	uint64_t hi = lo + HTAB_CHUNK_SLOTS < old->nslots ? lo + HTAB_CHUNK_SLOTS : old->nslots;
	uint64_t bit = 1ULL << (c % 64), prev;
	uint64_t mine[HTAB_CHUNK_SLOTS / 64] = { 0 };	/* copies we confirmed */

	for (uint64_t i = lo; i < hi; i++)
		if (copy_slot(h, old, i, freeze_slot(h, old, i)))
			mine[(i - lo) / 64] |= 1ULL << ((i - lo) % 64);
	/* A copier that confirmed a slot of this chunk may have stalled
	 * before clearing PENDING: clear it for them, so that no confirmed
	 * copy is still PENDING when the migration finishes (I6). Our own
	 * copies are cleared already: skip them (their new slots are random
	 * accesses into the new table). */
	for (uint64_t i = lo; i < hi; i++) {
		uint64_t w;

		if (mine[(i - lo) / 64] & (1ULL << ((i - lo) % 64)))
			continue;
		w = slot_load(&old->slots[i]);
		if (slot_is_moved(w)) {
			uint64_t j = slot_moved_index(w);
			uint64_t w2 = slot_load(&new->slots[j]);

			if (slot_has_elem(w2) && (w2 & SLOT_PENDING))
				try_cmpxchg(&new->slots[j], &w2, w2 & ~SLOT_PENDING);
		}
	}
	RSZ_STALL_POINT("hash.migrate.chunk_done");
	prev = atomic_fetch_or(&old->chunk_bits[c / 64], bit);
	if (!(prev & bit) &&
	    atomic_add_return(&old->chunks_done, 1) == old->nr_chunks)
		finish(h, old);
}

void htab_help_migration(struct rsz_hash *h, struct rsz_htab *old)
{
	uint64_t c;

	if (READ_ONCE(old->chunk_claim) >= old->nr_chunks)
		return;
	c = atomic_add_return_relaxed(&old->chunk_claim, 1) - 1;
	if (c < old->nr_chunks) {
		RSZ_STALL_POINT("hash.migrate.chunk_claimed");
		process_chunk(h, old, c);
	}
}

void htab_finish_migration(struct rsz_hash *h, struct rsz_htab *old)
{
	while (READ_ONCE(old->chunk_claim) < old->nr_chunks)
		htab_help_migration(h, old);
	/* Every chunk is claimed; redo those whose claimers have not
	 * finished (they may be stopped for good). */
	while (__atomic_load_n(&old->chunks_done, __ATOMIC_ACQUIRE) < old->nr_chunks) {
		for (uint64_t c = 0; c < old->nr_chunks; c++) {
			uint64_t bits = __atomic_load_n(&old->chunk_bits[c / 64], __ATOMIC_ACQUIRE);

			if (!(bits & (1ULL << (c % 64))))
				process_chunk(h, old, c);
		}
	}
}

/*
 * Every live element of @t is copied, and copies cannot fail, so the new
 * table must be sized, and its `used' reserved, for every element @t will
 * hold when its slots freeze, while inserts into @t go on until the new
 * table is published (a thread stopped here must not stop them: that
 * would be a lock). So, with the new table allocated, @t's budget is held
 * at `used' plus a slack; the count read after that, plus the slack,
 * bounds what can be in @t. The new table reserves the count in `used'
 * and holds its own budget a slack below max_used, and is published at
 * once; then give_back_slack() counts the inserts @t took meanwhile and
 * lifts that hold. The hold on @t spans a few instructions, never an
 * allocation. What the bound leaves out is an insert or an undone
 * reservation per thread around the hold (docs/design.md 3.2).
 */
int htab_start_migration(struct rsz_hash *h, struct rsz_htab *t, uint64_t size)
{
	struct rsz_htab *n = NULL, *x = NULL;
	uint64_t count, used0, slack;
	int err = 0;

	for (;;) {
		if (rsz_dereference(t->prev) || rsz_dereference(t->next)) {
			err = -EBUSY;
			goto out_free;
		}
		count = READ_ONCE(h->count);
		if (size < htab_size_for(count + 128))
			size = htab_size_for(count + 128);
		if (n && n->size != size) {
			htab_free_now(h, n);
			n = NULL;
		}
		if (!n) {
			n = htab_alloc(h, size, &err);
			if (!n)
				return err;
			continue;	/* the count moved on meanwhile */
		}
		/* Half the room beyond the count is the slack; the other
		 * half absorbs what the count grows before the hold. */
		slack = (n->max_used - count - 64) / 2;
		used0 = READ_ONCE(t->used);
		budget_hold(t, used0 + slack);
		/* Seq-cst, as the hold's CAS and the inserts' count RMW and
		 * budget load: an insert that reserves count after this read
		 * finds the hold. */
		count = __atomic_load_n(&h->count, __ATOMIC_SEQ_CST);
		if (n->max_used >= count + slack + 64)
			break;
		budget_release(t);
	}
	RSZ_STALL_POINT("hash.migrate.budget_held");
	n->prev = t;
	n->prev_used0 = used0;
	n->slack_pending = 1;
	/* Copies do not reserve `used' (they must not fail): those of the
	 * counted elements are reserved here, those of inserts into @t from
	 * now on by holding the slack back, so that inserts racing the
	 * migration stop with room left for every copy. */
	n->used = count;
	n->budget = HTAB_BUDGET_HOLDER | (n->max_used - slack);
	/* Seq-cst: the new table's contents and prev are visible to anyone
	 * who finds it through t->next. The hold on @t stays: @t is done. */
	if (!try_cmpxchg(&t->next, &x, n)) {
		budget_release(t);
		err = -EBUSY;
		goto out_free;
	}
	give_back_slack(t, n);
	RSZ_STALL_POINT("hash.migrate.before_publish");
	x = t;
	try_cmpxchg(&h->tbl, &x, n);
	return 0;
out_free:
	if (n)
		htab_free_now(h, n);
	return err;
}
