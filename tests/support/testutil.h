/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * testutil.h - what every rsz test shares: the scale knob, a counting and
 * failing allocator, and a way for worker threads to record failures.
 *
 * cmocka's asserts longjmp, so they must never run in a worker thread: a
 * worker records the first violation with TEST_RECORD() and the main thread
 * asserts after joining (see ../shared/toolchain-notes.md).
 */
#ifndef RSZ_TESTUTIL_H
#define RSZ_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rsz/rsz.h>

/* RSZ_TEST_SCALE (a number, default 1.0; sanitizer and valgrind runs use
 * less) multiplies every iteration count; the result is at least @min. */
uint64_t test_scaled(uint64_t full, uint64_t min);
double test_scale(void);

/* A counting allocator: every live block and byte, exactly; the bytes
 * malloc_usable_size() says are really held; and an optional failure of
 * the k-th call (1-based; 0: never) for fault injection. Thread-safe and
 * lock-free. */
struct test_alloc {
	struct rsz_allocator ops;
	uint64_t live_bytes;
	uint64_t live_blocks;
	uint64_t usable_bytes;
	uint64_t calls;
	uint64_t fail_at;	/* fail the call whose number this is */
	uint64_t fail_every;	/* or every n-th call after fail_at; 0: once */
	uint64_t failures;
};
void test_alloc_init(struct test_alloc *ta);
uint64_t test_alloc_live(const struct test_alloc *ta);

/* After a structure charged to @mem and allocating from @ta was
 * destroyed: 0 if @ta holds no byte and @mem's usage is 0, and @mem is
 * then destroyed too; else -1 with what is left in @msg (and @mem is kept:
 * destroying it would only add -EBUSY to the leak). */
int test_all_returned(struct test_alloc *ta, struct rsz_mem *mem, char *msg, size_t len);

/* First failure recorded by any thread. */
struct test_record {
	pthread_mutex_t lock;
	unsigned long count;
	char first[512];
};
extern struct test_record test_failures;
void test_record(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define TEST_RECORD(...) test_record(__FILE__, __LINE__, __VA_ARGS__)
#define TEST_CHECK(cond, ...) \
	do { if (!(cond)) TEST_RECORD(__VA_ARGS__); } while (0)
/* In the main thread, after joining: fails the test if anything was
 * recorded, printing the first record. */
#define ASSERT_NO_RECORDS() do {					\
		if (test_failures.count) {				\
			print_error("%lu violations; first: %s\n",	\
				    test_failures.count, test_failures.first); \
			test_failures.count = 0;			\
			fail();						\
		}							\
	} while (0)

/* Read-side sections and barriers for tests that hold their own: through
 * the platform layer, so that the TSan test build sees the grace-period
 * edge liburcu does not annotate (docs/reliability.md). Calling liburcu's
 * read_unlock or barrier directly makes TSan report every later free. */
struct rcu_flavor_struct;
void test_rcu_read_lock(const struct rcu_flavor_struct *f);
void test_rcu_read_unlock(const struct rcu_flavor_struct *f);
void test_rcu_barrier(const struct rcu_flavor_struct *f);

/* Where a forked child cannot run as it would in production: ThreadSanitizer
 * dies when a multi-threaded process's child starts a thread, and memcheck
 * runs its own leak check in the child, where the parent's state is still
 * allocated by design (RSZ_UNDER_TSAN, RSZ_UNDER_VALGRIND, set by
 * tools/dev and the valgrind setup). */
bool test_fork_unsupported(void);
/* Run @fn(@arg) in a forked child; returns the signal that killed it, 0 if
 * it exited. */
int test_child_signal(void (*fn)(void *arg), void *arg);

/* urcu-memb, except that call_rcu() waits for a grace period itself and
 * runs the callback in the caller, or, called inside a read-side section
 * (where that wait would never end), queues it for barrier(), which runs
 * the queue after a grace period. For single-threaded fuzzing: liburcu's
 * call_rcu thread sleeps 10 ms after every batch, so a barrier (every
 * destroy has one) would cost more than the rest of an input. Grace
 * periods stay real (memb's synchronize_rcu). */
const struct rcu_flavor_struct *test_inline_flavor(void);

/* xorshift64*: deterministic per-thread randomness. */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* RSZ_TESTUTIL_H */
