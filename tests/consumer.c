/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* Built by check_consumer.sh against the installed library alone. */
#include <stdio.h>
#include <rsz/rsz.h>

int main(void)
{
	struct rsz_mem *m = rsz_mem_new(NULL, 1024);
	struct rsz_mem_stat st;

	if (!m || rsz_mem_charge(m, 1000) || rsz_mem_charge(m, 25) != -12)
		return 1;
	rsz_mem_stat(m, &st, sizeof(st));
	if (st.usage != 1000 || st.failcnt != 1)
		return 1;
	if (rsz_mem_uncharge(m, 1000) || rsz_mem_destroy(m))
		return 1;
	printf("consumer: linked against installed rsz, counters work\n");
	return 0;
}
