# tests/log: the TCG event log (lib/tcglog.h, lib/events.h).
#   test_tcglog     writer, walker, replay and decoder on written and on
#                   hand-made hostile logs (TAP)
#   test-eventlog   the sample log (mklog) against the real tpm2_eventlog:
#                   it parses it, and its replayed PCRs equal hv_log_replay's
#                   and `hvima log --json`'s; a corrupted log is rejected
#   fuzz-tcglog     the libFuzzer target tests/fuzz/fuzz_tcglog.c for
#                   FUZZ_SECONDS (built here, like tests/fuzz/rules.mk builds
#                   its targets: clang, lib/*.c compiled in)
LOG_DIR := $(O)/tests/log
LOG_HELPERS := $(LOG_DIR)/logbuild.o
LOG_BINS := $(LOG_DIR)/test_tcglog $(LOG_DIR)/mklog

$(LOG_DIR)/%.o: tests/log/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c $< -o $@

$(LOG_DIR)/test_tcglog $(LOG_DIR)/mklog: $(LOG_DIR)/%: $(LOG_DIR)/%.o $(LOG_HELPERS) $(LIBCORE)
	$(CC) $^ -o $@ $(LIBCORE) $(CRYPTO_LIBS) $(ALL_LDFLAGS)

LOGFUZZ_CC ?= clang
LOGFUZZ_BIN := $(BUILD)/fuzz/fuzz_tcglog
LOGFUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Ilib $(CRYPTO_CFLAGS)

$(LOGFUZZ_BIN): tests/fuzz/fuzz_tcglog.c $(LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(LOGFUZZ_CC) $(LOGFUZZ_CFLAGS) $< $(LIB_SRCS) -o $@ $(CRYPTO_LIBS)

CHECKS += $(LOG_BINS) $(LOGFUZZ_BIN)
CHECK_RUNS += '$$O/tests/log/test_tcglog' 'sh tests/log/test-eventlog $$O' \
	'BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/log/fuzz-tcglog $(LOGFUZZ_BIN)'

-include $(LOG_BINS:=.d) $(LOG_HELPERS:.o=.d)
