# SPDX-License-Identifier: MIT
# server/: vigil-server, the MJPEG fan-out (libevent + TurboJPEG).  The page
# files of www/ are compiled in through server/embed.sh.
# Every server/*.c is part of the daemon (a new module needs no edit here).
SERVER_SRC := $(wildcard server/*.c)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/www.o
SERVER_LIBS := $(call pkg_libs,libevent) $(call pkg_libs,libturbojpeg) \
	$(call pkg_libs,json-c libavformat libavcodec libavutil) -lm -lpthread
# The recordings (events.c, recstate.c: json-c; playback.c: libavformat).
$(BUILD)/obj/server/events.o $(BUILD)/obj/server/recstate.o: OBJ_FLAGS := $(call pkg_cflags,json-c)
$(BUILD)/obj/server/playback.o: OBJ_FLAGS := $(call pkg_cflags,libavformat libavutil)
WWW_FILES := $(shell find www -type f ! -name '.*' ! -name '*~' 2>/dev/null)

BINS += $(BUILD)/vigil-server

$(BUILD)/vigil-server: $(SERVER_OBJ) $(COMMON_READER_OBJ) \
	$(BUILD)/obj/common/font.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SERVER_LIBS)

# A pattern rule: the fuzzers (build/fuzz/) use build/gen/www.c whatever BUILD is.
%/gen/www.c: server/embed.sh $(WWW_FILES)
	@mkdir -p $(dir $@)
	server/embed.sh www $@

$(BUILD)/obj/gen/www.o: $(BUILD)/gen/www.c server/www.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Unit tests of the server's modules.
UNIT_TESTS += $(BUILD)/tests/test_frame $(BUILD)/tests/test_listen \
	$(BUILD)/tests/test_offline
$(BUILD)/tests/test_frame: $(BUILD)/obj/server/frame.o
$(BUILD)/tests/test_listen: $(BUILD)/obj/server/listen.o $(BUILD)/obj/common/log.o $(BUILD)/obj/common/parse.o
TEST_LIBS_test_listen := $(call pkg_libs,libevent)
$(BUILD)/tests/test_offline: $(BUILD)/obj/server/offline.o \
	$(BUILD)/obj/common/font.o
TEST_LIBS_test_offline := $(call pkg_libs,libturbojpeg)

# The recordings' safe opens and Range parsing.
UNIT_TESTS += $(BUILD)/tests/test_recdir
$(BUILD)/tests/test_recdir: $(BUILD)/obj/server/recdir.o \
	$(BUILD)/obj/server/clipfile.o $(BUILD)/obj/server/reply.o \
	$(BUILD)/obj/common/log.o
TEST_LIBS_test_recdir := $(call pkg_libs,libevent)

# ringfeed: a minimal ring writer for the server's tests and benchmarks.
TEST_TOOLS += $(BUILD)/tools/ringfeed
$(BUILD)/tools/ringfeed: $(BUILD)/obj/tests/tools/ringfeed.o $(COMMON_RING_OBJ) $(BUILD)/obj/common/ring_writer.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg_libs,libturbojpeg)

# The server benchmark (bench/bench_server.sh): load generator, the
# lower-bound fan-out and the ring reader that feeds the picamera reference
# (tools/ringcat -r, built with the test tools).
BENCH_BINS += $(BUILD)/bench/loadgen $(BUILD)/bench/fanout_ref $(BUILD)/tools/ringcat \
	$(BUILD)/tools/ringfeed
$(BUILD)/bench/loadgen: $(BUILD)/obj/bench/loadgen.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^
$(BUILD)/bench/fanout_ref: $(BUILD)/obj/bench/fanout_ref.o $(COMMON_RING_OBJ) $(BUILD)/obj/common/ring_reader.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread
