/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * demo.c - memory counters: a budget for a group of maps, charged exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <rsz/rsz.h>

static void show(const char *name, const struct rsz_mem *m)
{
	struct rsz_mem_stat st;

	rsz_mem_stat(m, &st, sizeof(st));
	printf("  %-8s usage %6llu  peak %6llu  max %6llu  failcnt %llu\n", name,
	       (unsigned long long)st.usage, (unsigned long long)st.peak,
	       (unsigned long long)st.max, (unsigned long long)st.failcnt);
}

int main(void)
{
	struct rsz_mem *all = rsz_mem_new(NULL, 64 * 1024);
	struct rsz_mem *lb = rsz_mem_new(all, 48 * 1024);
	struct rsz_mem *policy = rsz_mem_new(all, RSZ_MEM_UNLIMITED);

	if (!all || !lb || !policy)
		return 1;
	printf("two maps' budgets under one 64 KiB parent:\n");
	rsz_mem_charge(lb, 40 * 1024);
	rsz_mem_charge(policy, 20 * 1024);
	show("all", all), show("lb", lb), show("policy", policy);
	printf("lb asks for 16 KiB more: %s\n",
	       rsz_mem_charge(lb, 16 * 1024) == -ENOMEM ? "-ENOMEM (its own max)" : "ok");
	printf("policy asks for 8 KiB more: %s\n",
	       rsz_mem_charge(policy, 8 * 1024) == -ENOMEM ? "-ENOMEM (the parent's max)" : "ok");
	show("all", all), show("lb", lb), show("policy", policy);
	rsz_mem_uncharge(lb, 40 * 1024);
	rsz_mem_uncharge(policy, 20 * 1024);
	rsz_mem_destroy(lb);
	rsz_mem_destroy(policy);
	rsz_mem_destroy(all);
	return 0;
}
