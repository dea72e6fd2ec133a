/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform.h"
#include "testutil.h"

struct test_record test_failures = { .lock = PTHREAD_MUTEX_INITIALIZER };

double test_scale(void)
{
	const char *s = getenv("RSZ_TEST_SCALE");
	double v = s && *s ? strtod(s, NULL) : 1.0;

	return v > 0 ? v : 1.0;
}

uint64_t test_scaled(uint64_t full, uint64_t min)
{
	double v = (double)full * test_scale();

	return v < (double)min ? min : (uint64_t)v;
}

void test_record(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&test_failures.lock);
	if (test_failures.count++ == 0) {
		int n = snprintf(test_failures.first, sizeof(test_failures.first),
				 "%s:%d: ", file, line);

		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof(test_failures.first))
			vsnprintf(test_failures.first + n,
				  sizeof(test_failures.first) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&test_failures.lock);
}

static void *ta_alloc(size_t size, size_t align, void *ctx)
{
	struct test_alloc *ta = ctx;
	uint64_t n = __atomic_add_fetch(&ta->calls, 1, __ATOMIC_RELAXED);
	void *p = NULL;
	uint64_t fa = __atomic_load_n(&ta->fail_at, __ATOMIC_RELAXED);

	if (fa && (n == fa || (ta->fail_every && n > fa &&
			       (n - fa) % ta->fail_every == 0))) {
		__atomic_add_fetch(&ta->failures, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, size))
		return NULL;
	__atomic_add_fetch(&ta->live_bytes, size, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ta->live_blocks, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ta->usable_bytes, malloc_usable_size(p), __ATOMIC_RELAXED);
	return p;
}

static void ta_free(void *p, size_t size, void *ctx)
{
	struct test_alloc *ta = ctx;

	__atomic_sub_fetch(&ta->live_bytes, size, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&ta->live_blocks, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&ta->usable_bytes, malloc_usable_size(p), __ATOMIC_RELAXED);
	free(p);
}

void test_alloc_init(struct test_alloc *ta)
{
	memset(ta, 0, sizeof(*ta));
	ta->ops.alloc = ta_alloc;
	ta->ops.free = ta_free;
	ta->ops.ctx = ta;
}

uint64_t test_alloc_live(const struct test_alloc *ta)
{
	return __atomic_load_n(&ta->live_bytes, __ATOMIC_RELAXED);
}

int test_all_returned(struct test_alloc *ta, struct rsz_mem *mem, char *msg, size_t len)
{
	struct rsz_mem_stat ms;

	rsz_mem_stat(mem, &ms, sizeof(ms));
	if (test_alloc_live(ta) || ms.usage) {
		snprintf(msg, len, "after destroy: allocator holds %" PRIu64 ", counter %" PRIu64,
			 test_alloc_live(ta), ms.usage);
		return -1;
	}
	if (rsz_mem_destroy(mem)) {
		snprintf(msg, len, "counter not destroyable");
		return -1;
	}
	return 0;
}

void test_rcu_read_lock(const struct rcu_flavor_struct *f)
{
	rsz_rcu_read_lock(f);
}

void test_rcu_read_unlock(const struct rcu_flavor_struct *f)
{
	rsz_rcu_read_unlock(f);
}

void test_rcu_barrier(const struct rcu_flavor_struct *f)
{
	rsz_rcu_barrier(f);
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

bool test_fork_unsupported(void)
{
	return env_set("RSZ_UNDER_TSAN") || env_set("RSZ_UNDER_VALGRIND");
}

int test_child_signal(void (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static struct rcu_flavor_struct inline_flavor;
static pthread_once_t inline_once = PTHREAD_ONCE_INIT;

/* Callbacks queued from inside read-side sections, until barrier(), linked
 * through liburcu's rcu_head, whose next and func struct rsz_rcu_head
 * mirrors (platform.c checks the layout). */
typedef void (*rcu_cb_t)(struct rcu_head *head);
static struct rsz_rcu_head *inline_queue;

static void inline_call_rcu(struct rcu_head *head, rcu_cb_t func)
{
	const struct rcu_flavor_struct *base = rsz_default_flavor();
	struct rsz_rcu_head *r = (struct rsz_rcu_head *)(void *)head, *first;

	if (base->read_ongoing()) {
		r->func = (void (*)(struct rsz_rcu_head *))func;
		first = __atomic_load_n(&inline_queue, __ATOMIC_RELAXED);
		do {
			r->next = first;
		} while (!__atomic_compare_exchange_n(&inline_queue, &first, r, true,
						      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
		return;
	}
	base->update_synchronize_rcu();
	func(head);
}

/* What was queued runs after a grace period that began after the queueing;
 * callbacks may queue more. */
static void inline_barrier(void)
{
	struct rsz_rcu_head *r;

	while ((r = __atomic_exchange_n(&inline_queue, NULL, __ATOMIC_ACQUIRE))) {
		rsz_default_flavor()->update_synchronize_rcu();
		while (r) {
			struct rsz_rcu_head *next = r->next;

			((rcu_cb_t)r->func)((struct rcu_head *)(void *)r);
			r = next;
		}
	}
}

static void inline_init(void)
{
	inline_flavor = *rsz_default_flavor();
	inline_flavor.update_call_rcu = inline_call_rcu;
	inline_flavor.barrier = inline_barrier;
}

const struct rcu_flavor_struct *test_inline_flavor(void)
{
	pthread_once(&inline_once, inline_init);
	return &inline_flavor;
}
