#!/bin/bash
# SPDX-License-Identifier: MIT
# `make bench`: runs every bench/bench_*.sh in name order; each prints a
# plain table.  The machine is shared: compare ratios taken in one run.
set -u
cd "$(dirname "$0")/.." || exit 1
echo "vigil benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null)"
echo
rc=0
for b in bench/bench_*.sh; do
	bash "$b" || { echo "($b failed)"; rc=1; }
done
exit $rc
