/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * sockhash.c - the talk's first example: a load balancer's socket table.
 *
 * Normal load is 10,000 connections; a burst brings 10x that. A fixed map
 * (what BPF offers) must be sized for the burst and holds that memory all
 * the time. An rsz map is charged for what it holds: it starts small, the
 * program itself sets the low-water mark of free entries at which the map
 * grows (the talk's bpf_grow_map()), the data path never allocates
 * (RSZ_F_PREALLOC: the userspace stand-in for a BPF program), and after
 * the burst the map shrinks back.
 *
 * Run: ./build/docs/rsz-sockhash [normal] [burst-factor] [low] [high]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>
#include <rsz/rsz.h>

struct tuple {			/* the key: a TCP 4-tuple */
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t pad;
};

struct sock_info {		/* the value: what the balancer keeps per socket */
	uint64_t backend;
	uint64_t bytes;		/* updated in place through lookup pointers */
	uint64_t packets;
	uint64_t created_ns;
	uint64_t reserved[4];
};

static struct tuple conn(uint64_t i)
{
	struct tuple t = {
		.saddr = 0x0a000000u | (uint32_t)(i >> 16),
		.daddr = 0xc0a80001u,
		.sport = (uint16_t)i,
		.dport = 443,
	};
	return t;
}

/* What BPF's preallocated hash map holds for max_entries elements of this
 * shape: 16-byte buckets for roundup_pow_of_two(max) and elements of
 * 16 bytes of header plus key and value rounded to 8. */
static uint64_t fixed_map_bytes(uint64_t max)
{
	uint64_t buckets = 1;

	while (buckets < max)
		buckets <<= 1;
	return buckets * 16 + max * (16 + sizeof(struct tuple) + sizeof(struct sock_info));
}

static void report(const char *when, struct rsz_hash *h, struct rsz_mem *mem, uint64_t fixed)
{
	struct rsz_hash_stat st;
	struct rsz_mem_stat ms;

	rsz_hash_stat(h, &st, sizeof(st));
	rsz_mem_stat(mem, &ms, sizeof(ms));
	printf("%-22s %7llu conns  capacity %7llu  charged %6.2f MiB (%4.1f%% of a fixed map)  grows %llu shrinks %llu\n",
	       when, (unsigned long long)st.count, (unsigned long long)st.capacity,
	       ms.usage / 1048576.0, 100.0 * (double)ms.usage / (double)fixed,
	       (unsigned long long)st.nr_grow, (unsigned long long)st.nr_shrink);
}

/* The data path: insert connections as fast as possible; a failed insert
 * is a dropped connection, never retried. */
static uint64_t open_conns(struct rsz_hash *h, uint64_t from, uint64_t to)
{
	uint64_t dropped = 0;

	for (uint64_t i = from; i < to; i++) {
		struct tuple k = conn(i);
		struct sock_info v = { .backend = i % 7, .created_ns = i };

		if (rsz_hash_update(h, &k, &v, RSZ_NOEXIST))
			dropped++;
	}
	return dropped;
}

static void close_conns(struct rsz_hash *h, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++) {
		struct tuple k = conn(i);

		rsz_hash_delete(h, &k);
	}
}

int main(int argc, char **argv)
{
	uint64_t normal = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000;
	uint64_t factor = argc > 2 ? strtoull(argv[2], NULL, 0) : 10;
	uint64_t max = normal * factor, dropped;
	uint64_t fixed = fixed_map_bytes(max);
	struct rsz_mem *mem;
	struct rsz_hash *h;

	urcu_memb_register_thread();
	mem = rsz_mem_new(NULL, RSZ_MEM_UNLIMITED);
	RSZ_OPTS(rsz_hash_opts, o,
		 .key_size = sizeof(struct tuple),
		 .value_size = sizeof(struct sock_info),
		 .max_entries = max,
		 .initial_entries = normal + normal / 4,
		 .flags = RSZ_F_PREALLOC | RSZ_F_SHRINK,
		 .mem = mem);
	h = mem ? rsz_hash_new(&o) : NULL;
	if (!h) {
		perror("rsz_hash_new");
		return 1;
	}
	/* The program's own policy (the talk's low-water mark): when fewer
	 * than a normal load's worth of entries are free, grow to have two
	 * normal loads' worth free. How low it may go depends on how fast the
	 * program inserts against how fast the map grows in the background. */
	rsz_hash_set_watermarks(h, argc > 3 ? strtoull(argv[3], NULL, 0) : normal,
				argc > 4 ? strtoull(argv[4], NULL, 0) : 2 * normal);

	printf("sockhash: normal load %llu connections, bursts up to %llu (max_entries)\n",
	       (unsigned long long)normal, (unsigned long long)max);
	printf("a fixed BPF-style map sized for the burst holds %.2f MiB all the time\n\n",
	       fixed / 1048576.0);

	dropped = open_conns(h, 0, normal);
	report("normal load", h, mem, fixed);

	/* The burst: one data-path thread inserting as fast as it can. */
	dropped += open_conns(h, normal, max);
	report("during the burst", h, mem, fixed);
	printf("%22s %llu connections dropped (-EAGAIN/-ENOMEM, never retried)\n", "",
	       (unsigned long long)dropped);

	{	/* Values are updated in place through the lookup pointer. */
		struct tuple k = conn(42);
		struct sock_info *si;

		urcu_memb_read_lock();
		si = rsz_hash_lookup(h, &k);
		if (si)
			__atomic_add_fetch(&si->bytes, 1500, __ATOMIC_RELAXED);
		urcu_memb_read_unlock();
	}

	close_conns(h, normal, max);
	/* RSZ_F_SHRINK queued a shrink; give the worker a moment. */
	for (int i = 0; i < 100; i++) {
		struct rsz_hash_stat st;

		rsz_hash_stat(h, &st, sizeof(st));
		if (st.nr_shrink && !st.grow_pending)
			break;
		usleep(10000);
	}
	rsz_hash_maintain(h);
	urcu_memb_barrier();
	report("after the burst", h, mem, fixed);

	rsz_hash_destroy(h);
	rsz_mem_destroy(mem);
	urcu_memb_unregister_thread();
	/* Dropped connections are the demo's result, not its failure. */
	return 0;
}
