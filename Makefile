# SPDX-License-Identifier: MIT
# vigil: GNU make, no generator.  `make` builds the daemons into build/,
# `make test` runs lint and every test (unit tests also under ASan+UBSan in
# build/san/, fuzzers in build/fuzz/), `make bench` prints the benchmark
# tables, `make run` starts a whole camera on https://localhost:8443.
# `make deps` installs the Debian packages (`make deps-check` only checks),
# `make install` / `make uninstall` (PREFIX, DESTDIR, ...: see below),
# `make lint`, `make format`, `make fuzz`, `make clean`.  `make test-debian13`
# runs `make test` in a Debian 13 root (tests/debian13/run.sh; root only).

CC ?= cc
CXX ?= c++
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
LDFLAGS ?=
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
PROJ_CPPFLAGS := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Icommon -Icapture -Iserver -MMD -MP

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
DEBPKG_libavformat := libavformat-dev
DEBPKG_libavcodec := libavcodec-dev
DEBPKG_libavutil := libavutil-dev
DEBPKG_json-c := libjson-c-dev
DEBPKG_libmosquitto := libmosquitto-dev
DEBPKG_libcurl := libcurl4-openssl-dev
DEBPKG_libcrypto := libssl-dev
NEED_LIBS := libturbojpeg libevent libavformat libavcodec libavutil json-c \
	libmosquitto libcurl libcrypto
NEED_LIBS_TEST := cmocka
NO_COMPILE_GOALS := deps deps-check clean test test-debian13 bench soak run format lint uninstall \
	cross cross-deps test-cross lockfree-armv6 cross-t64
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
include recorder/recorder.mk
include tests/tests.mk
include bench/bench.mk
include cross/cross.mk

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
	$(MAKE) lint
	$(MAKE) unit-tests fuzz
	$(MAKE) SAN=1 unit-tests
	tests/run.sh

# The same suite in a Debian 13 (trixie) root that it builds and caches in
# build/debian13-root (debootstrap, chroot): see the script's header.
.PHONY: test-debian13
test-debian13:
	tests/debian13/run.sh

bench: deps
	$(MAKE) build-all $(BENCH_BINS)
	bench/run.sh

# Settings reach deploy/run.sh through its environment (see its header):
# make run PORT=8443 SOURCE=... SIZE=1280x720 FPS=24 SERVERS=2 CAMERAS=1
RUN_VARS := PORT HTTP_PORT ADDR SOURCE SIZE FPS SERVERS CAMERA CAMERAS RUN_DIR TLS_CIPHERS \
	RECORD MAX_SIZE MQTT
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

# ---------------------------------------------------------------- install
# make install [DESTDIR=/stage] [PREFIX=/usr] lays out what a package holds;
# make uninstall (same variables) removes it.  deploy/install.sh uses it and
# then does what a package's postinst would (accounts, certificate, units).
# The daemons go to sbin, not bin: they are system daemons that systemd (or
# root) starts, never commands a user runs from their PATH; the FHS keeps
# such programs in sbin, as Debian does nginx and sshd.  vigil-setup-tls
# writes root's keys in /etc/vigil: an administrator's command, sbin too.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/vigil
# nginx and the units read their configuration from /etc whatever PREFIX is.
SYSCONFDIR ?= /etc
# systemd reads units, sysusers.d and tmpfiles.d from /usr/lib and from
# /usr/local/lib alike; an administrator's copy goes to /etc (install.sh).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
NGINXDIR ?= $(SYSCONFDIR)/nginx

UNITS := $(wildcard deploy/systemd/*.service)
MAN7 := $(wildcard man/*.7)
MAN8 := $(wildcard man/*.8)
DOCS := README.md $(wildcard LICENSE docs/*.md)
NGINX_SNIPPETS := nginx/vigil-http.conf nginx/vigil-server.conf \
	nginx/vigil-ciphers-chacha.conf nginx/vigil-ciphers-client.conf
# The paths the units name, filled in at install time.
SUBST := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: uninstall
install: build-all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(NGINXDIR)/snippets $(DESTDIR)$(NGINXDIR)/sites-available \
		$(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BUILD)/vigil-capture $(BUILD)/vigil-server $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/vigil-record $(DESTDIR)$(SBINDIR)/
	install -m 0755 deploy/vigil-setup-tls.sh $(DESTDIR)$(SBINDIR)/vigil-setup-tls
	for u in $(notdir $(UNITS)); do \
		$(SUBST) deploy/systemd/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	install -m 0644 deploy/sysusers.d/vigil.conf $(DESTDIR)$(SYSUSERSDIR)/vigil.conf
	install -m 0644 deploy/tmpfiles.d/vigil.conf $(DESTDIR)$(TMPFILESDIR)/vigil.conf
	$(if $(MAN7),install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	$(if $(MAN8),install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(NGINX_SNIPPETS) $(DESTDIR)$(NGINXDIR)/snippets/
	install -m 0644 nginx/vigil-site.conf $(DESTDIR)$(NGINXDIR)/sites-available/vigil
# Configuration: an existing /etc/default/vigil is the administrator's.
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/vigil ] || \
		install -m 0644 deploy/default-vigil $(DESTDIR)$(SYSCONFDIR)/default/vigil

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vigil-capture $(DESTDIR)$(SBINDIR)/vigil-server \
		$(DESTDIR)$(SBINDIR)/vigil-record $(DESTDIR)$(SBINDIR)/vigil-setup-tls \
		$(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS))) \
		$(DESTDIR)$(SYSUSERSDIR)/vigil.conf $(DESTDIR)$(TMPFILESDIR)/vigil.conf \
		$(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(NGINXDIR)/snippets/,$(notdir $(NGINX_SNIPPETS))) \
		$(DESTDIR)$(NGINXDIR)/sites-available/vigil
	rm -rf $(DESTDIR)$(DOCDIR)
# /etc/default/vigil goes only as shipped; a changed one is kept.
	! cmp -s deploy/default-vigil $(DESTDIR)$(SYSCONFDIR)/default/vigil || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/default/vigil

# ---------------------------------------------------------------- format, lint
# Tree-wide by wildcard: a new file is formatted and checked without an edit
# here.  Shell scripts are found by their #! line.
SRC_DIRS_EXCLUDED := build/% run/% %/node_modules/%
C_FILES = $(filter-out $(SRC_DIRS_EXCLUDED),$(wildcard */*.c */*/*.c))
C_HEADERS = $(filter-out $(SRC_DIRS_EXCLUDED),$(wildcard */*.h */*/*.h))
SHELL_SCRIPTS = $(shell grep -rlE '^\#!\s*(/usr)?/bin/(env )?(ba|da)?sh' \
	--exclude-dir=build --exclude-dir=run --exclude-dir=node_modules \
	--exclude-dir=.git . | sort)
CPPCHECK ?= cppcheck
SHELLCHECK ?= shellcheck
CLANG_FORMAT ?= clang-format

.PHONY: format lint
format:
	$(CLANG_FORMAT) -i $(C_FILES) $(C_HEADERS)

# cppcheck's false positives and style choices, each with its reason, are in
# .cppcheck-suppressions; shellcheck's in .shellcheckrc.  The C must be as
# .clang-format lays it out (make format does it).  cppcheck reads no system
# header, so <sys/queue.h>'s list macros are given to it explicitly.
QUEUE_H := $(firstword $(wildcard /usr/include/sys/queue.h \
	/usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)/sys/queue.h))
lint:
	$(CPPCHECK) -q --std=c11 --enable=warning,style,performance,portability \
		--error-exitcode=1 --inline-suppr --suppressions-list=.cppcheck-suppressions \
		--template=gcc -j2 -D_GNU_SOURCE --include=$(QUEUE_H) -Icommon -Icapture -Iserver -Itests $(C_FILES)
	$(SHELLCHECK) $(SHELL_SCRIPTS)
	$(CLANG_FORMAT) --dry-run --Werror $(C_FILES) $(C_HEADERS)
	@echo "lint: $(words $(C_FILES)) C files and $(words $(SHELL_SCRIPTS)) shell scripts clean"

clean:
	rm -rf build
