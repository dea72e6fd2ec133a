#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause
"""Write fuzz_array's seed corpus (tests/fuzz/corpus/array/).

The input format is fuzz_array.c's: 4 header bytes, then per operation a
kind byte (enum akind in support/array_model.h) and three little-endian
32-bit arguments. Each seed reaches one area, so that the fuzzer starts
from there: grow and shrink, the max_entries cap, the memory limit (on a
grow, and at creation), watermark grows, bad input. Run it again after a
change of the format or of enum akind.
"""
import os
import struct

# enum akind
UPDATE, LOOKUP, ALLOC, RELEASE, GROW, SHRINK, MAINTAIN, WATERMARKS, STAT, \
    CHECK, BAD, MEM_MAX = range(12)
ANY, EXIST, NOEXIST = 0, 1, 2        # update's arg 2 selects the flag
WAIT, ASYNC = 1, 0                   # grow's and shrink's arg 1
LAST = 1                             # release's arg 0: the last allocated


def header(range_sel, capped=False, shrink=False, vsz=8, initial=0, mem=0):
    return bytes([range_sel | (4 if capped else 0) | (8 if shrink else 0),
                  (vsz - 1) % 24, initial, mem])


def op(kind, a=0, b=0, c=0):
    return struct.pack('<BIII', kind, a, b, c)


SEEDS = {
    # 1000 slots: grow by hand, fill a little, release, shrink back, grow
    # by an asynchronous hint run in maintain.
    'grow-shrink': header(3, shrink=True, vsz=24) + b''.join([
        op(GROW, 900, WAIT), *[op(ALLOC) for _ in range(5)],
        op(UPDATE, 3, 77, ANY), op(CHECK, 0), op(RELEASE, LAST),
        op(SHRINK, 0, WAIT), op(MAINTAIN), op(STAT, 0, 0),
        op(GROW, 500, ASYNC), op(MAINTAIN), op(STAT, 0, 0),
        op(SHRINK, 0, ASYNC), op(MAINTAIN), op(CHECK, 0), op(STAT, 0, 0),
    ]),
    # 10 slots capped: alloc past max_entries (-E2BIG), grow past it,
    # reuse a released slot only after maintain's grace period.
    'capped': header(1, capped=True, vsz=1) + b''.join([
        *[op(ALLOC) for _ in range(12)], op(GROW, 12, WAIT),
        op(RELEASE, LAST), op(ALLOC), op(MAINTAIN), op(ALLOC),
        op(UPDATE, 9, 5, EXIST), op(UPDATE, 10, 5, ANY), op(CHECK, 0),
    ]),
    # A memory limit a little above the creation's usage: a queued grow
    # fails in maintain, a waiting grow fails (-ENOMEM, capacity
    # unchanged), allocs run dry (-ENOMEM); a limit below the usage is
    # refused; lifting the limit lets the grow through.
    'mem-limit': header(3, vsz=8) + b''.join([
        op(MEM_MAX, 1, 256), op(GROW, 800, ASYNC), op(MAINTAIN),
        op(GROW, 1000, WAIT), *[op(ALLOC) for _ in range(66)],
        op(GROW, 800, ASYNC), op(MEM_MAX, 3, 1), op(MEM_MAX, 0),
        op(GROW, 1000, WAIT), op(ALLOC), op(STAT, 0, 0),
    ]),
    # The counter's limit refuses the array itself.
    'mem-limit-at-create': header(3, vsz=24, initial=200, mem=1),
    # Watermark-driven grows: free slots below 8 queue a grow to
    # nr_used + 32, which maintain runs; then everything goes back.
    'watermarks': header(2, shrink=True, vsz=8) + b''.join([
        op(WATERMARKS, 8, 32), *[op(ALLOC) for _ in range(60)], op(MAINTAIN),
        op(STAT, 0, 0), *[op(ALLOC) for _ in range(10)],
        *[op(RELEASE, 2 * i) for i in range(40)], op(MAINTAIN),
        op(SHRINK, 0, WAIT), op(STAT, 0, 0),
    ]),
    # Every bad input the model knows, and the update flags.
    'bad-input': header(1, vsz=8) + b''.join([
        op(BAD, 0), op(BAD, 1), op(BAD, 2, 7), op(BAD, 3, 9),
        op(UPDATE, 4, 1, ANY), op(UPDATE, 4, 2, EXIST), op(UPDATE, 4, 3, NOEXIST),
        op(UPDATE, 11, 1, ANY), op(LOOKUP, 11), op(RELEASE, 2), op(WATERMARKS, 9, 3),
    ]),
}

if __name__ == '__main__':
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'array')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
