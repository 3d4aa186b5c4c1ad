# tests/guests: test guests booted under QEMU, and the tests that boot them.
#   uefi/hvtest.c  a UEFI application (BOOTX64.EFI): saves the firmware's
#                  TCG event log to the ESP, optionally rewrites its own code
#                  ("tamper"), shuts down; a copy signed with the OVMF
#                  package's test key boots with Secure Boot on
#   mkesp          makes a FAT ESP image from FILE:DEST pairs (mtools)
#   log-events     lists the events of a TCG event log (python3)
#   test-boot      boots the guests with `hvima run` and checks the result
# Guest images go to $(BUILD)/guests, shared by the rel and SANITIZE trees.
GUESTS := $(BUILD)/guests
MINGW_CC ?= x86_64-w64-mingw32-gcc
EFI_INC ?= /usr/include/efi

# Freestanding and deterministic (no time stamp); --dynamicbase keeps .reloc
# so OVMF relocates the image like any real one.
HVTEST_FLAGS := -O2 -Wall -Wextra -Wshadow -ffreestanding -fno-stack-protector -mno-red-zone \
	-fshort-wchar -I$(EFI_INC) -I$(EFI_INC)/x86_64 -nostdlib -Wl,--subsystem,10 -e efi_main \
	-Wl,--dynamicbase -Wl,--no-insert-timestamp

# The channel mode sends with the portable record code and sender of lib/.
$(GUESTS)/hvtest.efi: tests/guests/uefi/hvtest.c tests/guests/uefi/efilib.c tests/guests/uefi/efilib.h \
		lib/chanrec.c lib/chansend.c lib/chanrec.h lib/chansend.h
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(HVTEST_FLAGS) -Ilib $(filter %.c,$^) -o $@.tmp && mv $@.tmp $@

$(GUESTS)/mode-clean.txt $(GUESTS)/mode-tamper.txt:
	@mkdir -p $(dir $@)
	echo $(patsubst mode-%.txt,%,$(notdir $@)) >$@

$(GUESTS)/esp-%.img: $(GUESTS)/hvtest.efi $(GUESTS)/mode-%.txt tests/guests/mkesp
	sh tests/guests/mkesp $@ $<:/EFI/BOOT/BOOTX64.EFI $(GUESTS)/mode-$*.txt:/hvima/mode.txt

# Signed with Debian's OVMF test key, for the snakeoil Secure Boot profile.
SNAKEOIL := /usr/share/ovmf/PkKek-1-snakeoil
$(GUESTS)/hvtest.snakeoil.efi: $(GUESTS)/hvtest.efi
	osslsigncode sign -certs $(SNAKEOIL).pem -key $(SNAKEOIL).key -pass snakeoil \
		-in $< -out $@.tmp >/dev/null && mv $@.tmp $@

$(GUESTS)/esp-snakeoil.img: $(GUESTS)/hvtest.snakeoil.efi $(GUESTS)/mode-clean.txt tests/guests/mkesp
	sh tests/guests/mkesp $@ $<:/EFI/BOOT/BOOTX64.EFI $(GUESTS)/mode-clean.txt:/hvima/mode.txt

include tests/guests/ntboot/rules.mk

GUEST_IMAGES := $(GUESTS)/hvtest.efi $(GUESTS)/esp-clean.img $(GUESTS)/esp-tamper.img \
	$(GUESTS)/esp-snakeoil.img
CHECKS += $(GUEST_IMAGES)
CHECK_RUNS += 'tests/guests/test-boot $$O $(GUESTS)'
