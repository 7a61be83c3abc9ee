#!/bin/bash
# SPDX-License-Identifier: MIT
# vigil-record's cost (issue 12): CPU per recorded frame beside `cat`
# writing the same bytes (target <= 1.5x), and bytes written to disk per
# byte of JPEG (target <= 1.05).  See bench/record_bench.py for the method.
# Environment: RECORD_BENCH_ROUNDS (3), RECORD_BENCH_FRAMES (600),
# RECORD_BENCH_FPS (60), RECORD_BENCH_SIZE (1280x720), BENCH_BUILD (build),
# RECORD_BENCH_OTHER (another vigil-record binary to compare, e.g. an older build).
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_BUILD:-build}
for bin in vigil-record tools/recfeed; do
	[ -x "$B/$bin" ] || { echo "bench_record: $B/$bin missing (make bench builds it)" >&2; exit 1; }
done
echo "== vigil-record: CPU per recorded frame and bytes written, $(nproc) cores"
python3 bench/record_bench.py "$B" "${RECORD_BENCH_ROUNDS:-3}" "${RECORD_BENCH_FRAMES:-600}" \
	"${RECORD_BENCH_FPS:-60}" "${RECORD_BENCH_SIZE:-1280x720}"
echo
