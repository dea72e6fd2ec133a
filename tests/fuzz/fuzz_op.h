/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * fuzz_op.h - the operation encoding the model-based fuzz targets share
 * (fuzz_hash.c, fuzz_array.c): 13 bytes, a kind and three little-endian
 * 32-bit arguments, decoded into the struct prop_op their model's step
 * takes (which reduces each argument to its domain).
 */
#ifndef RSZ_FUZZ_OP_H
#define RSZ_FUZZ_OP_H

#include <stdint.h>

#include "prop.h"

#define FUZZ_OP_BYTES 13

static inline uint32_t fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline struct prop_op fuzz_op(const uint8_t *p)
{
	struct prop_op op = {
		.kind = p[0],
		.arg = { fuzz_le32(p + 1), fuzz_le32(p + 5), fuzz_le32(p + 9) },
	};

	return op;
}

#endif /* RSZ_FUZZ_OP_H */
