#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause
# Install into a temporary DESTDIR, then build and run a program with only
# `pkg-config --cflags --libs rsz' (PKG_CONFIG_SYSROOT_DIR points the
# installed rsz.pc's paths into the DESTDIR).
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild --quiet >/dev/null
pc=$(dirname "$(find "$tmp/root" -name rsz.pc | head -n 1)")
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs rsz)
libdir=$(pkg-config --variable=libdir rsz)
case "$libdir" in "$tmp/root"*) ;; *) libdir="$tmp/root$libdir" ;; esac
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer" "$src" $flags
LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
# The program must have used the installed library, not a system one.
LD_LIBRARY_PATH="$libdir" ldd "$tmp/consumer" | grep -q "$libdir/librsz.so"
echo "1 passed, 0 failed"
