#!/bin/bash
# SPDX-License-Identifier: MIT
# vigil-capture's encode threads (--encode-threads): the real binary on
# testsrc (moving picture, time overlay, motion detection on), sub-stream
# off, read back with tools/ringcat.
#  - ceiling: testsrc alone (encode_bench --source-only: unpaced frames with
#    the overlay, nothing encoded), the most any thread count could reach;
#  - rate: the highest sustained frame rate, --fps max (testsrc unpaced: a
#    frame as soon as the encoders take one): frames published a second
#    over BENCH_SECONDS, frames in capture order checked.  BENCH_ROUNDS
#    rounds, the thread counts taking turns in each; the best round of each
#    count is reported (other work on the cores only ever slows a round);
#  - latency at 30 fps: capture time (the frame's CLOCK_MONOTONIC stamp) to
#    the moment a reader has the frame, median and 95th percentile.
# Env: BENCH_SECONDS (4), BENCH_ROUNDS (3), BENCH_THREADS ("1 2 4"),
# BENCH_SIZES ("1920x1080 1280x720").  The machine may be shared: compare
# the rows of one run.
set -eu
cd "$(dirname "$0")/.."
B=${VIGIL_BUILD:-build}
secs=${BENCH_SECONDS:-4}
rounds=${BENCH_ROUNDS:-3}
threads=${BENCH_THREADS:-1 2 4}
sizes=${BENCH_SIZES:-1920x1080 1280x720}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure.py B SIZE THREADS SECS max|30: one capture, read back.
#   max: "FPS ok|BAD" (frames a second, capture order);
#   30:  "MEDIAN P95" (capture-to-reader latency in ms).
cat >"$tmp/measure.py" <<'PY'
import os, select, subprocess, sys, time
B, size, n, secs, fps = sys.argv[1:6]
secs = float(secs)
cam = f"bench{os.getpid()}"


def run(count, timeout):
    cap = subprocess.Popen([f"{B}/vigil-capture", "--camera", cam,
                            "--source", "testsrc", "--size", size,
                            "--fps", fps, "--testsrc-motion", "always",
                            "--sub-size", "off", "--encode-threads", n],
                           stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while not os.path.exists(f"/dev/shm/vigil.{cam}"):
            if time.monotonic() - t0 > 5:
                raise SystemExit("no ring")
            time.sleep(0.01)
        rc = subprocess.Popen([f"{B}/tools/ringcat", "-n", "0", "-t",
                               str(int(timeout * 1000)), cam],
                              stdout=subprocess.PIPE)
        frames = []
        warm = time.monotonic() + 0.5
        while len(frames) < count:
            r, _, _ = select.select([rc.stdout], [], [], timeout)
            if not r:
                break
            line = rc.stdout.readline()
            now = time.monotonic_ns()
            if not line:
                break
            if time.monotonic() < warm:
                continue
            f = dict(kv.split("=", 1) for kv in line.decode().split()[1:])
            frames.append((int(f["seq"]), int(f["mono_ns"]), now))
            if frames[-1][1] - frames[0][1] >= secs * 1e9:
                break
        rc.kill()
        rc.wait()
        return frames
    finally:
        cap.terminate()
        cap.wait()
        for sfx in ("", ".lock"):
            try:
                os.unlink(f"/dev/shm/vigil.{cam}{sfx}")
            except FileNotFoundError:
                pass


if fps == "max":
    f = run(1 << 30, secs + 5)
    rate = (f[-1][0] - f[0][0]) / ((f[-1][1] - f[0][1]) / 1e9)
    order = all(b[1] > a[1] and b[0] > a[0] for a, b in zip(f, f[1:]))
    print(f"{rate:.1f} {'ok' if order else 'BAD'}")
else:
    f = run(int(float(fps) * secs), secs + 5)
    lat = sorted((now - mono) / 1e6 for _, mono, now in f)
    print(f"{lat[len(lat) // 2]:.2f} {lat[int(len(lat) * 0.95)]:.2f}")
PY

echo "== encode threads: testsrc, motion on, sub-stream off, $(nproc) cores, best of $rounds rounds of ${secs}s (load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-10s %7s %9s %9s %8s %6s %14s %14s\n' size threads ceiling \
	"fps (max)" speedup order "lat@30 med ms" "lat@30 p95 ms"
for size in $sizes; do
	ceiling=$("$B/bench/encode_bench" --size "$size" --seconds "$secs" \
		--source-only)
	ceiling=${ceiling#fps=}
	declare -A best=() order=()
	for _ in $(seq "$rounds"); do
		for n in $threads; do
			out=$(python3 "$tmp/measure.py" "$B" "$size" "$n" \
				"$secs" max)
			read -r fps ok <<<"$out"
			if [ -z "${best[$n]:-}" ] ||
				[ "$(echo "$fps > ${best[$n]}" | bc)" = 1 ]; then
				best[$n]=$fps
			fi
			[ "${order[$n]:-ok}" = BAD ] || order[$n]=$ok
		done
	done
	base=""
	for n in $threads; do
		out=$(python3 "$tmp/measure.py" "$B" "$size" "$n" "$secs" 30)
		read -r med p95 <<<"$out"
		[ -n "$base" ] || base=${best[$n]}
		printf '%-10s %7s %9s %9s %7.2fx %6s %14s %14s\n' "$size" "$n" \
			"$ceiling" "${best[$n]}" \
			"$(echo "${best[$n]} / $base" | bc -l)" "${order[$n]}" \
			"$med" "$p95"
	done
	unset best order
done
