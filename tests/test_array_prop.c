/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Property test of the segmented array (suite property): random sequences
 * of every public operation (update, lookup, alloc, release, grow and
 * shrink in both modes, maintain, watermarks, stat, bad input) on an
 * RSZ_F_MANUAL array, so that every step is deterministic, against a plain
 * model: per index its value and whether the slot is free, allocated, or
 * released and waiting for a grace period (rsz_array_maintain() waits for
 * it). Capacity after a resize is read back and checked against the
 * contract's bounds, not predicted. Index ranges of 1, 10 and 10^6. The
 * model and its steps are support/array_model.c, which the fuzz target
 * shares.
 *
 * Replay: RSZ_PROP_SEED=<seed> [RSZ_PROP_OPS=<n>] test_array_prop
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "array_model.h"
#include "platform.h"
#include "prop.h"
#include "testutil.h"

/* The default flavor. Shrinks, maintains and barriers wait for grace
 * periods and liburcu's call_rcu thread, which polls every 10 ms, so they
 * are kept to about 1.5 in 1000 operations: a million operations then
 * take about 15 s, nearly all of it waiting. */
#define FLAVOR rsz_default_flavor()

#define ARRAY_PROP_SEEDS 12
#define ARRAY_PROP_OPS   80000	/* 13 x 80000 = 1.04 million at full scale */

static void array_matches_the_model(void **state)
{
	struct prop_stats st;
	size_t nops = test_scaled(ARRAY_PROP_OPS, 300);
	int ret;

	(void)state;
	FLAVOR->register_thread();
	ret = prop_check(&array_model_prop, nops, ARRAY_PROP_SEEDS, &st, stdout);
	FLAVOR->unregister_thread();
	assert_int_equal(ret, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(array_matches_the_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
