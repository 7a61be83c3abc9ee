# SPDX-License-Identifier: MIT
# common/: what both daemons share.  The ring's reader side and writer side
# are apart so that vigil-server links no writer code.
COMMON_SRC := common/ring.c common/ring_reader.c common/ring_writer.c \
	common/log.c common/parse.c common/usage.c common/font.c \
	common/privdrop.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
COMMON_RING_OBJ := $(BUILD)/obj/common/ring.o
COMMON_READER_OBJ := $(COMMON_RING_OBJ) $(BUILD)/obj/common/ring_reader.o \
	$(BUILD)/obj/common/log.o $(BUILD)/obj/common/parse.o \
	$(BUILD)/obj/common/usage.o $(BUILD)/obj/common/privdrop.o
COMMON_WRITER_OBJ := $(COMMON_RING_OBJ) $(BUILD)/obj/common/ring_writer.o \
	$(BUILD)/obj/common/log.o $(BUILD)/obj/common/parse.o \
	$(BUILD)/obj/common/usage.o
