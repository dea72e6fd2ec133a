/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * baseline_fixed_hash.h - the "fixed hash" of ../shared/spec/targets.md:
 * what BPF's preallocated hash map (kernel/bpf/hashtab.c) does, in
 * userspace. Benchmark code only, never part of the library.
 *
 * roundup_pow_of_two(max_entries) buckets of 16 bytes (list head and a
 * 4-byte spinlock); every element preallocated in one block (next pointer,
 * 4-byte hash and padding, key and value each rounded up to 8 bytes: 32
 * bytes at 8/8). Lookups are lockless under RCU (urcu-memb); updates take
 * the bucket's spinlock; elements come from per-thread-sharded free lists,
 * as BPF's per-CPU freelist, and go back to them at once, as BPF's
 * preallocated elements do, so chains end in a "nulls" marker naming the
 * bucket and a lookup that walked into another chain restarts
 * (hlist_nulls). It never grows.
 */
#ifndef RSZ_BENCH_BASELINE_FIXED_HASH_H
#define RSZ_BENCH_BASELINE_FIXED_HASH_H

#include <stdint.h>

#include "count_alloc.h"

struct fixed_hash;

/* NULL on bad sizes or allocation failure. @ca may be NULL. */
struct fixed_hash *fixed_hash_new(uint32_t key_size, uint32_t value_size,
				  uint64_t max_entries, struct count_alloc *ca);
void fixed_hash_destroy(struct fixed_hash *h);

/* Caller inside an urcu-memb read-side section; the value's address or NULL. */
void *fixed_hash_lookup(struct fixed_hash *h, const void *key);
/* RSZ_ANY/NOEXIST/EXIST; 0, -EEXIST, -ENOENT, -E2BIG (no free element). */
int fixed_hash_update(struct fixed_hash *h, const void *key, const void *value,
		      uint64_t flags);
int fixed_hash_delete(struct fixed_hash *h, const void *key);

/* Bytes requested from the allocator (buckets, elements, the struct). */
uint64_t fixed_hash_mem_bytes(const struct fixed_hash *h);

#endif /* RSZ_BENCH_BASELINE_FIXED_HASH_H */
