/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
/* rsz/rsz.h - everything rsz offers. */
#ifndef RSZ_RSZ_H
#define RSZ_RSZ_H

#include <rsz/common.h>
#include <rsz/mem.h>
#include <rsz/array.h>
#include <rsz/hash.h>

#endif /* RSZ_RSZ_H */
