#!/bin/sh
# SPDX-License-Identifier: MIT
# The target libraries of a cross build: Debian's packages for ARCH (arm64
# or armhf), unpacked into build/cross-ARCH/sysroot (the compiler's --sysroot
# and qemu-user's -L), and the host's cross toolchain and qemu-user-static.
# Usage: cross/sysroot.sh ARCH [SYSROOT]
# The packages are fetched by apt-get with a private state (lists, status,
# archives under the sysroot), so nothing of ARCH is installed on the host:
# a multiarch install (dpkg --add-architecture, libevent-dev:ARCH) cannot
# hold libevent-dev for arm64 and armhf at once, and ties every :ARCH library
# to the exact version of the host's copy, which a mirror whose ARCH lists lag
# behind cannot always provide.  The sysroot is rebuilt only when the list of
# packages below changes (its stamp file holds it); make clean removes it.
set -eu

arch=${1:?usage: cross/sysroot.sh arm64|armhf [SYSROOT]}
case $arch in
arm64) loader=ld-linux-aarch64.so.1 qemu=qemu-aarch64-static ;;
armhf) loader=ld-linux-armhf.so.3 qemu=qemu-arm-static ;;
*) echo "sysroot.sh: ARCH is arm64 or armhf, not '$arch'" >&2; exit 2 ;;
esac
sysroot=${2:-build/cross-$arch/sysroot}
# One writer at a time: CI fetches the sysroots in the background (.ci/run)
# while the suite runs, and a test that needs one waits here for it.
mkdir -p "$(dirname "$sysroot")"
exec 9>"$sysroot.lock"
flock 9
# What vigil links with (the daemons, the tools, the unit tests), for ARCH.
target_pkgs="libc6-dev libturbojpeg0-dev libevent-dev libcmocka-dev libcamera-dev libavformat-dev libavcodec-dev libavutil-dev libjson-c-dev libmosquitto-dev libcurl4-openssl-dev libssl-dev"

if [ "$(id -u)" -eq 0 ]; then
	sudo=
else
	sudo=sudo
fi
apt_wait="-o DPkg::Lock::Timeout=600"

# The host side: the cross compilers (C and C++), binutils, qemu-user.
host_pkgs="crossbuild-essential-$arch qemu-user-static pkg-config"
missing=
for p in $host_pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in *" installed") ;; *) missing="$missing $p" ;; esac
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	$sudo apt-get update -q $apt_wait ||
		echo "cross: apt-get update failed, trying with the lists we have" >&2
	echo "cross: installing:$missing"
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $apt_wait $missing
fi

stamp=$sysroot/.vigil-sysroot
want="$arch: $target_pkgs"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

echo "cross: unpacking $target_pkgs ($arch) into $sysroot"
rm -rf "$sysroot" "$sysroot.apt"
apt=$(pwd)/$sysroot.apt
mkdir -p "$apt/lists/partial" "$apt/debs/partial" "$apt/cache" "$apt/state"
: >"$apt/state/status"
# apt with a state of its own: the host's sources, but package lists for ARCH
# alone, an empty status (nothing installed, so apt resolves the whole
# dependency closure) and its own archive directory.  Nothing of the host's
# apt or dpkg state changes (no dpkg --add-architecture).
set -- -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
	-o Dir::State="$apt/state" -o Dir::State::status="$apt/state/status" \
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
	-o Dir::Cache::archives="$apt/debs" -o Debug::NoLocking=1 \
	-o APT::Sandbox::User=root
# A list that fails (a mirror in sync) leaves the others: the download
# below says whether what we need is there.
apt-get update -q "$@" ||
	echo "cross: apt-get update ($arch) reported errors, trying with what it got" >&2
# shellcheck disable=SC2086
apt-get install -y -q --download-only --no-install-recommends "$@" $target_pkgs
mkdir -p "$sysroot"
for deb in "$apt"/debs/*.deb; do
	dpkg-deb -x "$deb" "$sysroot"
done
# Absolute symbolic links (libfoo.so -> /lib/...) would point into the host.
find "$sysroot" -type l -lname '/*' | while read -r link; do
	target=$(readlink "$link")
	rel=$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")
	ln -sfn "$rel" "$link"
done
# The dynamic loader where the programs (and qemu-user's -L) look for it.
if ! [ -e "$sysroot/lib/$loader" ]; then
	echo "cross: $sysroot/lib/$loader is missing after unpacking" >&2
	exit 1
fi
rm -rf "$apt"
command -v "$qemu" >/dev/null || { echo "cross: $qemu is missing" >&2; exit 1; }
echo "$want" >"$stamp"
