/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * libFuzzer target: bytes decoded into segmented-array operations, each
 * checked against the model the property test uses
 * (support/array_model.c), the memory counter's limit included.
 *
 * Input: 4 header bytes, then 13 bytes per operation.
 *   byte 0: bits 0-1 the index range (1, 10, 100 or 1000: the property
 *           test covers 10^6), bit 2 max_entries = the range, bit 3
 *           RSZ_F_SHRINK;
 *   byte 1: value_size, 1 + byte % 24;
 *   byte 2: initial_entries, byte % 256 (at most max_entries);
 *   byte 3: the counter's limit at creation: 0 none, else byte x 512
 *           bytes (the smallest refuse the array itself);
 *   then per operation: kind (enum akind, mod A_NR), three little-endian
 *   32-bit arguments. Operations past MAX_OPS are ignored.
 * tests/fuzz/make_array_corpus.py writes the seed corpus in this format.
 *
 * The array uses test_inline_flavor(): RCU callbacks run in the caller
 * after a real grace period, so no input waits for liburcu's call_rcu
 * thread (10 ms a batch), and mem_bytes, the counter and the allocator are
 * compared after every operation. A disagreement aborts with the
 * operation and the difference printed; destroy must return every byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rsz/mem.h>

#include "array_model.h"
#include "fuzz_op.h"
#include "platform.h"
#include "testutil.h"

/* Bounds an input's time: ~256 ops on at most a few thousand slots. */
#define MAX_OPS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t ranges[4] = { 1, 10, 100, 1000 };
	static int registered;
	struct array_model_cfg cfg = { .exact_mem = true };
	char msg[256];
	size_t nops;
	void *m;

	if (size < 4)
		return 0;
	cfg.flavor = test_inline_flavor();
	if (!registered) {	/* libFuzzer calls from one thread */
		cfg.flavor->register_thread();
		registered = 1;
	}
	cfg.range = ranges[data[0] & 3];
	cfg.max_entries = data[0] & 4 ? cfg.range : 0;
	cfg.shrink = data[0] & 8;
	cfg.value_size = 1 + data[1] % ARRAY_MODEL_VSZ_MAX;
	cfg.initial_entries = data[2];
	if (cfg.max_entries && cfg.initial_entries > cfg.max_entries)
		cfg.initial_entries = cfg.max_entries;
	cfg.mem_max = data[3] ? (uint64_t)data[3] * 512 : RSZ_MEM_UNLIMITED;
	if (array_model_new(&cfg, &m, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz_array: creating: %s\n", msg);
		abort();
	}
	if (!m)
		return 0;	/* refused by the limit, nothing held: checked */
	nops = (size - 4) / FUZZ_OP_BYTES;
	if (nops > MAX_OPS)
		nops = MAX_OPS;
	for (size_t i = 0; i < nops; i++) {
		struct prop_op op = fuzz_op(data + 4 + FUZZ_OP_BYTES * i);

		if (array_model_step(m, &op, msg, sizeof(msg))) {
			fprintf(stderr, "fuzz_array: op %zu ", i);
			array_model_print(&op, stderr);
			fprintf(stderr, ": %s\n", msg);
			abort();
		}
	}
	if (array_model_free(m, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz_array: at the end: %s\n", msg);
		abort();
	}
	return 0;
}
