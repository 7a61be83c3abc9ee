#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs every fuzzer that `make fuzz` built from tests/fuzz/fuzz_*.c
# (clang's libFuzzer + ASan + UBSan, in build/fuzz/; see tests/tests.mk) for
# FUZZ_SECONDS (default 10) from its corpus in tests/fuzz/corpus/<name>/ (new
# inputs go to build/fuzz/corpus-<name>/, the repo's corpus is only read).
# Prints TAP, one line per fuzzer; a harness that was not built fails.
# Longer run: FUZZ_SECONDS=3600 tests/fuzz/run.sh, or by hand:
#   build/fuzz/fuzz_ring -max_total_time=3600 build/fuzz/corpus-ring tests/fuzz/corpus/ring
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${FUZZ_SECONDS:-10}
out=build/fuzz
mkdir -p "$out"
n=0 fail=0
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	short=${name#fuzz_}
	n=$((n + 1))
	if [ ! -x "$out/$name" ]; then
		echo "not ok $n - $name is built (make fuzz builds it)"
		fail=$((fail + 1))
		continue
	fi
	mkdir -p "$out/corpus-$short" "tests/fuzz/corpus/$short"
	if "$out/$name" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$out/" "$out/corpus-$short" "tests/fuzz/corpus/$short" \
		>"$out/$name.log" 2>&1; then
		runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$out/$name.log" | grep -oE '[0-9]+$')
		cov=$(grep -oE 'cov: [0-9]+' "$out/$name.log" | tail -1)
		echo "ok $n - $name: ${runs:-?} runs in ${secs}s, $cov, no crash"
	else
		echo "not ok $n - $name found a crash (see $out/$name.log; the input is in $out/)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$out/$name.log" | head -10 | sed 's/^/# /'
		fail=$((fail + 1))
	fi
done
echo "1..$n"
[ "$fail" -eq 0 ]
