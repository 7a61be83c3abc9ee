#!/bin/bash
# SPDX-License-Identifier: MIT
# Ring wake latency: publish -> reader woken from its futex wait, with 1, 4
# and 16 reader processes (a 1 KB frame every 2 ms).
# Two runs: CPUs as they are, then with every CPU kept out of its idle state
# by a nice-19 busy loop (readers preempt it at once).  On a virtual machine
# an idle vCPU halts, and waking it costs the hypervisor tens to hundreds of
# microseconds: the second run shows the ring's own latency without that.
# On a Raspberry Pi (bare metal, shallow idle states) the two agree closely.
set -eu
cd "$(dirname "$0")/.."
frames=${WAKE_FRAMES:-2000}
spinners=()
stop_spinners() {
	for p in "${spinners[@]}"; do kill "$p" 2>/dev/null || true; done
	spinners=()
}
trap stop_spinners EXIT

table() {
	printf '%-8s %8s %9s %9s %9s\n' readers samples "p50 us" "p99 us" "max us"
	for n in 1 4 16; do
		build/bench/wake_bench "$n" "$frames" 2000
	done
}

echo "== ring: publish-to-reader wake latency (futex), $frames frames per reader, $(nproc) cores"
echo "-- CPUs as they are (idle CPUs may sleep)"
table
echo "-- CPUs kept awake (one nice-19 busy loop per CPU)"
for _ in $(seq "$(nproc)"); do
	nice -n 19 bash -c 'while :; do :; done' &
	spinners+=($!)
done
table
stop_spinners
echo
