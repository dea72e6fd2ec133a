/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* Memory counters: the cost of a charge and uncharge through a hierarchy. */
#include <rsz/rsz.h>

#include "bench.h"

static struct rsz_mem *levels[8];

static void bm_mem_charge_uncharge(struct rsz_bench *b)
{
	int64_t depth = rsz_bench_arg(b, 0);
	int64_t n = 0;

	if (rsz_bench_thread_index(b) == 0) {
		levels[0] = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
		for (int64_t i = 1; i < depth; i++)
			levels[i] = rsz_mem_new(levels[i - 1], RSZ_MEM_UNLIMITED);
	}
	rsz_bench_sync(b);
	while (rsz_bench_keep_running(b)) {
		rsz_mem_charge(levels[depth - 1], 64);
		rsz_mem_uncharge(levels[depth - 1], 64);
		n++;
	}
	rsz_bench_set_items_processed(b, n);
	rsz_bench_sync(b);
	if (rsz_bench_thread_index(b) == 0)
		for (int64_t i = depth - 1; i >= 0; i--)
			rsz_mem_destroy(levels[i]);
}
RSZ_BENCH(bm_mem_charge_uncharge, .args = {{1, 3}}, .arg_names = {"depth"},
	  .threads = {1, 2});
