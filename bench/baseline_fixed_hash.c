/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rsz/common.h>
#include <urcu/urcu-memb.h>

#include "baseline_fixed_hash.h"
#include "bench_hash_fn.h"

/* BPF's per-CPU free lists, as shards picked per thread. */
#define FH_SHARDS 8

struct fh_elem {
	struct fh_elem *next;	/* or a nulls marker: (bucket << 1) | 1 */
	uint32_t hash;
	uint32_t pad;
	uint64_t data[];	/* key rounded up to 8, then the value */
};

struct fh_bucket {
	struct fh_elem *head;
	uint32_t lock;
};
_Static_assert(sizeof(struct fh_bucket) == 16, "BPF's bucket is 16 bytes");

struct fh_freelist {
	uint32_t lock;
	struct fh_elem *head;
} __attribute__((aligned(64)));

struct fixed_hash {
	struct fh_bucket *buckets;
	uint64_t mask;
	uint32_t key_size, value_size, key_round, elem_size;
	uint64_t seed;
	char *elems;
	uint64_t nr_elems;
	uint64_t mem_bytes;
	struct count_alloc *ca;
	struct fh_freelist free[FH_SHARDS];
};

/*
 * A free element keeps its next pointer, so that a reader still walking
 * through it reaches a nulls marker and rechecks its bucket; the free-list
 * link lives in the key's first word instead (BPF overlays it on pprev,
 * which this layout does not have).
 */
static inline struct fh_elem **free_link(struct fh_elem *e)
{
	return (struct fh_elem **)e->data;
}

static unsigned int next_shard;
static __thread unsigned int my_shard = ~0u;

static inline bool is_nulls(const struct fh_elem *e)
{
	return (uintptr_t)e & 1;
}

static inline struct fh_elem *nulls_of(uint64_t bucket)
{
	return (struct fh_elem *)(uintptr_t)((bucket << 1) | 1);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void spin_lock(uint32_t *l)
{
	/* Acquire: the critical section's loads see the last holder's stores. */
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			cpu_relax();
}

static inline void spin_unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static inline uint64_t fh_hash(const struct fixed_hash *h, const void *key)
{
	return bench_hash_bytes(key, h->key_size, h->seed);
}

/* The 8- and 16-byte shapes compare inline, as a C compiler does for
 * BPF's memcmp of a constant size; others call memcmp. */
static inline bool key_eq(const struct fixed_hash *h, const void *a, const void *b)
{
	if (h->key_size == 8)
		return *(const uint64_t *)a == *(const uint64_t *)b;
	if (h->key_size == 16)
		return ((const uint64_t *)a)[0] == ((const uint64_t *)b)[0] &&
		       ((const uint64_t *)a)[1] == ((const uint64_t *)b)[1];
	return memcmp(a, b, h->key_size) == 0;
}

static inline struct fh_elem *elem_at(const struct fixed_hash *h, uint64_t i)
{
	return (struct fh_elem *)(h->elems + i * h->elem_size);
}

static unsigned int shard(void)
{
	if (my_shard == ~0u)
		my_shard = __atomic_fetch_add(&next_shard, 1, __ATOMIC_RELAXED) % FH_SHARDS;
	return my_shard;
}

static struct fh_elem *pop_free(struct fixed_hash *h)
{
	unsigned int s = shard();

	/* Own shard first, then the others, as pcpu_freelist_pop(). */
	for (unsigned int i = 0; i < FH_SHARDS; i++) {
		struct fh_freelist *fl = &h->free[(s + i) % FH_SHARDS];
		struct fh_elem *e;

		if (!__atomic_load_n(&fl->head, __ATOMIC_RELAXED))
			continue;
		spin_lock(&fl->lock);
		e = fl->head;
		if (e)
			fl->head = *free_link(e);
		spin_unlock(&fl->lock);
		if (e)
			return e;
	}
	return NULL;
}

static void push_free(struct fixed_hash *h, struct fh_elem *e)
{
	struct fh_freelist *fl = &h->free[shard()];

	spin_lock(&fl->lock);
	*free_link(e) = fl->head;
	fl->head = e;
	spin_unlock(&fl->lock);
}

struct fixed_hash *fixed_hash_new(uint32_t key_size, uint32_t value_size,
				  uint64_t max_entries, struct count_alloc *ca)
{
	struct fixed_hash *h;
	uint64_t nb, per_shard;

	if (!key_size || !max_entries || max_entries > (1ULL << 40))
		return NULL;
	h = count_zalloc(ca, sizeof(*h), 64);
	if (!h)
		return NULL;
	h->ca = ca;
	h->key_size = key_size;
	h->value_size = value_size;
	h->key_round = (key_size + 7) & ~7u;
	h->elem_size = sizeof(struct fh_elem) + h->key_round + ((value_size + 7) & ~7u);
	h->seed = 0x5eed0f1a7b1e5ULL ^ (uintptr_t)h;
	for (nb = 1; nb < max_entries; nb <<= 1)
		;
	h->mask = nb - 1;
	/* BPF keeps one extra element per CPU so that a replace at
	 * max_entries succeeds; here they sit in the free lists. */
	h->nr_elems = max_entries + FH_SHARDS;
	h->buckets = count_malloc(ca, nb * sizeof(*h->buckets), 64);
	h->elems = count_malloc(ca, h->nr_elems * h->elem_size, 64);
	if (!h->buckets || !h->elems) {
		fixed_hash_destroy(h);
		return NULL;
	}
	h->mem_bytes = sizeof(*h) + nb * sizeof(*h->buckets) + h->nr_elems * h->elem_size;
	for (uint64_t i = 0; i < nb; i++) {
		h->buckets[i].head = nulls_of(i);
		h->buckets[i].lock = 0;
	}
	/* Each shard gets a contiguous run, popped in address order, as
	 * pcpu_freelist_populate() spreads them. */
	per_shard = (h->nr_elems + FH_SHARDS - 1) / FH_SHARDS;
	for (unsigned int s = 0; s < FH_SHARDS; s++) {
		uint64_t lo = s * per_shard;
		uint64_t hi = lo + per_shard < h->nr_elems ? lo + per_shard : h->nr_elems;
		struct fh_elem *head = NULL;

		for (uint64_t i = hi; i-- > lo;) {
			struct fh_elem *e = elem_at(h, i);

			e->next = nulls_of(0);
			*free_link(e) = head;
			head = e;
		}
		h->free[s].head = head;
	}
	return h;
}

void fixed_hash_destroy(struct fixed_hash *h)
{
	if (!h)
		return;
	/* Elements go back at once (no grace period), as BPF's do; the
	 * block goes only once no reader can be in it. */
	urcu_memb_synchronize_rcu();
	count_free(h->ca, h->elems);
	count_free(h->ca, h->buckets);
	count_free(h->ca, h);
}

void *fixed_hash_lookup(struct fixed_hash *h, const void *key)
{
	uint32_t hash = (uint32_t)fh_hash(h, key);
	uint64_t idx = hash & h->mask;
	struct fh_bucket *b = &h->buckets[idx];
	struct fh_elem *e;

again:
	/* Acquire, rcu_dereference()'s part: the element's fields are read
	 * after the pointer that published them. */
	for (e = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE); !is_nulls(e);
	     e = __atomic_load_n(&e->next, __ATOMIC_ACQUIRE))
		if (e->hash == hash && key_eq(h, e->data, key))
			return (char *)e->data + h->key_round;
	/* An element reused meanwhile may have carried us into another
	 * chain: its nulls names that chain's bucket (lookup_nulls_elem_raw). */
	if (e != nulls_of(idx))
		goto again;
	return NULL;
}

int fixed_hash_update(struct fixed_hash *h, const void *key, const void *value,
		      uint64_t flags)
{
	uint32_t hash = (uint32_t)fh_hash(h, key);
	struct fh_bucket *b = &h->buckets[hash & h->mask];
	struct fh_elem *old, **pprev, *e;

	if (flags > RSZ_EXIST)
		return -EINVAL;
	spin_lock(&b->lock);
	pprev = &b->head;
	for (old = b->head; !is_nulls(old); pprev = &old->next, old = old->next)
		if (old->hash == hash && key_eq(h, old->data, key))
			break;
	if (is_nulls(old))
		old = NULL;
	if (old && flags == RSZ_NOEXIST) {
		spin_unlock(&b->lock);
		return -EEXIST;
	}
	if (!old && flags == RSZ_EXIST) {
		spin_unlock(&b->lock);
		return -ENOENT;
	}
	e = pop_free(h);
	if (!e) {
		spin_unlock(&b->lock);
		return -E2BIG;
	}
	e->hash = hash;
	memcpy(e->data, key, h->key_size);
	memcpy((char *)e->data + h->key_round, value, h->value_size);
	/* The new element goes first, then the old one leaves: a reader
	 * sees one or both, never neither (BPF's order). */
	e->next = b->head;
	/* Release, rcu_assign_pointer()'s part: the fields above are
	 * visible before the pointer. */
	__atomic_store_n(&b->head, e, __ATOMIC_RELEASE);
	if (old) {
		if (pprev == &b->head)
			pprev = &e->next;
		__atomic_store_n(pprev, old->next, __ATOMIC_RELEASE);
	}
	spin_unlock(&b->lock);
	if (old)
		push_free(h, old);
	return 0;
}

int fixed_hash_delete(struct fixed_hash *h, const void *key)
{
	uint32_t hash = (uint32_t)fh_hash(h, key);
	struct fh_bucket *b = &h->buckets[hash & h->mask];
	struct fh_elem *e, **pprev;

	spin_lock(&b->lock);
	pprev = &b->head;
	for (e = b->head; !is_nulls(e); pprev = &e->next, e = e->next)
		if (e->hash == hash && key_eq(h, e->data, key))
			break;
	if (is_nulls(e)) {
		spin_unlock(&b->lock);
		return -ENOENT;
	}
	/* Release: pairs with the lookups' acquire loads. */
	__atomic_store_n(pprev, e->next, __ATOMIC_RELEASE);
	spin_unlock(&b->lock);
	push_free(h, e);
	return 0;
}

uint64_t fixed_hash_mem_bytes(const struct fixed_hash *h)
{
	return h->mem_bytes;
}
