#!/bin/bash
# SPDX-License-Identifier: MIT
# Camera pictures to JPEG on one core: YUYV (USB webcams) and NV12 converted
# to I420 then encoded, beside I420 encoded directly (libcamera's format) and
# testsrc's own encode rate (encode_bench, the same accurate DCT).  fps = what
# one core sustains for that input and size; run it on the Pi itself (`make
# bench`) to see which size and rate your Pi carries.  MJPEG webcams cost
# neither: their frames are published as they come.
# Env: VIGIL_BENCH_SECONDS per row (1.5).
set -u
cd "$(dirname "$0")/.." || exit 1
B=${VIGIL_BUILD:-build}
bin=$B/bench/convert_bench
secs=${VIGIL_BENCH_SECONDS:-1.5}
[ -x "$bin" ] || { echo "bench_convert: $bin not built"; exit 1; }
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
echo "== camera pictures -> JPEG, one core (${pin[*]:-unpinned}); ms are medians per frame, best = fastest frame"
"${pin[@]}" "$bin" "$secs"
if [ -x "$B/bench/encode_bench" ]; then
	for size in 1280x720 1920x1080; do
		line=$("${pin[@]}" "$B/bench/encode_bench" --size "$size" \
			--dct accurate --seconds "$secs")
		fps=$(echo "$line" | sed -n 's/.*fps=\([0-9.]*\).*/\1/p')
		bytes=$(echo "$line" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
		printf '%-26s %-10s %8s %8s %9s %8s %8s %6s\n' \
			"testsrc (encode_bench)" "$size" - - - "$fps" - \
			"$((${bytes:-0} / 1024))"
	done
fi
echo
