# tests/corpus/rules.mk: the PE test corpus (included by the top Makefile).
#
# Builds small PE/TE images with mingw-w64 into $(BUILD)/corpus/mingw (shared
# by the rel and SANITIZE trees, so they do not depend on $(O)): a UEFI app
# (x86_64 and i386), the same app without relocations and as a TE image, two
# native drivers (one with a patched-in Load Config, one importing from the
# other) and a DLL with a delay import. Copies signed with a throw-away key
# go to $(BUILD)/corpus/signed; real files from Debian packages are fetched
# into $(BUILD)/corpus/deb. tests/corpus/list prints them all.
CORPUS := $(BUILD)/corpus
CM := $(CORPUS)/mingw
CORPUS_TOOLS := $(CORPUS)/tools
MINGW_CC ?= x86_64-w64-mingw32-gcc
MINGW_PFX := $(patsubst %gcc,%,$(MINGW_CC))
MINGW_NM := $(MINGW_PFX)nm
MINGW_DLLTOOL := $(MINGW_PFX)dlltool
MINGW32_CC ?= i686-w64-mingw32-gcc
EFI_INC ?= /usr/include/efi

# Deterministic, freestanding images. --build-id makes ld emit a CodeView
# RSDS debug entry; --dynamicbase makes it keep .reloc.
MINGW_FLAGS := -O2 -Wall -Wextra -ffreestanding -fno-stack-protector -mno-red-zone \
	-Wl,--no-insert-timestamp -Wl,--build-id
EFI_FLAGS := $(MINGW_FLAGS) -fshort-wchar -I$(EFI_INC) -nostdlib -Wl,--subsystem,10
EFI64_FLAGS := $(EFI_FLAGS) -I$(EFI_INC)/x86_64 -e efi_main
DRV_FLAGS := $(MINGW_FLAGS) -I/usr/$(patsubst %-,%,$(MINGW_PFX))/include/ddk -nostdlib \
	-Wl,--subsystem,native -e DriverEntry -Wl,--dynamicbase

CORPUS_MINGW := $(CM)/efi-app.efi $(CM)/efi-app-ia32.efi $(CM)/noreloc.efi $(CM)/te-src.efi \
	$(CM)/efi-app.te $(CM)/hvcorpus.sys $(CM)/hvcorpus2.sys $(CM)/hvcorpus.dll
CORPUS_SIGNED := $(CORPUS)/signed/efi-app.signed.efi $(CORPUS)/signed/hvcorpus.signed.sys \
	$(CORPUS)/signed/efi-app-ia32.signed.efi

$(CORPUS_TOOLS)/%: tests/corpus/%.c lib/rd.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -g -Ilib $< -o $@

# Each link writes $@.tmp and renames, so an interrupted build leaves no
# half-built image behind (not for images with exports: see below).
$(CM)/efi-app.efi: tests/corpus/efi-app.c
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(EFI64_FLAGS) -Wl,--dynamicbase $< -o $@.tmp && mv $@.tmp $@

$(CM)/efi-app-ia32.efi: tests/corpus/efi-app.c
	@mkdir -p $(dir $@)
	$(MINGW32_CC) $(EFI_FLAGS) -I$(EFI_INC)/ia32 -e _efi_main -Wl,--dynamicbase $< -o $@.tmp && mv $@.tmp $@

$(CM)/noreloc.efi: tests/corpus/efi-app.c
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(EFI64_FLAGS) -Wl,--disable-dynamicbase -Wl,--disable-reloc-section $< -o $@.tmp && mv $@.tmp $@

# The TE source: file alignment == section alignment, so raw offsets are RVAs.
$(CM)/te-src.efi: tests/corpus/efi-app.c
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(EFI64_FLAGS) -Wl,--dynamicbase -Wl,--file-alignment,0x1000 \
		-Wl,--section-alignment,0x1000 $< -o $@.tmp && mv $@.tmp $@

$(CM)/efi-app.te: $(CM)/te-src.efi $(CORPUS_TOOLS)/pe2te
	$(CORPUS_TOOLS)/pe2te $< $@.tmp && mv $@.tmp $@

# ld leaves data directory 10 empty: point it at _load_config_used. Linked
# under the final name (ld writes it into the export directory); removed if
# the patch fails.
$(CM)/hvcorpus.sys: tests/corpus/drv.c $(CORPUS_TOOLS)/pe-setdir
	@mkdir -p $(dir $@)
	{ $(MINGW_CC) $(DRV_FLAGS) $< -o $@ -Wl,--out-implib,$(CM)/libhvcorpus.a -lntoskrnl -lhal && \
	  va=$$($(MINGW_NM) $@ | awk '$$3 == "_load_config_used" { print "0x" $$1 }') && test -n "$$va" && \
	  $(CORPUS_TOOLS)/pe-setdir -v $@ 10 $$va 0x140; } || { rm -f $@; exit 1; }

$(CM)/hvcorpus2.sys: tests/corpus/drv2.c $(CM)/hvcorpus.sys
	$(MINGW_CC) $(DRV_FLAGS) $< -o $@ $(CM)/libhvcorpus.a -lntoskrnl

# The delay-import descriptor (dlltool -y) and its terminator (dll.c) are two
# 32-byte descriptors ld does not list in data directory 13.
$(CM)/hvcorpus.dll: tests/corpus/dll.c tests/corpus/version-delay.def $(CORPUS_TOOLS)/pe-setdir
	@mkdir -p $(dir $@)
	$(MINGW_DLLTOOL) --input-def tests/corpus/version-delay.def --dllname version.dll -y $(CM)/libversion-delay.a
	{ $(MINGW_CC) -O2 -Wall -Wextra -Wl,--no-insert-timestamp -Wl,--build-id -Wl,--dynamicbase -shared \
	  $< -o $@ $(CM)/libversion-delay.a && \
	  va=$$($(MINGW_NM) $@ | awk '$$3 ~ /^__DELAY_IMPORT_DESCRIPTOR_/ { print "0x" $$1 }') && test -n "$$va" && \
	  $(CORPUS_TOOLS)/pe-setdir -v $@ 13 $$va 64; } || { rm -f $@; exit 1; }

# Signed copies with a self-made key: their embedded digest is computed by
# osslsigncode, an implementation independent of lib/authenticode.c.
$(CORPUS)/signed/key.pem:
	@mkdir -p $(dir $@)
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=hvima corpus test key/" \
		-keyout $@.tmp -out $(CORPUS)/signed/cert.pem 2>/dev/null && mv $@.tmp $@

$(CORPUS)/signed/%.signed.efi: $(CM)/%.efi $(CORPUS)/signed/key.pem
	osslsigncode sign -certs $(CORPUS)/signed/cert.pem -key $(CORPUS)/signed/key.pem -in $< -out $@.tmp >/dev/null
	mv $@.tmp $@

$(CORPUS)/signed/%.signed.sys: $(CM)/%.sys $(CORPUS)/signed/key.pem
	osslsigncode sign -certs $(CORPUS)/signed/cert.pem -key $(CORPUS)/signed/key.pem -in $< -out $@.tmp >/dev/null
	mv $@.tmp $@

# Debian files: a failed download does not stop make; the tests then skip
# (or fail in CI) with the reason left in deb/ERROR.
$(CORPUS)/deb/.stamp: tests/corpus/fetch-debian
	sh tests/corpus/fetch-debian $(CORPUS)/deb || \
		echo "corpus: Debian files not fetched; their tests will skip (fail with CI=true)"

$(O)/tests/corpus/%: tests/corpus/%.c tests/corpus/corpus.h tests/tap.h $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $< -o $@ $(ALL_LDFLAGS) $(LIBCORE) $(CRYPTO_LIBS)

CORPUS_TESTS := $(O)/tests/corpus/test-corpus $(O)/tests/corpus/test-signed $(O)/tests/corpus/test-canon
CHECKS += $(CORPUS_MINGW) $(CORPUS_SIGNED) $(CORPUS)/deb/.stamp $(CORPUS_TESTS)
CHECK_RUNS += '$$O/tests/corpus/test-corpus $(CM)'
CHECK_RUNS += '$$O/tests/corpus/test-signed $(CORPUS)'
CHECK_RUNS += 'tests/corpus/list $(BUILD) | $$O/tests/corpus/test-canon'
