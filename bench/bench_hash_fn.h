/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * bench_hash_fn.h - the hash function the baselines use: rsz's own, so
 * that the comparison is about the table, not the hash
 * (../shared/spec/targets.md).
 *
 * PLACEHOLDER until rsz exports uint64_t rsz_hash_bytes(const void *key,
 * size_t len, uint64_t seed) in <rsz/hash.h>: a keyed 64-bit
 * multiply-xorshift hash of about the same cost, kept out of line as the
 * shared library's would be. On merging the hash map, this file becomes
 * `#define bench_hash_bytes rsz_hash_bytes`.
 */
#ifndef RSZ_BENCH_HASH_FN_H
#define RSZ_BENCH_HASH_FN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t bench_hash_mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return x;
}

__attribute__((noinline, unused))
static uint64_t bench_hash_bytes(const void *key, size_t len, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = bench_hash_mix(h ^ w);
	}
	if (len) {
		uint64_t w = 0;

		memcpy(&w, p, len);
		h = bench_hash_mix(h ^ w ^ 0xff);
	}
	return h;
}

#endif /* RSZ_BENCH_HASH_FN_H */
