/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * platform.c - the userspace platform: liburcu, pthreads, libc or jemalloc.
 * The only file of lib/ that includes them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * Each flavor header declares its own flavor struct and maps the generic
 * names onto its symbols; including two of them in one file breaks that
 * (flavor.h is include-guarded), so the flavors and the fork hooks are
 * declared here by hand, exactly as liburcu 0.13 exports them.
 */
#include <urcu/call-rcu.h>
#include <urcu/flavor.h>

#ifdef RSZ_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "platform.h"

extern const struct rcu_flavor_struct urcu_memb_flavor;
extern const struct rcu_flavor_struct urcu_mb_flavor;
extern const struct rcu_flavor_struct urcu_qsbr_flavor;
extern const struct rcu_flavor_struct urcu_signal_flavor;
extern const struct rcu_flavor_struct urcu_bp_flavor;

#define DECLARE_FORK_HOOKS(fl)						\
	extern void urcu_##fl##_call_rcu_before_fork(void);		\
	extern void urcu_##fl##_call_rcu_after_fork_parent(void);	\
	extern void urcu_##fl##_call_rcu_after_fork_child(void);
DECLARE_FORK_HOOKS(memb)
DECLARE_FORK_HOOKS(mb)
DECLARE_FORK_HOOKS(qsbr)
DECLARE_FORK_HOOKS(signal)
DECLARE_FORK_HOOKS(bp)
extern void urcu_bp_before_fork(void);
extern void urcu_bp_after_fork_parent(void);
extern void urcu_bp_after_fork_child(void);

#ifndef RSZ_TSAN_RCU
_Static_assert(sizeof(struct rsz_rcu_head) == sizeof(struct rcu_head),
	       "struct rsz_rcu_head must match liburcu's struct rcu_head");
#endif
_Static_assert(offsetof(struct rsz_rcu_head, next) == offsetof(struct rcu_head, next),
	       "struct rsz_rcu_head must match liburcu's struct rcu_head");
_Static_assert(offsetof(struct rsz_rcu_head, func) == offsetof(struct rcu_head, func),
	       "struct rsz_rcu_head must match liburcu's struct rcu_head");

#ifndef NDEBUG
void rsz__warn(const char *cond, const char *file, int line)
{
	fprintf(stderr, "rsz: WARN_ON(%s) at %s:%d\n", cond, file, line);
	abort();
}
#endif

/* ---- RCU ------------------------------------------------------------------ */

rsz_flavor_t rsz_default_flavor(void)
{
	return &urcu_memb_flavor;
}

bool rsz_rcu_may_block(rsz_flavor_t f)
{
	return f == &urcu_qsbr_flavor || !f->read_ongoing();
}

int rsz_flavor_check(rsz_flavor_t f)
{
	if (!f || !f->read_lock || !f->read_unlock || !f->read_ongoing ||
	    !f->update_call_rcu || !f->update_synchronize_rcu || !f->barrier ||
	    !f->thread_online || !f->thread_offline || !f->register_thread ||
	    !f->unregister_thread)
		return -EINVAL;
	return 0;
}

static void prime_cb(struct rsz_rcu_head *head)
{
	free(head);
}

void rsz_rcu_prime(rsz_flavor_t f)
{
	struct rsz_rcu_head *head;

	/* urcu-bp registers a thread at its first read lock (mutex, mmap). */
	f->read_lock();
	f->read_unlock();
	/* The first call_rcu() creates the default call_rcu thread under a
	 * mutex; do it here, where blocking is allowed. */
	head = malloc(sizeof(*head));
	if (head)
		rsz_call_rcu(f, head, prime_cb);
}

/*
 * liburcu calls func with the head it was given; struct rsz_rcu_head has
 * the same layout (checked above) and the callback types differ only in the
 * pointee's tag, which the ABI does not see. The detour through void (*)(void)
 * tells the compiler that this cast is meant.
 */
#ifdef RSZ_TSAN_RCU
/* The barrier key of a flavor: one byte past its sync key, never accessed. */
#define TSAN_BARRIER_KEY(f)	((const char *)(f) + 1)

static void tsan_rcu_trampoline(struct rsz_rcu_head *head)
{
	const void *f;

	rsz__tsan_acquire(head);	/* the call_rcu() caller's writes, */
	f = head->tsan_flavor;		/* tsan_* fields included */
	rsz__tsan_acquire(f);		/* the readers' sections */
	head->tsan_func(head);
	rsz__tsan_release(TSAN_BARRIER_KEY(f));	/* for rcu_barrier() */
}
#endif

void rsz_call_rcu(rsz_flavor_t f, struct rsz_rcu_head *head,
		  void (*func)(struct rsz_rcu_head *head))
{
#ifdef RSZ_TSAN_RCU
	head->tsan_func = func;
	head->tsan_flavor = f;
	func = tsan_rcu_trampoline;
	rsz__tsan_release(head);
#endif
	f->update_call_rcu((struct rcu_head *)(void *)head,
			   (void (*)(struct rcu_head *))(void (*)(void))func);
}

void rsz_synchronize_rcu(rsz_flavor_t f)
{
	f->update_synchronize_rcu();
	rsz__tsan_acquire(f);
}

void rsz_rcu_barrier(rsz_flavor_t f)
{
	f->barrier();
#ifdef RSZ_TSAN_RCU
	rsz__tsan_acquire(TSAN_BARRIER_KEY(f));
#endif
}

/* ---- allocation ------------------------------------------------------------ */

void *rsz_sys_alloc(const struct rsz_allocator *a, size_t size, size_t align)
{
	void *p = NULL;

	if (size == 0)
		size = 1;
	if (a)
		return a->alloc(size, align, a->ctx);
#ifdef RSZ_USE_JEMALLOC
	return mallocx(size, align > 16 ? MALLOCX_ALIGN(align) : 0);
#else
	if (align <= 16)
		return malloc(size);
	if (posix_memalign(&p, align, size))
		return NULL;
	return p;
#endif
}

void rsz_sys_free(const struct rsz_allocator *a, void *p, size_t size)
{
	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (a) {
		a->free(p, size, a->ctx);
		return;
	}
#ifdef RSZ_USE_JEMALLOC
	sdallocx(p, size, 0);
#else
	(void)size;
	free(p);
#endif
}

/* ---- background worker ------------------------------------------------------
 *
 * Queueing pushes on a lock-free stack and posts a semaphore: both are
 * async-signal-safe (sem_post is on POSIX's list). The worker takes the
 * whole stack with one exchange, so pops never race and the stack has no
 * ABA problem. A work item's state makes queueing idempotent, and a request
 * that arrives while the item runs makes it run once more, so no request
 * made after the item started reading its inputs is lost.
 */
enum {
	RSZ_WORK_IDLE = 0,
	RSZ_WORK_QUEUED = 1,
	RSZ_WORK_RUNNING = 2,
	RSZ_WORK_RERUN = 3,	/* running, and queued again meanwhile */
};

static struct {
	pthread_mutex_t lock;	/* refs, thread start/stop, flush waits */
	pthread_cond_t idle;	/* broadcast after each item */
	sem_t wake;
	pthread_t thread;
	unsigned long refs;
	bool running;
	bool stop;
	struct rsz_work *stack;	/* pushed lock-free, taken whole by the worker */
	bool busy;		/* the worker holds a batch taken from the stack */
	unsigned int nr_flavors;
	rsz_flavor_t flavors[8];	/* used, for fork hooks */
} worker = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t worker_once = PTHREAD_ONCE_INIT;

void rsz_work_init(struct rsz_work *w, void (*func)(struct rsz_work *), rsz_flavor_t f)
{
	w->next = NULL;
	w->func = func;
	w->flavor = f;
	w->state = RSZ_WORK_IDLE;
}

static void push_work(struct rsz_work *w)
{
	struct rsz_work *head = __atomic_load_n(&worker.stack, __ATOMIC_RELAXED);

	do {
		w->next = head;
		/* Release: the worker that takes the stack sees w->next. */
	} while (!__atomic_compare_exchange_n(&worker.stack, &head, w, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	sem_post(&worker.wake);
}

bool rsz_queue_work(struct rsz_work *w)
{
	unsigned int s = __atomic_load_n(&w->state, __ATOMIC_RELAXED);

	for (;;) {
		unsigned int n;

		if (s == RSZ_WORK_QUEUED || s == RSZ_WORK_RERUN)
			return false;
		n = s == RSZ_WORK_IDLE ? RSZ_WORK_QUEUED : RSZ_WORK_RERUN;
		/* Seq-cst: the inputs the caller stored before queueing are
		 * visible to the run this request causes. */
		if (__atomic_compare_exchange_n(&w->state, &s, n, false,
						__ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			break;
	}
	if (s == RSZ_WORK_IDLE)
		push_work(w);
	return true;
}

static void flavor_register_once(rsz_flavor_t f, rsz_flavor_t *done, unsigned int *nr)
{
	for (unsigned int i = 0; i < *nr; i++)
		if (done[i] == f)
			return;
	if (*nr < 8) {
		f->register_thread();
		f->thread_offline();
		done[(*nr)++] = f;
	}
}

/*
 * The worker is registered with a flavor only while it runs a batch. A
 * registered thread that does not exist in a fork()ed child stays in the
 * child's reader registry (only urcu-bp cleans it), and glibc hands its
 * stack and TLS, where its registry entry lives, to the child's new
 * threads: the child's grace periods then never end. fork() waits for the
 * worker to be between batches (atfork_prepare), so it is unregistered.
 */
static void flavors_unregister(rsz_flavor_t *done, unsigned int *nr)
{
	for (unsigned int i = 0; i < *nr; i++) {
		done[i]->thread_online();	/* qsbr unregisters online */
		done[i]->unregister_thread();
	}
	*nr = 0;
}

static void run_one(struct rsz_work *w, rsz_flavor_t *reg, unsigned int *nr_reg)
{
	unsigned int s = RSZ_WORK_QUEUED;

	__atomic_compare_exchange_n(&w->state, &s, RSZ_WORK_RUNNING, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
	flavor_register_once(w->flavor, reg, nr_reg);
	/* Online only while working: an idle worker must not hold up grace
	 * periods (urcu-qsbr). */
	w->flavor->thread_online();
	w->func(w);
	w->flavor->thread_offline();

	pthread_mutex_lock(&worker.lock);
	s = RSZ_WORK_RUNNING;
	if (!__atomic_compare_exchange_n(&w->state, &s, RSZ_WORK_IDLE, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		/* RERUN: requested while running. */
		__atomic_store_n(&w->state, RSZ_WORK_QUEUED, __ATOMIC_SEQ_CST);
		push_work(w);
	}
	pthread_cond_broadcast(&worker.idle);
	pthread_mutex_unlock(&worker.lock);
}

static void *worker_main(void *arg)
{
	rsz_flavor_t reg[8];
	unsigned int nr_reg = 0;

	sigset_t rcu_signal;

	(void)arg;
	/* Created with every signal blocked, so that the application's
	 * signals go to its own threads; but urcu-signal's grace periods
	 * signal every registered reader (SIGUSR1, its SIGRCU) and wait for
	 * the answer, so that one must get through. */
	sigemptyset(&rcu_signal);
	sigaddset(&rcu_signal, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &rcu_signal, NULL);
	for (;;) {
		struct rsz_work *list, *rev = NULL;

		while (sem_wait(&worker.wake) && errno == EINTR)
			;
		if (__atomic_load_n(&worker.stop, __ATOMIC_ACQUIRE))
			break;
		/* Under the lock, so that fork() (atfork_prepare) never finds
		 * a batch taken from the stack and not yet run: the child
		 * would lose it. Acquire pairs with push_work()'s release. */
		pthread_mutex_lock(&worker.lock);
		list = __atomic_exchange_n(&worker.stack, NULL, __ATOMIC_ACQUIRE);
		worker.busy = list != NULL;
		pthread_mutex_unlock(&worker.lock);
		while (list) {	/* oldest first */
			struct rsz_work *next = list->next;

			list->next = rev;
			rev = list;
			list = next;
		}
		while (rev) {
			struct rsz_work *next = rev->next;

			run_one(rev, reg, &nr_reg);
			rev = next;
		}
		flavors_unregister(reg, &nr_reg);
		pthread_mutex_lock(&worker.lock);
		worker.busy = false;
		pthread_cond_broadcast(&worker.idle);
		pthread_mutex_unlock(&worker.lock);
	}
	flavors_unregister(reg, &nr_reg);
	return NULL;
}

static int start_worker_locked(void)
{
	sigset_t all, old;
	int err;

	worker.stop = false;
	/* The worker must not take the application's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&worker.thread, NULL, worker_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	/* A name, so that benchmarks and users can tell its CPU time apart. */
	pthread_setname_np(worker.thread, "rsz-worker");
	worker.running = true;
	return 0;
}

static void call_fork_hooks(int phase)
{
	for (unsigned int i = 0; i < worker.nr_flavors; i++) {
		rsz_flavor_t f = worker.flavors[i];
#define HOOKS(fl)							\
		if (f == &urcu_##fl##_flavor) {				\
			if (phase == 0) urcu_##fl##_call_rcu_before_fork();	\
			else if (phase == 1) urcu_##fl##_call_rcu_after_fork_parent(); \
			else urcu_##fl##_call_rcu_after_fork_child();	\
		}
		HOOKS(memb) HOOKS(mb) HOOKS(qsbr) HOOKS(signal) HOOKS(bp)
#undef HOOKS
		if (f == &urcu_bp_flavor) {
			if (phase == 0) urcu_bp_before_fork();
			else if (phase == 1) urcu_bp_after_fork_parent();
			else urcu_bp_after_fork_child();
		}
	}
}

/*
 * fork() while the worker runs a batch would leave the child without the
 * batch's items and with a registered reader (the worker) that may be in
 * a read-side section forever, so that the child's grace periods never
 * end. So wait until the worker is between batches, and keep it there
 * (it needs the lock to take the next batch) until the fork is done.
 */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&worker.lock);
	while (worker.busy && !pthread_equal(pthread_self(), worker.thread))
		pthread_cond_wait(&worker.idle, &worker.lock);
	call_fork_hooks(0);
}

static void atfork_parent(void)
{
	call_fork_hooks(1);
	pthread_mutex_unlock(&worker.lock);
}

static void atfork_child(void)
{
	call_fork_hooks(2);
	/* The worker thread does not exist in the child, and it was between
	 * batches (atfork_prepare): what is queued is on the stack. Start a
	 * new worker and wake it for it. */
	pthread_mutex_init(&worker.lock, NULL);
	pthread_cond_init(&worker.idle, NULL);
	sem_destroy(&worker.wake);
	sem_init(&worker.wake, 0, 0);
	worker.running = false;
	worker.busy = false;
	if (worker.refs && start_worker_locked() == 0 && worker.stack)
		sem_post(&worker.wake);
}

static void worker_init_once(void)
{
	sem_init(&worker.wake, 0, 0);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void rsz_fork_track_flavor(rsz_flavor_t f)
{
	pthread_once(&worker_once, worker_init_once);
	pthread_mutex_lock(&worker.lock);
	for (unsigned int i = 0; i < worker.nr_flavors; i++)
		if (worker.flavors[i] == f)
			goto out;
	if (worker.nr_flavors < ARRAY_SIZE(worker.flavors))
		worker.flavors[worker.nr_flavors++] = f;
out:
	pthread_mutex_unlock(&worker.lock);
}

int rsz_worker_get(rsz_flavor_t f)
{
	int err = 0;

	rsz_fork_track_flavor(f);
	pthread_mutex_lock(&worker.lock);
	if (!worker.running)
		err = start_worker_locked();
	if (!err)
		worker.refs++;
	pthread_mutex_unlock(&worker.lock);
	return err;
}

void rsz_worker_put(void)
{
	pthread_t t;

	pthread_mutex_lock(&worker.lock);
	if (--worker.refs || !worker.running) {
		pthread_mutex_unlock(&worker.lock);
		return;
	}
	worker.running = false;
	t = worker.thread;
	__atomic_store_n(&worker.stop, true, __ATOMIC_RELEASE);
	sem_post(&worker.wake);
	pthread_mutex_unlock(&worker.lock);
	pthread_join(t, NULL);
}

void rsz_flush_work(struct rsz_work *w)
{
	pthread_mutex_lock(&worker.lock);
	while (__atomic_load_n(&w->state, __ATOMIC_SEQ_CST) != RSZ_WORK_IDLE)
		pthread_cond_wait(&worker.idle, &worker.lock);
	pthread_mutex_unlock(&worker.lock);
}

/* ---- misc ---------------------------------------------------------------------- */

uint64_t rsz_random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v)) {
		/* Early boot or seccomp: mix what varies instead. */
		v = (uint64_t)(uintptr_t)&v ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)clock();
	}
	return v;
}

void rsz_yield(void)
{
	sched_yield();
}

#ifdef RSZ_TESTING
static rsz_stall_hook_t stall_hook;

void rsz__set_stall_hook(rsz_stall_hook_t hook)
{
	__atomic_store_n(&stall_hook, hook, __ATOMIC_SEQ_CST);
}

void rsz__stall_point(const char *point)
{
	rsz_stall_hook_t hook = __atomic_load_n(&stall_hook, __ATOMIC_ACQUIRE);

	if (hook)
		hook(point);
}
#endif
