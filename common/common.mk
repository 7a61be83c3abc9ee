# SPDX-License-Identifier: MIT
# common/: what both daemons share.
COMMON_SRC := common/ring.c common/log.c common/parse.c
COMMON_SRC += common/font.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
