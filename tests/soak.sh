#!/bin/bash
# SPDX-License-Identifier: MIT
# `make soak`: 30 minutes of 200 viewers joining and leaving, capture
# restarted every 5 minutes, a table of the servers' RSS and descriptors and
# the viewers' frame rate over time; exits non-zero unless they stay flat.
# Not part of `make test`.  Shorter: SOAK_MINUTES=3 make soak (the restart
# interval and the sampling window scale down); see tests/hostile/soak.py
# for every setting.
set -u
cd "$(dirname "$0")/.." || exit 1
VIGIL_ROOT=$(pwd)
export VIGIL_ROOT
if [ ! -x "${VIGIL_BUILD:-build}/bench/loadgen" ]; then
	make -s "${VIGIL_BUILD:+BUILD=$VIGIL_BUILD}" "${VIGIL_BUILD:-build}/bench/loadgen" || exit 1
fi
exec /usr/bin/python3 tests/hostile/soak.py
