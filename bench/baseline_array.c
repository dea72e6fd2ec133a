/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* The flat preallocated array baseline; see baseline_array.h. */
#include <stdlib.h>
#include <string.h>

#include "baseline_array.h"

struct flat_array {
	uint64_t nr_entries;
	uint64_t stride;
	char *data;
};

struct flat_array *flat_array_new(uint64_t nr_entries, uint32_t value_size)
{
	struct flat_array *fa = malloc(sizeof(*fa));

	if (!fa)
		return NULL;
	fa->nr_entries = nr_entries;
	fa->stride = ((uint64_t)value_size + 7) & ~7ull;
	fa->data = malloc(nr_entries * fa->stride);
	if (!fa->data) {
		free(fa);
		return NULL;
	}
	return fa;
}

void flat_array_touch(struct flat_array *fa)
{
	memset(fa->data, 0, fa->nr_entries * fa->stride);
}

void *flat_array_lookup(struct flat_array *fa, uint64_t index)
{
	if (index >= fa->nr_entries)
		return NULL;
	return fa->data + index * fa->stride;
}

void flat_array_free(struct flat_array *fa)
{
	free(fa->data);
	free(fa);
}
