#!/bin/bash
# SPDX-License-Identifier: MIT
# Encode rate of vigil-capture beside libjpeg-turbo's own tjbench, on one
# core (taskset -c 0), for the same work: the testsrc picture at 1280x720
# (time overlay included), 4:2:0 planes in (tjbench -yuv: "Comp from YUV"),
# quality 85, baseline JPEG out, the same DCT.  tjbench reads a PPM of the
# very same picture (encode_bench --write-ppm) and turns it into YUV planes
# before its timed loop, so both time compression from planes only.
# vigil and tjbench run back to back in each round; the ratio reported is
# the median of the per-round ratios (the machine may be shared).
# Env: BENCH_SIZE (1280x720), BENCH_QUALITY (85), BENCH_SECONDS (1),
# BENCH_ROUNDS (7).
set -eu
cd "$(dirname "$0")/.."
B=${VIGIL_BUILD:-build}
bin=$B/bench/encode_bench
size=${BENCH_SIZE:-1280x720}
q=${BENCH_QUALITY:-85}
secs=${BENCH_SECONDS:-1}
rounds=${BENCH_ROUNDS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== encode: testsrc ${size} q${q} 4:2:0 from YUV planes, one core (taskset -c 0), $rounds rounds of ${secs}s"
if ! command -v tjbench >/dev/null; then
	echo "tjbench not found (Debian package libjpeg-turbo-progs)"
	exit 1
fi
"$bin" --size "$size" --write-ppm "$tmp/testsrc.ppm"

best() { tr ' ' '\n' | grep . | sort -g | tail -1; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print (NR ? a[int((NR+1)/2)] : 0)}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

printf '%-9s %10s %12s %12s %8s %13s %9s\n' dct "vigil fps" "vigil->ring" \
	"tjbench fps" ratio "bytes v/tj" "PSNR-Y dB"
for dct in fast accurate; do
	v="" r="" tj="" ratios="" line="" tjout=""
	for _ in $(seq "$rounds"); do
		# Back to back, so both see the same load; the ratio is taken
		# per round and its median reported.
		line=$(taskset -c 0 "$bin" --size "$size" --quality "$q" \
			--dct "$dct" --seconds "$secs")
		tjout=$(taskset -c 0 tjbench "$tmp/testsrc.ppm" "$q" -yuv \
			-subsamp 420 -componly -nowrite -"${dct}dct" \
			-benchtime "$secs" -warmup 0.5 2>&1)
		r="$r $(taskset -c 0 "$bin" --size "$size" --quality "$q" \
			--dct "$dct" --seconds "$secs" --ring | field fps)"
		vf=$(echo "$line" | field fps)
		tf=$(echo "$tjout" | sed -n 's/^Comp from YUV --> Frame rate: *\([0-9.]*\) fps/\1/p')
		v="$v $vf" tj="$tj $tf"
		ratios="$ratios $(awk -v a="$vf" -v b="$tf" 'BEGIN{print (b > 0 ? a / b : 0)}')"
	done
	vbytes=$(echo "$line" | field bytes)
	tbytes=$(echo "$tjout" | awk '/^Comp from YUV/{f=1} f&&/Output image size/{print $4; exit}')
	printf '%-9s %10.1f %12.1f %12.1f %7.2fx %13s %9s\n' "$dct" \
		"$(echo "$v" | best)" "$(echo "$r" | best)" "$(echo "$tj" | best)" \
		"$(echo "$ratios" | median)" "$vbytes/$tbytes" \
		"$(echo "$line" | field psnr_y)"
done
echo "(fps: best round; ratio: median over rounds of vigil fps / tjbench fps"
echo " measured back to back; vigil->ring: encoding straight into a ring slot"
echo " with ring_writer_begin/commit, futex wake included; vigil-capture uses"
echo " the accurate DCT)"
echo
