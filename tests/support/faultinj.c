/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "faultinj.h"
#include "platform.h"

/* A scenario with more allocation sites than this is a runaway. */
#define FI_MAX_SITES 1000000

void faultinj_before(struct faultinj *fi)
{
	struct rsz_mem_stat st;

	fi->step++;
	fi->fails_before = __atomic_load_n(&fi->ta.failures, __ATOMIC_RELAXED);
	rsz_mem_stat(fi->mem, &st, sizeof(st));
	fi->failcnt_before = st.failcnt;
	if (fi->mode == FI_LIMIT && fi->step == fi->k) {
		/* Nothing more fits: any charge of this step is refused. */
		fi->limited = rsz_mem_set_max(fi->mem, st.usage) == 0;
		faultinj_check(fi, fi->limited, "set_max(usage) failed at step %" PRIu64,
			       fi->step);
	}
}

bool faultinj_after(struct faultinj *fi)
{
	struct rsz_mem_stat st;
	bool hit;

	rsz_mem_stat(fi->mem, &st, sizeof(st));
	hit = __atomic_load_n(&fi->ta.failures, __ATOMIC_RELAXED) != fi->fails_before ||
	      st.failcnt != fi->failcnt_before;
	if (fi->limited) {
		rsz_mem_set_max(fi->mem, RSZ_MEM_UNLIMITED);
		fi->limited = false;
	}
	if (hit)
		fi->injected++;
	return hit;
}

bool faultinj_check(struct faultinj *fi, bool cond, const char *fmt, ...)
{
	va_list ap;

	if (cond)
		return false;
	if (!fi->failed) {
		va_start(ap, fmt);
		vsnprintf(fi->msg, sizeof(fi->msg), fmt, ap);
		va_end(ap);
	}
	fi->failed = true;
	return true;
}

static const char *mode_name(enum faultinj_mode m)
{
	return m == FI_CLEAN ? "clean" : m == FI_ALLOC ? "allocation" : "limit";
}

/* One run; 0, or -1 with the violation printed. */
static int run_once(const struct faultinj_scenario *s, enum faultinj_mode mode,
		    uint64_t k, struct faultinj *fi, FILE *out)
{
	struct rsz_mem_stat st;
	int err;

	memset(fi, 0, sizeof(*fi));
	test_alloc_init(&fi->ta);
	fi->mode = mode;
	fi->k = k;
	if (mode == FI_ALLOC)
		fi->ta.fail_at = k;
	fi->mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	if (!fi->mem) {
		fprintf(out, "faultinj %s: rsz_mem_new failed\n", s->name);
		return -1;
	}
	err = s->run(fi, s->ctx);
	faultinj_check(fi, err == 0, "scenario returned %d", err);
	/* Nothing leaks: the allocator and the counter are back to zero. */
	faultinj_check(fi, __atomic_load_n(&fi->ta.live_blocks, __ATOMIC_RELAXED) == 0 && test_alloc_live(&fi->ta) == 0,
		       "leak at destroy: %" PRIu64 " blocks, %" PRIu64 " bytes live",
		       __atomic_load_n(&fi->ta.live_blocks, __ATOMIC_RELAXED), test_alloc_live(&fi->ta));
	rsz_mem_stat(fi->mem, &st, sizeof(st));
	faultinj_check(fi, st.usage == 0 && st.deferred == 0,
		       "counter at destroy: usage %" PRIu64 ", deferred %" PRIu64,
		       st.usage, st.deferred);
	err = rsz_mem_destroy(fi->mem);
	faultinj_check(fi, err == 0, "counter not destroyable: %d", err);
	if (err) {	/* after a reported leak: free the counter anyway */
		rsz_mem_uncharge(fi->mem, st.usage);
		rsz_mem_destroy(fi->mem);
	}
	if (fi->failed) {
		fprintf(out, "faultinj %s: %s run, k = %" PRIu64 " (step %" PRIu64
			" reached, %" PRIu64 " hit): %s\n", s->name, mode_name(mode),
			k, fi->step, fi->injected, fi->msg);
		return -1;
	}
	return 0;
}

static int run_all(const struct faultinj_scenario *s, struct faultinj_stats *st, FILE *out)
{
	struct faultinj fi;
	uint64_t k, steps;

	memset(st, 0, sizeof(*st));
	if (run_once(s, FI_CLEAN, 0, &fi, out))
		return -1;
	st->alloc_sites = fi.ta.calls;
	steps = fi.step;
	if (fi.injected) {
		fprintf(out, "faultinj %s: the clean run saw %" PRIu64 " failures\n",
			s->name, fi.injected);
		return -1;
	}
	for (k = 1; k <= FI_MAX_SITES; k++) {
		if (run_once(s, FI_ALLOC, k, &fi, out))
			return -1;
		st->alloc_runs++;
		st->injected += fi.injected;
		if (!fi.ta.failures)
			break;	/* the k-th call never came: every site failed once */
		if (!fi.injected) {
			fprintf(out, "faultinj %s: allocation %" PRIu64 " failed outside any "
				"step the scenario checks\n", s->name, k);
			return -1;
		}
	}
	if (k > FI_MAX_SITES) {
		fprintf(out, "faultinj %s: more than %d allocation sites\n", s->name,
			FI_MAX_SITES);
		return -1;
	}
	for (k = 1; k <= steps; k++) {
		if (run_once(s, FI_LIMIT, k, &fi, out))
			return -1;
		st->limit_steps++;
		st->injected += fi.injected;
	}
	return 0;
}

int faultinj_run(const struct faultinj_scenario *s, struct faultinj_stats *st, FILE *out)
{
	rsz_flavor_t f = rsz_default_flavor();
	int ret;

	f->register_thread();
	ret = run_all(s, st, out);
	f->unregister_thread();
	if (!ret)
		fprintf(out, "faultinj %s: %" PRIu64 " allocation sites failed one by one, %" PRIu64
			" steps at the limit, %" PRIu64 " operations hit\n",
			s->name, st->alloc_sites, st->limit_steps, st->injected);
	return ret;
}
