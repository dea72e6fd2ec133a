/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * platform.h - everything rsz's algorithms need from their environment.
 *
 * The algorithm files (mem.c, array.c, slots.c, hash*.c) include only this
 * header and rsz's own; a kernel port replaces this header and platform.c
 * and nothing else. Each primitive maps one-to-one to a kernel primitive
 * (docs/porting.md has the table). Context-free primitives carry the
 * kernel's names; those that need a structure's flavor or allocator carry
 * an rsz_ prefix and take it as an argument, because liburcu's headers
 * #define call_rcu, synchronize_rcu and rcu_dereference themselves.
 */
#ifndef RSZ_PLATFORM_H
#define RSZ_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <urcu/flavor.h>	/* struct rcu_flavor_struct only: no mapping macros */

#include "rsz/common.h"

/* ---- compiler ---------------------------------------------------------- */

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define RSZ_CACHELINE	64
#define __rsz_cacheline_aligned __attribute__((aligned(RSZ_CACHELINE)))
#define RSZ_INTERNAL	__attribute__((visibility("hidden")))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline unsigned int fls64(uint64_t x)	/* 1-based; 0 for 0 */
{
	return x ? 64u - (unsigned int)__builtin_clzll(x) : 0u;
}

/*
 * RSZ_CLZ_CLONES: compile a hot function that counts leading zeros twice,
 * for x86-64-v3 (LZCNT: one uop; also BMI2's SHRX) and for the baseline
 * (BSR: several uops, latency 4 on AMD Zen 2), picked once at load time
 * through an ifunc. GCC only: clang 14 names the ifunc symbol
 * `name.ifunc', so the public name would be missing from the library.
 * Kernel: nothing (the kernel patches fls64 with alternatives itself).
 */
#if defined(__x86_64__) && defined(__ELF__) && !defined(__clang__) && __GNUC__ >= 12
#define RSZ_CLZ_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RSZ_CLZ_CLONES
#endif

static inline uint64_t roundup_pow_of_two(uint64_t x)
{
	return x <= 1 ? 1 : (uint64_t)1 << fls64(x - 1);
}

static inline bool check_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* ---- atomics ------------------------------------------------------------
 *
 * One choice everywhere: the compiler's __atomic builtins, which
 * ThreadSanitizer understands. Every call site says which order it needs
 * and why. The kernel names map onto the same orders (READ_ONCE is a
 * relaxed load, try_cmpxchg is fully ordered, and so on).
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
/* Readers follow published pointers; acquire stands in for consume. */
#define rsz_dereference(p)	__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define rsz_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

/*
 * try_cmpxchg: on failure *oldp receives the current value. The fully
 * ordered and acquire forms load that value with acquire, because callers
 * go on to dereference it (a slot's element after a lost race): without
 * it, the element's contents need not be visible yet on a weakly ordered
 * CPU (ThreadSanitizer found this in do_update).
 */
#define try_cmpxchg(p, oldp, n)	\
	__atomic_compare_exchange_n((p), (oldp), (n), false, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)
#define try_cmpxchg_acquire(p, oldp, n) \
	__atomic_compare_exchange_n((p), (oldp), (n), false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)
#define try_cmpxchg_release(p, oldp, n) \
	__atomic_compare_exchange_n((p), (oldp), (n), false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define try_cmpxchg_relaxed(p, oldp, n) \
	__atomic_compare_exchange_n((p), (oldp), (n), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define xchg_acquire(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define atomic_add_return(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_add_return_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define atomic_sub_return_relaxed(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_or(p, v)	__atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define atomic_fetch_and(p, v)	__atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
#define atomic_fetch_or_relaxed(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_and_relaxed(p, v) __atomic_fetch_and((p), (v), __ATOMIC_RELAXED)
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---- debug checks ------------------------------------------------------- */

/*
 * Lookups assert that they run in a read-side section in the test build
 * and in --buildtype=debug builds (RSZ_CHECK_RCU, set by meson.build): the
 * check is a call into liburcu per lookup, which halved lookup throughput,
 * so the default (debugoptimized) and release builds go without it.
 */
#if defined(RSZ_TESTING) && !defined(RSZ_CHECK_RCU)
#define RSZ_CHECK_RCU 1
#endif

#ifdef NDEBUG
#define RSZ_WARN_ON(c)	((void)0)
#else
void rsz__warn(const char *cond, const char *file, int line) RSZ_INTERNAL;
#define RSZ_WARN_ON(c)	((c) ? rsz__warn(#c, __FILE__, __LINE__) : (void)0)
#endif

/* ---- RCU ----------------------------------------------------------------
 *
 * The flavor is the one given at creation (default urcu-memb). struct
 * rsz_rcu_head is laid out as liburcu's struct rcu_head (platform.c checks
 * it), as the kernel's is: a callback gets the head it was queued with.
 */
/*
 * ThreadSanitizer and the grace period (test builds only).
 *
 * liburcu 0.13 carries no TSan annotations and is not built with TSan, so
 * TSan sees no happens-before edge from a reader's critical section to the
 * updater that frees after synchronize_rcu() or in an RCU callback, and
 * reports every such free as a race. The TSan test build annotates the
 * edge RCU guarantees, per flavor (the flavor struct's address is the sync
 * object, used only as a key): read_unlock releases it; synchronize_rcu()'s
 * return and each callback's start acquire it. call_rcu() releases on the
 * head and the callback acquires on it (the queueing itself is liburcu's).
 * Callbacks release the flavor's barrier key, which rcu_barrier()'s return
 * acquires. docs/reliability.md explains what this may hide.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSZ_TSAN 1
#endif
#endif
#if !defined(RSZ_TSAN) && defined(__SANITIZE_THREAD__)
#define RSZ_TSAN 1
#endif
#if defined(RSZ_TSAN) && defined(RSZ_TESTING) && !defined(RSZ_NO_TSAN_RCU)
#define RSZ_TSAN_RCU 1
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define rsz__tsan_release(p)	__tsan_release((void *)(p))
#define rsz__tsan_acquire(p)	__tsan_acquire((void *)(p))
#else
#define rsz__tsan_release(p)	((void)(p))
#define rsz__tsan_acquire(p)	((void)(p))
#endif

struct rsz_rcu_head {
	void *next;
	void (*func)(struct rsz_rcu_head *head);
#ifdef RSZ_TSAN_RCU
	/* liburcu calls a trampoline that annotates, then this. */
	void (*tsan_func)(struct rsz_rcu_head *head);
	const void *tsan_flavor;
#endif
};

typedef const struct rcu_flavor_struct *rsz_flavor_t;

static inline void rsz_rcu_read_lock(rsz_flavor_t f)   { f->read_lock(); }
static inline void rsz_rcu_read_unlock(rsz_flavor_t f)
{
	/* Everything this section did happens before the grace period ends. */
	rsz__tsan_release(f);
	f->read_unlock();
}
static inline bool rsz_rcu_read_ongoing(rsz_flavor_t f) { return f->read_ongoing() != 0; }

/* May the caller block, wait for a grace period or run rcu_barrier()?
 * False inside a read-side section. urcu-qsbr's read_ongoing() reports
 * "online", which is exactly where its blocking calls are allowed, so
 * there the answer is always true (debug checks only). */
bool rsz_rcu_may_block(rsz_flavor_t f) RSZ_INTERNAL;

rsz_flavor_t rsz_default_flavor(void) RSZ_INTERNAL;
/* 0 if every operation rsz uses is set, else -EINVAL. */
int rsz_flavor_check(rsz_flavor_t f) RSZ_INTERNAL;
/* Create the flavor's call_rcu thread now (and, for urcu-bp, register the
 * caller), so that later rsz_call_rcu() from a signal handler creates
 * nothing. Blocks; call from creation paths only. */
void rsz_rcu_prime(rsz_flavor_t f) RSZ_INTERNAL;
/* call_rcu(): async-signal-safe once primed. */
void rsz_call_rcu(rsz_flavor_t f, struct rsz_rcu_head *head,
		  void (*func)(struct rsz_rcu_head *head)) RSZ_INTERNAL;
void rsz_synchronize_rcu(rsz_flavor_t f) RSZ_INTERNAL;
/* rcu_barrier(): waits for every queued callback of the flavor. */
void rsz_rcu_barrier(rsz_flavor_t f) RSZ_INTERNAL;

/* ---- allocation ----------------------------------------------------------
 *
 * Raw allocation through the user's ops table, or the build's default
 * (libc, or jemalloc's mallocx/sdallocx). Charging is mem.c's business;
 * see rsz_kvmalloc() in mem_internal.h.
 */
void *rsz_sys_alloc(const struct rsz_allocator *a, size_t size, size_t align) RSZ_INTERNAL;
void rsz_sys_free(const struct rsz_allocator *a, void *p, size_t size) RSZ_INTERNAL;

/* ---- background work -----------------------------------------------------
 *
 * One worker thread for the whole process, started when the first
 * structure that wants it is created (never lazily from a path that must
 * be async-signal-safe), joined when the last one is destroyed, restarted
 * in a child after fork(). The kernel's queue_work()/flush_work().
 */
struct rsz_work {
	struct rsz_work *next;
	void (*func)(struct rsz_work *work);
	rsz_flavor_t flavor;	/* the worker is online in it while func runs */
	unsigned int state;	/* RSZ_WORK_* in platform.c */
};

void rsz_work_init(struct rsz_work *w, void (*func)(struct rsz_work *), rsz_flavor_t f) RSZ_INTERNAL;
/* Take a reference on the worker, starting it if needed; 0 or -errno. */
int rsz_worker_get(rsz_flavor_t f) RSZ_INTERNAL;
void rsz_worker_put(void) RSZ_INTERNAL;
/* Queue @w unless queued already; if it is running, it runs once more.
 * Lock-free and async-signal-safe. Returns true if this call queued it. */
bool rsz_queue_work(struct rsz_work *w) RSZ_INTERNAL;
/* Wait until @w is neither queued nor running. Blocks. */
void rsz_flush_work(struct rsz_work *w) RSZ_INTERNAL;
/* Register @f for fork handling: liburcu's fork hooks are called for every
 * flavor rsz has been used with. */
void rsz_fork_track_flavor(rsz_flavor_t f) RSZ_INTERNAL;

/* ---- misc ------------------------------------------------------------------ */

/* Random 64-bit seed (getrandom; get_random_u64 in the kernel). */
uint64_t rsz_random_u64(void) RSZ_INTERNAL;
/* Give the CPU away for a short while (cond_resched). */
void rsz_yield(void) RSZ_INTERNAL;

/* ---- stall points (tests only) -------------------------------------------
 *
 * RSZ_STALL_POINT("hash.insert.after_claim") lets the reliability tests
 * park a thread, or inject a delay, at a named step. Release builds compile
 * it to nothing; the test build (RSZ_TESTING) calls the hook a test set.
 */
#ifdef RSZ_TESTING
typedef void (*rsz_stall_hook_t)(const char *point);
void rsz__set_stall_hook(rsz_stall_hook_t hook);
void rsz__stall_point(const char *point);
#define RSZ_STALL_POINT(name) rsz__stall_point(name)
#else
#define RSZ_STALL_POINT(name) do { } while (0)
#endif



/* ---- tagged pointers -------------------------------------------------------
 *
 * A hash slot is one 64-bit word: an element pointer, 16 bits of its hash
 * above it, and three state bits below it (elements are 8-byte aligned).
 * x86-64 and arm64 user and kernel addresses are canonical 48-bit ones
 * (bit 47 sign-extended), so the top 16 bits are free for the tag and the
 * pointer is restored by sign extension. A 57-bit (LA57) address would not
 * fit: rsz_tagptr_fits() lets the allocator paths refuse it cleanly.
 */
#define RSZ_TAGPTR_TAG_SHIFT 48

static inline uint64_t rsz_tagptr(const void *p, uint64_t tag)
{
	return (tag << RSZ_TAGPTR_TAG_SHIFT) |
	       ((uint64_t)(uintptr_t)p & ((1ULL << RSZ_TAGPTR_TAG_SHIFT) - 1));
}

static inline void *rsz_tagptr_ptr(uint64_t w)
{
	return (void *)(uintptr_t)((uint64_t)((int64_t)(w << (64 - RSZ_TAGPTR_TAG_SHIFT)) >>
				   (64 - RSZ_TAGPTR_TAG_SHIFT)) & ~(uint64_t)7);
}

static inline uint64_t rsz_tagptr_tag(uint64_t w)
{
	return w >> RSZ_TAGPTR_TAG_SHIFT;
}

static inline bool rsz_tagptr_fits(const void *p)
{
	return rsz_tagptr_ptr(rsz_tagptr(p, 0)) == p;
}
#endif /* RSZ_PLATFORM_H */
