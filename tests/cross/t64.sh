#!/bin/bash
# SPDX-License-Identifier: MIT
# 32-bit ARM with a 64-bit time_t and off_t, as Debian 13 (and Raspberry Pi
# OS on it) builds armhf: every C and C++ source compiles for
# arm-linux-gnueabihf with -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64 and the
# project's warnings and -Werror (a time_t printed with %ld, or stored in a
# long, fails here and nowhere else).  Compile only: the sysroot's libraries
# are Debian 12's, built with a 32-bit time_t, so nothing is linked.  TAP.
# Usage: make cross-t64 (which passes the project's warnings); run directly,
# this script asks make for them.
set -u
cd "$(dirname "$0")/../.." || exit 1
if [ -z "${CROSS_WARN:-}" ]; then
	unset MAKEFLAGS MFLAGS
	exec make -s --no-print-directory cross-t64
fi
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
sysroot=build/cross-armhf/sysroot
if ! log=$(cross/sysroot.sh armhf "$sysroot" 2>&1); then
	notok "armhf sysroot (cross/sysroot.sh armhf)"
	printf '%s\n' "$log" | tail -10 | sed 's/^/# /'
	echo "1..$n"
	exit 1
fi
t64=(-D_GNU_SOURCE -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64 -Icommon -Icapture -Irecorder
	-Iserver -Itests -O2 -fsyntax-only)
# shellcheck disable=SC2206
cwarn=($CROSS_WARN)
# shellcheck disable=SC2206
cxxwarn=($CROSS_CXXWARN)
failed=0 count=0
for src in common/*.c capture/*.c server/*.c recorder/*.c tests/*.c tests/tools/*.c bench/*.c capture/*.cpp; do
	[ -f "$src" ] || continue
	count=$((count + 1))
	if [[ $src == *.cpp ]]; then
		cmd=(arm-linux-gnueabihf-g++ "--sysroot=$sysroot" "${cxxwarn[@]}"
			"-I$sysroot/usr/include/libcamera")
	else
		cmd=(arm-linux-gnueabihf-gcc "--sysroot=$sysroot" "${cwarn[@]}")
	fi
	if ! out=$("${cmd[@]}" "${t64[@]}" "$src" 2>&1); then
		failed=$((failed + 1))
		notok "$src compiles for armhf with a 64-bit time_t and off_t"
		printf '%s\n' "$out" | grep -E 'error|warning' | head -5 | sed 's/^/# /'
	fi
done
if [ "$count" -gt 0 ] && [ "$failed" -eq 0 ]; then
	ok "all $count sources compile for armhf with a 64-bit time_t and off_t (-Werror)"
fi
# The control: the flags do change time_t, so the check can fail.
if printf '%s\n' '#include <stdio.h>' '#include <time.h>' \
	'void show(time_t t);' 'void show(time_t t) { printf("%ld", t); }' |
	arm-linux-gnueabihf-gcc "${cwarn[@]}" "${t64[@]}" -x c - 2>/dev/null; then
	notok "control: printing a 64-bit time_t with %ld was not refused"
else
	ok "control: printing a 64-bit time_t with %ld is refused"
fi
echo "1..$n"
