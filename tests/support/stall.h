/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * stall.h - stall injection over RSZ_STALL_POINT (lib/platform.h, test
 * builds only): count hits per point, park one chosen thread at a named
 * point until released, or inject random delays at every point.
 *
 * A parked thread spins on sched_yield(): it holds no lock of the test
 * harness, and with lfalloc (lock-free) as the structure's allocator no
 * lock outside rsz either. So if the other threads cannot finish while it
 * is parked, rsz itself waits for it: that is the lock-freedom evidence.
 *
 * Thread identity is the test's: stall_set_thread(id) in each thread.
 */
#ifndef RSZ_STALL_H
#define RSZ_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STALL_MAX_POINTS 64

/* Install the hook. @names: the points whose hits are counted (others are
 * still recorded as seen). Resets every count. */
void stall_install(const char *const *names, size_t n);
void stall_uninstall(void);
void stall_set_thread(int id);
uint64_t stall_hits(const char *name);
/* Distinct point names hit since install, for discovery; returns how many
 * (at most @max are stored in @names). */
size_t stall_seen(const char **names, size_t max);

/* Park thread @id the next time it reaches @name. */
void stall_arm(const char *name, int id);
/* Wait until the armed thread is parked; false after @timeout_ms. */
bool stall_wait_parked(unsigned int timeout_ms);
/* Let the parked (or armed) thread go and disarm. */
void stall_release(void);

/* For a stress test: install the hook with random delays at every point
 * (each hit yields the CPU with probability 1/@one_in, and sleeps ~50 us
 * with probability 1/(8 * @one_in)), from now until stall_delays_end(), which
 * uninstalls it, prints every point hit with its count on one line, and
 * returns how many points were hit. */
void stall_delays_begin(unsigned int one_in);
size_t stall_delays_end(FILE *out, const char *name);

/*
 * The driver: for each point in turn, park a victim thread there while
 * @nothers threads each complete their fixed operations and (if @resize
 * is set) a grow and a shrink complete; then release and tear down.
 */
struct stall_scenario {
	const char *name;
	const char *const *points;
	size_t npoints;
	unsigned int nothers;
	unsigned int timeout_ms;	/* watchdog for the others; 0: 20000 */
	void *ctx;
	void *(*setup)(void *ctx);
	/* Final invariants, then free: 0 or non-zero with a message. */
	int (*teardown)(void *obj, void *ctx, char *msg, size_t len);
	/* Operations until *stop: it runs through the points. */
	void (*victim)(void *obj, void *ctx, const bool *stop);
	/* A fixed number of operations by thread @tid (1..nothers): 0, or
	 * non-zero if an invariant broke (recorded with TEST_RECORD). */
	int (*other)(void *obj, void *ctx, unsigned int tid);
	/* A grow then a shrink that complete: 0 or non-zero. NULL: none. */
	int (*resize)(void *obj, void *ctx);
};

struct stall_stats {
	unsigned int reached;	/* points where the victim parked */
	unsigned int unreached;	/* points it never reached within the wait */
	uint64_t other_ops_runs;/* runs in which the others finished */
	uint64_t resizes;	/* grow+shrink pairs completed while parked */
};

/* 0, or -1 with the failing point printed. @require_all: a point the
 * victim never reaches is a failure too. */
int stall_run(const struct stall_scenario *s, bool require_all,
	      struct stall_stats *st, FILE *out);
/* One line of figures for the log, as docs/reliability.md quotes them. */
void stall_print(FILE *out, const char *name, size_t npoints,
		 const struct stall_stats *figures);

#endif /* RSZ_STALL_H */
