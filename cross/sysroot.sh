#!/bin/sh
# SPDX-License-Identifier: MIT
# The target libraries of a cross build: Debian's packages for ARCH (arm64
# or armhf), unpacked into build/cross-ARCH/sysroot (the compiler's --sysroot
# and qemu-user's -L), and the host's cross toolchain and qemu-user-static.
# Usage: cross/sysroot.sh ARCH [SYSROOT]
# The packages are fetched with apt-get against an empty package status, so
# nothing of ARCH is installed on the host: a multiarch install cannot hold
# libevent-dev for arm64 and armhf at once, and ties each :ARCH library to the
# exact version of the host's copy.  The sysroot is rebuilt only when the list
# of packages below changes (its stamp file holds the list).
set -eu

arch=${1:?usage: cross/sysroot.sh arm64|armhf [SYSROOT]}
case $arch in
arm64) loader=ld-linux-aarch64.so.1 qemu=qemu-aarch64-static ;;
armhf) loader=ld-linux-armhf.so.3 qemu=qemu-arm-static ;;
*) echo "sysroot.sh: ARCH is arm64 or armhf, not '$arch'" >&2; exit 2 ;;
esac
sysroot=${2:-build/cross-$arch/sysroot}
# What vigil links with (the daemons, the tools, the unit tests), for ARCH.
target_pkgs="libc6-dev libturbojpeg0-dev libevent-dev libcmocka-dev libcamera-dev"

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
# apt keeps lists for ARCH only once dpkg knows the architecture.
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	echo "cross: dpkg --add-architecture $arch"
	$sudo dpkg --add-architecture "$arch"
	need_update=yes
fi
if [ -n "$missing" ] || [ "${need_update:-}" = yes ]; then
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	$sudo apt-get update -q $apt_wait ||
		echo "cross: apt-get update failed, trying with the lists we have" >&2
fi
if [ -n "$missing" ]; then
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
rm -rf "$sysroot" "$sysroot.debs"
mkdir -p "$sysroot.debs/partial" "$sysroot.state"
: >"$sysroot.state/status"
# A private status (nothing installed) and archive directory: apt resolves
# the whole dependency closure for ARCH alone and only downloads it.
# shellcheck disable=SC2086
apt-get install -y -q --download-only --no-install-recommends \
	-o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
	-o Dir::State::status="$sysroot.state/status" \
	-o Dir::Cache::archives="$(pwd)/$sysroot.debs" \
	-o Debug::NoLocking=1 $target_pkgs
mkdir -p "$sysroot"
for deb in "$sysroot.debs"/*.deb; do
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
rm -rf "$sysroot.debs" "$sysroot.state"
command -v "$qemu" >/dev/null || { echo "cross: $qemu is missing" >&2; exit 1; }
echo "$want" >"$stamp"
