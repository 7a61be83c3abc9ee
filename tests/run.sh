#!/bin/bash
# SPDX-License-Identifier: MIT
# The test runner of `make test`: runs every test program, each of which
# prints TAP ("ok N - name", "not ok N - name", "# SKIP reason"), counts the
# results of all of them and ends with one line "N passed, N failed, N skipped".
# A program that exits non-zero without reporting a failure, or reports fewer
# results than its plan, counts as failed: a crash is never a pass.
# Usage: tests/run.sh [PATTERN]  (only programs whose path contains PATTERN)
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
pattern=${1:-}
logdir=$root/build/test-logs
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=()

# The unit tests print TAP through cmocka; everything else prints it itself.
export CMOCKA_MESSAGE_OUTPUT=TAP
export VIGIL_ROOT=$root
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() { # label timeout command...
	local label=$1 limit=$2
	shift 2
	[ -n "$pattern" ] && [[ $label != *"$pattern"* ]] && return
	local log
	log=$logdir/$(echo "$label" | tr '/ ' '__').log
	local start=$SECONDS
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	local rc=$?
	local p f s plan
	p=$(grep -cE '^ok\b' "$log" | head -1)
	s=$(grep -cE '^ok\b.*# *(SKIP|skip)' "$log" | head -1)
	f=$(grep -cE '^not ok\b' "$log" | head -1)
	p=$((p - s))
	plan=$(grep -oE '^1\.\.[0-9]+' "$log" | tail -1 | cut -d. -f3)
	local extra=""
	if [ -n "$plan" ] && [ $((p + s + f)) -lt "$plan" ]; then
		f=$((f + plan - p - s - f))
		extra=" (fewer results than planned)"
	fi
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		extra=" (exit status $rc$([ $rc -eq 124 ] && echo ', timed out'))"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	local status=PASS
	[ "$f" -gt 0 ] && status=FAIL && failures+=("$label")
	printf '%-4s %-44s %3d passed %2d failed %2d skipped %4ds%s\n' \
		"$status" "$label" "$p" "$f" "$s" $((SECONDS - start)) "$extra"
	if [ "$f" -gt 0 ]; then
		grep -E '^not ok|^#' "$log" | head -40 | sed 's/^/     | /'
		[ $rc -ne 0 ] && tail -15 "$log" | sed 's/^/     > /'
	fi
}

# Unit tests, release build then ASan+UBSan build.
for variant in build build/san; do
	for t in "$variant"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "$t" 300 "$t"
	done
done

# CPU-bound runs that wait on nothing in real time, the fuzzers and the ARM
# builds under qemu-user, run beside the rest at the lowest CPU and disk
# priority (nice 19, idle I/O), so that the real-time tests do not feel
# them and they take the CPU those tests leave idle.  Their results are
# printed and counted at the end; their times are wall times at that
# priority.
bg_out=$logdir/background.out
background() {
	renice -n 19 -p "$BASHPID" >/dev/null 2>&1 || true
	ionice -c 3 -p "$BASHPID" >/dev/null 2>&1 || true
	# Fuzzers: short runs (the corpus in tests/fuzz/corpus/).
	if [ -x tests/fuzz/run.sh ]; then
		run_one "tests/fuzz" 300 tests/fuzz/run.sh
	fi
	# The ARM builds (Debian's cross toolchains, -Werror) with their unit
	# tests under qemu-user, the ring's ARMv6 lock-free check and armhf with
	# a 64-bit time_t (tests/cross/).  VIGIL_CROSS=0 leaves them out of a
	# run on purpose (make test-debian13 does: they test the target
	# architectures, not the distribution, and the host's run has them); it
	# is said, not counted.
	if [ "${VIGIL_CROSS:-1}" = 0 ]; then
		echo "tests/cross: not part of this run (VIGIL_CROSS=0)"
	else
		for arch in arm64 armhf; do
			run_one "tests/cross/$arch" 2700 tests/cross/run.sh "$arch"
		done
		run_one "tests/cross/lockfree-armv6" 300 tests/cross/lockfree.sh
		run_one "tests/cross/t64-armhf" 600 tests/cross/t64.sh
	fi
}

# A lane: a function run beside this runner, with counts of its own, into
# a file; lane_end waits for it and adds its lines and counts to ours.
lane_run() { # function
	passed=0 failed=0 skipped=0
	failures=()
	"$1"
	echo "counts $passed $failed $skipped ${failures[*]}"
}
lane() { # file function
	lane_run "$2" >"$1" 2>&1 &
}
lane_end() { # pid file what
	local lp lf ls lfail
	wait "$1"
	read -r _ lp lf ls lfail < <(grep '^counts ' "$2" | tail -1) || true
	read -r -a lfail <<<"${lfail:-}"
	grep -v '^counts ' "$2"
	if [ -z "${lp:-}" ]; then
		echo "FAIL $3: ended without its counts"
		lp=0 lf=1 ls=0 lfail=("$3")
	fi
	passed=$((passed + lp)) failed=$((failed + lf)) skipped=$((skipped + ls))
	failures+=("${lfail[@]}")
}

lane "$bg_out" background
bg=$!
# The integration tests that mostly wait in real time (pre-roll and
# post-roll, a broker's and webhooks' retries, clips at their real pace)
# run in a second lane beside the others: each of them uses a few percent
# of a core, and none shares a port, a ring, a directory or a system user
# with another test (the tests that add users stay in the first lane:
# useradd locks /etc/passwd).
waiting=(tests/integration/test_notify.py tests/integration/test_record.py
	tests/integration/test_record_capture.py)
waiting_lane() {
	for t in "${waiting[@]}"; do
		run_one "$t" 600 /usr/bin/python3 "$t"
	done
}
side_out=$logdir/waiting.out
lane "$side_out" waiting_lane
side=$!
# If this runner is stopped, so are they (timeout passes the signal on).
trap 'pkill -TERM -P "$bg,$side" 2>/dev/null; kill "$bg" "$side" 2>/dev/null' EXIT
# Integration, end-to-end and hostile-input tests: real processes.
for t in tests/integration/test_*.py tests/e2e/test_*.py tests/hostile/test_*.py; do
	[ -f "$t" ] || continue
	[[ " ${waiting[*]} " == *" $t "* ]] && continue
	run_one "$t" 600 /usr/bin/python3 "$t"
done
# The waiting lane's results, before the browsers start.
lane_end "$side" "$side_out" "the waiting lane"
# The browser test (Playwright driving Debian's chromium).
if [ -f tests/browser/run.sh ]; then
	run_one "tests/browser" 600 bash tests/browser/run.sh
fi

# The background runs' results.
lane_end "$bg" "$bg_out" "tests/fuzz, tests/cross"
trap - EXIT
echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in build/test-logs/)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
