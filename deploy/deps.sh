#!/bin/sh
# SPDX-License-Identifier: MIT
# The Debian / Raspberry Pi OS packages vigil needs.
# Usage: deps.sh --check|--install run|test
#   run:  what building and running a camera needs
#   test: run + what `make test` / `make bench` / `make lint` need (browser,
#         ffmpeg, shellcheck, cppcheck, ...)
# --check lists the missing packages and fails if there are any (installs
# nothing); --install installs only those that are missing (apt-get).
set -eu

mode=${1:---install}
case $mode in
--check | --install) ;;
*) echo "deps.sh: --check or --install, not '$mode'" >&2; exit 2 ;;
esac
set_name=${2:-test}

run_pkgs="build-essential pkg-config libturbojpeg0-dev libevent-dev libavformat-dev libavcodec-dev libavutil-dev libjson-c-dev libmosquitto-dev libcurl4-openssl-dev libssl-dev nginx openssl libcamera-dev iproute2"
test_pkgs="$run_pkgs libcmocka-dev clang libclang-rt-dev shellcheck cppcheck clang-format libjpeg-turbo-progs ffmpeg curl python3 chromium firefox-esr webkit2gtk-driver xvfb valgrind psmisc procps iproute2 man-db groff-base fonts-dejavu-core mosquitto mosquitto-clients python3-paho-mqtt"

# Engines a run leaves out (VIGIL_BROWSERS, see tests/browser/compat.js).
case ${VIGIL_BROWSERS:-chromium,firefox,webkit} in
*webkit*) ;;
*) test_pkgs=$(echo "$test_pkgs" | sed 's/ webkit2gtk-driver//; s/ xvfb//') ;;
esac
case ${VIGIL_BROWSERS:-chromium,firefox,webkit} in
*firefox*) ;;
*) test_pkgs=$(echo "$test_pkgs" | sed 's/ firefox-esr//') ;;
esac

# The ARM cross builds and qemu-user (make cross, tests/cross/), unless a
# run leaves them out (VIGIL_CROSS=0, see tests/run.sh).
if [ "${VIGIL_CROSS:-1}" != 0 ]; then
	test_pkgs="$test_pkgs crossbuild-essential-arm64 crossbuild-essential-armhf qemu-user-static"
fi
case $set_name in
run) pkgs=$run_pkgs ;;
test) pkgs=$test_pkgs ;;
*) echo "deps.sh: unknown package set '$set_name' (run or test)" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in *" installed") ;; *) missing="$missing $p" ;; esac
done
# Node.js may come from Debian (nodejs + npm) or elsewhere (npm bundled).
if [ "$set_name" = test ]; then
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi

if [ -z "$missing" ]; then
	[ "$mode" = --check ] || echo "deps: everything is installed"
	exit 0
fi

if [ "$mode" = --check ]; then
	echo "deps: missing:$missing (make deps installs them)" >&2
	exit 1
fi
echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "deps: need root (or sudo) to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q || echo "deps: apt-get update failed, trying with the lists we have" >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
