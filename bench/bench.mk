# SPDX-License-Identifier: MIT
# bench/: benchmark programs (make bench builds BENCH_BINS, bench/run.sh runs
# every bench/bench_*.sh).
BENCH_BINS += $(BUILD)/bench/wake_bench
$(BUILD)/bench/wake_bench: $(BUILD)/obj/bench/wake_bench.o $(BUILD)/obj/common/ring.o $(BUILD)/obj/common/ring_reader.o $(BUILD)/obj/common/ring_writer.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^
