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

BINS :=
UNIT_TESTS :=
BENCH_BINS :=
OBJS :=

.PHONY: all
all: build-all

include common/common.mk
include capture/capture.mk
-include server/server.mk
-include recorder/recorder.mk
include tests/tests.mk
-include bench/bench.mk

.PHONY: build-all
build-all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS_$(notdir $(basename $<))) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- commands

.PHONY: deps deps-check test unit-tests bench run soak install clean
deps:
	deploy/deps.sh --install test

deps-check:
	@deploy/deps.sh --check test

# Everything the test runner executes: both variants of the daemons and the
# unit tests, plus helper tools.
unit-tests: $(BINS) $(UNIT_TESTS) $(TEST_TOOLS)

test: deps-check
	$(MAKE) unit-tests
	$(MAKE) SAN=1 unit-tests
	tests/run.sh

bench: deps-check
	$(MAKE) build-all $(BENCH_BINS)
	bench/run.sh

# Settings reach deploy/run.sh through its environment (see its header):
# make run PORT=8443 SOURCE=... SIZE=1280x720 FPS=24 SERVERS=2
RUN_VARS := PORT HTTP_PORT ADDR SOURCE SIZE FPS SERVERS CAMERA RUN_DIR TLS_CIPHERS
run:
	@deploy/deps.sh --check run
	$(MAKE) build-all
	@$(foreach v,$(RUN_VARS),$(v)='$($(v))') VIGIL_BUILD='$(BUILD)' deploy/run.sh

soak: deps-check
	$(MAKE) unit-tests
	tests/soak.sh

install: build-all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build
