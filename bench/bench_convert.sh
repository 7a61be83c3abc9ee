#!/bin/bash
# SPDX-License-Identifier: MIT
# Camera pictures to JPEG on one core: YUYV (USB webcams) and NV12 converted
# to I420 then encoded, beside I420 encoded directly (libcamera's format and
# testsrc's encode path).  fps = what one core sustains for that size; run it
# on the Pi itself (`make bench`, or build/bench/convert_bench after `make
# build/bench/convert_bench`) to see which size and rate your Pi can carry.
set -u
cd "$(dirname "$0")/.."
bin=${VIGIL_BUILD:-build}/bench/convert_bench
[ -x "$bin" ] || { echo "bench_convert: $bin not built"; exit 1; }
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
echo "== camera conversions + JPEG encode, one core (${pin[*]:-unpinned}) =="
"${pin[@]}" "$bin" "${VIGIL_BENCH_SECONDS:-1.5}"
echo
