/*
 * drv.c: a native kernel driver for the PE corpus (hvcorpus.sys). It imports
 * from ntoskrnl.exe and hal.dll, exports two functions (so the image has an
 * export directory with a module name) and carries a Load Config directory
 * whose /GS cookie and CFG pointer slots are the fields a Windows loader
 * rewrites before DriverEntry runs. ld does not fill data directory 10:
 * rules.mk patches it with pe-setdir after linking.
 */
#include <stddef.h>
#include <stdint.h>
#include <ntddk.h>

/* IMAGE_LOAD_CONFIG_DIRECTORY64 up to GuardMemcpyFunctionPointer (0x140
 * bytes), written out so the offsets are checked here. */
struct load_config64 {
	uint32_t size, time_date_stamp;
	uint16_t major, minor;
	uint32_t global_flags_clear, global_flags_set, cs_default_timeout;
	uint64_t decommit_free_block, decommit_total_free, lock_prefix_table;
	uint64_t max_alloc_size, virtual_memory_threshold, process_affinity_mask;
	uint32_t process_heap_flags;
	uint16_t csd_version, dependent_load_flags;
	uint64_t edit_list, security_cookie, se_handler_table, se_handler_count;
	uint64_t guard_cf_check_fptr, guard_cf_dispatch_fptr, guard_cf_function_table, guard_cf_function_count;
	uint32_t guard_flags;
	uint8_t code_integrity[12];
	uint64_t guard_iat_table, guard_iat_count, guard_longjump_table, guard_longjump_count;
	uint64_t dvrt, chpe_metadata, guard_rf_failure_routine, guard_rf_failure_fptr;
	uint32_t dvrt_offset;
	uint16_t dvrt_section, reserved2;
	uint64_t guard_rf_verify_sp_fptr;
	uint32_t hotpatch_table_offset, reserved3;
	uint64_t enclave_config, volatile_metadata, guard_eh_table, guard_eh_count;
	uint64_t guard_xfg_check_fptr, guard_xfg_dispatch_fptr, guard_xfg_table_dispatch_fptr;
	uint64_t cast_guard_failure_mode, guard_memcpy_fptr;
};
_Static_assert(offsetof(struct load_config64, security_cookie) == 88, "SecurityCookie");
_Static_assert(offsetof(struct load_config64, guard_cf_check_fptr) == 112, "GuardCFCheckFunctionPointer");
_Static_assert(offsetof(struct load_config64, guard_cf_dispatch_fptr) == 120, "GuardCFDispatchFunctionPointer");
_Static_assert(offsetof(struct load_config64, guard_flags) == 144, "GuardFlags");
_Static_assert(offsetof(struct load_config64, dvrt) == 192, "DynamicValueRelocTable");
_Static_assert(offsetof(struct load_config64, guard_xfg_check_fptr) == 280, "GuardXFGCheckFunctionPointer");
_Static_assert(sizeof(struct load_config64) == 0x140, "IMAGE_LOAD_CONFIG_DIRECTORY64 size");

#define POOL_TAG 0x68766d61u /* "amvh" */

uint64_t __security_cookie = 0x00002B992DDFA232ull;

static void guard_check_nop(void) {}
/* The slots the loader points at its CFG check and dispatch routines. */
void (*guard_check_slot)(void) = guard_check_nop;
void (*guard_dispatch_slot)(void) = guard_check_nop;

extern const struct load_config64 _load_config_used;
const struct load_config64 _load_config_used = {
	.size = sizeof(struct load_config64),
	.security_cookie = (uint64_t)(uintptr_t)&__security_cookie,
	.guard_cf_check_fptr = (uint64_t)(uintptr_t)&guard_check_slot,
	.guard_cf_dispatch_fptr = (uint64_t)(uintptr_t)&guard_dispatch_slot,
	.guard_flags = 0x100, /* IMAGE_GUARD_CF_INSTRUMENTED */
};

static const char *const greetings[] = {"hvcorpus: loaded\n", "hvcorpus: unloaded\n"};

__declspec(dllexport) ULONG HvCorpusAdd(ULONG a, ULONG b);
__declspec(dllexport) ULONG HvCorpusAdd(ULONG a, ULONG b)
{
	return a + b + (ULONG)__security_cookie;
}

__declspec(dllexport) ULONG HvCorpusVersion(void);
__declspec(dllexport) ULONG HvCorpusVersion(void)
{
	return 1;
}

static VOID NTAPI unload(PDRIVER_OBJECT drv)
{
	(void)drv;
	DbgPrint(greetings[1]);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path);
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
	UNICODE_STRING name;
	LARGE_INTEGER t = KeQueryPerformanceCounter(NULL);
	void *p = ExAllocatePoolWithTag(NonPagedPool, 64, POOL_TAG);

	(void)path;
	RtlInitUnicodeString(&name, L"\\Device\\HvCorpus");
	DbgPrint(greetings[0]);
	if (p)
		ExFreePoolWithTag(p, POOL_TAG);
	guard_check_slot();
	drv->DriverUnload = unload;
	return t.QuadPart ? STATUS_SUCCESS : STATUS_SUCCESS;
}
