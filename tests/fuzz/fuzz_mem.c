/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * libFuzzer target: bytes decoded into memory-counter operations on a
 * 3-level tree, each checked against the model (support/mem_model.c, the
 * same the property test uses). An operation is 10 bytes: kind, counter,
 * then a little-endian 64-bit argument (bytes or max). A disagreement
 * aborts with the operation and the difference printed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem_model mm;
	char msg[256];

	if (mem_model_init(&mm))
		return 0;
	for (size_t off = 0; off + 10 <= size; off += 10) {
		struct prop_op op = { .kind = data[off], .arg = { data[off + 1] } };

		for (int i = 0; i < 8; i++)
			op.arg[1] |= (uint64_t)data[off + 2 + i] << (8 * i);
		mem_model_clamp(&op);
		if (mem_model_step(&mm, &op, msg, sizeof(msg))) {
			fprintf(stderr, "fuzz_mem: op %zu ", off / 10);
			mem_model_print(&op, stderr);
			fprintf(stderr, ": %s\n", msg);
			abort();
		}
	}
	if (mem_model_fini(&mm, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz_mem: at the end: %s\n", msg);
		abort();
	}
	return 0;
}
