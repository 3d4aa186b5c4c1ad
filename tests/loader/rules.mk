# tests/loader: the reference loader (refload.c) and the loaded-image tests.
#   test-loaded  every corpus file, loaded by EDK2 and Windows rules at three
#                bases, digests like its file (tests/corpus/list | test-loaded)
#   test-tamper  forbidden writes to a loaded synthetic image change the digest
#   mksynth      writes the synthetic images (fuzz seeds)
LOADER_DIR := $(O)/tests/loader
LOADER_OBJS := $(LOADER_DIR)/refload.o $(LOADER_DIR)/synth.o

$(LOADER_DIR)/test-loaded: $(LOADER_DIR)/test-loaded.o $(LOADER_OBJS) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(CRYPTO_LIBS)

$(LOADER_DIR)/test-tamper: $(LOADER_DIR)/test-tamper.o $(LOADER_OBJS) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(CRYPTO_LIBS)

$(LOADER_DIR)/mksynth: $(LOADER_DIR)/mksynth.o $(LOADER_DIR)/synth.o
	$(CC) $(ALL_LDFLAGS) $^ -o $@

CHECKS += $(LOADER_DIR)/test-loaded $(LOADER_DIR)/test-tamper $(LOADER_DIR)/mksynth
CHECK_RUNS += '$$O/tests/loader/test-tamper'
CHECK_RUNS += 'tests/corpus/list $(BUILD) | $$O/tests/loader/test-loaded'

-include $(LOADER_DIR)/*.d
