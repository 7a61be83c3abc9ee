# SPDX-License-Identifier: MIT
# vigil: GNU make, no generator.  `make` builds the daemons into build/,
# `make test` runs every test (unit tests also under ASan+UBSan in
# build/san/), `make bench` prints the benchmark tables, `make run` starts a
# whole camera on https://localhost:8443, `make deps` installs packages.

CC ?= cc
CXX ?= c++
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
LDFLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config
comma := ,

# Variant: build/ (release) or build/san/ (ASan+UBSan).  Never mix objects.
SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/san
VARIANT_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
else
BUILD ?= build
VARIANT_FLAGS :=
endif

# Project warnings live apart from CFLAGS so a user's CFLAGS cannot drop them.
WARN := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wpointer-arith -Wundef \
	-Wcast-qual -Wnull-dereference -Wimplicit-fallthrough
CXXWARN := -std=c++17 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wundef
PROJ_CPPFLAGS := -D_GNU_SOURCE -Icommon -Icapture -Iserver -MMD -MP

ALL_CFLAGS = $(WARN) $(PROJ_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(VARIANT_FLAGS)
ALL_CXXFLAGS = $(CXXWARN) $(PROJ_CPPFLAGS) $(CPPFLAGS) $(CXXFLAGS) $(VARIANT_FLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(VARIANT_FLAGS)

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# Libraries, by pkg-config name, and the Debian package of each.  Checked
# before anything compiles, so that a machine without one stops at once with
# one line naming the package, not with a compiler error about a header.
# Goals that compile nothing, or that install the packages first and then
# build in a sub-make (test, bench, soak, run), are not checked here.
DEBPKG_libturbojpeg := libturbojpeg0-dev
DEBPKG_libevent := libevent-dev
DEBPKG_cmocka := libcmocka-dev
NEED_LIBS := libturbojpeg libevent
NEED_LIBS_TEST := cmocka
NO_COMPILE_GOALS := deps deps-check clean test bench soak run format lint uninstall
BUILD_GOALS := $(filter-out $(NO_COMPILE_GOALS),$(or $(MAKECMDGOALS),all))
ifneq ($(BUILD_GOALS),)
ifeq ($(shell command -v $(PKG_CONFIG)),)
$(error $(PKG_CONFIG) not found: install the Debian package pkg-config, or run make deps)
endif
MISSING_LIBS := $(strip $(foreach l,$(NEED_LIBS) $(if $(filter-out all build-all install,$(BUILD_GOALS)),$(NEED_LIBS_TEST)),\
	$(if $(shell $(PKG_CONFIG) --exists $(l) && echo y),,$(l))))
ifneq ($(MISSING_LIBS),)
$(error missing $(foreach l,$(MISSING_LIBS),$(l) (Debian package $(DEBPKG_$(l))))$(comma) install with: make deps)
endif
endif

BINS :=
UNIT_TESTS :=
TEST_TOOLS :=
BENCH_BINS :=

.PHONY: all
all: build-all

include common/common.mk
include capture/capture.mk
include server/server.mk
include tests/tests.mk
include bench/bench.mk

.PHONY: build-all
build-all: $(BINS)

# Per-object flags (a library's include path): one way, a target-specific
# OBJ_FLAGS on that object, e.g. $(BUILD)/obj/capture/encode.o: OBJ_FLAGS := ...
OBJ_FLAGS :=
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(OBJ_FLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) $(OBJ_FLAGS) -c $< -o $@

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- commands

.PHONY: deps deps-check test unit-tests bench run soak install clean
# deps installs what is missing (apt-get); deps-check only reports it.
deps:
	deploy/deps.sh --install test

deps-check:
	@deploy/deps.sh --check test

# Everything the test runner executes: both variants of the daemons and the
# unit tests, plus helper tools.
unit-tests: $(BINS) $(UNIT_TESTS) $(TEST_TOOLS)

test: deps
	$(MAKE) unit-tests fuzz
	$(MAKE) SAN=1 unit-tests
	tests/run.sh

bench: deps
	$(MAKE) build-all $(BENCH_BINS)
	bench/run.sh

# Settings reach deploy/run.sh through its environment (see its header):
# make run PORT=8443 SOURCE=... SIZE=1280x720 FPS=24 SERVERS=2
RUN_VARS := PORT HTTP_PORT ADDR SOURCE SIZE FPS SERVERS CAMERA RUN_DIR TLS_CIPHERS
# run.sh is make's own child (exec: no shell in between) and gets SIGTERM
# when make dies, however make dies (a signal to make's pid alone, even
# SIGKILL): it then stops the whole camera, whose daemons in turn have the
# same parent-death signal towards run.sh.
run:
	@deploy/deps.sh --install run
	$(MAKE) build-all
	@exec env $(foreach v,$(RUN_VARS),$(v)='$($(v))') VIGIL_BUILD='$(BUILD)' \
		setpriv --pdeathsig TERM -- deploy/run.sh

soak: deps
	$(MAKE) unit-tests
	tests/soak.sh

install: build-all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build
