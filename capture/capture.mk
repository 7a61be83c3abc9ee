# SPDX-License-Identifier: MIT
# capture/: vigil-capture, its unit tests, its test tool and its benchmark.
# Every capture/*.c is part of the daemon; libcamera.cpp (C++) replaces
# libcamera_none.c when pkg-config finds libcamera.
TJ_CFLAGS := $(call pkg_cflags,libturbojpeg)
TJ_LIBS := $(call pkg_libs,libturbojpeg)

CAPTURE_SRC := $(wildcard capture/*.c)
CAPTURE_CXX_SRC :=
CAPTURE_LIBS := $(TJ_LIBS) -lm
CAPTURE_LD = $(CC)
ifeq ($(shell $(PKG_CONFIG) --exists libcamera 2>/dev/null && echo 1),1)
CAPTURE_SRC := $(filter-out capture/libcamera_none.c,$(CAPTURE_SRC))
CAPTURE_CXX_SRC := capture/libcamera.cpp
CAPTURE_LIBS += $(call pkg_libs,libcamera)
CAPTURE_LD = $(CXX)
$(BUILD)/obj/capture/libcamera.o: OBJ_FLAGS := $(call pkg_cflags,libcamera)
endif
CAPTURE_OBJ := $(CAPTURE_SRC:%.c=$(BUILD)/obj/%.o) \
	$(CAPTURE_CXX_SRC:%.cpp=$(BUILD)/obj/%.o)
$(BUILD)/obj/capture/encode.o $(BUILD)/obj/capture/luma.o \
	$(BUILD)/obj/capture/substream.o: \
	OBJ_FLAGS := $(TJ_CFLAGS)

BINS += $(BUILD)/vigil-capture
$(BUILD)/vigil-capture: $(CAPTURE_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CAPTURE_LD) $(ALL_LDFLAGS) -o $@ $^ $(CAPTURE_LIBS)

# Unit tests: tests/test_<module>.c linked with the module's objects.
UNIT_TESTS += $(patsubst %,$(BUILD)/tests/test_%,\
	jpegsplit transform overlay encode testsrc convert jpegfix daynight \
	jpegmark)
$(BUILD)/tests/test_jpegsplit: $(BUILD)/obj/capture/jpegsplit.o \
	$(BUILD)/obj/capture/jpegmark.o
$(BUILD)/tests/test_jpegmark: $(BUILD)/obj/capture/jpegmark.o
TEST_LIBS_test_jpegsplit := $(TJ_LIBS)
$(BUILD)/tests/test_transform: $(BUILD)/obj/capture/transform.o
$(BUILD)/tests/test_daynight: $(BUILD)/obj/capture/daynight.o
$(BUILD)/tests/test_overlay: $(BUILD)/obj/capture/overlay.o \
	$(BUILD)/obj/common/font.o
$(BUILD)/tests/test_encode: $(BUILD)/obj/capture/encode.o \
	$(BUILD)/obj/capture/transform.o $(BUILD)/obj/capture/overlay.o \
	$(BUILD)/obj/common/font.o
TEST_LIBS_test_encode := $(TJ_LIBS) -lm
$(BUILD)/tests/test_testsrc: $(BUILD)/obj/capture/testsrc.o \
	$(BUILD)/obj/capture/overlay.o $(BUILD)/obj/common/log.o \
	$(BUILD)/obj/common/font.o
$(BUILD)/tests/test_convert: $(BUILD)/obj/capture/convert.o
TEST_LIBS_test_convert := $(TJ_LIBS)
$(BUILD)/tests/test_jpegfix: $(BUILD)/obj/capture/jpegfix.o \
	$(BUILD)/obj/capture/jpegmark.o
TEST_LIBS_test_jpegfix := $(TJ_LIBS)
UNIT_TESTS += $(BUILD)/tests/test_substream
$(BUILD)/tests/test_substream: $(BUILD)/obj/capture/substream.o \
	$(BUILD)/obj/capture/encode.o $(BUILD)/obj/common/ring.o \
	$(BUILD)/obj/common/ring_reader.o $(BUILD)/obj/common/ring_writer.o
TEST_LIBS_test_substream := $(TJ_LIBS)
UNIT_TESTS += $(BUILD)/tests/test_encpool
$(BUILD)/tests/test_encpool: $(BUILD)/obj/capture/encpool.o
TEST_LIBS_test_encpool := -lpthread
# The V4L2 source against a fake camera (tests/test_v4l2.c).
UNIT_TESTS += $(BUILD)/tests/test_v4l2
$(BUILD)/tests/test_v4l2: $(BUILD)/obj/capture/v4l2.o \
	$(BUILD)/obj/capture/v4l2dev.o $(BUILD)/obj/capture/camctl.o \
	$(BUILD)/obj/capture/v4l2fmt.o $(BUILD)/obj/capture/v4l2ctl.o \
	$(BUILD)/obj/capture/v4l2list.o $(BUILD)/obj/capture/daynight.o \
	$(BUILD)/obj/capture/jpegfix.o $(BUILD)/obj/capture/jpegmark.o \
	$(BUILD)/obj/capture/convert.o \
	$(BUILD)/obj/common/log.o
TEST_LIBS_test_v4l2 := $(TJ_LIBS) -lm
# jpegfix: capture's Huffman-table fix as a filter, for the camera tests.
TEST_TOOLS += $(BUILD)/tools/jpegfix
$(BUILD)/tools/jpegfix: $(BUILD)/obj/tests/tools/jpegfix.o \
	$(BUILD)/obj/capture/jpegfix.o $(BUILD)/obj/capture/jpegmark.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# The camera conversion benchmark (bench/bench_convert.sh).
BENCH_BINS += $(BUILD)/bench/convert_bench
$(BUILD)/bench/convert_bench: $(BUILD)/obj/bench/convert_bench.o \
	$(BUILD)/obj/capture/convert.o $(BUILD)/obj/capture/encode.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TJ_LIBS) -lm

# ringcat: reads a ring from the tests (python has no futex or seqlock).
TEST_TOOLS += $(BUILD)/tools/ringcat
$(BUILD)/tools/ringcat: $(BUILD)/obj/tests/tools/ringcat.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# The encoder benchmark (bench/bench_encode.sh).
BENCH_BINS += $(BUILD)/bench/encode_bench
$(BUILD)/bench/encode_bench: $(BUILD)/obj/bench/encode_bench.o \
	$(BUILD)/obj/capture/encode.o $(BUILD)/obj/capture/testsrc.o \
	$(BUILD)/obj/capture/overlay.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TJ_LIBS) -lm
# Motion detection (tests/test_motion.c, tests/test_luma.c).
UNIT_TESTS += $(BUILD)/tests/test_motion $(BUILD)/tests/test_luma
$(BUILD)/tests/test_motion: $(BUILD)/obj/capture/motion.o $(BUILD)/obj/capture/luma.o \
	$(BUILD)/obj/capture/jpegdc.o $(BUILD)/obj/capture/jpegmark.o
TEST_LIBS_test_motion := $(TJ_LIBS)
$(BUILD)/tests/test_luma: $(BUILD)/obj/capture/luma.o $(BUILD)/obj/capture/jpegdc.o \
	$(BUILD)/obj/capture/jpegmark.o
TEST_LIBS_test_luma := $(TJ_LIBS)
# The DC-only JPEG decoder against TurboJPEG (tests/test_jpegdc.c).
UNIT_TESTS += $(BUILD)/tests/test_jpegdc
$(BUILD)/tests/test_jpegdc: $(BUILD)/obj/capture/jpegdc.o $(BUILD)/obj/capture/jpegmark.o
TEST_LIBS_test_jpegdc := $(TJ_LIBS)
