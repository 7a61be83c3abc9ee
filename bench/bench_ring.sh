#!/bin/bash
# SPDX-License-Identifier: MIT
# Ring wake latency: publish -> reader woken from its futex wait, with 1, 4
# and 16 reader processes (frames every 2 ms, 1 KB each).
set -eu
cd "$(dirname "$0")/.."
frames=${WAKE_FRAMES:-2000}
echo "== ring: publish-to-reader wake latency (futex), $frames frames, $(nproc) cores"
printf '%-8s %8s %9s %9s %9s\n' readers samples "p50 us" "p99 us" "max us"
for n in 1 4 16; do
	build/bench/wake_bench "$n" "$frames" 2000
done
echo
