/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * Built and run only in the TSan build, where it must FAIL (meson
 * should_fail): a writer frees the object it just unpublished without
 * waiting for a grace period, while readers read it inside annotated
 * read-side sections. The grace-period annotation of lib/platform.h must
 * not hide this real use after free; test_rcu shows the other half (with a
 * grace period, TSan stays quiet). Anywhere else this would be undefined
 * behaviour, which is why no other build compiles it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "platform.h"

struct obj {
	uint64_t a, b;
};

static struct obj *cur;
static int stop;
static uint64_t sink;

static void *reader(void *arg)
{
	rsz_flavor_t f = rsz_default_flavor();
	uint64_t s = 0;

	(void)arg;
	f->register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct obj *o;

		rsz_rcu_read_lock(f);
		o = rsz_dereference(cur);
		s += o->a + o->b;
		rsz_rcu_read_unlock(f);
	}
	f->unregister_thread();
	__atomic_add_fetch(&sink, s, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	pthread_t th[2];

	cur = calloc(1, sizeof(*cur));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 20000; i++) {
		struct obj *o = calloc(1, sizeof(*o)), *old = cur;

		o->a = (uint64_t)i;
		rsz_assign_pointer(cur, o);
		free(old);	/* the bug: no grace period */
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	free(cur);
	return 0;
}
