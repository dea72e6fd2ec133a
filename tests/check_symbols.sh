#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause
# The shared library must export exactly the global names of the version
# script: every public rsz_ symbol, nothing else (nm lists the version node
# itself as an absolute `A' symbol, which is skipped).
set -eu
lib=$1 map=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u)
listed=$(sed -n '/global:/,/local:/p' "$map" | grep -o 'rsz_[a-z0-9_]*' | sort -u)
bad=$(echo "$exported" | grep -v '^rsz_' || true)
if [ -n "$bad" ]; then
	echo "exported without the rsz_ prefix:"; echo "$bad"; exit 1
fi
if [ "$exported" != "$listed" ]; then
	echo "exports differ from $map:"
	diff -u /dev/fd/3 /dev/fd/4 3<<E1 4<<E2 || true
$listed
E1
$exported
E2
	exit 1
fi
echo "symbols: $(echo "$exported" | wc -l) exported, all in the version script"
echo "1 passed, 0 failed"
