# hvima: top-level Makefile. Run ./configure first; it writes build/config.mk.
#
#   make            lib, tools (and the plugin once it exists)
#   make demo       boot the bundled guest under the plugin, show what it measured
#   make check      every test: unit, corpus (mingw-built and Debian PE files),
#                   loaded-image digests, and each fuzzer for FUZZ_SECONDS
#   make fuzz       only the fuzzers (FUZZ_SECONDS per target, default 60)
#   make install    PREFIX=/usr/local DESTDIR=
#   SANITIZE=1      build and test with ASan and UBSan (separate object tree)
#
# Fragments: tests/*/rules.mk add their targets and append to CHECKS.
BUILD ?= build
-include $(BUILD)/config.mk
ifeq ($(QEMU_PLUGIN_H),)
$(if $(filter clean help,$(MAKECMDGOALS)),,$(error run ./configure first (no $(BUILD)/config.mk)))
endif

# lib/ links liblzma (firmware volumes) and libfsntfs, libqcow, libbfio (disk
# images): MANIFEST_LIBS from ./configure (re-run it on an older build tree).
# The plugin takes only the objects it uses from the archive and links the
# libraries --as-needed: it needs none of these.
CRYPTO_LIBS += $(MANIFEST_LIBS)

CC ?= cc
ifeq ($(SANITIZE),1)
O := $(BUILD)/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
O := $(BUILD)/rel
SAN_FLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),yes)
WARN += -Werror
endif
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) $(SAN_FLAGS) $(CFLAGS) -Ilib $(CRYPTO_CFLAGS)
ALL_LDFLAGS := -Wl,-z,relro,-z,now $(SAN_FLAGS) $(LDFLAGS)

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIBCORE := $(O)/libhvcore.a
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(O)/%.o)
HVIMA := $(O)/hvima
PLUGIN_SRCS := $(wildcard plugin/*.c)
PLUGIN_OBJS := $(PLUGIN_SRCS:%.c=$(O)/%.o)
PLUGIN := $(O)/libhvima.so

.PHONY: all check fuzz clean install help demo
all: $(HVIMA) $(PLUGIN)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIBCORE): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(HVIMA): $(TOOL_OBJS) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(CRYPTO_LIBS)
	@ln -sf $(abspath $@) $(BUILD)/hvima

# The plugin: glue in plugin/, the core from lib/, one shared object.
$(PLUGIN_OBJS): ALL_CFLAGS += $(GLIB_CFLAGS) -I$(QEMU_PLUGIN_INC) -fvisibility=hidden
$(PLUGIN): $(PLUGIN_OBJS) $(LIBCORE)
	$(CC) -shared $(ALL_LDFLAGS) $^ -o $@ -Wl,--as-needed $(GLIB_LIBS) $(CRYPTO_LIBS)

CHECKS :=
include $(wildcard tests/*/rules.mk)
include minifilter/rules.mk

# Every test program speaks TAP; tests/run-tests summarizes and fails on any
# failure, and in CI (CI=true) on any skip.
check: all $(CHECKS)
	@sh tests/run-tests $(O) $(CHECK_RUNS)

# The README's first command: boot the bundled guest under the plugin.
demo: all $(GUEST_IMAGES) $(NT_IMAGES)
	@sh tools/demo $(O) $(GUESTS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(HVIMA) $(DESTDIR)$(PREFIX)/bin/hvima
	install -d $(DESTDIR)$(PREFIX)/lib/hvima
	install -m 0644 $(PLUGIN) $(DESTDIR)$(PREFIX)/lib/hvima/libhvima.so
	install -d $(DESTDIR)$(PREFIX)/libexec/hvima $(DESTDIR)$(PREFIX)/share/hvima/ovmf
	install -m 0755 tools/hvima-run $(DESTDIR)$(PREFIX)/libexec/hvima/hvima-run
	install -m 0755 tools/hvima-quote $(DESTDIR)$(PREFIX)/libexec/hvima/hvima-quote
	install -m 0644 ovmf/*.conf $(DESTDIR)$(PREFIX)/share/hvima/ovmf/

clean:
	rm -rf $(BUILD)/rel $(BUILD)/san $(BUILD)/fuzz $(BUILD)/corpus $(BUILD)/hvima

help:
	@sed -n '2,12p' Makefile

-include $(LIB_OBJS:.o=.d) $(TOOL_OBJS:.o=.d) $(PLUGIN_OBJS:.o=.d)
