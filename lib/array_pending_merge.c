/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* TEMPORARY until the array branch merges: PREALLOC maps refuse creation. */
#include "array_internal.h"
struct rsz_array *rsz__array_new(const struct rsz_array_opts *o, const struct rsz_array_hooks *k) { (void)o; (void)k; errno = ENOSYS; return NULL; }
uint64_t rsz__array_free_slots(const struct rsz_array *a) { (void)a; return 0; }
int rsz__array_maintain(struct rsz_array *a) { (void)a; return 0; }
bool rsz__array_next_grow_hopeless(struct rsz_array *a) { (void)a; return false; }
int rsz_array_alloc(struct rsz_array *a, uint64_t *i) { (void)a; (void)i; return -ENOSYS; }
int rsz_array_release(struct rsz_array *a, uint64_t i) { (void)a; (void)i; return -ENOSYS; }
int rsz_array_grow(struct rsz_array *a, uint64_t n, unsigned int f) { (void)a; (void)n; (void)f; return -ENOSYS; }
int rsz_array_shrink(struct rsz_array *a, unsigned int f) { (void)a; (void)f; return -ENOSYS; }
void rsz_array_stat(struct rsz_array *a, struct rsz_array_stat *s, size_t n) { (void)a; memset(s, 0, n); }
void rsz_array_destroy(struct rsz_array *a) { (void)a; }
