# tests/guests/ntboot: a Windows-like boot chain built from source, booted
# under hvima (included from tests/guests/rules.mk).
#   bootmgr.c   BOOTX64.EFI: LoadImage/StartImage of \ntboot\winload.efi
#   winload.c   loads ntoskrnl.exe and the boot drivers under its own page
#               tables at random kernel addresses, SetVirtualAddressMap
#   ntkrnl.c    ntoskrnl.exe: DriverEntry calls, discardable sections freed,
#               post-boot loads and unloads, runtime services, power off
#   drv.c       the boot drivers (hvlib.sys, drv01-20.sys, drvbig.sys,
#               drvpage.sys, drvlate.sys, reusea/reuseb.sys)
#   attack.c    hookinl.sys, hookiat.sys, inject.sys, wipe.sys
#   chan.c      chan.sys: file reports on the hvima channel (docs/channel.md)
#   test-ntboot boots every scenario and checks what hvima recorded
# One ESP per scenario ($(NTB)/esp-SCENARIO.img): the same binaries, a
# different \ntboot\boot.txt; "tampered" carries a drv05.sys with one byte
# changed.
NTB := $(GUESTS)/ntboot
NT_SRC := tests/guests/ntboot
NT_CFLAGS := -O2 -Wall -Wextra -Wshadow -ffreestanding -fno-stack-protector -mno-red-zone -fno-builtin \
	-nostdlib -Wl,--dynamicbase -Wl,--no-insert-timestamp
NT_DRV_FLAGS := $(NT_CFLAGS) -shared -Wl,--subsystem,native -e DriverEntry -Wl,--image-base,0x10000 \
	-Wl,-T,$(NTB)/drv.ld
NT_EFI_FLAGS := $(HVTEST_FLAGS)
NT_N := 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20
NT_BOOT_DRIVERS := hvlib.sys $(patsubst %,drv%.sys,$(NT_N)) drvbig.sys drvpage.sys
NT_LATE_DRIVERS := drvlate.sys reusea.sys reuseb.sys
NT_ATTACKS := hookinl.sys hookiat.sys inject.sys wipe.sys chan.sys
NT_FILES := bootmgr.efi winload.efi ntoskrnl.exe $(NT_BOOT_DRIVERS) $(NT_LATE_DRIVERS) $(NT_ATTACKS)
NT_SCENARIOS := clean inline-hook iat-hook inject header-wipe tampered image-reuse channel

# ld's own script for DLLs, with INIT placed last before .reloc, so that
# INIT and .reloc are the trailing discardable sections.
$(NTB)/drv.ld:
	@mkdir -p $(dir $@)
	$(MINGW_PFX)ld --verbose -shared | awk '/^=====/ { f = !f; next } f' | \
	  sed 's/^  \.reloc BLOCK(__section_alignment__) :$$/  INIT BLOCK(__section_alignment__) : { *(INIT) }\n&/' >$@.tmp
	grep -q '^  INIT BLOCK' $@.tmp && mv $@.tmp $@

$(NTB)/bootmgr.efi: $(NT_SRC)/bootmgr.c tests/guests/uefi/efilib.c tests/guests/uefi/efilib.h
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(NT_EFI_FLAGS) $(filter %.c,$^) -o $@.tmp && mv $@.tmp $@

$(NTB)/winload.efi: $(NT_SRC)/winload.c $(NT_SRC)/ldr.c $(NT_SRC)/mm.c tests/guests/uefi/efilib.c \
		$(wildcard $(NT_SRC)/*.h) tests/guests/uefi/efilib.h
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(NT_EFI_FLAGS) -fno-builtin $(filter %.c,$^) -o $@.tmp && mv $@.tmp $@

# Exports: linked under the final name (ld writes it into the export
# directory), removed if a step fails.
$(NTB)/ntoskrnl.exe: $(NT_SRC)/ntkrnl.c $(NT_SRC)/ldr.c $(NT_SRC)/mm.c $(wildcard $(NT_SRC)/*.h)
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(NT_CFLAGS) -Wl,--subsystem,native -e KiSystemStartup $(filter %.c,$^) -o $@ \
	  -Wl,--out-implib,$(NTB)/libntoskrnl.a || { rm -f $@; exit 1; }

# $(call nt_driver,OUT,SOURCES,CFLAGS,LIBS): link, point data directory 10
# at _load_config_used, mark INIT discardable.
define nt_driver
	@mkdir -p $(dir $(1))
	{ $(MINGW_CC) $(NT_DRV_FLAGS) $(3) $(2) -o $(1) -Wl,--out-implib,$(basename $(1)).lib.a \
	    $(4) $(NTB)/libntoskrnl.a && \
	  va=$$($(MINGW_NM) $(1) | awk '$$3 == "_load_config_used" { print "0x" $$1 }') && test -n "$$va" && \
	  $(CORPUS_TOOLS)/pe-setdir -v $(1) 10 $$va 148 && \
	  $(CORPUS_TOOLS)/pe-scnflags $(1) INIT 0x02000000; } || { rm -f $(1); exit 1; }
endef

NT_DRV_DEPS := $(NT_SRC)/drv.c $(NT_SRC)/drv.h $(NT_SRC)/nt.h $(NTB)/drv.ld $(NTB)/ntoskrnl.exe \
	$(CORPUS_TOOLS)/pe-setdir $(CORPUS_TOOLS)/pe-scnflags

$(NTB)/hvlib.sys: $(NT_DRV_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/drv.c,-DDRV_N=0 -DDRV_NAME='"hvlib.sys"')

# drvNN: N % 3 == 0 imports hvlib.sys; 07 and 11 import drv03.sys.
$(NTB)/drv03.sys $(NTB)/drv06.sys $(NTB)/drv09.sys $(NTB)/drv12.sys $(NTB)/drv15.sys $(NTB)/drv18.sys: \
	$(NTB)/hvlib.sys
$(NTB)/drv07.sys $(NTB)/drv11.sys: $(NTB)/drv03.sys
$(NTB)/drv%.sys: $(NT_DRV_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/drv.c,-DDRV_N=$(shell echo $$((1$* - 100))) -DDRV_NAME='"drv$*.sys"' \
	  $(if $(filter 07 11,$*),-DDRV_IMPORTS_DRV03),$(filter %.lib.a,$(patsubst %.sys,%.lib.a,$(filter %.sys,$^))))

$(NTB)/drvbig.sys: $(NT_DRV_DEPS) $(NT_SRC)/bigtext.S $(NTB)/hvlib.sys
	$(call nt_driver,$@,$(NT_SRC)/drv.c $(NT_SRC)/bigtext.S,-DDRV_N=21 -DDRV_BIG -DDRV_NAME='"drvbig.sys"',$(NTB)/hvlib.lib.a)
$(NTB)/drvpage.sys: $(NT_DRV_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/drv.c,-DDRV_N=22 -DDRV_PAGE -DDRV_NAME='"drvpage.sys"')
$(NTB)/drvlate.sys: $(NT_DRV_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/drv.c,-DDRV_N=23 -DDRV_NAME='"drvlate.sys"')
$(NTB)/reusea.sys: $(NT_DRV_DEPS) $(NTB)/hvlib.sys
	$(call nt_driver,$@,$(NT_SRC)/drv.c,-DDRV_N=24 -DDRV_UNLOAD -DDRV_NAME='"reusea.sys"',$(NTB)/hvlib.lib.a)
$(NTB)/reuseb.sys: $(NT_DRV_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/drv.c,-DDRV_N=25 -DDRV_UNLOAD -DDRV_NAME='"reuseb.sys"')

NT_ATTACK_DEPS := $(NT_SRC)/attack.c $(NT_SRC)/drv.h $(NT_SRC)/nt.h $(NTB)/drv.ld $(NTB)/ntoskrnl.exe \
	$(CORPUS_TOOLS)/pe-setdir $(CORPUS_TOOLS)/pe-scnflags $(NTB)/hvlib.sys
$(NTB)/hookinl.sys: $(NT_ATTACK_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/attack.c,-DATTACK_INLINE,$(NTB)/hvlib.lib.a)
$(NTB)/hookiat.sys: $(NT_ATTACK_DEPS) $(NTB)/drv06.sys
	$(call nt_driver,$@,$(NT_SRC)/attack.c,-DATTACK_IAT,$(NTB)/hvlib.lib.a $(NTB)/drv06.lib.a)
$(NTB)/inject.sys: $(NT_ATTACK_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/attack.c,-DATTACK_INJECT)
$(NTB)/wipe.sys: $(NT_ATTACK_DEPS)
	$(call nt_driver,$@,$(NT_SRC)/attack.c,-DATTACK_WIPE)

# The minifilter's channel from a measured driver (docs/channel.md).
$(NTB)/chan.sys: $(NT_SRC)/chan.c $(NT_SRC)/sha256.c $(NT_SRC)/sha256.h lib/chanrec.c lib/chansend.c \
		lib/chanrec.h lib/chansend.h $(NT_SRC)/drv.h $(NT_SRC)/nt.h $(NTB)/drv.ld $(NTB)/ntoskrnl.exe \
		$(CORPUS_TOOLS)/pe-setdir $(CORPUS_TOOLS)/pe-scnflags
	$(call nt_driver,$@,$(filter %.c,$^),-Ilib)

# The tampered scenario's drv05.sys: "DriverEntry ok" becomes "DriverEntry OK".
$(NTB)/tampered/drv05.sys: $(NTB)/drv05.sys
	@mkdir -p $(dir $@)
	python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); a = b"DriverEntry ok"; \
	  assert b.count(a) == 1; open(sys.argv[2], "wb").write(b.replace(a, b"DriverEntry OK"))' $< $@

NT_BASE_BOOT := kernel ntoskrnl.exe $(patsubst %,driver %,$(NT_BOOT_DRIVERS))
nt_boot_clean := $(NT_BASE_BOOT) late drvlate.sys
nt_boot_inline-hook := $(NT_BASE_BOOT) driver hookinl.sys late drvlate.sys
nt_boot_iat-hook := $(NT_BASE_BOOT) driver hookiat.sys late drvlate.sys
nt_boot_inject := $(NT_BASE_BOOT) driver inject.sys late drvlate.sys
nt_boot_header-wipe := $(NT_BASE_BOOT) driver wipe.sys late drvlate.sys
nt_boot_tampered := $(nt_boot_clean)
nt_boot_image-reuse := $(NT_BASE_BOOT) late reusea.sys unload reusea.sys late reuseb.sys
nt_boot_channel := $(NT_BASE_BOOT) driver chan.sys late drvlate.sys late reuseb.sys

$(NTB)/boot-%.txt: $(NT_SRC)/rules.mk
	@mkdir -p $(dir $@)
	printf '%s %s\n' $(nt_boot_$*) >$@.tmp && mv $@.tmp $@

nt_drv05 = $(if $(filter tampered,$(1)),$(NTB)/tampered/drv05.sys,$(NTB)/drv05.sys)
$(NTB)/esp-%.img: $(addprefix $(NTB)/,$(NT_FILES)) $(NTB)/boot-%.txt $(NTB)/tampered/drv05.sys tests/guests/mkesp
	sh tests/guests/mkesp $@ $(NTB)/bootmgr.efi:/EFI/BOOT/BOOTX64.EFI $(NTB)/boot-$*.txt:/ntboot/boot.txt \
	  $(foreach f,$(filter-out bootmgr.efi drv05.sys,$(NT_FILES)),$(NTB)/$(f):/ntboot/$(f)) \
	  $(call nt_drv05,$*):/ntboot/drv05.sys

NT_IMAGES := $(patsubst %,$(NTB)/esp-%.img,$(NT_SCENARIOS))
CHECKS += $(NT_IMAGES)
# Made through pattern rules: keep them (make would delete them as intermediates).
.SECONDARY: $(addprefix $(NTB)/,$(NT_FILES)) $(patsubst %,$(NTB)/boot-%.txt,$(NT_SCENARIOS))
CHECK_RUNS += 'tests/guests/ntboot/test-ntboot $$O $(NTB)'
