# tests/tpm: lib/tpm.c and swtpm-config/ (included by the top Makefile).
#   test_tpm_marshal   command bytes, hostile responses, addresses, and the
#                      transport against fake TPMs (no swtpm needed)
#   test-swtpm         the hypervisor swtpm for real: hvtpm-setup/start/stop,
#                      extends checked with tpm2_pcrread and recomputed in
#                      python3, EK certificate in NV, a verified quote, an
#                      outage and a restart (tpm_live is its C client)
#   fuzz_tpm_response  libFuzzer over the response parsers, FUZZ_SECONDS
#                      (in make check, and alone: make fuzz-tpm)
TPM_TEST_BINS := $(O)/tests/tpm/test_tpm_marshal $(O)/tests/tpm/tpm_live
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
TPM_FUZZ := $(BUILD)/fuzz/fuzz_tpm_response
TPM_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Ilib $(CRYPTO_CFLAGS)

$(O)/tests/tpm/%.o: tests/tpm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c $< -o $@

$(TPM_TEST_BINS): %: %.o $(LIBCORE)
	$(CC) $< -o $@ $(LIBCORE) $(CRYPTO_LIBS) $(ALL_LDFLAGS)

$(TPM_FUZZ): tests/tpm/fuzz_tpm_response.c $(LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(TPM_FUZZ_CFLAGS) $< $(LIB_SRCS) -o $@ $(CRYPTO_LIBS)

CHECKS += $(TPM_TEST_BINS) $(TPM_FUZZ)
CHECK_RUNS += '$$O/tests/tpm/test_tpm_marshal' 'sh tests/tpm/test-swtpm' \
	'O=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/tpm/run-fuzz $(TPM_FUZZ)'

-include $(TPM_TEST_BINS:=.d)

.PHONY: fuzz-tpm
fuzz-tpm: $(TPM_FUZZ) $(O)/tests/tpm/test_tpm_marshal
	@O=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/tpm/run-fuzz $(TPM_FUZZ)
