/*
 * gs.c: hvimaflt.sys's entry point and its stack-protector cookie.
 *
 * The driver is built with gcc's -fstack-protector-strong and a global
 * guard: every protected function checks __stack_chk_guard. That variable
 * is also the SecurityCookie of the image's Load Config directory
 * (_load_config_used; the build points data directory 10 at it, since ld
 * does not), and it holds the x64 default 0x00002B992DDFA232: the Windows
 * loader replaces exactly that value with a random one before the entry
 * point runs, as it does for MSVC /GS images. If the cookie still holds
 * the default (a loader that did not), DriverEntry mixes in the TSC and
 * stack and image addresses itself, before any protected function runs:
 * DriverEntry and the initializer are not protected themselves, like
 * MSVC's GsDriverEntry. A failed check bugchecks with
 * DRIVER_OVERRAN_STACK_BUFFER (0xF7), as /GS does in the kernel.
 */
#include <stddef.h>

#include "hvimaflt.h"

#define GS_DEFAULT 0x00002B992DDFA232ull
#define DRIVER_OVERRAN_STACK_BUFFER 0xF7

/* IMAGE_LOAD_CONFIG_DIRECTORY64 up to the SEH fields (the first 0x70
 * bytes): enough for SecurityCookie; Size says how much is present. */
struct load_config64 {
	uint32_t size, time_date_stamp;
	uint16_t major, minor;
	uint32_t global_flags_clear, global_flags_set, cs_default_timeout;
	uint64_t decommit_free_block, decommit_total_free, lock_prefix_table;
	uint64_t max_alloc_size, virtual_memory_threshold, process_affinity_mask;
	uint32_t process_heap_flags;
	uint16_t csd_version, dependent_load_flags;
	uint64_t edit_list, security_cookie, se_handler_table, se_handler_count;
};
_Static_assert(offsetof(struct load_config64, security_cookie) == 88, "SecurityCookie");
_Static_assert(sizeof(struct load_config64) == 0x70, "IMAGE_LOAD_CONFIG_DIRECTORY64 through SEHandlerCount");

uintptr_t __stack_chk_guard __attribute__((section(".data"))) = GS_DEFAULT;

extern const struct load_config64 _load_config_used;
const struct load_config64 _load_config_used = {
	.size = sizeof(struct load_config64),
	.security_cookie = (uint64_t)(uintptr_t)&__stack_chk_guard,
};

void __stack_chk_fail(void) __attribute__((noreturn));
void __stack_chk_fail(void)
{
	KeBugCheckEx(DRIVER_OVERRAN_STACK_BUFFER, (ULONG_PTR)__builtin_return_address(0), __stack_chk_guard, 0, 0);
}

__attribute__((no_stack_protector)) static void init_cookie(PVOID stack)
{
	uint64_t c = __stack_chk_guard;

	if (c != GS_DEFAULT && c != 0)
		return; /* the loader set it */
	c = __builtin_ia32_rdtsc();
	c ^= (uint64_t)(uintptr_t)stack << 16;
	c ^= (uint64_t)(uintptr_t)&init_cookie;
	c *= 0x9e3779b97f4a7c15ull;
	c &= 0x0000ffffffffffffull; /* as MSVC: the top 16 bits stay zero */
	if (c == GS_DEFAULT || c == 0)
		c = GS_DEFAULT + 1;
	__stack_chk_guard = c;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg);
__attribute__((no_stack_protector)) NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
	ULONG local = 0;

	init_cookie(&local);
	return hvf_driver_entry(drv, reg);
}
