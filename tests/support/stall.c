/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "stall.h"
#include "testutil.h"

enum { ARM_NONE, ARM_ARMED, ARM_PARKED };

static struct {
	const char *names[STALL_MAX_POINTS];
	uint64_t hits[STALL_MAX_POINTS];
	size_t n;
	const char *seen[STALL_MAX_POINTS];
	uint64_t seen_hits[STALL_MAX_POINTS];	/* every point, for the stress reports */
	const char *armed_name;
	int armed_id;
	unsigned int arm_state;
	unsigned int released;
	unsigned int delay;
	uint64_t rng;
} st;

static __thread int my_id = -1;
static __thread uint64_t my_rng;

static void note_seen(const char *point)
{
	for (size_t i = 0; i < STALL_MAX_POINTS; i++) {
		const char *s = __atomic_load_n(&st.seen[i], __ATOMIC_ACQUIRE);

		if (!s) {
			const char *none = NULL;

			if (__atomic_compare_exchange_n(&st.seen[i], &none, point, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				s = point;
			else
				s = none;
		}
		if (s == point || !strcmp(s, point)) {
			__atomic_add_fetch(&st.seen_hits[i], 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

static void hook(const char *point)
{
	unsigned int delay;

	for (size_t i = 0; i < st.n; i++)
		if (!strcmp(st.names[i], point)) {
			__atomic_add_fetch(&st.hits[i], 1, __ATOMIC_RELAXED);
			break;
		}
	note_seen(point);
	if (__atomic_load_n(&st.arm_state, __ATOMIC_ACQUIRE) == ARM_ARMED &&
	    __atomic_load_n(&st.armed_id, __ATOMIC_RELAXED) == my_id &&
	    !strcmp(__atomic_load_n(&st.armed_name, __ATOMIC_RELAXED), point)) {
		unsigned int s = ARM_ARMED;

		if (__atomic_compare_exchange_n(&st.arm_state, &s, ARM_PARKED, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			/* Parked: hold nothing, wait for the release. */
			while (!__atomic_load_n(&st.released, __ATOMIC_ACQUIRE))
				sched_yield();
		}
	}
	delay = __atomic_load_n(&st.delay, __ATOMIC_RELAXED);
	if (delay) {
		if (!my_rng)
			my_rng = (uint64_t)(uintptr_t)&my_rng | 1;
		uint64_t r = test_rand(&my_rng);

		if (r % delay == 0)
			sched_yield();
		if ((r >> 32) % (8ull * delay) == 0)
			usleep(50);
	}
}

void stall_install(const char *const *names, size_t n)
{
	rsz__set_stall_hook(NULL);
	memset(&st, 0, sizeof(st));
	if (n > STALL_MAX_POINTS)
		n = STALL_MAX_POINTS;
	for (size_t i = 0; i < n; i++)
		st.names[i] = names[i];
	st.n = n;
	st.armed_id = -1;
	rsz__set_stall_hook(hook);
}

void stall_uninstall(void)
{
	stall_release();
	rsz__set_stall_hook(NULL);
}

void stall_set_thread(int id)
{
	my_id = id;
}

uint64_t stall_hits(const char *name)
{
	for (size_t i = 0; i < st.n; i++)
		if (!strcmp(st.names[i], name))
			return __atomic_load_n(&st.hits[i], __ATOMIC_RELAXED);
	return 0;
}

size_t stall_seen(const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < STALL_MAX_POINTS; i++) {
		const char *s = __atomic_load_n(&st.seen[i], __ATOMIC_ACQUIRE);

		if (!s)
			break;
		if (n < max)
			names[n] = s;
		n++;
	}
	return n;
}

void stall_arm(const char *name, int id)
{
	__atomic_store_n(&st.released, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&st.armed_name, name, __ATOMIC_RELAXED);
	__atomic_store_n(&st.armed_id, id, __ATOMIC_RELAXED);
	/* Release: a thread that sees ARMED sees the name and id. */
	__atomic_store_n(&st.arm_state, ARM_ARMED, __ATOMIC_RELEASE);
}

bool stall_wait_parked(unsigned int timeout_ms)
{
	for (unsigned int waited = 0; waited <= timeout_ms * 10; waited++) {
		if (__atomic_load_n(&st.arm_state, __ATOMIC_ACQUIRE) == ARM_PARKED)
			return true;
		usleep(100);
	}
	return false;
}

void stall_release(void)
{
	unsigned int s = ARM_ARMED;

	/* Disarm first, so that nobody parks after the release. */
	__atomic_compare_exchange_n(&st.arm_state, &s, ARM_NONE, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	__atomic_store_n(&st.released, 1, __ATOMIC_RELEASE);
}

static void stall_set_delay(unsigned int one_in)
{
	__atomic_store_n(&st.delay, one_in, __ATOMIC_RELAXED);
}

void stall_delays_begin(unsigned int one_in)
{
	stall_install(NULL, 0);
	stall_set_delay(one_in);
}

size_t stall_delays_end(FILE *out, const char *name)
{
	size_t n = 0;
	uint64_t total = 0;

	stall_set_delay(0);
	stall_uninstall();
	/* Atomics: a hook call that began before the uninstall may still be
	 * counting in another thread (rsz's worker, liburcu's). */
	for (; n < STALL_MAX_POINTS && __atomic_load_n(&st.seen[n], __ATOMIC_ACQUIRE); n++)
		total += __atomic_load_n(&st.seen_hits[n], __ATOMIC_RELAXED);
	fprintf(out, "%s: random delays at %zu points, %" PRIu64 " hits:", name, n, total);
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %s %" PRIu64 "%s", __atomic_load_n(&st.seen[i], __ATOMIC_ACQUIRE),
			__atomic_load_n(&st.seen_hits[i], __ATOMIC_RELAXED), i + 1 < n ? "," : "");
	fprintf(out, "\n");
	return n;
}

/* ---- the driver ------------------------------------------------------------ */

struct stall_thread {
	const struct stall_scenario *s;
	void *obj;
	unsigned int tid;
	const bool *stop;
	int ret;
	pthread_t th;
};

static void *victim_main(void *arg)
{
	struct stall_thread *t = arg;

	stall_set_thread(0);
	t->s->victim(t->obj, t->s->ctx, t->stop);
	return NULL;
}

static void *other_main(void *arg)
{
	struct stall_thread *t = arg;

	stall_set_thread((int)t->tid);
	t->ret = t->s->other(t->obj, t->s->ctx, t->tid);
	return NULL;
}

static void *resize_main(void *arg)
{
	struct stall_thread *t = arg;

	stall_set_thread(-2);
	t->ret = t->s->resize(t->obj, t->s->ctx);
	return NULL;
}

/* Join within the deadline; false if the thread is still running. */
static bool join_by(pthread_t th, const struct timespec *deadline)
{
	return pthread_timedjoin_np(th, NULL, deadline) == 0;
}

int stall_run(const struct stall_scenario *s, bool require_all,
	      struct stall_stats *out_st, FILE *out)
{
	unsigned int timeout = s->timeout_ms ? s->timeout_ms : 20000;
	int ret = 0;

	memset(out_st, 0, sizeof(*out_st));
	for (size_t p = 0; p < s->npoints && !ret; p++) {
		struct stall_thread victim = { .s = s }, rs = { .s = s };
		struct stall_thread others[64];
		unsigned int n = s->nothers < 64 ? s->nothers : 64;
		bool stop = false, parked, late = false;
		struct timespec deadline;
		char msg[256] = "";
		void *obj = s->setup(s->ctx);

		if (!obj) {
			fprintf(out, "stall %s: setup failed\n", s->name);
			return -1;
		}
		stall_install(s->points, s->npoints);
		stall_arm(s->points[p], 0);
		victim.obj = obj;
		victim.stop = &stop;
		pthread_create(&victim.th, NULL, victim_main, &victim);
		parked = stall_wait_parked(2000);
		if (!parked) {
			out_st->unreached++;
			fprintf(out, "stall %s: point %s not reached\n", s->name, s->points[p]);
			if (require_all)
				ret = -1;
		} else {
			out_st->reached++;
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout / 1000;
		deadline.tv_nsec += (long)(timeout % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		for (unsigned int i = 0; i < n; i++) {
			others[i] = (struct stall_thread){ .s = s, .obj = obj, .tid = i + 1 };
			pthread_create(&others[i].th, NULL, other_main, &others[i]);
		}
		if (s->resize) {
			rs.obj = obj;
			pthread_create(&rs.th, NULL, resize_main, &rs);
		}
		for (unsigned int i = 0; i < n; i++) {
			if (!join_by(others[i].th, &deadline)) {
				late = true;
				break;
			}
		}
		if (!late && s->resize && !join_by(rs.th, &deadline))
			late = true;
		if (late) {
			fprintf(out, "stall %s: with a thread parked at %s, the others did "
				"not finish within %u ms: rsz waits for the parked thread\n",
				s->name, s->points[p], timeout);
			ret = -1;
		}
		/* Let the victim go; then everyone finishes. */
		stall_release();
		if (late) {
			for (unsigned int i = 0; i < n; i++)
				pthread_join(others[i].th, NULL);
			if (s->resize)
				pthread_join(rs.th, NULL);
		}
		for (unsigned int i = 0; i < n; i++)
			if (others[i].ret && !ret) {
				fprintf(out, "stall %s: thread %u failed at point %s\n",
					s->name, i + 1, s->points[p]);
				ret = -1;
			}
		if (!ret) {
			out_st->other_ops_runs++;
			if (s->resize) {
				if (rs.ret) {
					fprintf(out, "stall %s: resize failed (%d) with a thread "
						"parked at %s\n", s->name, rs.ret, s->points[p]);
					ret = -1;
				} else {
					out_st->resizes++;
				}
			}
		}
		__atomic_store_n(&stop, true, __ATOMIC_RELEASE);
		pthread_join(victim.th, NULL);
		stall_uninstall();
		if (s->teardown(obj, s->ctx, msg, sizeof(msg)) && !ret) {
			fprintf(out, "stall %s: after parking at %s: %s\n", s->name,
				s->points[p], msg);
			ret = -1;
		}
	}
	return ret;
}

void stall_print(FILE *out, const char *name, size_t npoints,
		 const struct stall_stats *figures)
{
	fprintf(out, "stall %s: parked at %u of %zu points (%u not reached); others finished "
		"in %" PRIu64 " runs, the resize step passed in %" PRIu64 " runs while parked\n",
		name, figures->reached, npoints, figures->unreached, figures->other_ops_runs,
		figures->resizes);
}
