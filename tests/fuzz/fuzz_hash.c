/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * libFuzzer target: bytes decoded into hash map operations, each checked
 * against the model the property test uses (support/hash_model.c). The
 * first byte picks the key range (1 or 10 keys, or 1000: the property
 * test covers 10^6), whether max_entries caps it, RSZ_F_SHRINK and
 * initial_entries; then each operation is 13 bytes: kind, and three
 * little-endian 32-bit arguments. A disagreement aborts with the
 * operation and the difference printed. The map uses test_inline_flavor():
 * its RCU callbacks run in barrier() (which destroy calls) after a grace
 * period, not in liburcu's call_rcu thread, which sleeps 10 ms per batch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_op.h"
#include "hash_model.h"
#include "platform.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t ranges[4] = { 1, 10, 1000, 10 };
	static int registered;
	char msg[256];
	void *m;

	if (size < 1)
		return 0;
	if (!registered) {	/* libFuzzer calls from one thread */
		rsz_default_flavor()->register_thread();
		registered = 1;
	}
	m = hash_model_new(ranges[data[0] & 3], data[0] & 4, (data[0] >> 3) & 15,
			   data[0] & 128, test_inline_flavor());
	if (!m)
		return 0;
	for (size_t off = 1; off + FUZZ_OP_BYTES <= size; off += FUZZ_OP_BYTES) {
		struct prop_op op = fuzz_op(data + off);

		if (hash_model_step(m, &op, msg, sizeof(msg))) {
			fprintf(stderr, "fuzz_hash: op %zu ", off / FUZZ_OP_BYTES);
			hash_model_print(NULL, &op, stderr);
			fprintf(stderr, ": %s\n", msg);
			abort();
		}
	}
	if (hash_model_free(m, msg, sizeof(msg))) {
		fprintf(stderr, "fuzz_hash: at the end: %s\n", msg);
		abort();
	}
	return 0;
}
