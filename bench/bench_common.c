/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* What the map benchmarks share: the built-table cache, thread CPU time,
 * the latency histogram's percentiles, sizes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_maps.h"

static struct bmap_built *cur;

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool bench_quick(void)
{
	const char *q = getenv("RSZ_BENCH_QUICK");

	return q && *q && strcmp(q, "0");
}

uint64_t bench_n(struct rsz_bench *b, int arg)
{
	uint64_t n = (uint64_t)rsz_bench_arg(b, arg);

	return bench_quick() ? (n >> 7 > 8192 ? n >> 7 : 8192) : n;
}

void kv_sizes(int64_t kv, uint32_t *ks, uint32_t *vs)
{
	*ks = kv == KV_16_64 ? 16 : 8;
	*vs = kv == KV_16_64 ? 64 : 8;
}

/* ---- threads -------------------------------------------------------- */

void tidset_snap(struct tidset *s)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	s->n = 0;
	if (!d)
		return;
	while ((de = readdir(d)) && s->n < (int)(sizeof(s->tid) / sizeof(s->tid[0])))
		if (de->d_name[0] != '.')
			s->tid[s->n++] = atoi(de->d_name);
	closedir(d);
}

static void set_comm(int tid, const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, name, strlen(name)) < 0)
		perror(path);
	close(fd);
}

void tidset_name_new(const struct tidset *before, const char *name)
{
	struct tidset now;

	tidset_snap(&now);
	for (int i = 0; i < now.n; i++) {
		bool old = false;

		for (int j = 0; j < before->n && !old; j++)
			old = now.tid[i] == before->tid[j];
		if (!old)
			set_comm(now.tid[i], name);
	}
}

static void noop_cb(struct rcu_head *h)
{
	(void)h;
}

/*
 * liburcu names no thread of its own: they carry the process's name. Its
 * default urcu-memb call_rcu thread appears at the first call_rcu(), so
 * make that call here, before any table does, and name what appeared.
 */
void bench_init_threads(void)
{
	static struct rcu_head head;
	static bool done;
	struct tidset before;

	if (done)
		return;
	done = true;
	tidset_snap(&before);
	urcu_memb_call_rcu(&head, noop_cb);
	urcu_memb_barrier();
	tidset_name_new(&before, "urcu-call-rcu");
}

static double thread_cpu_s(int tid)
{
	/* The kernel's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): any thread
	 * of this process, to the nanosecond (/proc's stat counts ticks). */
	clockid_t id = (clockid_t)((~(unsigned int)tid) << 3) | 6;
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cpu_snap(struct cpu_snap *s)
{
	struct tidset t;
	struct timespec ts;

	memset(s, 0, sizeof(*s));
	s->wall = now_s();
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	s->proc = ts.tv_sec + ts.tv_nsec * 1e-9;
	tidset_snap(&t);
	for (int i = 0; i < t.n; i++) {
		char path[64], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", t.tid[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (!strcmp(comm, "rsz-worker"))
			s->worker += thread_cpu_s(t.tid[i]);
		else if (!strcmp(comm, "urcu-call-rcu"))
			s->callrcu += thread_cpu_s(t.tid[i]);
	}
}

void cpu_share_counters(struct rsz_bench *b, const struct cpu_snap *a,
			const struct cpu_snap *z)
{
	double proc = z->proc - a->proc;

	if (proc <= 0)
		return;
	rsz_bench_counter(b, "proc_cpu_s", proc, false);
	rsz_bench_counter(b, "wall_s", z->wall - a->wall, false);
	rsz_bench_counter(b, "worker_cpu_pct", 100 * (z->worker - a->worker) / proc, false);
	rsz_bench_counter(b, "callrcu_cpu_pct", 100 * (z->callrcu - a->callrcu) / proc, false);
}

/* ---- quiet ------------------------------------------------------------- */

/*
 * Wait until no other thread of the process burns CPU (rculfhash's resize
 * workqueue shrinking a deleted table, call_rcu threads freeing millions
 * of elements, rsz's worker), and hand glibc's free lists back first, so
 * that one run's cleanup is never timed in the next: seen as a 64K insert
 * run taking 30 us per insert right after an 8M table was destroyed.
 */
void bench_quiesce(void)
{
	struct timespec ms20 = { 0, 20 * 1000 * 1000 }, ts;
	double self0, proc0, self1, proc1;

	urcu_memb_barrier();
	malloc_trim(0);
	for (int i = 0; i < 250; i++) {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		self0 = ts.tv_sec + ts.tv_nsec * 1e-9;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		proc0 = ts.tv_sec + ts.tv_nsec * 1e-9;
		nanosleep(&ms20, NULL);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		self1 = ts.tv_sec + ts.tv_nsec * 1e-9;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		proc1 = ts.tv_sec + ts.tv_nsec * 1e-9;
		if ((proc1 - proc0) - (self1 - self0) < 0.001)
			break;
	}
}

/* ---- the built-table cache ----------------------------------------- */

/*
 * One built table per kind, so that the kinds run back to back on each
 * configuration (their ratio then spans seconds, not minutes, of a
 * shared machine's drifting load).
 */
#define BMAP_SLOTS 4
static struct bmap_built *slot[BMAP_SLOTS];
static struct bmap_built *cur;

static void drop_one(struct bmap_built *bm)
{
	bm->ops->destroy(bm->map);
	urcu_memb_barrier();
	if (bm->cfg.mem)
		rsz_mem_destroy(bm->cfg.mem);
	free(bm);
}

void bmap_drop(void)
{
	bool any = false;

	for (int i = 0; i < BMAP_SLOTS; i++) {
		if (slot[i]) {
			drop_one(slot[i]);
			slot[i] = NULL;
			any = true;
		}
	}
	cur = NULL;
	if (any)
		bench_quiesce();
}

struct bmap_built *bmap_current(void)
{
	return cur;
}

struct bmap_built *bmap_get(const struct bmap_ops *ops, uint64_t n, uint32_t ks, uint32_t vs)
{
	uint64_t key[2] = { 0 }, val[8] = { 0 };
	struct bmap_built *bm;
	int s = -1;
	double t0;

	bench_init_threads();
	cur = NULL;
	for (int i = 0; i < BMAP_SLOTS; i++) {
		bm = slot[i];
		if (bm && bm->ops == ops) {
			if (bm->cfg.n == n && bm->cfg.key_size == ks && bm->cfg.value_size == vs)
				return cur = bm;
			drop_one(bm);
			slot[i] = NULL;
			bench_quiesce();
		}
		if (!slot[i] && s < 0)
			s = i;
	}
	if (s < 0)
		return NULL;
	bm = calloc(1, sizeof(*bm));
	if (!bm)
		return NULL;
	count_alloc_init(&bm->ca);
	bm->ops = ops;
	bm->cfg.key_size = ks;
	bm->cfg.value_size = vs;
	bm->cfg.n = n;
	bm->cfg.fixed_size = n;		/* the fixed hash sized for exactly n */
	bm->cfg.rsz_initial = 64;	/* rsz grown by its default policy, no cap */
	bm->cfg.lfht_presize = true;	/* see lfht_map_settle() */
	bm->cfg.ca = &bm->ca;
	bm->cfg.mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	t0 = now_s();
	bm->map = ops->create(&bm->cfg);
	if (!bm->map)
		goto fail;
	for (uint64_t i = 0; i < n; i++) {
		make_key(key, ks, i);
		val[0] = i;
		if (ops->update(bm->map, key, val, RSZ_NOEXIST)) {
			fprintf(stderr, "%s: insert %lu of %lu failed\n", ops->name,
				(unsigned long)i, (unsigned long)n);
			ops->destroy(bm->map);
			goto fail;
		}
	}
	ops->settle(bm->map);
	urcu_memb_barrier();
	bm->build_s = now_s() - t0;
	bm->bytes_alloc = (double)ops->mem_alloc(bm->map, &bm->cfg);
	bm->bytes_counter = -1;
	{
		struct rsz_mem_stat st;

		rsz_mem_stat(bm->cfg.mem, &st, sizeof(st));
		if (st.usage)
			bm->bytes_counter = (double)st.usage;
	}
	bench_quiesce();
	slot[s] = bm;
	return cur = bm;
fail:
	urcu_memb_barrier();
	if (bm->cfg.mem)
		rsz_mem_destroy(bm->cfg.mem);
	free(bm);
	return NULL;
}

/* ---- latency ---------------------------------------------------------- */

static double ns_per_tick;

static void calibrate(void)
{
#if defined(__x86_64__)
	double w0 = now_s(), w1;
	uint64_t t0 = ticks_now(), t1;

	do {
		w1 = now_s();
	} while (w1 - w0 < 0.02);
	t1 = ticks_now();
	ns_per_tick = (w1 - w0) * 1e9 / (double)(t1 - t0);
#else
	ns_per_tick = 1;
#endif
}

double ticks_to_ns(uint64_t t)
{
	if (!ns_per_tick)
		calibrate();
	return t * ns_per_tick;
}

double hist_percentile_ns(const struct hist *h, double p)
{
	uint64_t want = (uint64_t)(p * (double)h->total), seen = 0;

	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen > want && h->count[i]) {
			uint64_t lo;

			if (i < 32) {
				lo = i;
			} else {
				unsigned int e = (i - 32) / 16 + 5, sub = (i - 32) % 16;

				lo = (1ULL << e) | ((uint64_t)sub << (e - 4));
			}
			return ticks_to_ns(lo);
		}
	}
	return 0;
}

/* ---- the resizer thread --------------------------------------------- */

static void *resizer_main(void *arg)
{
	struct resizer *r = arg;

	pthread_setname_np(pthread_self(), "bench-resizer");
	urcu_memb_register_thread();
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		r->ops->resize_cycle(r->map, r->n);
		__atomic_add_fetch(&r->cycles, 1, __ATOMIC_RELAXED);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static pthread_t resizer_thread;

void resizer_start(struct resizer *r)
{
	pthread_create(&resizer_thread, NULL, resizer_main, r);
}

void resizer_stop(struct resizer *r)
{
	__atomic_store_n(&r->stop, true, __ATOMIC_RELAXED);
	pthread_join(resizer_thread, NULL);
}
