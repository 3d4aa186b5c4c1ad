# tests/verify: hvima verify and hvima baseline.
#   test_verify          the readers of manifests, policies, baselines, PCR
#                        YAML and quotes on valid and hostile input; log
#                        classification and matching (TAP, no QEMU)
#   test-verify          the measured-boot regression: boots the bundled
#                        guest (clean, tampered ESP file, tamper guest) and
#                        verifies against OVMF/ESP manifests, the committed
#                        baseline and policy, live PCRs and quotes, forged
#                        and cut logs (real QEMU, OVMF, swtpm, tpm2-tools)
#   run-fuzz             fuzz_verify_inputs (JSON, manifest, policy,
#                        baseline, PCR YAML) and fuzz_quote for FUZZ_SECONDS
# `make verify-baseline` regenerates tests/verify/baseline-ovmf-deb12.json
# from two clean boots (docs/cli.md says when).
VERIFY_DIR := $(O)/tests/verify
VERIFY_BINS := $(VERIFY_DIR)/test_verify
VERIFY_FUZZ := $(BUILD)/fuzz/fuzz_verify_inputs $(BUILD)/fuzz/fuzz_quote
VERIFY_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Ilib $(CRYPTO_CFLAGS)

$(VERIFY_DIR)/%.o: tests/verify/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c $< -o $@

$(VERIFY_DIR)/test_verify: $(VERIFY_DIR)/test_verify.o $(O)/tests/log/logbuild.o $(LIBCORE)
	$(CC) $^ -o $@ $(LIBCORE) $(CRYPTO_LIBS) $(ALL_LDFLAGS)

$(BUILD)/fuzz/fuzz_verify_inputs $(BUILD)/fuzz/fuzz_quote: $(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) \
		$(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(VERIFY_FUZZ_CFLAGS) $< $(LIB_SRCS) -o $@ $(CRYPTO_LIBS)

CHECKS += $(VERIFY_BINS) $(VERIFY_FUZZ)
CHECK_RUNS += '$$O/tests/verify/test_verify' 'sh tests/verify/test-verify $$O $(GUESTS)' \
	'FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/verify/run-fuzz $(VERIFY_FUZZ)'

.PHONY: verify-baseline
verify-baseline: all $(GUESTS)/esp-clean.img
	sh tests/verify/mkbaseline $(O) $(GUESTS)

-include $(VERIFY_BINS:=.d)
