# tests/manifest: `hvima manifest` on the corpus, firmware volumes built by
# tests/manifest/mkinputs.py, OVMF, a clean boot under the plugin, disk
# images made without root (mtools, sfdisk, mkntfs/ntfscp, qemu-img) and
# hostile inputs (tests/manifest/test-manifest); and the libFuzzer targets
# of the firmware volume and disk readers (tests/fuzz/fuzz_fv.c,
# fuzz_disk.c), seeded by tests/manifest/mkseeds and run by
# tests/fuzz/run-fuzzers for FUZZ_SECONDS each.
MF_FUZZ_DIR := $(BUILD)/fuzz
MF_FUZZ := $(MF_FUZZ_DIR)/fuzz_fv $(MF_FUZZ_DIR)/fuzz_disk
MF_INPUTS := $(BUILD)/corpus/mingw/efi-app.efi $(BUILD)/corpus/mingw/efi-app.te

$(MF_FUZZ_DIR)/.manifest-seeds: tests/manifest/mkseeds tests/manifest/mkinputs.py $(MF_INPUTS)
	sh tests/manifest/mkseeds $(BUILD) $(MF_INPUTS)

CHECKS += $(HVIMA) $(PLUGIN) $(GUEST_IMAGES) $(CORPUS_MINGW) $(CORPUS)/deb/.stamp $(MF_FUZZ) \
	$(MF_FUZZ_DIR)/.manifest-seeds
CHECK_RUNS += 'tests/manifest/test-manifest $$O $(BUILD)'
CHECK_RUNS += 'BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_NAMES="fuzz_fv fuzz_disk" sh tests/fuzz/run-fuzzers $(MF_FUZZ_DIR)'

# `make fuzz` runs these two as well.
FUZZ_NAMES += fuzz_fv fuzz_disk
fuzz: $(MF_FUZZ) $(MF_FUZZ_DIR)/.manifest-seeds
