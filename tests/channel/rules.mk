# tests/channel: the minifilter's channel end to end without Windows. The
# hvtest guest in "channel" mode sends records with lib/chansend.c from its
# own measured code, junk and a sequence gap, then a record from code it
# copied into fresh pages; test-channel boots it under the plugin (trusted
# sender = hvtest.efi's canonical digest) and without it (hvima collect on
# the isa-debugcon stream).
$(BUILD)/guests/mode-channel.txt:
	@mkdir -p $(dir $@)
	echo channel >$@

CHECKS += $(PLUGIN) $(HVIMA) $(BUILD)/guests/hvtest.efi $(BUILD)/guests/esp-channel.img
CHECK_RUNS += 'tests/channel/test-channel $$O $(BUILD)/guests'
