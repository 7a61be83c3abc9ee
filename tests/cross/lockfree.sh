#!/bin/bash
# SPDX-License-Identifier: MIT
# The ring's "lock-free on every Raspberry Pi" promise as a test (TAP).
# The ring's code (common/ring*.c) is compiled for ARMv6 as the Pi 1 and the
# Zero run it (-marm -march=armv6 -mfpu=vfp -mfloat-abi=hard) with the
# project's warnings and -Werror; its objects must call nothing of libatomic
# (no undefined __atomic_* or __sync_* symbol: a 64-bit or otherwise
# non-lock-free atomic becomes such a call on ARMv6).  tests/cross/lockfree.c
# asserts at compile time, for ARMv6, ARMv7 (armhf) and AArch64, that every
# word the ring reads outside its seqlock is a lock-free 32-bit atomic.  A
# control compiles a 64-bit atomic load for ARMv6 and must see the libatomic
# call, so that the symbol check is known to be able to fail.
# Usage: make lockfree-armv6 (which passes the project's warnings in
# LOCKFREE_WARN); run directly, this script asks make for them.
set -u
cd "$(dirname "$0")/../.." || exit 1
if [ -z "${LOCKFREE_WARN:-}" ]; then
	unset MAKEFLAGS MFLAGS
	exec make -s --no-print-directory lockfree-armv6
fi
out=build/cross-armv6
mkdir -p "$out"
v6=(arm-linux-gnueabihf-gcc -marm -march=armv6 -mfpu=vfp -mfloat-abi=hard)
# shellcheck disable=SC2206
flags=($LOCKFREE_WARN -D_GNU_SOURCE -Icommon -O2)
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # description command...
	local what=$1 log
	shift
	if log=$("$@" 2>&1); then
		ok "$what"
	else
		notok "$what"
		printf '%s\n' "$log" | head -20 | sed 's/^/# /'
	fi
}

for tool in arm-linux-gnueabihf-gcc arm-linux-gnueabihf-nm aarch64-linux-gnu-gcc; do
	command -v "$tool" >/dev/null ||
		notok "$tool is missing (make cross-deps ARCH=armhf / arm64 installs it)"
done

sources=(common/ring*.c)
for src in "${sources[@]}"; do
	obj=$out/$(basename "$src" .c).o
	if ! check "$src compiles for ARMv6 with -Werror" \
		"${v6[@]}" "${flags[@]}" -c "$src" -o "$obj"; then
		continue
	fi
	calls=$(arm-linux-gnueabihf-nm -u "$obj" | awk '$2 ~ /^__(atomic|sync)_/ {print $2}')
	if [ -z "$calls" ]; then
		ok "$src on ARMv6 calls nothing of libatomic (all its atomics are inline)"
	else
		notok "$src on ARMv6 calls into libatomic: ${calls//$'\n'/ }"
	fi
done

check "ring's unlocked words are lock-free 32-bit atomics on ARMv6" \
	"${v6[@]}" "${flags[@]}" -c tests/cross/lockfree.c -o "$out/lockfree-v6.o"
check "ring's unlocked words are lock-free 32-bit atomics on ARMv7 (armhf)" \
	arm-linux-gnueabihf-gcc "${flags[@]}" -c tests/cross/lockfree.c -o "$out/lockfree-v7.o"
check "ring's unlocked words are lock-free 32-bit atomics on AArch64" \
	aarch64-linux-gnu-gcc "${flags[@]}" -c tests/cross/lockfree.c -o "$out/lockfree-a64.o"

# The control: what the symbol check looks for does appear when it should.
printf '%s\n' '#include <stdatomic.h>' '#include <stdint.h>' \
	'uint64_t control(_Atomic uint64_t *p);' \
	'uint64_t control(_Atomic uint64_t *p) { return atomic_load(p); }' \
	>"$out/control.c"
if "${v6[@]}" -O2 -c "$out/control.c" -o "$out/control.o" &&
	arm-linux-gnueabihf-nm -u "$out/control.o" | grep -q '__atomic_load_8'; then
	ok "control: a 64-bit atomic load on ARMv6 is a libatomic call the check sees"
else
	notok "control: a 64-bit atomic load on ARMv6 did not show as __atomic_load_8"
fi
echo "1..$n"
