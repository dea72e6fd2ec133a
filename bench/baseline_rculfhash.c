/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rsz/common.h>
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "baseline_rculfhash.h"
#include "bench_hash_fn.h"

struct lf_elem {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint64_t data[];	/* key rounded up to 8, then the value */
};

struct lfht_map {
	struct cds_lfht *ht;
	uint32_t key_size, value_size, key_round;
	uint64_t seed;
	uint64_t heap_at_new;
	unsigned long count;	/* elements, kept here: cds_lfht_count_nodes() walks them all */
};

struct match_arg {
	const struct lfht_map *m;
	const void *key;
};

static int match(struct cds_lfht_node *node, const void *arg)
{
	const struct match_arg *a = arg;
	const struct lf_elem *e = caa_container_of(node, struct lf_elem, node);

	if (a->m->key_size == 8)
		return *(const uint64_t *)e->data == *(const uint64_t *)a->key;
	return memcmp(e->data, a->key, a->m->key_size) == 0;
}

static void free_elem(struct rcu_head *head)
{
	struct lf_elem *e = caa_container_of(head, struct lf_elem, rcu);

	free(e);
}

struct lfht_map *lfht_map_new(uint32_t key_size, uint32_t value_size)
{
	uint64_t heap = count_heap_in_use();
	struct lfht_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->heap_at_new = heap;
	m->key_size = key_size;
	m->value_size = value_size;
	m->key_round = (key_size + 7) & ~7u;
	m->seed = 0x5eed0f1a7b1e5ULL ^ (uintptr_t)m;
	m->ht = cds_lfht_new_flavor(1, 1, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				    &urcu_memb_flavor, NULL);
	if (!m->ht) {
		free(m);
		return NULL;
	}
	return m;
}

void lfht_map_destroy(struct lfht_map *m)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	if (!m)
		return;
	urcu_memb_read_lock();
	cds_lfht_for_each(m->ht, &iter, node) {
		if (!cds_lfht_del(m->ht, node))
			urcu_memb_call_rcu(&caa_container_of(node, struct lf_elem, node)->rcu,
					   free_elem);
	}
	urcu_memb_read_unlock();
	urcu_memb_barrier();
	cds_lfht_destroy(m->ht, NULL);
	free(m);
}

void *lfht_map_lookup(struct lfht_map *m, const void *key)
{
	struct match_arg a = { m, key };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_lookup(m->ht, bench_hash_bytes(key, m->key_size, m->seed), match, &a, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (!node)
		return NULL;
	return (char *)caa_container_of(node, struct lf_elem, node)->data + m->key_round;
}

int lfht_map_update(struct lfht_map *m, const void *key, const void *value,
		    uint64_t flags)
{
	unsigned long hash = bench_hash_bytes(key, m->key_size, m->seed);
	struct match_arg a = { m, key };
	struct cds_lfht_node *old;
	struct lf_elem *e;
	int ret = 0;

	if (flags > RSZ_EXIST)
		return -EINVAL;
	e = malloc(sizeof(*e) + m->key_round + ((m->value_size + 7) & ~7u));
	if (!e)
		return -ENOMEM;
	cds_lfht_node_init(&e->node);
	memcpy(e->data, key, m->key_size);
	memcpy((char *)e->data + m->key_round, value, m->value_size);
	urcu_memb_read_lock();
	if (flags == RSZ_NOEXIST) {
		old = cds_lfht_add_unique(m->ht, hash, match, &a, &e->node);
		if (old != &e->node)
			ret = -EEXIST;
		old = NULL;
	} else if (flags == RSZ_EXIST) {
		struct cds_lfht_iter iter;

		cds_lfht_lookup(m->ht, hash, match, &a, &iter);
		old = cds_lfht_iter_get_node(&iter);
		if (!old || cds_lfht_replace(m->ht, &iter, hash, match, &a, &e->node))
			ret = -ENOENT;
	} else {
		old = cds_lfht_add_replace(m->ht, hash, match, &a, &e->node);
	}
	urcu_memb_read_unlock();
	if (ret)
		free(e);
	else if (old)
		urcu_memb_call_rcu(&caa_container_of(old, struct lf_elem, node)->rcu, free_elem);
	else	/* relaxed: read only by lfht_map_settle() once updates are done */
		__atomic_add_fetch(&m->count, 1, __ATOMIC_RELAXED);
	return ret;
}

int lfht_map_delete(struct lfht_map *m, const void *key)
{
	struct match_arg a = { m, key };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	int ret = -ENOENT;

	urcu_memb_read_lock();
	cds_lfht_lookup(m->ht, bench_hash_bytes(key, m->key_size, m->seed), match, &a, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node && !cds_lfht_del(m->ht, node)) {
		urcu_memb_call_rcu(&caa_container_of(node, struct lf_elem, node)->rcu, free_elem);
		__atomic_sub_fetch(&m->count, 1, __ATOMIC_RELAXED);
		ret = 0;
	}
	urcu_memb_read_unlock();
	return ret;
}

void lfht_map_settle(struct lfht_map *m)
{
	unsigned long n = __atomic_load_n(&m->count, __ATOMIC_RELAXED), b = 1;

	while (b < n)
		b <<= 1;
	cds_lfht_resize(m->ht, b);
}

void lfht_map_resize(struct lfht_map *m, unsigned long buckets)
{
	cds_lfht_resize(m->ht, buckets);
}

uint64_t lfht_map_heap_bytes(const struct lfht_map *m)
{
	uint64_t now = count_heap_in_use();

	return now > m->heap_at_new ? now - m->heap_at_new : 0;
}
