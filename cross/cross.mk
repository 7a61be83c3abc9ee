# SPDX-License-Identifier: MIT
# cross/: the ARM builds (Raspberry Pi OS, 64-bit and 32-bit) with Debian's
# cross toolchains, and their unit tests under qemu-user.
#   make cross ARCH=arm64|armhf       every daemon, tool, unit test and
#                                     benchmark into build/cross-ARCH/
#   make test-cross ARCH=arm64|armhf  the cmocka unit tests under qemu (TAP)
#   make cross-deps ARCH=...          the toolchain, qemu and the sysroot only
#   make lockfree-armv6               the ring's atomics on ARMv6 (Pi 1, Zero)
#   make cross-t64                    armhf with a 64-bit time_t (Debian 13)
# tests/run.sh (make test) runs tests/cross/run.sh arm64 and armhf, which
# build first, tests/cross/lockfree.sh and tests/cross/t64.sh.
# The build is this Makefile run again with CC, CXX, PKG_CONFIG's search path
# and BUILD pointing at the target: the same rules, warnings and -Werror.
# The target's libraries are Debian's packages for ARCH unpacked into
# build/cross-ARCH/sysroot by cross/sysroot.sh (cached there).
ARCH ?= arm64
CROSS_TRIPLET_arm64 := aarch64-linux-gnu
CROSS_TRIPLET_armhf := arm-linux-gnueabihf
CROSS_TRIPLET = $(CROSS_TRIPLET_$(ARCH))
CROSS_DIR = build/cross-$(ARCH)
CROSS_SYSROOT = $(CURDIR)/$(CROSS_DIR)/sysroot
CROSS_GOALS := cross cross-deps test-cross lockfree-armv6 cross-t64

.PHONY: $(CROSS_GOALS) cross-check-arch
cross-check-arch:
	@test -n "$(CROSS_TRIPLET)" || { echo "ARCH is arm64 or armhf, not '$(ARCH)'" >&2; exit 2; }

cross-deps: cross-check-arch
	cross/sysroot.sh $(ARCH) $(CROSS_DIR)/sysroot

# pkg-config reads only the sysroot's .pc files and prefixes their paths with
# it, so capture.mk finds the target's libcamera and links vigil-capture with
# the cross g++ as on the host.  Settings given on the command line (CFLAGS=)
# reach the sub-make.
cross: cross-deps
	PKG_CONFIG_LIBDIR=$(CROSS_SYSROOT)/usr/lib/$(CROSS_TRIPLET)/pkgconfig:$(CROSS_SYSROOT)/usr/share/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$(CROSS_SYSROOT) \
	$(MAKE) BUILD=$(CROSS_DIR) SAN=0 PKG_CONFIG=pkg-config \
		CC='$(CROSS_TRIPLET)-gcc --sysroot=$(CROSS_SYSROOT)' \
		CXX='$(CROSS_TRIPLET)-g++ --sysroot=$(CROSS_SYSROOT)' \
		cross-all

# What `make cross` builds (inside the sub-make, where BUILD is the target's).
.PHONY: cross-all
cross-all: unit-tests $(BENCH_BINS)

test-cross: cross
	tests/cross/run.sh --no-build $(ARCH)

# The ring's lock-free promise on the oldest Pis (TAP): tests/cross/lockfree.sh.
lockfree-armv6:
	@LOCKFREE_WARN='$(WARN)' tests/cross/lockfree.sh

# 32-bit ARM with a 64-bit time_t, as Debian 13 builds armhf (TAP, compile
# only): tests/cross/t64.sh.
cross-t64:
	@CROSS_WARN='$(WARN)' CROSS_CXXWARN='$(CXXWARN)' tests/cross/t64.sh
