#!/bin/bash
# SPDX-License-Identifier: MIT
# Encode rate of vigil-capture beside libjpeg-turbo's own tjbench, on one
# core (taskset -c 0), for the same work: the testsrc picture at 1280x720
# (time overlay included), 4:2:0 planes in (tjbench -yuv: "Comp from YUV"),
# quality 85, baseline JPEG out, the same DCT.  tjbench reads a PPM of the
# very same picture (encode_bench --write-ppm) and turns it into YUV planes
# before its timed loop, so both time compression from planes only.
# Each figure is the best of $ROUNDS runs of $SECS s (the machine is shared).
# Env: BENCH_SIZE (1280x720), BENCH_QUALITY (85), BENCH_SECONDS (2),
# BENCH_ROUNDS (3).
set -eu
cd "$(dirname "$0")/.."
B=${VIGIL_BUILD:-build}
bin=$B/bench/encode_bench
size=${BENCH_SIZE:-1280x720}
q=${BENCH_QUALITY:-85}
secs=${BENCH_SECONDS:-2}
rounds=${BENCH_ROUNDS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== encode: testsrc ${size} q${q} 4:2:0 from YUV planes, one core (taskset -c 0), best of $rounds x ${secs}s"
if ! command -v tjbench >/dev/null; then
	echo "tjbench not found (Debian package libjpeg-turbo-progs)"
	exit 1
fi
"$bin" --size "$size" --write-ppm "$tmp/testsrc.ppm"

best() { sort -g | tail -1; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

printf '%-9s %12s %14s %12s %7s %13s %9s\n' dct "vigil fps" "vigil->ring" \
	"tjbench fps" ratio "bytes v/tj" "PSNR-Y dB"
for dct in fast accurate; do
	v="" r="" tj="" line="" tjout=""
	for _ in $(seq "$rounds"); do
		line=$(taskset -c 0 "$bin" --size "$size" --quality "$q" \
			--dct "$dct" --seconds "$secs")
		v="$v $(echo "$line" | field fps)"
		r="$r $(taskset -c 0 "$bin" --size "$size" --quality "$q" \
			--dct "$dct" --seconds "$secs" --ring | field fps)"
		tjout=$(taskset -c 0 tjbench "$tmp/testsrc.ppm" "$q" -yuv \
			-subsamp 420 -componly -nowrite -"${dct}dct" \
			-benchtime "$secs" -warmup 0.5 2>&1)
		tj="$tj $(echo "$tjout" | sed -n 's/^Comp from YUV --> Frame rate: *\([0-9.]*\) fps/\1/p')"
	done
	vb=$(echo $v | tr ' ' '\n' | best)
	rb=$(echo $r | tr ' ' '\n' | best)
	tb=$(echo $tj | tr ' ' '\n' | best)
	vbytes=$(echo "$line" | field bytes)
	tbytes=$(echo "$tjout" | awk '/^Comp from YUV/{f=1} f&&/Output image size/{print $4; exit}')
	psnr=$(echo "$line" | field psnr_y)
	printf '%-9s %12.1f %14.1f %12.1f %6.2fx %13s %9s\n' "$dct" "$vb" "$rb" \
		"$tb" "$(awk -v a="$vb" -v b="$tb" 'BEGIN{print (b > 0 ? a / b : 0)}')" "$vbytes/$tbytes" "$psnr"
done
echo "(ratio = vigil fps / tjbench fps; vigil->ring: encoding straight into a"
echo " ring slot with ring_writer_begin/commit, futex wake included)"
echo
