/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Property test of the hash map (suite property): random sequences of
 * every public operation (update with each flag, delete, lookup,
 * lookup_copy, full get_next_key walks, grow and shrink in both modes,
 * maintain, watermarks, stat, bad input) on an RSZ_F_MANUAL map with a
 * fixed hash seed, against a plain model (a present bit and a value per
 * key). Key ranges of 1, 10 and 10^6, so that replaces, deletes of the
 * same key and re-inserts are common; half the seeds cap max_entries.
 * Capacity after a resize is read back and checked against the contract's
 * bounds, not predicted.
 *
 * Replay: RSZ_PROP_SEED=<seed> [RSZ_PROP_OPS=<n>] test_hash_prop
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rsz/hash.h>

#include "platform.h"
#include "hash_model.h"
#include "prop.h"
#include "testutil.h"

/* Grace-period waits (shrink, maintain, barrier) cost ~10 ms here, so they
 * are about 2 in 1000 operations. 13 x 80000 = 1.04 million at full scale. */
#define HASH_PROP_SEEDS 12
#define HASH_PROP_OPS   80000

static void hash_matches_the_model(void **state)
{
	struct prop_stats st;
	size_t nops = test_scaled(HASH_PROP_OPS, 300);
	int ret;

	(void)state;
	rsz_default_flavor()->register_thread();
	ret = prop_check(&hash_model_prop, nops, HASH_PROP_SEEDS, &st, stdout);
	rsz_default_flavor()->unregister_thread();
	assert_int_equal(ret, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_matches_the_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
