# tests/fuzz: libFuzzer targets for the parsers of untrusted input.
#   fuzz_pe            hv_pe_parse (file and loaded) and every directory walker
#   fuzz_authenticode  hv_authenticode and hv_authenticode_signatures
#   fuzz_canon         hv_canon_digest on file and loaded layouts
#   fuzz_chanrec       the channel stream decoder and record decoder
#   fuzz_fltpolicy     the minifilter policy parser and name normalization
# Each is built with clang and lib/*.c compiled in (LIBCORE is gcc-built,
# without coverage instrumentation) into $(BUILD)/fuzz. `make fuzz` and
# `make check` run each for FUZZ_SECONDS (tests/fuzz/run-fuzzers), after
# replaying tests/fuzz/regress/; a crash fails the run.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_NAMES := fuzz_pe fuzz_authenticode fuzz_canon
FUZZ_NAMES += fuzz_chanrec fuzz_fltpolicy
FUZZ_TARGETS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Ilib $(CRYPTO_CFLAGS)

$(FUZZ_DIR)/%: tests/fuzz/%.c $(LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(LIB_SRCS) -o $@ $(CRYPTO_LIBS)

# Not run by default: a differential target, file digest == digest of the
# image the reference loader (tests/loader/refload.c) made of it. Run it
# with `make fuzz FUZZ_NAMES=fuzz_loaded`.
$(FUZZ_DIR)/fuzz_loaded: tests/fuzz/fuzz_loaded.c tests/loader/refload.c tests/loader/refload.h $(LIB_SRCS) \
		$(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/loader $< tests/loader/refload.c $(LIB_SRCS) -o $@ $(CRYPTO_LIBS)

# Seeds come from mksynth (tests/loader) and the small corpus files.
FUZZ_ENV = O=$(O) BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_NAMES="$(FUZZ_NAMES)"

fuzz: $(FUZZ_TARGETS) $(O)/tests/loader/mksynth
	@$(FUZZ_ENV) sh tests/fuzz/run-fuzzers $(FUZZ_DIR)

CHECKS += $(FUZZ_TARGETS)
# The targets named here so far (later rules.mk files add targets they run
# with their own seeds): run-fuzzers' own default list is only the first three.
FUZZ_CHECK_NAMES := $(FUZZ_NAMES)
CHECK_RUNS += 'BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_NAMES="$(FUZZ_CHECK_NAMES)" sh tests/fuzz/run-fuzzers $(FUZZ_DIR)'
