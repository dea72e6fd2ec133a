/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * lookup_instr.c - the instruction count of one rsz_hash_lookup(), for
 * callgrind: a 64K-entry PREALLOC map of 8-byte keys and values, then
 * @n lookups of random present keys (absent ones with a second argument),
 * 64 per read-side section. Instructions per lookup are callgrind's count
 * for rsz_hash_lookup over @n (docs/perf/analysis.md):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *       build-release/bench/rsz-lookup-instr 1000000
 *   callgrind_annotate cg.out | grep rsz_hash_lookup
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <urcu/urcu-memb.h>

#include <rsz/rsz.h>

int main(int argc, char **argv)
{
	uint64_t n = 65536, lookups = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	uint64_t miss = argc > 2 ? n : 0, sum = 0, x = 1;
	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8, .max_entries = n,
		 .initial_entries = n, .flags = RSZ_F_PREALLOC | RSZ_F_MANUAL);
	struct rsz_hash *h;

	urcu_memb_register_thread();
	h = rsz_hash_new(&o);
	if (!h) {
		perror("rsz_hash_new");
		return 1;
	}
	for (uint64_t k = 0; k < n; k++)
		if (rsz_hash_update(h, &k, &k, RSZ_NOEXIST)) {
			fprintf(stderr, "insert of %" PRIu64 " failed\n", k);
			return 1;
		}
	for (uint64_t i = 0; i < lookups; i += 64) {
		urcu_memb_read_lock();
		for (int j = 0; j < 64; j++) {
			uint64_t k, *v;

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			k = (x >> 33) % n + miss;
			v = rsz_hash_lookup(h, &k);
			sum += v ? *v : 1;
		}
		urcu_memb_read_unlock();
	}
	printf("%" PRIu64 "\n", sum);	/* so that the loop is not dropped */
	rsz_hash_destroy(h);
	urcu_memb_unregister_thread();
	return 0;
}
