#!/bin/bash
# SPDX-License-Identifier: MIT
# vigil-capture's encode threads (--encode-threads): the real binary on
# testsrc (moving picture, time overlay, motion detection on), sub-stream
# off, read back with tools/ringcat.
#  - rate: the highest sustained frame rate, asked for --fps 120 (the
#    maximum): frames published a second over BENCH_SECONDS, frames in
#    capture order checked;
#  - latency at 30 fps: capture time (the frame's CLOCK_MONOTONIC stamp) to
#    the moment a reader has the frame, median and 95th percentile.
# Env: BENCH_SECONDS (4), BENCH_THREADS ("1 2 4"), BENCH_SIZES
# ("1920x1080 1280x720").  The machine may be shared: compare the rows of
# one run.
set -eu
cd "$(dirname "$0")/.."
B=${VIGIL_BUILD:-build}
secs=${BENCH_SECONDS:-4}
threads=${BENCH_THREADS:-1 2 4}
sizes=${BENCH_SIZES:-1920x1080 1280x720}

echo "== encode threads: testsrc, motion on, sub-stream off, $(nproc) cores, ${secs}s per row"
printf '%-10s %7s %11s %8s %9s %14s %14s\n' size threads "fps (120)" speedup order \
	"lat@30 med ms" "lat@30 p95 ms"
for size in $sizes; do
	base=""
	for n in $threads; do
		out=$(python3 - "$B" "$size" "$n" "$secs" <<'PY'
import os, select, subprocess, sys, time
B, size, n, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
cam = f"bench{os.getpid()}"


def run(fps, count, timeout):
    cap = subprocess.Popen([f"{B}/vigil-capture", "--camera", cam,
                            "--source", "testsrc", "--size", size,
                            "--fps", str(fps), "--testsrc-motion", "always",
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
        frames, got = [], 0
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


f = run(120, int(120 * secs), secs + 5)
fps = (f[-1][0] - f[0][0]) / ((f[-1][1] - f[0][1]) / 1e9)
order = all(b[1] > a[1] and b[0] > a[0] for a, b in zip(f, f[1:]))
f = run(30, int(30 * secs), secs + 5)
lat = sorted((now - mono) / 1e6 for _, mono, now in f)
print(f"{fps:.1f} {'ok' if order else 'BAD'} {lat[len(lat) // 2]:.2f} "
      f"{lat[int(len(lat) * 0.95)]:.2f}")
PY
)
		# shellcheck disable=SC2086 # the words of one line of output
		set -- $out
		[ -n "$base" ] || base=$1
		printf '%-10s %7s %11s %7.2fx %9s %14s %14s\n' "$size" "$n" "$1" \
			"$(echo "$1 / $base" | bc -l)" "$2" "$3" "$4"
	done
done
