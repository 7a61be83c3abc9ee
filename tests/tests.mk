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

# Fuzzers: clang's libFuzzer with ASan+UBSan, a variant of their own in
# build/fuzz/ (whatever BUILD is); tests/fuzz/run.sh runs them.  A harness
# tests/fuzz/fuzz_<name>.c names the sources it is linked with on a line
# "// fuzz-sources: a.c b.c" and its libraries on "// fuzz-libs: -lx".
CLANG ?= clang
FUZZ_DIR := build/fuzz
FUZZ_FLAGS := -std=c17 -g -O1 -D_GNU_SOURCE -Icommon -Icapture -Iserver -Itests \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZERS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
FUZZ_HEADERS := $(wildcard common/*.h capture/*.h server/*.h tests/*.h)
fuzz_field = $(shell sed -n 's|^// fuzz-$(2):||p' tests/fuzz/$(1).c | head -1)
define FUZZ_RULE
$(FUZZ_DIR)/$(1): tests/fuzz/$(1).c $(call fuzz_field,$(1),sources) $(FUZZ_HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CLANG) $$(FUZZ_FLAGS) $$(filter %.c,$$^) -o $$@ $(call fuzz_field,$(1),libs)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(f))))

.PHONY: fuzz
fuzz: $(FUZZERS)
