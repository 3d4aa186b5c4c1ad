# tests/plugin: libhvima.so under QEMU, booting the hvtest guest from
# tests/guests with OVMF and a hypervisor swtpm (hvima run). See the
# comment at the top of test-plugin for what each line asserts.
CHECKS += $(PLUGIN) $(HVIMA) $(GUEST_IMAGES)
CHECK_RUNS += 'tests/plugin/test-plugin $$O $(GUESTS)'
