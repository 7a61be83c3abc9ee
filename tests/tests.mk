# SPDX-License-Identifier: MIT
# tests/: one cmocka binary per module (tests/test_<module>.c), linked with
# the objects of the module under test.  Fragments of other directories add
# their own tests to UNIT_TESTS with a rule of the same shape.
CMOCKA_CFLAGS := $(call pkg_cflags,cmocka)
CMOCKA_LIBS := $(call pkg_libs,cmocka)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS_$*) $(CMOCKA_LIBS) -lpthread

UNIT_TESTS += $(BUILD)/tests/test_ring
$(BUILD)/tests/test_ring: $(BUILD)/obj/common/ring.o $(BUILD)/obj/common/ring_reader.o $(BUILD)/obj/common/ring_writer.o

UNIT_TESTS += $(BUILD)/tests/test_parse
$(BUILD)/tests/test_parse: $(BUILD)/obj/common/parse.o
