# SPDX-License-Identifier: MIT
# recorder/: vigil-record, motion events from the ring into Matroska clips
# (libavformat), with metadata, thumbnails and retention.
# Every recorder/*.c is part of the daemon (a new module needs no edit here).
RECORDER_SRC := $(wildcard recorder/*.c)
RECORDER_OBJ := $(RECORDER_SRC:%.c=$(BUILD)/obj/%.o)
RECORDER_LIBS := $(call pkg_libs,libavformat libavcodec libavutil) \
	$(call pkg_libs,libmosquitto libcurl libcrypto)
$(BUILD)/obj/recorder/clip.o: OBJ_FLAGS := $(call pkg_cflags,libavformat libavutil)
$(BUILD)/obj/recorder/notify_mqtt.o: OBJ_FLAGS := $(call pkg_cflags,libmosquitto)
$(BUILD)/obj/recorder/notify_webhook.o: OBJ_FLAGS := $(call pkg_cflags,libcurl libcrypto)
PROJ_CPPFLAGS += -Irecorder

BINS += $(BUILD)/vigil-record

$(BUILD)/vigil-record: $(RECORDER_OBJ) $(COMMON_READER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(RECORDER_LIBS) -lpthread

# Unit tests of the recorder's modules.
UNIT_TESTS += $(BUILD)/tests/test_preroll $(BUILD)/tests/test_event \
	$(BUILD)/tests/test_meta $(BUILD)/tests/test_retention \
	$(BUILD)/tests/test_store $(BUILD)/tests/test_queue
$(BUILD)/tests/test_queue: $(BUILD)/obj/recorder/queue.o
$(BUILD)/tests/test_preroll: $(BUILD)/obj/recorder/preroll.o
$(BUILD)/tests/test_event: $(BUILD)/obj/recorder/event.o
$(BUILD)/tests/test_meta: $(BUILD)/obj/recorder/meta.o
$(BUILD)/tests/test_retention: $(BUILD)/obj/recorder/retention.o
$(BUILD)/tests/test_store: $(BUILD)/obj/recorder/store.o \
	$(BUILD)/obj/recorder/meta.o $(BUILD)/obj/recorder/retention.o \
	$(BUILD)/obj/recorder/clip.o $(BUILD)/obj/common/log.o
TEST_LIBS_test_store := $(RECORDER_LIBS)
UNIT_TESTS += $(BUILD)/tests/test_clip
$(BUILD)/tests/test_clip: $(BUILD)/obj/recorder/clip.o
TEST_LIBS_test_clip := $(call pkg_libs,libavformat libavcodec libavutil)

# recfeed: publishes JPEGs with the motion flag over a labelled span.
TEST_TOOLS += $(BUILD)/tools/recfeed
$(BUILD)/tools/recfeed: $(BUILD)/obj/tests/tools/recfeed.o $(COMMON_WRITER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg_libs,libturbojpeg)

# Notifications: discovery messages, the event JSON and the signature.
UNIT_TESTS += $(BUILD)/tests/test_notify
$(BUILD)/tests/test_notify: $(BUILD)/obj/recorder/notify.o \
	$(BUILD)/obj/recorder/notify_hass.o $(BUILD)/obj/recorder/notify_mqtt.o \
	$(BUILD)/obj/recorder/notify_webhook.o $(BUILD)/obj/recorder/notify_hook.o \
	$(BUILD)/obj/recorder/notify_queue.o $(BUILD)/obj/common/log.o \
	$(BUILD)/obj/common/parse.o
TEST_LIBS_test_notify := $(call pkg_libs,libmosquitto libcurl libcrypto) -lpthread

BENCH_BINS += $(BUILD)/tools/recfeed
