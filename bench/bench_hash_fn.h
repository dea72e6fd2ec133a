/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * bench_hash_fn.h - the hash function the baselines use: rsz's own,
 * rsz_hash_bytes() from <rsz/hash.h>, called through the shared library,
 * so that the comparison is about the table, not the hash
 * (../shared/spec/targets.md).
 */
#ifndef RSZ_BENCH_HASH_FN_H
#define RSZ_BENCH_HASH_FN_H

#include <rsz/hash.h>

#define bench_hash_bytes rsz_hash_bytes

#endif /* RSZ_BENCH_HASH_FN_H */
