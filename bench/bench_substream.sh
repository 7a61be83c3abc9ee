#!/bin/bash
# SPDX-License-Identifier: MIT
# Sub-stream benchmark (issue 14): bytes per second to one viewer of the
# 1280x720 main stream at 24 fps and of the 640x360 sub-stream at 10 fps,
# on a still testsrc (--testsrc-motion off) and a moving one (always), the
# sub-stream with ?idle_fps=1 on the still scene, and how fast an idle_fps
# stream returns to the full rate when motion is declared (a testsrc whose
# object first crosses 3 s after the start).  All viewers of one scene are
# measured at once in one window (bench/substream_viewer.py, loopback).
# Environment: SUBSTREAM_BENCH_DURATION (10 s), BENCH_BUILD (build).
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_BUILD:-build}
DUR=${SUBSTREAM_BENCH_DURATION:-10}
still=sbs$$s
moving=sbs$$m
jump=sbs$$j
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for c in "$still" "$moving" "$jump"; do
		rm -f "/dev/shm/vigil.$c" "/dev/shm/vigil.$c.lock" \
			"/dev/shm/vigil.$c.sub" "/dev/shm/vigil.$c.sub.lock"
	done
}
trap cleanup EXIT

for bin in vigil-capture vigil-server; do
	[ -x "$B/$bin" ] || { echo "bench_substream: $B/$bin missing" >&2; exit 1; }
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

wait_url() { # URL: until it answers 200
	for _ in $(seq 200); do
		curl -sf -o /dev/null -m 1 "$1" && return 0
		sleep 0.05
	done
	echo "bench_substream: $1 does not answer" >&2
	return 1
}

capture() { # CAMERA MOTION
	"$B/vigil-capture" --camera "$1" --source testsrc --size 1280x720 \
		--fps 24 --sub-size 640x360 --sub-fps 10 --testsrc-motion "$2" \
		2>/dev/null &
	pids+=($!)
}

base=http://127.0.0.1:$port
capture "$still" off
capture "$moving" always
"$B/vigil-server" --listen "127.0.0.1:$port" --camera "$still" \
	--camera "$moving" --camera "$jump" 2>/dev/null &
pids+=($!)
wait_url "$base/cam/$still/sub.jpg"
wait_url "$base/cam/$moving/sub.jpg"

# One window per scene, its viewers at once.
mapfile -t S < <(python3 bench/substream_viewer.py rate "$DUR" \
	"$base/cam/$still/stream.mjpg" "$base/cam/$still/sub.mjpg" \
	"$base/cam/$still/sub.mjpg?idle_fps=1")
mapfile -t M < <(python3 bench/substream_viewer.py rate "$DUR" \
	"$base/cam/$moving/stream.mjpg" "$base/cam/$moving/sub.mjpg")
for p in "${pids[@]:0:2}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done

# Return to the full rate: a still scene whose object first crosses 3 s
# after the capture's start; the idle_fps=1 viewer is there before.
capture "$jump" 20/5
wait_url "$base/cam/$jump/sub.jpg"
read -r gap idle < <(python3 bench/substream_viewer.py jump 15 \
	"$base/cam/$jump/sub.mjpg?idle_fps=1")

# row LABEL "BITS PARTS" TARGET_MBIT|-
row() {
	awk -v l="$1" -v v="$2" -v t="$3" 'BEGIN {
		split(v, a, " "); mb = a[1] / 1e6
		if (t == "-") { tt = "-"; r = "" }
		else { tt = sprintf("<= %.1f", t); r = (mb <= t + 0 && a[2] > 0) ? "PASS" : "MISS" }
		printf "  %-44s %9.2f %8.1f  %-8s %s\n", l, mb, a[2], tt, r }'
}

echo "Sub-stream: bytes per second to one viewer (${DUR} s windows, testsrc, loopback)"
printf "  %-44s %9s %8s  %-8s %s\n" "stream" "Mbit/s" "frames/s" "target" ""
row "main 1280x720 24 fps, still scene" "${S[0]}" -
row "sub 640x360 10 fps, still scene" "${S[1]}" 2
row "sub ?idle_fps=1, still scene" "${S[2]}" 0.3
row "main 1280x720 24 fps, motion" "${M[0]}" -
row "sub 640x360 10 fps, motion" "${M[1]}" 2
awk -v g="$gap" -v i="$idle" 'BEGIN {
	r = (g == "nan") ? "MISS (no X-Motion: 1 seen)" : (g <= 150 ? "PASS" : "MISS")
	printf "  sub ?idle_fps=1: part after the first X-Motion: 1 came %s ms later\n", g
	printf "    (frame interval 100 ms, target <= 1 interval + 50 ms jitter) %s;\n", r
	printf "    the idle gap before it was %s ms\n", i }'
echo
