/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * hash.c - the resizable hash map: operations, growth policy and the API.
 *
 * An open-addressing table of one-word slots (tag:pointer) over elements
 * that never move; linear probing, homes taken from the top hash bits so
 * that slot order is hash order (an overflow area past the home slots
 * keeps default-mode inserts from wrapping around; only copies and
 * PREALLOC inserts past the probe limit ever do). Tables are replaced by
 * cooperative migration (hash_table.c). docs/design.md has the
 * invariants I1..I6 and each operation's linearization point.
 */
#include "hash_internal.h"
#include "array_internal.h"

#define RSZ_HASH_KNOWN_FLAGS (RSZ_F_PREALLOC | RSZ_F_SHRINK | RSZ_F_ZERO_SEED | RSZ_F_MANUAL)

/* ---- the hash function -----------------------------------------------------------
 * hash_bytes() lives in hash_internal.h, inline, so that the map's own
 * calls are specialised for the common key sizes. */

uint64_t rsz_hash_bytes(const void *key, size_t len, uint64_t seed)
{
	return hash_bytes(key, len, seed);
}

/* ---- elements ------------------------------------------------------------------ */

#define POOL_PUBLISHED (1ULL << 63)

/* Queue the map's work. Never once destroy has begun: a kick can come
 * from an RCU callback (the pool's reclaim) after destroy flushed the
 * work, and the worker would then run on a map being freed. */
static void kick(struct rsz_hash *h)
{
	if (h->has_worker && !__atomic_load_n(&h->dying, __ATOMIC_SEQ_CST))
		rsz_queue_work(&h->work);
}

static inline bool prealloc(const struct rsz_hash *h)
{
	return h->pool != NULL;
}

static uint64_t hash_capacity_locked(struct rsz_hash *h);
static void queue_grow(struct rsz_hash *h, uint64_t target);

/* The pool is dry: -ENOMEM if the last grow failed on the memory limit
 * and the next would still fail, else -EAGAIN (a grow is queued). */
static int pool_dry_error(struct rsz_hash *h)
{
	return READ_ONCE(h->pool_grow_failed_nomem) &&
	       rsz__array_next_grow_hopeless(h->pool) ? -ENOMEM : -EAGAIN;
}

/* A fresh element for @key and @value, or NULL with *err set. @replace
 * lets a PREALLOC map dip into the reserve kept for replaces. */
static struct rsz_hash_elem *elem_new(struct rsz_hash *h, const void *key,
				      const void *value, bool replace, int *err)
{
	struct rsz_hash_elem *e;

	if (prealloc(h)) {
		uint64_t idx;

		if (!replace && rsz__array_free_slots(h->pool) <= h->pool_reserve) {
			queue_grow(h, hash_capacity_locked(h) + 1);
			*err = pool_dry_error(h);
			return NULL;
		}
		*err = rsz_array_alloc(h->pool, &idx);
		if (*err) {
			queue_grow(h, hash_capacity_locked(h) + 1);
			*err = *err == -ENOMEM ? -ENOMEM : pool_dry_error(h);
			return NULL;
		}
		e = rsz__array_elem(h->pool, idx);
		/* Set before publication, cleared by elem_discard(): tells
		 * pool_reclaim() whether the element was ever in the map. */
		e->pool_index = idx | POOL_PUBLISHED;
	} else {
		e = rsz_kvmalloc(&h->mctx, h->elem_size, 8, err);
		if (!e)
			return NULL;
		if (unlikely(!rsz_tagptr_fits(e))) {
			rsz_kvfree(&h->mctx, e, h->elem_size);
			*err = -ENOMEM;
			return NULL;
		}
		e->map = h;
	}
	memcpy(elem_key(h, e), key, h->key_size);
	if (h->key_space > h->key_size)
		memset((unsigned char *)elem_key(h, e) + h->key_size, 0,
		       h->key_space - h->key_size);
	if (h->value_size)
		memcpy(elem_value(h, e), value, h->value_size);
	return e;
}

/* An element that was never published goes straight back. */
static void elem_discard(struct rsz_hash *h, struct rsz_hash_elem *e)
{
	if (prealloc(h)) {
		e->pool_index &= ~POOL_PUBLISHED;
		rsz_array_release(h->pool, e->pool_index);
	} else
		rsz_kvfree(&h->mctx, e, h->elem_size);
}

static void release_elem(struct rsz_hash *h, struct rsz_hash_elem *e)
{
	if (h->release)
		h->release(elem_key(h, e), elem_value(h, e), h->release_ctx);
}

static void elem_free_cb(struct rsz_rcu_head *head)
{
	struct rsz_hash_elem *e = container_of(head, struct rsz_hash_elem, rcu);
	struct rsz_hash *h = e->map;

	release_elem(h, e);
	rsz_mctx_undefer(&h->mctx, h->elem_size);
	rsz_kvfree(&h->mctx, e, h->elem_size);
}

/*
 * A published element left the map: readers may hold it until a grace
 * period ends. PREALLOC elements go back to the pool, which reuses a slot
 * only after a grace period and calls release first (pool_reclaim).
 * Default-mode elements go to call_rcu directly: liburcu batches them
 * (one wake of its thread per grace period), and the header's rcu_head
 * and map pointer are all the callback needs.
 */
void hash_retire_elem(struct rsz_hash *h, struct rsz_hash_elem *e)
{
	if (prealloc(h)) {
		int err = rsz_array_release(h->pool, e->pool_index & ~POOL_PUBLISHED);

		RSZ_WARN_ON(err);
		(void)err;
		return;
	}
	rsz_mctx_defer(&h->mctx, h->elem_size);
	rsz_call_rcu(h->flavor, &e->rcu, elem_free_cb);
}

/* The pool calls this after a released slot's grace period. */
static void pool_reclaim(void *ctx, void *slot, uint64_t index)
{
	struct rsz_hash_elem *e = slot;

	(void)index;
	if (e->pool_index & POOL_PUBLISHED)
		release_elem(ctx, e);
}

/* ---- tables and capacity -------------------------------------------------------- */

/* Capacity, for a caller inside a read-side section. Never above
 * max_entries: a table holds more slots than the cap (it is sized in
 * powers of two), but no more elements can be stored. */
static uint64_t hash_capacity_locked(struct rsz_hash *h)
{
	uint64_t cap;

	if (prealloc(h)) {
		uint64_t free = rsz__array_free_slots(h->pool);

		cap = READ_ONCE(h->count) + (free > h->pool_reserve ? free - h->pool_reserve : 0);
	} else {
		/* Three quarters of the slots, or what the table already
		 * holds: an insert into the old table racing the start of a
		 * migration is copied without counting against the new
		 * table's budget, so it may hold a few more. */
		cap = htab_capacity(rsz_dereference(h->tbl));
		if (cap < READ_ONCE(h->count))
			cap = READ_ONCE(h->count);
	}
	return h->max_entries && cap > h->max_entries ? h->max_entries : cap;
}

/* Capacity; takes the read lock itself (nesting is fine). */
static uint64_t hash_capacity(struct rsz_hash *h)
{
	uint64_t cap;

	rsz_rcu_read_lock(h->flavor);
	cap = hash_capacity_locked(h);
	rsz_rcu_read_unlock(h->flavor);
	return cap;
}

static uint64_t wm_low(struct rsz_hash *h, uint64_t cap)
{
	return READ_ONCE(h->wm_user) ? READ_ONCE(h->wm_low) : cap / 4;
}

/* The capacity a watermark-triggered grow aims at. */
static uint64_t wm_target(struct rsz_hash *h, uint64_t cap, uint64_t count)
{
	uint64_t t = READ_ONCE(h->wm_user) ? count + READ_ONCE(h->wm_high) : cap * 2;

	if (h->max_entries && t > h->max_entries)
		t = h->max_entries;
	return t;
}

/* Raise the queued request @*req to at least @value and queue the work.
 * Async-signal-safe. */
static void queue_request(struct rsz_hash *h, uint64_t *req, uint64_t value)
{
	uint64_t cur = READ_ONCE(*req);

	do {
		/* Queued already: whoever raised it stored grow_pending and
		 * kicked, and the worker takes the request (xchg to 0)
		 * before it clears grow_pending. */
		if (cur >= value)
			return;
	} while (!try_cmpxchg_relaxed(req, &cur, value));
	/* Seq-cst store then the work's queueing: the worker that clears
	 * grow_pending re-reads the requests afterwards (hash_do_work). */
	__atomic_store_n(&h->grow_pending, 1, __ATOMIC_SEQ_CST);
	kick(h);
}

static void queue_grow(struct rsz_hash *h, uint64_t target)
{
	queue_request(h, &h->grow_target, target);
}

/* After an update; the caller is inside a read-side section. */
static void check_watermarks(struct rsz_hash *h)
{
	uint64_t cap, count, low;

	if (READ_ONCE(h->grow_pending))
		return;
	cap = hash_capacity_locked(h);
	count = READ_ONCE(h->count);
	low = wm_low(h, cap);
	if (low && (count >= cap || cap - count < low)) {
		uint64_t target = wm_target(h, cap, count);

		if (target > cap)
			queue_grow(h, target);
	}
}

static void check_shrink(struct rsz_hash *h)
{
	uint64_t cap;

	if (!(h->flags & RSZ_F_SHRINK) || READ_ONCE(h->shrink_req))
		return;
	/* PREALLOC capacity counts elements still waiting for their grace
	 * period as in use, so it falls with every delete: compare with
	 * what the pool holds instead. */
	cap = prealloc(h) ? READ_ONCE(h->pool->capacity) : hash_capacity(h);
	/* Hysteresis: shrink below a quarter full, to at most half full;
	 * growth starts at three quarters. */
	if (READ_ONCE(h->count) < cap / 4 && cap > h->initial_entries) {
		WRITE_ONCE(h->shrink_req, 1);
		kick(h);
	}
}

static int reserve_count(struct rsz_hash *h)
{
	uint64_t c;

	/* Seq-cst, as reserve_used()'s load of the budget: against a
	 * migration set-up's hold then count read, one of the two sides sees
	 * the other (htab_start_migration()). Free on x86. */
	if (!h->max_entries) {
		atomic_add_return(&h->count, 1);
		return 0;
	}
	/* A CAS loop, not add-then-check: the count never passes
	 * max_entries, not even for an instant, so exactly min(K, M) of K
	 * racing inserts succeed. */
	c = READ_ONCE(h->count);
	do {
		if (c >= h->max_entries)
			return -E2BIG;
	} while (!try_cmpxchg(&h->count, &c, c + 1));
	return 0;
}

static void unreserve_count(struct rsz_hash *h)
{
	atomic_sub_return_relaxed(&h->count, 1);
}

static bool reserve_used(struct rsz_htab *t)
{
	uint64_t cap = __atomic_load_n(&t->budget, __ATOMIC_SEQ_CST) & HTAB_BUDGET_CAP;
	uint64_t u = READ_ONCE(t->used);

	do {
		if (u >= cap)
			return false;
	} while (!try_cmpxchg_relaxed(&t->used, &u, u + 1));
	return true;
}

static void htab_free_cb(struct rsz_rcu_head *head)
{
	struct rsz_htab *t = container_of(head, struct rsz_htab, rcu);
	struct rsz_hash *h = t->map;

	rsz_mctx_undefer(&h->mctx, t->alloc_size);
	htab_free_now(h, t);
}

/* Called by whoever finishes a migration. */
void hash_migration_done(struct rsz_hash *h, struct rsz_htab *old, struct rsz_htab *t)
{
	if (t->size > old->size)
		atomic_add_return_relaxed(&h->nr_grow, 1);
	else if (t->size < old->size)
		atomic_add_return_relaxed(&h->nr_shrink, 1);
	else
		atomic_add_return_relaxed(&h->nr_rehash, 1);
	rsz_mctx_defer(&h->mctx, old->alloc_size);
	rsz_call_rcu(h->flavor, &old->rcu, htab_free_cb);
}

/* ---- lookup ---------------------------------------------------------------------- */

/* Does the PENDING copy @w at slot @j of @t count? Read-only: true if it is
 * confirmed or still undecided (then its element is the key's current one,
 * since nobody updates a key in @t before its old slot is MOVED). */
static bool pending_counts(struct rsz_hash *h, struct rsz_htab *t, uint64_t j, uint64_t w)
{
	struct rsz_htab *old = rsz_dereference(t->prev);
	struct rsz_hash_elem *e = slot_elem(w);
	uint64_t hash, frozen;

	if (!old)
		return false;
	hash = elem_hash(h, e);
	frozen = slot_make(e, hash) | SLOT_FROZEN;
	htab_for_each_probe(old, hash, i, n) {
		uint64_t s = __atomic_load_n(&old->slots[i], __ATOMIC_ACQUIRE);

		if (s == frozen || s == slot_moved(j))
			return true;
		if (s == SLOT_EMPTY || s == SLOT_FROZEN)
			break;
	}
	return false;
}

/*
 * Find the element of @key, oldest table first: while a migration runs, a
 * key's element is authoritative in the old table until its slot there is
 * MOVED, and in the new table after (I4). Linearization point: the load of
 * the slot that holds the element returned, or, for a miss, the load of the
 * slot ending the run in the last table visited.
 */
static struct rsz_hash_elem *find_slow(struct rsz_hash *h, const void *key, uint64_t hash)
{
	struct rsz_htab *t = htab_oldest(h);
	uint64_t tag = hash_tag(hash);

	for (;;) {
		htab_for_each_probe(t, hash, i, n) {
			uint64_t w = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
			struct rsz_hash_elem *e;

			if (w == SLOT_EMPTY || w == SLOT_FROZEN)
				break;
			if (!slot_has_elem(w) || rsz_tagptr_tag(w) != tag)
				continue;
			e = slot_elem(w);
			if (!elem_match(h, e, key))
				continue;
			if ((w & SLOT_PENDING) && !pending_counts(h, t, i, w))
				continue;
			return e;
		}
		/* Acquire, after the slot loads: if no migration had started
		 * when we read the run's end, the miss is real. */
		t = rsz_dereference(t->next);
		if (!t)
			return NULL;
	}
}

/*
 * The steady state: one table, no migration. Any sign of one (a source
 * table, a run that reaches a frozen word's end, a next table) takes the
 * slow path, which is complete on its own.
 *
 * The probe matches only plain live words of the key's tag, tag and state
 * bits in one compare. It skips the key's FROZEN and PENDING words: a
 * frozen word exists only once @t has a next table, which the run's end
 * checks (loaded after the slots, so a freeze seen implies next seen) and
 * sends to the slow path; and with no migration into @t (prev was NULL),
 * a PENDING word is a copy that lost (I6).
 *
 * Returns the element, NULL for a miss, or FIND_SLOW: then find_slow()
 * decides. The caller makes that call, so that rsz_hash_lookup() can make
 * it a tail call and its own path stays free of calls. @key_size is
 * h->key_size, passed so that a constant can specialise the compare (the
 * acquire loads would make the compiler read h->key_size again per slot).
 */
#define FIND_SLOW ((struct rsz_hash_elem *)1)

static inline struct rsz_hash_elem *find_fast(struct rsz_hash *h, const void *key, uint64_t hash,
					      size_t key_size)
{
	const uint64_t mask = ~0ULL << RSZ_TAGPTR_TAG_SHIFT | SLOT_STATE_MASK;
	uint64_t want = hash_tag(hash) << RSZ_TAGPTR_TAG_SHIFT;
	struct rsz_htab *t = rsz_dereference(h->tbl);
	const uint64_t *slot, *end;

	if (unlikely(rsz_dereference(t->prev)))
		return FIND_SLOW;
	slot = &t->slots[htab_home(t, hash)];
	end = &t->slots[t->nslots];
	for (; slot < end; slot++) {
		uint64_t w = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

		if (((w ^ want) & mask) == 0) {
			struct rsz_hash_elem *e = slot_elem(w);

			if (likely(elem_match_n(h, e, key, key_size)))
				return e;
		} else if (w <= SLOT_FROZEN) {
			goto run_end;	/* EMPTY or FROZEN EMPTY */
		}
	}
	/* The run fills the table's end and goes on from slot 0 (I2). */
	return FIND_SLOW;
run_end:
	if (unlikely(rsz_dereference(t->next)))
		return FIND_SLOW;
	return NULL;
}

static inline struct rsz_hash_elem *find(struct rsz_hash *h, const void *key, uint64_t hash)
{
	struct rsz_hash_elem *e = find_fast(h, key, hash, h->key_size);

	return unlikely(e == FIND_SLOW) ? find_slow(h, key, hash) : e;
}

/* rsz_hash_lookup() for other key sizes, out of line. */
static __attribute__((noinline)) void *lookup_general(struct rsz_hash *h, const void *key)
{
	struct rsz_hash_elem *e = find(h, key, key_hash(h, key));

	return e ? elem_value(h, e) : NULL;
}

/* rsz_hash_lookup() when the steady-state probe said FIND_SLOW. */
static __attribute__((noinline)) void *lookup_slow(struct rsz_hash *h, const void *key,
						   uint64_t hash)
{
	struct rsz_hash_elem *e = find_slow(h, key, hash);

	return e ? elem_value(h, e) : NULL;
}

void *rsz_hash_lookup(struct rsz_hash *h, const void *key)
{
	struct rsz_hash_elem *e;

	if (unlikely(!h || !key))
		return NULL;
#ifdef RSZ_CHECK_RCU
	RSZ_WARN_ON(!rsz_rcu_read_ongoing(h->flavor));
#endif
	/* The BPF-typical 8-byte key in the steady state makes no call, so
	 * saves no registers; everything else goes out of line. */
	uint64_t hash;

	if (h->key_size != 8)
		return lookup_general(h, key);
	hash = hash_bytes(key, 8, h->seed);
	e = find_fast(h, key, hash, 8);
	if (unlikely(e == FIND_SLOW))
		return lookup_slow(h, key, hash);
	return e ? elem_value(h, e) : NULL;
}

int rsz_hash_lookup_copy(struct rsz_hash *h, const void *key, void *value)
{
	struct rsz_hash_elem *e;
	int ret = -ENOENT;

	if (!h || !key || (!value && h->value_size))
		return -EINVAL;
	rsz_rcu_read_lock(h->flavor);
	e = find(h, key, key_hash(h, key));
	if (e) {
		if (h->value_size)
			memcpy(value, elem_value(h, e), h->value_size);
		ret = 0;
	}
	rsz_rcu_read_unlock(h->flavor);
	return ret;
}

/* ---- update and delete ------------------------------------------------------------ */

/* The newest table, with @hash's state settled in any migration source
 * and one chunk of that migration done on the way (cooperative help). */
static struct rsz_htab *writable_table(struct rsz_hash *h, uint64_t hash)
{
	struct rsz_htab *t = rsz_dereference(h->tbl);

	for (;;) {
		struct rsz_htab *next = rsz_dereference(t->next);
		struct rsz_htab *prev;

		if (next) {
			struct rsz_htab *x = t;

			try_cmpxchg(&h->tbl, &x, next);	/* help publish */
			htab_migrate_key(h, t, hash);
			htab_help_migration(h, t);
			t = next;
			continue;
		}
		prev = rsz_dereference(t->prev);
		if (prev) {
			htab_migrate_key(h, prev, hash);
			htab_help_migration(h, prev);
		}
		return t;
	}
}

/*
 * PREALLOC: ask the background work for a table of at least @size slots
 * (1: just fit for the pool, which also drops tombstones).
 */
static void request_table(struct rsz_hash *h, uint64_t size)
{
	queue_request(h, &h->table_req, size);
}

/*
 * PREALLOC, after a delete: tombstones are never reused, so once the
 * unused slots no longer cover the pool's free elements, ask for a
 * rehash before an insert finds the table full (which would be -EAGAIN).
 */
static bool table_fits_pool(struct rsz_hash *h, struct rsz_htab *t, uint64_t pool_cap);

/* Called inside a read-side section. */
static void check_table_room(struct rsz_hash *h)
{
	if (READ_ONCE(h->table_req))
		return;
	if (!table_fits_pool(h, rsz_dereference(h->tbl), READ_ONCE(h->pool->capacity)))
		request_table(h, 1);
}

/*
 * The table @t is full: replace it (default mode; the caller allocates
 * anyway), or report -EAGAIN with the work queued (PREALLOC). @long_run:
 * the insert ran past the probe limit.
 */
static int table_full(struct rsz_hash *h, struct rsz_htab *t, bool long_run)
{
	uint64_t cap = htab_capacity(t), count = READ_ONCE(h->count);
	uint64_t used = READ_ONCE(t->used), tombs = used > count ? used - count : 0;
	/*
	 * Double when the live elements need it; a long run with few live
	 * elements comes from tombstones (never reused, they lengthen every
	 * run), which a same-size rehash drops. Only a long run that
	 * tombstones cannot explain needs more slots.
	 */
	bool grow = count + 1 > cap / 2 || (long_run && tombs < used / 4);
	struct rsz_htab *prev;
	int err;

	/* A migration from @t was published after we chose it (its set-up
	 * held @t's budget): @t is not full, it is done; go on in the next. */
	if (rsz_dereference(t->next))
		return 0;
	if (prealloc(h)) {
		request_table(h, grow ? t->size * 2 : 1);
		return -EAGAIN;
	}
	prev = rsz_dereference(t->prev);
	if (prev) {
		/* A migration into @t still runs: finish it first. */
		htab_finish_migration(h, prev);
		return 0;
	}
	err = htab_start_migration(h, t, grow ? t->size * 2 : t->size);
	return err == -EBUSY ? 0 : err;
}

/* What an updater finds in the slot word @*w at t[i] of @key's run. */
enum slot_found {
	FOUND_OTHER,	/* not the key: go on probing */
	FOUND_MIGRATING,	/* frozen: the table is being migrated, restart */
	FOUND_KEY,	/* the key's element, in *w */
	FOUND_AGAIN,	/* a copy of the key was settled: look again at *w */
};

static enum slot_found examine_slot(struct rsz_hash *h, struct rsz_htab *t, uint64_t i,
				   uint64_t *w, uint64_t tag, const void *key)
{
	if (slot_is_frozen(*w))
		return FOUND_MIGRATING;	/* t->next exists */
	if (!slot_has_elem(*w) || rsz_tagptr_tag(*w) != tag ||
	    !elem_match(h, slot_elem(*w), key))
		return FOUND_OTHER;
	if (*w & SLOT_PENDING) {
		htab_resolve_pending(h, t, i, *w);
		*w = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
		return FOUND_AGAIN;
	}
	return FOUND_KEY;
}

static int do_update(struct rsz_hash *h, const void *key, const void *value,
		     uint64_t flags, uint64_t hash, struct rsz_hash_elem **spare,
		     bool *reserved)
{
	uint64_t tag = hash_tag(hash);
	struct rsz_htab *t;
	int err;

restart:
	t = writable_table(h, hash);
	htab_for_each_probe(t, hash, i, n) {
		uint64_t w = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
		struct rsz_hash_elem *e;
recheck:
		if (w == SLOT_EMPTY) {
			/* The key is absent: no live copy precedes the run's
			 * first EMPTY (I2). */
			if (flags == RSZ_EXIST)
				return -ENOENT;
			if (!*reserved) {
				err = reserve_count(h);
				if (err)
					return err;
				*reserved = true;
			}
			if (!*spare) {
				*spare = elem_new(h, key, value, false, &err);
				if (!*spare)
					return err;
			}
			if (!reserve_used(t)) {
				err = table_full(h, t, false);
				if (err)
					return err;
				goto restart;
			}
			if (n >= t->probe_limit) {
				/*
				 * The probe limit bounds work, not correctness
				 * (lookups and copies probe every slot). A
				 * default-mode insert, which allocates anyway,
				 * replaces the table now; a PREALLOC one asks for
				 * that in the background and inserts: a long run
				 * is no reason for -EAGAIN while the pool has
				 * elements (tombstones of a key deleted and
				 * inserted again lengthen its run).
				 */
				if (!prealloc(h)) {
					atomic_sub_return_relaxed(&t->used, 1);
					err = table_full(h, t, true);
					if (err)
						return err;
					goto restart;
				}
				table_full(h, t, true);
			}
			RSZ_STALL_POINT("hash.update.before_insert");
			/* Seq-cst CAS publishes the initialised element
			 * (release) and orders it against freezes. This is
			 * the insert's linearization point. */
			if (try_cmpxchg(&t->slots[i], &w, slot_make(*spare, hash))) {
				*spare = NULL;
				*reserved = false;
				return 0;
			}
			atomic_sub_return_relaxed(&t->used, 1);
			goto recheck;
		}
		switch (examine_slot(h, t, i, &w, tag, key)) {
		case FOUND_OTHER:
			continue;
		case FOUND_MIGRATING:
			goto restart;
		case FOUND_AGAIN:
			goto recheck;
		case FOUND_KEY:
			break;
		}
		/* The key is present. */
		e = slot_elem(w);
		if (*reserved) {
			unreserve_count(h);
			*reserved = false;
		}
		if (flags == RSZ_NOEXIST)
			return -EEXIST;
		if (!*spare) {
			*spare = elem_new(h, key, value, true, &err);
			if (!*spare)
				return err;
		}
		RSZ_STALL_POINT("hash.update.before_replace");
		/* A replace publishes a new element; the old one is never
		 * written (I1). Linearization point: this CAS. */
		if (try_cmpxchg(&t->slots[i], &w, slot_make(*spare, hash))) {
			*spare = NULL;
			hash_retire_elem(h, e);
			return 0;
		}
		goto recheck;
	}
	/* No EMPTY slot in the whole table. */
	err = table_full(h, t, true);
	if (err)
		return err;
	goto restart;
}

int rsz_hash_update(struct rsz_hash *h, const void *key, const void *value, uint64_t flags)
{
	struct rsz_hash_elem *spare = NULL;
	bool reserved = false;
	uint64_t hash;
	int err;

	if (!h || !key || (!value && h->value_size) || flags > RSZ_EXIST)
		return -EINVAL;
	hash = key_hash(h, key);
	rsz_rcu_read_lock(h->flavor);
	err = do_update(h, key, value, flags, hash, &spare, &reserved);
	if (reserved)
		unreserve_count(h);
	if (err == 0 || err == -EAGAIN)
		check_watermarks(h);
	rsz_rcu_read_unlock(h->flavor);
	if (spare)
		elem_discard(h, spare);
	return err;
}

int rsz_hash_delete(struct rsz_hash *h, const void *key)
{
	uint64_t hash, tag;
	int ret = -ENOENT;

	if (!h || !key)
		return -EINVAL;
	hash = key_hash(h, key);
	tag = hash_tag(hash);
	rsz_rcu_read_lock(h->flavor);
restart:;
	struct rsz_htab *t = writable_table(h, hash);

	htab_for_each_probe(t, hash, i, n) {
		uint64_t w = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
		struct rsz_hash_elem *e;
recheck:
		if (w == SLOT_EMPTY)
			break;
		switch (examine_slot(h, t, i, &w, tag, key)) {
		case FOUND_OTHER:
			continue;
		case FOUND_MIGRATING:
			goto restart;
		case FOUND_AGAIN:
			goto recheck;
		case FOUND_KEY:
			break;
		}
		e = slot_elem(w);
		RSZ_STALL_POINT("hash.delete.before_cas");
		/* Linearization point of a successful delete. */
		if (try_cmpxchg(&t->slots[i], &w, SLOT_TOMB)) {
			atomic_sub_return_relaxed(&h->count, 1);
			hash_retire_elem(h, e);
			ret = 0;
			break;
		}
		goto recheck;
	}
	if (ret == 0 && prealloc(h))
		check_table_room(h);
	rsz_rcu_read_unlock(h->flavor);
	if (ret == 0)
		check_shrink(h);
	return ret;
}

/* ---- iteration ------------------------------------------------------------------ */

/* (hash, key) order: negative if a < b. */
static int order(const struct rsz_hash *h, uint64_t ha, const void *ka, uint64_t hb, const void *kb)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	return memcmp(ka, kb, h->key_size);
}

/* The best candidate so far of a successor search. */
struct successor {
	struct rsz_hash_elem *e;
	uint64_t hash;
};

/* Make the element in slot word @w at t[i] the best candidate if it is
 * above the bound and below the best so far. */
static void consider(struct rsz_hash *h, struct rsz_htab *t, uint64_t i, uint64_t w,
		     bool bounded, uint64_t lb_hash, const void *lb_key,
		     struct successor *best)
{
	struct rsz_hash_elem *e = slot_elem(w);
	uint64_t hash = elem_hash(h, e);

	if (bounded && order(h, hash, elem_key(h, e), lb_hash, lb_key) <= 0)
		return;
	if (best->e && order(h, hash, elem_key(h, e), best->hash, elem_key(h, best->e)) >= 0)
		return;
	if ((w & SLOT_PENDING) && !pending_counts(h, t, i, w))
		return;
	best->e = e;
	best->hash = hash;
}

/*
 * The smallest (hash, key) above the bound, in table @t. Slots are in home
 * order and a run never crosses an EMPTY slot, but for copies that wrapped
 * into the table's first run (I5): so once a candidate is known, the scan
 * can stop at the first EMPTY at or past its home, nothing smaller lies
 * beyond; a scan from the bound's home looks at the first run first.
 */
static void scan_successor(struct rsz_hash *h, struct rsz_htab *t, bool bounded,
			   uint64_t lb_hash, const void *lb_key, struct successor *best)
{
	uint64_t i = 0, w, last;

	/* Nothing wrapped if the last slot is (frozen) EMPTY: a wrap needs it
	 * taken, and it never becomes EMPTY again (I2). A bound homed at 0
	 * scans the first run anyway. */
	last = __atomic_load_n(&t->slots[t->nslots - 1], __ATOMIC_ACQUIRE);
	if (bounded && last > SLOT_FROZEN && htab_home(t, lb_hash)) {
		for (; i < t->nslots; i++) {
			w = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
			if (w == SLOT_EMPTY || w == SLOT_FROZEN)
				break;
			if (slot_has_elem(w))
				consider(h, t, i, w, bounded, lb_hash, lb_key, best);
		}
	}
	if (bounded)
		i = htab_home(t, lb_hash);
	for (; i < t->nslots; i++) {
		w = __atomic_load_n(&t->slots[i], __ATOMIC_ACQUIRE);
		if (w == SLOT_EMPTY || w == SLOT_FROZEN) {
			if (best->e && i >= htab_home(t, best->hash))
				return;
			continue;
		}
		if (slot_has_elem(w))
			consider(h, t, i, w, bounded, lb_hash, lb_key, best);
	}
}

int rsz_hash_get_next_key(struct rsz_hash *h, const void *key, void *next_key)
{
	struct successor best = { NULL, 0 };
	uint64_t lb_hash = 0;
	struct rsz_htab *t;

	if (!h || !next_key)
		return -EINVAL;
	if (key)
		lb_hash = key_hash(h, key);
	rsz_rcu_read_lock(h->flavor);
	/*
	 * Every table from the oldest: a key present throughout is, at any
	 * instant, in the old table (not yet MOVED) or already copied to the
	 * new one (its copy precedes the MOVED word, I4), and we visit the
	 * old before the new.
	 */
	for (t = htab_oldest(h); t; t = rsz_dereference(t->next))
		scan_successor(h, t, key != NULL, lb_hash, key, &best);
	if (best.e)
		memcpy(next_key, elem_key(h, best.e), h->key_size);
	rsz_rcu_read_unlock(h->flavor);
	return best.e ? 0 : -ENOENT;
}

/* ---- resizing ---------------------------------------------------------------------- */

static void record_grow_failure(struct rsz_hash *h, int err)
{
	atomic_add_return_relaxed(&h->nr_grow_failed, 1);
	WRITE_ONCE(h->last_grow_error, (int64_t)err);
}

/*
 * Migrate until the newest table satisfies @done (or @size is reached).
 * Blocks the caller for a whole migration, so only maintain, the worker,
 * RSZ_GROW_WAIT callers and destroy come here; operations only help.
 */
static int table_resize(struct rsz_hash *h, uint64_t size,
			bool (*done)(struct rsz_hash *h, struct rsz_htab *t, uint64_t arg),
			uint64_t arg)
{
	for (;;) {
		struct rsz_htab *t, *prev, *next;
		int err;

		rsz_rcu_read_lock(h->flavor);
		t = rsz_dereference(h->tbl);
		prev = rsz_dereference(t->prev);
		next = rsz_dereference(t->next);
		if (prev) {
			htab_finish_migration(h, prev);
			rsz_rcu_read_unlock(h->flavor);
			continue;
		}
		if (next) {
			/* Its starter stopped between setting t->next and
			 * publishing the table: publish it for them. */
			try_cmpxchg(&h->tbl, &t, next);
			rsz_rcu_read_unlock(h->flavor);
			continue;
		}
		if (done(h, t, arg)) {
			rsz_rcu_read_unlock(h->flavor);
			return 0;
		}
		err = htab_start_migration(h, t, size);
		if (!err)
			htab_finish_migration(h, t);
		rsz_rcu_read_unlock(h->flavor);
		if (err && err != -EBUSY)
			return err;
		if (!err)
			return 0;
	}
}

static bool table_holds(struct rsz_hash *h, struct rsz_htab *t, uint64_t capacity)
{
	(void)h;
	return htab_capacity(t) >= capacity;
}

/* A PREALLOC table must take every pool element as a live element and
 * leave room for tombstones: a quarter of the pool more, and the replace
 * reserve. */
static uint64_t pool_table_capacity(const struct rsz_hash *h, uint64_t pool_cap)
{
	return pool_cap + pool_cap / 4 + h->pool_reserve;
}

/* Does @t fit a pool of @pool_cap elements (see above)? Once tombstones
 * fill a quarter of it, runs grow long: then it must be rehashed. */
static bool table_fits_pool(struct rsz_hash *h, struct rsz_htab *t, uint64_t pool_cap)
{
	uint64_t count = READ_ONCE(h->count), used = READ_ONCE(t->used);
	uint64_t inserts = pool_cap > count ? pool_cap - count : 0;
	uint64_t tombs = used > count ? used - count : 0;
	/* The cap inserts see: a hold left by a stopped migration set-up
	 * makes the table unfit, so that the worker migrates it. */
	uint64_t cap = READ_ONCE(t->budget) & HTAB_BUDGET_CAP;

	return htab_capacity(t) >= pool_table_capacity(h, pool_cap) &&
	       used <= cap && cap - used >= inserts &&
	       tombs <= t->max_used / 4;
}

static bool table_is_size(struct rsz_hash *h, struct rsz_htab *t, uint64_t size)
{
	(void)h;
	return t->size == size;
}

static bool table_is_at_least(struct rsz_hash *h, struct rsz_htab *t, uint64_t size)
{
	(void)h;
	return t->size >= size;
}

static uint64_t pool_capacity(struct rsz_hash *h)
{
	struct rsz_array_stat st;

	rsz_array_stat(h->pool, &st, sizeof(st));
	return st.capacity;
}

static int pool_fit_table(struct rsz_hash *h, uint64_t pool_cap)
{
	return table_resize(h, htab_size_for(pool_table_capacity(h, pool_cap)),
			    table_fits_pool, pool_cap);
}

/* Start (not finish) a migration to a table that fits @pool_cap, so that
 * inserts go on in the new table while the pool grows. */
static void pool_start_table_growth(struct rsz_hash *h, uint64_t pool_cap)
{
	struct rsz_htab *t;

	rsz_rcu_read_lock(h->flavor);
	t = rsz_dereference(h->tbl);
	if (!rsz_dereference(t->prev) && !table_fits_pool(h, t, pool_cap))
		htab_start_migration(h, t, htab_size_for(pool_table_capacity(h, pool_cap)));
	rsz_rcu_read_unlock(h->flavor);
}

/* Capacity at least @target (already capped at max_entries). */
static int do_grow(struct rsz_hash *h, uint64_t target)
{
	uint64_t cap = hash_capacity(h), want;
	int err;

	if (!prealloc(h)) {
		if (cap >= target)
			return 0;
		err = table_resize(h, htab_size_for(target), table_holds, target);
		goto out;
	}
	if (target <= cap)
		return pool_fit_table(h, pool_capacity(h));
	/*
	 * The pool grows by doubling segments, so its capacity after the
	 * grow is the next power of two. The table migration starts first
	 * and is finished last: inserts go into the new table at once and
	 * help copy, and take elements as soon as the pool has grown.
	 */
	want = pool_capacity(h) + (target - cap);
	pool_start_table_growth(h, roundup_pow_of_two(want));
	err = rsz_array_grow(h->pool, want, RSZ_GROW_WAIT);
	WRITE_ONCE(h->pool_grow_failed_nomem, err == -ENOMEM);
	if (err == -E2BIG)	/* the pool's cap: max_entries plus the reserve */
		err = 0;
	if (!err)
		err = pool_fit_table(h, pool_capacity(h));
out:
	if (err)
		record_grow_failure(h, err);
	return err;
}

/* Default mode: the table size a shrink goes to: the smallest capacity at
 * most half full that keeps the low watermark's free capacity and
 * initial_entries. */
static uint64_t shrink_size(struct rsz_hash *h)
{
	uint64_t count = READ_ONCE(h->count), target = 2 * count;

	if (READ_ONCE(h->wm_user) && count + READ_ONCE(h->wm_low) > target)
		target = count + READ_ONCE(h->wm_low);
	if (target < h->initial_entries)
		target = h->initial_entries;
	return htab_size_for(target);
}

/* Would a shrink release anything now? (PREALLOC: the pool has segments
 * beyond its first, which may be free once released elements are back.) */
static bool shrink_possible(struct rsz_hash *h)
{
	bool r;

	if (prealloc(h))
		return READ_ONCE(h->pool->nr_segs) > 1;
	rsz_rcu_read_lock(h->flavor);
	r = shrink_size(h) < READ_ONCE(rsz_dereference(h->tbl)->size);
	rsz_rcu_read_unlock(h->flavor);
	return r;
}

static int do_shrink(struct rsz_hash *h)
{
	uint64_t size;
	bool smaller;

	if (prealloc(h)) {
		uint64_t pool_cap;
		int err;

		/* Released elements come back after their grace period;
		 * then the pool drops its free trailing segments. */
		rsz__array_maintain(h->pool);
		err = rsz_array_shrink(h->pool, RSZ_GROW_WAIT);
		if (err)
			return err;
		pool_cap = pool_capacity(h);
		size = htab_size_for(pool_table_capacity(h, pool_cap));
	} else {
		size = shrink_size(h);
	}
	rsz_rcu_read_lock(h->flavor);
	smaller = size < READ_ONCE(rsz_dereference(h->tbl)->size);
	rsz_rcu_read_unlock(h->flavor);
	return smaller ? table_resize(h, size, table_is_size, size) : 0;
}

/* Everything queued: deferred frees, a migration to finish, grows and
 * shrinks. Safe to run concurrently with itself (all of it is). */
static int hash_do_work(struct rsz_hash *h)
{
	int ret = 0;

	if (prealloc(h))
		rsz__array_run(h->pool);
	rsz_rcu_read_lock(h->flavor);
	{
		struct rsz_htab *t = rsz_dereference(h->tbl);
		struct rsz_htab *prev = rsz_dereference(t->prev);

		if (prev)
			htab_finish_migration(h, prev);
	}
	rsz_rcu_read_unlock(h->flavor);
	for (;;) {
		uint64_t target = xchg(&h->grow_target, 0);
		int err;

		if (target && !READ_ONCE(h->dying)) {
			err = do_grow(h, target);
			if (err)
				ret = err;
		}
		target = xchg(&h->table_req, 0);
		if (target > 1 && !READ_ONCE(h->dying))
			err = table_resize(h, target, table_is_at_least, target);
		else
			err = 0;
		/* PREALLOC: keep the table fit for the pool (room for every
		 * free element, tombstones dropped) on every run. */
		if (!err && prealloc(h) && !READ_ONCE(h->dying))
			err = pool_fit_table(h, pool_capacity(h));
		if (err) {
			record_grow_failure(h, err);
			ret = err;
		}
		if (xchg(&h->shrink_req, 0) && !READ_ONCE(h->dying)) {
			err = do_shrink(h);
			if (err)
				ret = err;
		}
		/* Seq-cst: a grow queued after our xchg sees 0 here and sets
		 * it again, or we see its target below. */
		__atomic_store_n(&h->grow_pending, 0, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&h->grow_target, __ATOMIC_SEQ_CST) &&
		    !__atomic_load_n(&h->table_req, __ATOMIC_SEQ_CST) &&
		    !__atomic_load_n(&h->shrink_req, __ATOMIC_SEQ_CST))
			break;
		__atomic_store_n(&h->grow_pending, 1, __ATOMIC_SEQ_CST);
	}
	return ret;
}

static void hash_work_fn(struct rsz_work *w)
{
	hash_do_work(container_of(w, struct rsz_hash, work));
}

static void pool_kick(void *ctx)
{
	kick(ctx);
}

int rsz_hash_grow(struct rsz_hash *h, uint64_t nr_entries, unsigned int flags)
{
	bool beyond;
	int err;

	if (!h || flags > RSZ_GROW_WAIT)
		return -EINVAL;
	beyond = h->max_entries && nr_entries > h->max_entries;
	if (beyond)
		nr_entries = h->max_entries;
	if (hash_capacity(h) >= nr_entries)
		return beyond ? -E2BIG : 0;
	if (flags == RSZ_GROW_ASYNC) {
		queue_grow(h, nr_entries);
		return beyond ? -E2BIG : -EINPROGRESS;
	}
	RSZ_WARN_ON(!rsz_rcu_may_block(h->flavor));
	err = do_grow(h, nr_entries);
	if (err)
		return err;
	return beyond ? -E2BIG : 0;
}

int rsz_hash_shrink(struct rsz_hash *h, unsigned int flags)
{
	if (!h || flags > RSZ_GROW_WAIT)
		return -EINVAL;
	if (!shrink_possible(h))
		return 0;
	if (flags == RSZ_GROW_ASYNC) {
		WRITE_ONCE(h->shrink_req, 1);
		kick(h);
		return -EINPROGRESS;
	}
	RSZ_WARN_ON(!rsz_rcu_may_block(h->flavor));
	return do_shrink(h);
}

int rsz_hash_set_watermarks(struct rsz_hash *h, uint64_t low, uint64_t high)
{
	if (!h || high < low)
		return -EINVAL;
	if (h->max_entries && high > h->max_entries)
		high = h->max_entries;
	if (low > high)
		low = high;
	WRITE_ONCE(h->wm_low, low);
	WRITE_ONCE(h->wm_high, high);
	WRITE_ONCE(h->wm_user, true);
	rsz_rcu_read_lock(h->flavor);
	check_watermarks(h);
	rsz_rcu_read_unlock(h->flavor);
	return 0;
}

int rsz_hash_maintain(struct rsz_hash *h)
{
	if (!h)
		return -EINVAL;
	RSZ_WARN_ON(!rsz_rcu_may_block(h->flavor));
	if (h->has_worker)
		rsz_flush_work(&h->work);
	/* Unlike the worker, maintain waits for the pool's released
	 * elements to come back, so that MANUAL maps reuse them. */
	if (prealloc(h))
		rsz__array_maintain(h->pool);
	return hash_do_work(h);
}

void rsz_hash_stat(struct rsz_hash *h, struct rsz_hash_stat *st, size_t size)
{
	struct rsz_hash_stat s;
	struct rsz_htab *t;
	uint64_t cap;

	if (!h || !st)
		return;
	rsz_rcu_read_lock(h->flavor);
	t = rsz_dereference(h->tbl);
	cap = hash_capacity(h);
	s.count = READ_ONCE(h->count);
	s.capacity = cap;
	s.max_entries = h->max_entries;
	s.mem_bytes = READ_ONCE(h->mctx.bytes);
	if (prealloc(h)) {
		struct rsz_array_stat as;

		rsz_array_stat(h->pool, &as, sizeof(as));
		s.mem_bytes += as.mem_bytes;
	}
	s.nr_grow = READ_ONCE(h->nr_grow);
	s.nr_shrink = READ_ONCE(h->nr_shrink);
	s.grow_pending = READ_ONCE(h->grow_pending);
	s.nr_grow_failed = READ_ONCE(h->nr_grow_failed);
	s.last_grow_error = READ_ONCE(h->last_grow_error);
	s.table_slots = t->nslots;
	s.nr_rehash = READ_ONCE(h->nr_rehash);
	s.low_watermark = wm_low(h, cap);
	s.high_watermark = READ_ONCE(h->wm_user) ? READ_ONCE(h->wm_high) : cap * 2;
	rsz_rcu_read_unlock(h->flavor);
	if (size > sizeof(s)) {
		memset((char *)st + sizeof(s), 0, size - sizeof(s));
		size = sizeof(s);
	}
	memcpy(st, &s, size);
}

/* ---- creation and destruction -------------------------------------------------------- */

static int check_opts(const struct rsz_hash_opts *o)
{
	if (!o || o->sz < sizeof(*o))
		return -EINVAL;
	/* A newer caller's fields we do not know must be zero (libbpf's
	 * rule), so that ignoring them changes nothing. */
	for (size_t i = sizeof(*o); i < o->sz; i++)
		if (((const unsigned char *)o)[i])
			return -EINVAL;
	if (o->flags & ~RSZ_HASH_KNOWN_FLAGS)
		return -EINVAL;
	if (o->key_size == 0)
		return -EINVAL;
	if (o->key_size > RSZ_HASH_KEY_SIZE_MAX || o->value_size > RSZ_HASH_VALUE_SIZE_MAX)
		return -E2BIG;
	if (o->max_entries && o->initial_entries > o->max_entries)
		return -EINVAL;
	if (o->flavor && rsz_flavor_check(o->flavor))
		return -EINVAL;
	if (o->allocator && (!o->allocator->alloc || !o->allocator->free))
		return -EINVAL;
	return 0;
}

static struct rsz_array *pool_new(struct rsz_hash *h, const struct rsz_hash_opts *o, int *err)
{
	RSZ_OPTS(rsz_array_opts, ao,
		 .value_size = h->elem_size,
		 .initial_entries = o->initial_entries + h->pool_reserve,
		 .flags = RSZ_F_MANUAL,
		 .mem = o->mem,
		 .flavor = h->flavor,
		 .allocator = o->allocator);
	struct rsz_array_hooks hooks = {
		.reclaim = pool_reclaim,
		.kick = pool_kick,
		.ctx = h,
		.raw = true,
	};
	struct rsz_array *a;

	if (o->max_entries)
		ao.max_entries = o->max_entries + h->pool_reserve;
	a = rsz__array_new(&ao, &hooks);
	if (!a) {
		*err = -errno;
		return NULL;
	}
	/* The map's watermarks decide when the pool grows, not the pool's
	 * own default policy. */
	rsz_array_set_watermarks(a, 0, 0);
	return a;
}

struct rsz_hash *rsz_hash_new(const struct rsz_hash_opts *opts)
{
	struct rsz_mctx m = { 0 };
	uint64_t initial, bytes;
	struct rsz_hash *h;
	int err = check_opts(opts);

	if (err)
		goto fail;
	initial = opts->initial_entries ? opts->initial_entries : 1;
	/* Element bytes for the initial entries must be representable, and
	 * the table for them addressable. */
	if (check_mul_overflow_u64(initial, ELEM_HDR_DEFAULT + ALIGN_UP((uint64_t)opts->key_size, 8) +
				   ALIGN_UP((uint64_t)opts->value_size, 8), &bytes) ||
	    initial > (1ULL << 56)) {
		err = -E2BIG;
		goto fail;
	}
	m.allocator = opts->allocator;
	m.mem = opts->mem;
	h = rsz_kvmalloc(&m, sizeof(*h), RSZ_CACHELINE, &err);
	if (!h)
		goto fail;
	memset(h, 0, sizeof(*h));
	h->mctx = m;
	h->flavor = opts->flavor ? opts->flavor : rsz_default_flavor();
	h->seed = (opts->flags & RSZ_F_ZERO_SEED) ? 0 : rsz_random_u64();
	h->key_size = opts->key_size;
	h->value_size = opts->value_size;
	h->key_space = ALIGN_UP(opts->key_size, 8);
	h->key_off = (opts->flags & RSZ_F_PREALLOC) ? ELEM_HDR_PREALLOC : ELEM_HDR_DEFAULT;
	h->elem_size = (uint32_t)(h->key_off + h->key_space + ALIGN_UP(opts->value_size, 8));
	h->flags = opts->flags;
	h->max_entries = opts->max_entries;
	h->initial_entries = opts->initial_entries;
	h->release = opts->release;
	h->release_ctx = opts->release_ctx;
	h->has_worker = !(opts->flags & RSZ_F_MANUAL);
	rsz_work_init(&h->work, hash_work_fn, h->flavor);

	if (opts->flags & RSZ_F_PREALLOC) {
		h->pool_reserve = 8;
		h->pool = pool_new(h, opts, &err);
		if (!h->pool)
			goto fail_free;
		h->tbl = htab_alloc(h, htab_size_for(pool_table_capacity(h, pool_capacity(h))),
				    &err);
	} else {
		h->tbl = htab_alloc(h, htab_size_for(initial), &err);
	}
	if (!h->tbl)
		goto fail_pool;

	/* Threads now, so that no async-signal-safe path ever creates one:
	 * the worker and the flavor's call_rcu thread. */
	rsz_rcu_prime(h->flavor);
	rsz_fork_track_flavor(h->flavor);
	if (h->has_worker) {
		err = rsz_worker_get(h->flavor);
		if (err)
			goto fail_table;
	}
	return h;

fail_table:
	htab_free_now(h, h->tbl);
fail_pool:
	if (h->pool)
		rsz_array_destroy(h->pool);
fail_free:
	m = h->mctx;
	rsz_kvfree(&m, h, sizeof(*h));
fail:
	errno = -err;
	return NULL;
}

void rsz_hash_destroy(struct rsz_hash *h)
{
	struct rsz_mctx m;
	struct rsz_htab *t;

	if (!h)
		return;
	RSZ_WARN_ON(!rsz_rcu_may_block(h->flavor));
	/* No kick after this (see kick()); the callbacks in flight, which
	 * may have kicked before seeing it, are over after the barrier; the
	 * work they queued is over after the flush. */
	__atomic_store_n(&h->dying, true, __ATOMIC_SEQ_CST);
	rsz_rcu_barrier(h->flavor);
	if (h->has_worker)
		rsz_flush_work(&h->work);
	/* No operation runs any more: finish a migration, hand the retired
	 * elements to call_rcu and wait for every callback. */
	hash_do_work(h);
	if (prealloc(h)) {
		rsz_synchronize_rcu(h->flavor);
		rsz__array_maintain(h->pool);
	}
	rsz_rcu_barrier(h->flavor);

	t = h->tbl;
	RSZ_WARN_ON(t->prev != NULL);
	for (uint64_t i = 0; i < t->nslots; i++) {
		uint64_t w = t->slots[i];

		/* A PENDING word left after its migration finished is a
		 * copy that lost (I6): its element lives elsewhere. */
		if (!slot_has_elem(w) || (w & SLOT_PENDING))
			continue;
		release_elem(h, slot_elem(w));
		if (!prealloc(h))
			rsz_kvfree(&h->mctx, slot_elem(w), h->elem_size);
	}
	htab_free_now(h, t);
	if (h->pool)
		rsz_array_destroy(h->pool);
	if (h->has_worker)
		rsz_worker_put();
	m = h->mctx;
	rsz_kvfree(&m, h, sizeof(*h));
}
