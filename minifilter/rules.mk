# minifilter/rules.mk: hvimaflt.sys, the Windows minifilter, built with
# mingw-w64 as a native x64 kernel driver (included by the top Makefile).
#
#   libfltmgr.a   import library for FLTMGR.SYS, from fltmgr.def (dlltool):
#                 mingw-w64 ships none
#   hvimaflt.sys  the driver: minifilter/*.c plus the portable lib/chanrec.c,
#                 lib/chansend.c, lib/fltpolicy.c; data directory 10 is then
#                 pointed at _load_config_used (ld leaves it empty)
# Output in $(BUILD)/minifilter, shared by the rel and SANITIZE trees.
MF := $(BUILD)/minifilter
MINGW_CC ?= x86_64-w64-mingw32-gcc
MF_PFX := $(patsubst %gcc,%,$(MINGW_CC))
MF_DDK := /usr/$(patsubst %-,%,$(MF_PFX))/include/ddk
MF_SRCS := minifilter/gs.c minifilter/hvimaflt.c minifilter/measure.c lib/chanrec.c lib/chansend.c lib/fltpolicy.c
MF_HDRS := minifilter/hvimaflt.h minifilter/fltmgr.h lib/chanrec.h lib/chansend.h lib/fltpolicy.h

# Kernel code: no red zone, freestanding, gcc's stack protector on a global
# guard that is the Load Config security cookie (minifilter/gs.c), .reloc
# kept (--dynamicbase), NX-compatible, deterministic (no time stamp).
MF_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Wshadow -Wvla -Werror -ffreestanding -mno-red-zone \
	-fno-stack-check -mno-stack-arg-probe -fstack-protector-strong -mstack-protector-guard=global \
	-I$(MF_DDK) -Ilib -Iminifilter
MF_LDFLAGS := -nostdlib -Wl,--subsystem,native -e DriverEntry -Wl,--dynamicbase -Wl,--nxcompat \
	-Wl,--high-entropy-va -Wl,--no-insert-timestamp -Wl,--image-base,0x140000000 \
	-Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000

$(MF)/libfltmgr.a: minifilter/fltmgr.def
	@mkdir -p $(dir $@)
	$(MF_PFX)dlltool --input-def $< --dllname FLTMGR.SYS --output-lib $@

$(MF)/hvimaflt.sys: $(MF_SRCS) $(MF_HDRS) $(MF)/libfltmgr.a $(CORPUS_TOOLS)/pe-setdir
	@mkdir -p $(dir $@)
	{ $(MINGW_CC) $(MF_CFLAGS) $(MF_SRCS) -o $@.tmp $(MF_LDFLAGS) $(MF)/libfltmgr.a -lntoskrnl -lksecdd && \
	  va=$$($(MF_PFX)nm $@.tmp | awk '$$3 == "_load_config_used" { print "0x" $$1 }') && test -n "$$va" && \
	  $(CORPUS_TOOLS)/pe-setdir -v $@.tmp 10 $$va 0x70 && mv $@.tmp $@; } || { rm -f $@.tmp; exit 1; }
	$(MF_PFX)nm $@ | awk '$$3 == "DriverEntry" { print "0x" $$1 }' >$(MF)/hvimaflt.entry

$(MF)/hvimaflt.entry: $(MF)/hvimaflt.sys

# The structural check (tests/minifilter/test-sys.c).
$(O)/tests/minifilter/test-sys: tests/minifilter/test-sys.c tests/tap.h $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $< -o $@ $(ALL_LDFLAGS) $(LIBCORE) $(CRYPTO_LIBS)

minifilter: $(MF)/hvimaflt.sys
.PHONY: minifilter
CHECKS += $(MF)/hvimaflt.sys $(O)/tests/minifilter/test-sys
CHECK_RUNS += '$$O/tests/minifilter/test-sys $(MF)/hvimaflt.sys $$(cat $(MF)/hvimaflt.entry)'
