#!/bin/bash
# SPDX-License-Identifier: MIT
# The ARM builds' unit tests under qemu-user, as one TAP program for
# tests/run.sh: builds build/cross-ARCH/ (make cross, -Werror, libcamera
# included) unless --no-build, then runs every cmocka unit test there,
# the ring's multi-process torture test among them, under qemu-user with the
# target's libraries from build/cross-ARCH/sysroot.  On armhf, clang also
# checks the sources for silent 64-to-32-bit truncations.  Each unit test case is
# one TAP result "ARCH test_x: case"; a binary that crashes, times out or
# reports fewer cases than it planned is a failure.
# Usage: tests/cross/run.sh [--no-build] arm64|armhf
set -u
cd "$(dirname "$0")/../.." || exit 1
build=yes
if [ "${1:-}" = --no-build ]; then
	build=no
	shift
fi
arch=${1:-}
case $arch in
arm64) qemu="qemu-aarch64-static" ;;
armhf) qemu="qemu-arm-static" ;;
*) echo "usage: tests/cross/run.sh [--no-build] arm64|armhf" >&2; exit 2 ;;
esac
dir=build/cross-$arch
# Run by tests/run.sh under `make test`: a make of our own, not a sub-make
# with the outer one's job server.
unset MAKEFLAGS MFLAGS
n=0
ok() { n=$((n + 1)); echo "ok $n - $arch $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $arch $*"; }

if [ $build = yes ]; then
	start=$SECONDS
	mkdir -p build
	if make -s -j"$(nproc)" cross ARCH="$arch" >"$dir.build.log" 2>&1; then
		ok "cross build with -Werror, libcamera included ($((SECONDS - start))s)"
	else
		notok "cross build with -Werror (make cross ARCH=$arch)"
		tail -20 "$dir.build.log" | sed 's/^/# /'
		echo "1..$n"
		exit 1
	fi
fi
# The build must have used libcamera: vigil-capture linked with it.
if grep -q libcamera <(readelf -d "$dir/vigil-capture" 2>/dev/null); then
	ok "vigil-capture links libcamera"
else
	notok "vigil-capture links libcamera (missing or built without it)"
fi
# The daemons start on the target: --help runs the whole program start-up
# path of the dynamic loader and every library under emulation.
for bin in vigil-capture vigil-server; do
	if out=$(timeout 60 "$qemu" -L "$dir/sysroot" "$dir/$bin" --help 2>&1); then
		ok "$bin --help runs under $qemu"
	else
		notok "$bin --help runs under $qemu"
		printf '%s\n' "$out" | tail -5 | sed 's/^/# /'
	fi
done

# On 32-bit ARM, size_t and long are 32 bits: no value of 64 bits may be cut
# to them without a cast that says so (clang's -Wshorten-64-to-32 on the
# daemons' and tools' sources; the unit tests are not held to it).
if [ "$arch" = armhf ]; then
	warnings=
	for src in common/*.c capture/*.c capture/*.cpp server/*.c recorder/*.c tests/tools/*.c bench/*.c; do
		[ -f "$src" ] || continue
		cc=(clang -std=c17)
		[[ $src == *.cpp ]] && cc=(clang++ -std=c++17)
		warnings+=$("${cc[@]}" --target=arm-linux-gnueabihf --sysroot="$dir/sysroot" \
			-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Icommon -Icapture -Iserver -Irecorder \
			-I"$dir/sysroot/usr/include/libcamera" -Wshorten-64-to-32 \
			-fsyntax-only "$src" 2>&1 | grep -E '^[a-z].*(warning|error):')
	done
	if [ -z "$warnings" ]; then
		ok "no implicit 64-to-32-bit truncation (clang -Wshorten-64-to-32)"
	else
		notok "implicit 64-to-32-bit truncations (clang -Wshorten-64-to-32)"
		printf '%s\n' "$warnings" | head -20 | sed 's/^/# /'
	fi
fi

export CMOCKA_MESSAGE_OUTPUT=TAP
tests=("$dir"/tests/test_*)
if [ ! -x "${tests[0]}" ]; then
	notok "unit tests: none built in $dir/tests"
	echo "1..$n"
	exit 1
fi
for t in "${tests[@]}"; do
	name=$(basename "$t")
	start=$SECONDS
	# 1500 s: tests/run.sh runs this at nice 19 beside the rest of the
	# suite, so a long one (armhf test_motion: about 300 s of emulated
	# CPU) may wait for the CPU most of the time.
	out=$(timeout --kill-after=10 1500 "$qemu" -L "$dir/sysroot" "$t" 2>&1)
	rc=$?
	results=0 plan=
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
			results=$((results + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				notok "$name: ${BASH_REMATCH[2]}"
			else
				ok "$name: ${BASH_REMATCH[2]}"
			fi
		elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=${BASH_REMATCH[1]}
		elif [[ $line == "#"* ]]; then
			echo "# $arch $name: ${line#\#}"
		fi
	done <<<"$out"
	if [ $rc -ne 0 ] || [ -z "$plan" ] || [ "$results" -lt "$plan" ]; then
		notok "$name: exit status $rc, $results of ${plan:-?} results$([ $rc -eq 124 ] && echo ', timed out')"
		printf '%s\n' "$out" | tail -15 | sed 's/^/# /'
	fi
	echo "# $arch $name: $((SECONDS - start))s under $qemu"
done
echo "1..$n"
