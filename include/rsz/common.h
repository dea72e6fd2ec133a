/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/*
 * rsz/common.h - flags, allocator ops and ABI helpers shared by every rsz
 * structure.
 */
#ifndef RSZ_COMMON_H
#define RSZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef RSZ_API
#define RSZ_API __attribute__((visibility("default")))
#endif

/* Update flags: the values of BPF_ANY, BPF_NOEXIST and BPF_EXIST. */
#define RSZ_ANY      0	/* create or replace */
#define RSZ_NOEXIST  1	/* create only, else -EEXIST */
#define RSZ_EXIST    2	/* replace only, else -ENOENT */

/* Grow and shrink hints. */
#define RSZ_GROW_ASYNC 0 /* queue it; never blocks, never allocates in the caller */
#define RSZ_GROW_WAIT  1 /* resize in the caller now; may allocate and block */

/* Structure flags (struct rsz_hash_opts.flags, struct rsz_array_opts.flags). */
#define RSZ_F_PREALLOC  (1u << 0) /* hash: elements come from a pool that grows in the background */
#define RSZ_F_SHRINK    (1u << 1) /* shrink automatically when mostly empty */
#define RSZ_F_ZERO_SEED (1u << 2) /* hash: fixed hash seed, for reproducible tests */
#define RSZ_F_MANUAL    (1u << 3) /* no rsz thread: queued work runs in *_maintain() */

/*
 * struct rsz_allocator - where a structure gets its memory.
 * @alloc: returns @size bytes aligned to @align (a power of two, at most
 *         4096), or NULL. May be called from rsz's worker thread, from
 *         RSZ_GROW_WAIT callers and, in default hash mode, from
 *         rsz_hash_update(); never from an async-signal-safe path.
 * @free:  returns memory obtained from @alloc; @size is the size asked for.
 *         May be called from liburcu's call_rcu thread.
 * @ctx:   passed back to both.
 */
struct rsz_allocator {
	void *(*alloc)(size_t size, size_t align, void *ctx);
	void (*free)(void *ptr, size_t size, void *ctx);
	void *ctx;
};

/*
 * RSZ_OPTS(type, name, ...) - declare an options struct with .sz filled in
 * and every field not named zeroed, the libbpf way:
 *
 *	RSZ_OPTS(rsz_hash_opts, o, .key_size = 8, .value_size = 8);
 *	struct rsz_hash *h = rsz_hash_new(&o);
 */
#define RSZ_OPTS(type, name, ...)					\
	struct type name = { .sz = sizeof(struct type), __VA_ARGS__ }

#ifdef __cplusplus
}
#endif

#endif /* RSZ_COMMON_H */
