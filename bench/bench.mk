# SPDX-License-Identifier: MIT
# bench/: benchmark programs (make bench builds BENCH_BINS, bench/run.sh runs
# every bench/bench_*.sh).
BENCH_BINS += $(BUILD)/bench/wake_bench
$(BUILD)/bench/wake_bench: $(BUILD)/obj/bench/wake_bench.o $(BUILD)/obj/common/ring.o $(BUILD)/obj/common/ring_reader.o $(BUILD)/obj/common/ring_writer.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# Motion detection's cost (bench/bench_motion.sh).
BENCH_BINS += $(BUILD)/bench/motion_bench
$(BUILD)/bench/motion_bench: $(BUILD)/obj/bench/motion_bench.o \
	$(BUILD)/obj/capture/motion.o $(BUILD)/obj/capture/luma.o \
	$(BUILD)/obj/capture/jpegdc.o $(BUILD)/obj/capture/jpegmark.o \
	$(BUILD)/obj/capture/testsrc.o $(BUILD)/obj/capture/overlay.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TJ_LIBS) -lm
