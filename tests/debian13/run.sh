#!/bin/bash
# SPDX-License-Identifier: MIT
# `make test-debian13`: the whole `make test` on Debian 13 (trixie), as on a
# fresh trixie machine.  Builds a minimal trixie root with debootstrap (once:
# cached in build/debian13-root, rebuilt when this script changes; the stamp
# build/debian13-root.stamp holds this script's checksum), copies the source
# tree in (the files git knows, as they are in the work tree; never the
# host's build/), and runs `make test` there under chroot.  That `make test`
# installs its packages with trixie's apt (deploy/deps.sh), as a new user's
# would; they stay in the cached root for the next run.
#
# Isolation: the root runs in its own mount and PID namespaces (unshare).
# Its /proc, /sys, /dev, /dev/pts and a private /dev/shm (a tmpfs of its own,
# so its rings never meet the host's) exist only in that mount namespace, so
# they vanish with it however this script ends (Ctrl-C, kill -9): the host
# never sees a mount in the root.  They are also unmounted explicitly on exit
# (trap).  When the namespace's first process ends, the kernel kills every
# process left in it (a daemon a test started, nginx): nothing outlives the run.
# The network is the host's (apt and npm need it).
#
# Usage: tests/debian13/run.sh [--root-only | --prepare | --shell [COMMAND]]
#   --root-only  build (or check) the cached root and stop
#   --prepare    the root, the packages `make test` installs in it
#                (deploy/deps.sh) and what it builds, then stop: CI runs
#                this in the background while the host's suite runs
#                (.ci/run); the next `make test` in the root uses that build
#   --shell      an interactive shell in the root instead of `make test`
#                (with COMMAND: runs it there, in the copied tree)
# Environment: DEBIAN13_MIRROR (default: the host's first Debian mirror in
# /etc/apt/sources.list*, else http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
script=$top/tests/debian13/run.sh
root=$top/build/debian13-root
stamp=$top/build/debian13-root.stamp
suite=trixie
mode=${1:-test}

say() { echo "debian13: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# ---------------------------------------------------------------- inside
# Second stage, run by unshare: PID 1 of the new PID namespace, in a mount
# namespace of its own.  Mounts, enters the root, unmounts.
if [ "$mode" = --inside ]; then
	cmd=$2
	mounted=()
	# shellcheck disable=SC2317 # called by the trap
	cleanup() {
		local i rc=$?
		trap - EXIT INT TERM HUP
		for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
			umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true
		done
		exit "$rc"
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	mnt() { # mount ARGS... TARGET (the target last)
		mount "$@"
		mounted+=("${*: -1}")
	}
	# Nothing mounted here propagates back to the host.
	mount --make-rprivate /
	# The root is a mount point of its own, as / is on a real machine: a
	# test that makes a private mount namespace inside it (unshare -m
	# --propagation private) needs that.
	mnt --bind "$root" "$root"
	mnt -t proc proc "$root/proc"
	mnt -t sysfs sysfs "$root/sys"
	mnt --bind /dev "$root/dev"
	mnt -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
	mnt --bind "$root/dev/pts/ptmx" "$root/dev/ptmx"
	mnt -t tmpfs -o mode=1777,nosuid,nodev,size=512m tmpfs "$root/dev/shm"
	ca=()
	[ -z "$3" ] || ca=(NODE_EXTRA_CA_CERTS="$3")
	# VIGIL_CROSS=0: the ARM cross runs test the target architectures, not
	# the distribution; the host's make test has them (tests/run.sh).
	env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 CI="${CI:-}" VIGIL_CROSS=0 "${ca[@]}" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		chroot "$root" /bin/bash -c "update-ca-certificates >/dev/null 2>&1 && $cmd"
	exit $?
fi

case $mode in
test | --root-only | --prepare | --shell) ;;
*) die "usage: tests/debian13/run.sh [--root-only | --prepare | --shell [COMMAND]]" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount): run it as root"

# ---------------------------------------------------------------- the root
host_mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ' || true)
	echo "${m:-http://deb.debian.org/debian}"
}
mirror=${DEBIAN13_MIRROR:-$(host_mirror)}
mirror=${mirror%/}
security=${mirror%/debian}/debian-security

mounted_under() { grep -qF " $1" /proc/self/mounts; }

want=$(sha256sum "$script" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x "$root/bin/bash" ]; then
	command -v debootstrap >/dev/null 2>&1 || {
		say "installing debootstrap (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } ||
			die "cannot install debootstrap"
	}
	for d in "$root" "$root.new"; do
		! mounted_under "$d" || die "something is mounted under $d: unmount it first"
	done
	say "building the $suite root from $mirror (debootstrap, a few minutes)"
	t0=$SECONDS
	rm -rf "$root.new" "$stamp"
	mkdir -p "$top/build"
	# minbase and make: what a new user has before `make test` (which
	# installs the rest with apt).  ca-certificates for npm's https.
	debootstrap --variant=minbase --include=make,ca-certificates \
		"$suite" "$root.new" "$mirror" >"$top/build/debian13-debootstrap.log" 2>&1 ||
		die "debootstrap failed: $(tail -3 "$top/build/debian13-debootstrap.log" | tr '\n' ' ')"
	cat >"$root.new/etc/apt/sources.list" <<-EOF
		deb $mirror $suite main
		deb $mirror $suite-updates main
		deb $security $suite-security main
	EOF
	# A throwaway root: dpkg need not sync every file it unpacks (quicker
	# to install the 800 packages make test asks for).
	echo force-unsafe-io >"$root.new/etc/dpkg/dpkg.cfg.d/vigil-unsafe-io"
	rm -rf "$root"
	mv "$root.new" "$root"
	echo "$want" >"$stamp"
	say "root built in $((SECONDS - t0))s: $root"
fi
[ "$mode" = --root-only ] && exit 0

# ---------------------------------------------------------------- the tree
# A clean copy: the files git tracks (and new ones it does not ignore), as
# they are in the work tree, with their times.  For `make test` the root's
# own build/ starts empty, unless --prepare built it from this same tree
# (marked by build/.prepared, which the run removes): make then rebuilds
# only what changed since.  --shell keeps the build/ a previous run left
# (quicker to try a fix).
say "copying the source tree into $root/root/vigil"
rm -rf "$root/root/vigil.build"
if [ "$mode" = --shell ] || { [ "$mode" = test ] && [ -f "$root/root/vigil/build/.prepared" ]; }; then
	[ ! -d "$root/root/vigil/build" ] || mv "$root/root/vigil/build" "$root/root/vigil.build"
	rm -f "$root/root/vigil.build/.prepared"
fi
rm -rf "$root/root/vigil"
mkdir -p "$root/root/vigil"
git -C "$top" ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar -C "$top" --null -T - -cf - | tar -C "$root/root/vigil" -xf -
[ ! -d "$root/root/vigil.build" ] || mv "$root/root/vigil.build" "$root/root/vigil/build"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# The host's network in the root: its local certificate authorities (a
# proxy's, where https goes through one) are trusted there too, by openssl
# and by node (npm), as they are on the host.  None on most machines.
extra_ca=
rm -rf "$root/usr/local/share/ca-certificates"
mkdir -p "$root/usr/local/share/ca-certificates"
for c in /usr/local/share/ca-certificates/*.crt; do
	[ -f "$c" ] || continue
	cp "$c" "$root/usr/local/share/ca-certificates/"
	extra_ca=/etc/ssl/certs/ca-certificates.crt
done
rm -f "$root/etc/mtab" && ln -s /proc/self/mounts "$root/etc/mtab"

if [ "$mode" = --shell ] && [ $# -ge 2 ]; then
	cmd="cd /root/vigil && $2"
elif [ "$mode" = --shell ]; then
	cmd='cd /root/vigil && exec bash -i'
elif [ "$mode" = --prepare ]; then
	# The packages, then what make test builds (both builds, the tools and
	# the fuzzers), so that the run after it only builds what changed.
	# shellcheck disable=SC2016 # expanded in the root
	cmd='cd /root/vigil && deploy/deps.sh --install test && make -s -j"$(nproc)" unit-tests fuzz && make -s -j"$(nproc)" SAN=1 unit-tests && touch build/.prepared'
else
	# shellcheck disable=SC2016 # expanded in the root
	cmd='cd /root/vigil && . /etc/os-release && echo "debian13: in $PRETTY_NAME, $(uname -m)" && make test'
fi
# --kill-child: if this script is killed, the namespace goes with it.
exec unshare --mount --pid --fork --kill-child -- "$script" --inside "$cmd" "$extra_ca"
