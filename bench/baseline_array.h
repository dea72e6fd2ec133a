/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * baseline_array.h - what BPF's array map is: one flat block of
 * max_entries elements, allocated up front and indexed directly. It never
 * grows. Its own compilation unit, so that, like rsz behind its shared
 * library, nothing is inlined into the benchmark loop.
 */
#ifndef RSZ_BASELINE_ARRAY_H
#define RSZ_BASELINE_ARRAY_H

#include <stdint.h>

struct flat_array;

/* Allocate without touching: the first-touch cost is flat_array_touch's. */
struct flat_array *flat_array_new(uint64_t nr_entries, uint32_t value_size);
/* Zero every element (the first touch of every page). */
void flat_array_touch(struct flat_array *fa);
/* Element @index, NULL beyond the end (as bpf's array_map_lookup_elem). */
void *flat_array_lookup(struct flat_array *fa, uint64_t index);
void flat_array_free(struct flat_array *fa);

#endif /* RSZ_BASELINE_ARRAY_H */
