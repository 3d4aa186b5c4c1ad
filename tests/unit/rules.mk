# tests/unit: unit tests of lib/ on synthetic images (pebuild) and known
# vectors. Each program speaks TAP (tests/tap.h).
UNIT_TESTS := test_pe test_pe_dirs test_authenticode test_hash test_canon
UNIT_TESTS += test_chanrec test_fltpolicy
UNIT_BINS := $(UNIT_TESTS:%=$(O)/tests/unit/%)
UNIT_HELPERS := $(O)/tests/unit/pebuild.o

$(O)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c $< -o $@

$(O)/tests/unit/test_%: $(O)/tests/unit/test_%.o $(UNIT_HELPERS) $(LIBCORE)
	$(CC) $^ -o $@ $(LIBCORE) $(CRYPTO_LIBS) $(ALL_LDFLAGS)

CHECKS += $(UNIT_BINS)
CHECK_RUNS += $(UNIT_TESTS:%='$$O/tests/unit/%')

-include $(UNIT_BINS:=.d) $(UNIT_HELPERS:.o=.d)
