/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * hash_internal.h - the resizable hash map's layout, shared by hash.c (the
 * operations and the API) and hash_table.c (tables, probing, migration).
 * docs/design.md explains the algorithm and argues its correctness; the
 * invariants it names (I1..I6) are referred to in comments here.
 */
#ifndef RSZ_HASH_INTERNAL_H
#define RSZ_HASH_INTERNAL_H

#include "platform.h"
#include "mem_internal.h"
#include "rsz/hash.h"

struct rsz_array;

/*
 * An element never moves and is never modified once published, except by
 * the user through a lookup pointer (the value) (I1). A header, then the
 * key and the value, each rounded up to 8 bytes (so values are 8-byte
 * aligned). The header is what retiring the element needs:
 *
 *	default mode	an rcu_head and the map, for call_rcu (24 bytes)
 *	RSZ_F_PREALLOC	the pool slot it came from (8 bytes)
 *
 * The hash is not stored: lookups compare keys after the slot's tag, and a
 * migration or a walk recomputes it from the key (elem_hash()).
 */
struct rsz_hash_elem {
	union {
		struct {
			struct rsz_rcu_head rcu;
			struct rsz_hash *map;
		};
		uint64_t pool_index;
	};
};

#define ELEM_HDR_DEFAULT  sizeof(struct rsz_hash_elem)
#define ELEM_HDR_PREALLOC sizeof(uint64_t)

/*
 * A slot is one word (see rsz_tagptr() in platform.h):
 *
 *	0			EMPTY
 *	1			FROZEN | EMPTY
 *	4 (| 1)			TOMB (| FROZEN): a deleted element; never reused
 *	tag:ptr			live element
 *	tag:ptr | 1		FROZEN live: being migrated, immutable here
 *	tag:ptr | 2		PENDING: a migration copy not yet confirmed (I4)
 *	j << 3 | 7		MOVED: the frozen element went to slot j of the
 *				next table, and that copy is the real one
 *
 * Slots only go forward: EMPTY never comes back in a table (I2), and a
 * FROZEN slot never changes again except FROZEN live -> MOVED (I3).
 */
#define SLOT_EMPTY	0ULL
#define SLOT_FROZEN	1ULL
#define SLOT_PENDING	2ULL
#define SLOT_SPECIAL	4ULL
#define SLOT_TOMB	SLOT_SPECIAL
#define SLOT_MOVED_BITS	7ULL
#define SLOT_STATE_MASK	7ULL

static inline bool slot_has_elem(uint64_t w)
{
	return w > SLOT_STATE_MASK && !(w & SLOT_SPECIAL);
}

static inline bool slot_is_frozen(uint64_t w)
{
	return (w & SLOT_FROZEN) != 0;	/* MOVED included */
}

static inline bool slot_is_moved(uint64_t w)
{
	return (w & SLOT_MOVED_BITS) == SLOT_MOVED_BITS;
}

static inline uint64_t slot_moved(uint64_t j)
{
	return (j << 3) | SLOT_MOVED_BITS;
}

static inline uint64_t slot_moved_index(uint64_t w)
{
	return w >> 3;
}

static inline struct rsz_hash_elem *slot_elem(uint64_t w)
{
	return rsz_tagptr_ptr(w);
}

/*
 * 16 hash bits that the home index does not use (it takes the top ones),
 * the lowest forced to 1: a live word's tag is never 0, and EMPTY, TOMB
 * and MOVED words have no tag bits (MOVED's index would need a table of
 * 2^45 slots to reach them), so a lookup tests tag and state bits in one
 * compare (find()). It costs a halving of the tag's filtering: one false
 * match in 32768 instead of 65536.
 */
static inline uint64_t hash_tag(uint64_t hash)
{
	return (hash & 0xffff) | 1;
}

static inline uint64_t slot_make(const struct rsz_hash_elem *e, uint64_t hash)
{
	return rsz_tagptr(e, hash_tag(hash));
}

/*
 * A table of `size' home slots (a power of two; an element's home is the
 * top bits of its hash, so slot order follows hash order) plus `overflow'
 * slots past the end, so that default-mode inserts never wrap around: this
 * keeps the table sorted by home, but for the few copies and PREALLOC
 * inserts past the probe limit that wrap into the table's first run, and
 * gives iteration a place to resume from (I5).
 */
struct rsz_htab {
	uint64_t size;
	uint64_t nslots;	/* size + overflow */
	unsigned int shift;	/* home = hash >> shift */
	unsigned int probe_limit; /* an insert probes at most this far */
	uint64_t max_used;	/* used slots at which the table is full */
	size_t alloc_size;

	/* Migration to `next'; `prev' is set while this table is the
	 * target of one and cleared when it completes (I6). */
	struct rsz_htab *next;
	struct rsz_htab *prev;
	uint64_t nr_chunks;
	uint64_t chunk_claim;	/* next chunk to hand out */
	uint64_t chunks_done;	/* chunks whose bit in chunk_bits is set */
	uint64_t *chunk_bits;	/* done bit per chunk, set exactly once */
	struct rsz_rcu_head rcu;
	struct rsz_hash *map;
	/* The migration into this table held back room in `budget' for the
	 * inserts into `prev' after its `used' was prev_used0; until
	 * give_back_slack() counts them, slack_pending is 1. */
	uint64_t prev_used0, slack_pending;

	uint64_t used __rsz_cacheline_aligned; /* slots taken or promised: inserts, tombs, copies to come */
	/* What inserts may take `used' up to: max_used, but held lower by a
	 * migration from this table from its set-up on, so that the copies
	 * its new table must take are known, and in a new table until the
	 * copies not yet reserved are (htab_start_migration()). Low 48 bits:
	 * the cap; high 16: how many hold it lowered. */
	uint64_t budget;

	uint64_t slots[] __rsz_cacheline_aligned;
};

#define HTAB_CHUNK_SLOTS 1024ULL	/* one migration work unit */
#define HTAB_BUDGET_CAP		((1ULL << 48) - 1)
#define HTAB_BUDGET_HOLDER	(1ULL << 48)

struct rsz_hash {
	/* Read-mostly: everything a lookup touches. */
	struct rsz_htab *tbl __rsz_cacheline_aligned;
	uint64_t seed;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t key_space;	/* key_size rounded up to 8 */
	uint32_t key_off;	/* ELEM_HDR_DEFAULT or ELEM_HDR_PREALLOC */
	uint32_t elem_size;
	uint32_t flags;
	rsz_flavor_t flavor;

	uint64_t max_entries;
	uint64_t initial_entries;
	void (*release)(void *key, void *value, void *ctx);
	void *release_ctx;
	struct rsz_mctx mctx;
	struct rsz_array *pool;		/* RSZ_F_PREALLOC */
	uint64_t pool_reserve;		/* elements kept for replaces */

	/* Written by every insert and delete. */
	uint64_t count __rsz_cacheline_aligned;

	/* Growth policy and queued work. */
	uint64_t wm_low __rsz_cacheline_aligned;
	uint64_t wm_high;
	bool wm_user;			/* set by rsz_hash_set_watermarks() */
	uint64_t grow_target;		/* queued grow: capacity wanted */
	uint64_t shrink_req;		/* queued shrink */
	uint64_t table_req;		/* PREALLOC: table size an insert found missing */
	uint64_t grow_pending;
	uint64_t nr_grow, nr_shrink, nr_rehash, nr_grow_failed;
	int64_t last_grow_error;
	bool pool_grow_failed_nomem;
	struct rsz_work work;
	bool has_worker;
	bool dying;		/* destroy has begun: no more kicks */
};

/*
 * The keyed hash: multiply-fold in the style of wyhash (the idea is public
 * domain; this is our own code). Every input word meets the seed through a
 * 64x64->128 multiply whose halves are folded together. It is not a
 * cryptographic PRF: the flooding defence is the secret per-map seed plus
 * the bounded probe length (docs/design.md, 3.10).
 */
__extension__ typedef unsigned __int128 rsz_u128;

#define RSZ_HK0 0xa0761d6478bd642fULL
#define RSZ_HK1 0xe7037ed1a0b428dbULL
#define RSZ_HK2 0x8ebc6af09c88c6e3ULL

static inline uint64_t hash_fold_mul(uint64_t a, uint64_t b)
{
	rsz_u128 r = (rsz_u128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t hash_rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t hash_rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t hash_bytes(const void *key, size_t len, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t s = seed ^ RSZ_HK0, a, b;

	if (len <= 16) {
		if (len >= 8) {
			a = hash_rd64(p);
			b = hash_rd64(p + len - 8);
		} else if (len >= 4) {
			a = hash_rd32(p);
			b = hash_rd32(p + len - 4);
		} else if (len) {
			a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t i = len;

		while (i > 16) {
			s = hash_fold_mul(hash_rd64(p) ^ RSZ_HK1, hash_rd64(p + 8) ^ s);
			p += 16;
			i -= 16;
		}
		a = hash_rd64(p + i - 16);
		b = hash_rd64(p + i - 8);
	}
	return hash_fold_mul(RSZ_HK1 ^ (uint64_t)len, hash_fold_mul(a ^ RSZ_HK1, b ^ s) ^ RSZ_HK2);
}

static inline uint64_t key_hash(const struct rsz_hash *h, const void *key)
{
	/* Constant lengths let the compiler drop the branches of the
	 * general function for the BPF-typical key sizes. */
	switch (h->key_size) {
	case 4:
		return hash_bytes(key, 4, h->seed);
	case 8:
		return hash_bytes(key, 8, h->seed);
	case 16:
		return hash_bytes(key, 16, h->seed);
	default:
		return hash_bytes(key, h->key_size, h->seed);
	}
}

/* Element accessors. */
static inline void *elem_key(const struct rsz_hash *h, struct rsz_hash_elem *e)
{
	return (unsigned char *)e + h->key_off;
}

static inline void *elem_value(const struct rsz_hash *h, struct rsz_hash_elem *e)
{
	return (unsigned char *)e + h->key_off + h->key_space;
}

static inline uint64_t elem_hash(const struct rsz_hash *h, struct rsz_hash_elem *e)
{
	return key_hash(h, elem_key(h, e));
}

/* The slot's tag matched: is it @key, of @key_size bytes? */
static inline bool elem_match_n(const struct rsz_hash *h, struct rsz_hash_elem *e,
				const void *key, size_t key_size)
{
	uint64_t a, b;

	if (key_size == 8) {	/* the BPF-typical key, without a call */
		memcpy(&a, elem_key(h, e), 8);
		memcpy(&b, key, 8);
		return a == b;
	}
	return memcmp(elem_key(h, e), key, key_size) == 0;
}

static inline bool elem_match(const struct rsz_hash *h, struct rsz_hash_elem *e, const void *key)
{
	return elem_match_n(h, e, key, h->key_size);
}

/* hash_table.c */
struct rsz_htab *htab_alloc(struct rsz_hash *h, uint64_t size, int *err) RSZ_INTERNAL;
void htab_free_now(struct rsz_hash *h, struct rsz_htab *t) RSZ_INTERNAL;
uint64_t htab_size_for(uint64_t capacity) RSZ_INTERNAL;
uint64_t htab_capacity(const struct rsz_htab *t) RSZ_INTERNAL;

/* Tables have at least 64 home slots (htab_alloc()), so shift <= 58. */
static inline uint64_t htab_home(const struct rsz_htab *t, uint64_t hash)
{
	return hash >> t->shift;
}

/*
 * A key's probe sequence: its home, every slot after it to the end of the
 * overflow area, then on from slot 0; nslots slots in all (I2). An insert
 * stops at its probe limit, short of the last slot, so what wraps is a
 * migration's copy, which must not fail, or a PREALLOC insert past the
 * limit: both happen only when tombstones and copies crowd the end of a
 * table (docs/design.md 3.2). @n counts the slots visited.
 */
static inline uint64_t htab_probe_next(const struct rsz_htab *t, uint64_t i)
{
	return i + 1 == t->nslots ? 0 : i + 1;
}

#define htab_for_each_probe(t, hash, i, n)				\
	for (uint64_t n = 0, i = htab_home((t), (hash)); n < (t)->nslots; \
	     n++, i = htab_probe_next((t), i))

/* Make `key''s state in @old final: freeze its probe run and copy what
 * lives there to old->next (I3, I4). */
void htab_migrate_key(struct rsz_hash *h, struct rsz_htab *old, uint64_t hash) RSZ_INTERNAL;
/* Settle the PENDING word @w at slot @j of @t: confirm or turn to TOMB. */
void htab_resolve_pending(struct rsz_hash *h, struct rsz_htab *t, uint64_t j, uint64_t w) RSZ_INTERNAL;
/* Start migrating the current table @t to a new one of @size slots.
 * Returns 0, -EBUSY if a migration is already running (help it), or
 * -ENOMEM. */
int htab_start_migration(struct rsz_hash *h, struct rsz_htab *t, uint64_t size) RSZ_INTERNAL;
/* Do one chunk of a running migration, if one is left to claim. */
void htab_help_migration(struct rsz_hash *h, struct rsz_htab *old) RSZ_INTERNAL;
/* Finish a running migration from @old, redoing chunks whose claimers
 * stalled (migration is idempotent). */
void htab_finish_migration(struct rsz_hash *h, struct rsz_htab *old) RSZ_INTERNAL;
/* The table operations start from: the migration source if one runs. */
static inline struct rsz_htab *htab_oldest(struct rsz_hash *h)
{
	struct rsz_htab *t = rsz_dereference(h->tbl);
	struct rsz_htab *p = rsz_dereference(t->prev);

	return p ? p : t;
}

/* hash.c */
void hash_retire_elem(struct rsz_hash *h, struct rsz_hash_elem *e) RSZ_INTERNAL;
void hash_migration_done(struct rsz_hash *h, struct rsz_htab *old, struct rsz_htab *t) RSZ_INTERNAL;

#endif /* RSZ_HASH_INTERNAL_H */
