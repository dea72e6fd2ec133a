/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * baseline_rculfhash.h - liburcu's lock-free resizable hash table as a
 * liburcu user would set it up (../shared/spec/targets.md):
 * cds_lfht_new_flavor(1, 1, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
 * &urcu_memb_flavor, NULL), the node embedded in an element that holds the
 * rcu_head, the key and the value; freed by call_rcu after a replace or a
 * delete. Hashes with rsz's hash function. Benchmark code only.
 */
#ifndef RSZ_BENCH_BASELINE_RCULFHASH_H
#define RSZ_BENCH_BASELINE_RCULFHASH_H

#include <stdint.h>

#include "count_alloc.h"

struct lfht_map;

/*
 * Starts at one bucket and auto-resizes. Its memory is measured as the
 * growth of the process heap (count_heap_in_use()), since liburcu
 * allocates the bucket tables itself with calloc; elements use malloc.
 */
struct lfht_map *lfht_map_new(uint32_t key_size, uint32_t value_size);
/* Deletes every element, waits for their frees, destroys the table.
 * Caller registered with urcu-memb, outside a read-side section. */
void lfht_map_destroy(struct lfht_map *m);

/* Caller inside an urcu-memb read-side section. */
void *lfht_map_lookup(struct lfht_map *m, const void *key);
/* Take the read lock themselves (nesting is fine). 0, -EEXIST, -ENOENT, -ENOMEM. */
int lfht_map_update(struct lfht_map *m, const void *key, const void *value,
		    uint64_t flags);
int lfht_map_delete(struct lfht_map *m, const void *key);
/*
 * Bring the table to the size its auto-resize converges to (one bucket per
 * element, CHAIN_LEN_TARGET 1, as a power of two) and wait for it.
 * liburcu 0.13.2's lazy auto-resize stalled on this machine, erratically:
 * a standalone loop of cds_lfht_add_unique() into fresh tables from one
 * bucket took 0.01 s for 64K keys one time and 4.9 s the next, and once
 * stopped growing near 82K of 1M keys for over 10 s (its workqueue thread
 * idle). So the steady-state runs start from this size (cfg.lfht_presize)
 * and settle here; the insert run keeps the pure auto-resize from one
 * bucket that targets.md compares against. Caller outside a read-side
 * section.
 */
void lfht_map_settle(struct lfht_map *m);
/* Force a resize to @buckets (power of two); caller outside a read-side section. */
void lfht_map_resize(struct lfht_map *m, unsigned long buckets);

/* Process heap growth since the map was created (its elements and
 * liburcu's bucket tables); meaningful when nothing else allocates. */
uint64_t lfht_map_heap_bytes(const struct lfht_map *m);

#endif /* RSZ_BENCH_BASELINE_RCULFHASH_H */
