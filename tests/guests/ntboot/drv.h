/*
 * drv.h: what every ntboot driver carries, as a Windows driver built with
 * /GS and /guard:cf does: a Load Config directory whose SecurityCookie and
 * GuardCFCheckFunctionPointer the loader sets before DriverEntry (ld does
 * not fill data directory 10: the build points it at _load_config_used),
 * and DriverEntry in the discardable INIT section.
 */
#ifndef NTBOOT_DRV_H
#define NTBOOT_DRV_H

#include "nt.h"

/* The kernel exports these, as ntoskrnl.exe does. */
NT_API void *memcpy(void *d, const void *s, size_t n);
NT_API void *memset(void *d, int c, size_t n);

#define INIT_CODE __attribute__((section("INIT")))
#define PAGE_CODE __attribute__((section("PAGE"), noinline))

/* IMAGE_LOAD_CONFIG_DIRECTORY64 up to GuardFlags (148 bytes). */
struct drv_load_config {
	uint32_t size, time_date_stamp;
	uint16_t major, minor;
	uint32_t global_flags_clear, global_flags_set, cs_default_timeout;
	uint64_t decommit_free_block, decommit_total_free, lock_prefix_table, max_alloc_size;
	uint64_t virtual_memory_threshold, process_affinity_mask;
	uint32_t process_heap_flags;
	uint16_t csd_version, dependent_load_flags;
	uint64_t edit_list, security_cookie, se_handler_table, se_handler_count;
	uint64_t guard_cf_check_fptr, guard_cf_dispatch_fptr, guard_cf_function_table, guard_cf_function_count;
	uint32_t guard_flags;
};
_Static_assert(__builtin_offsetof(struct drv_load_config, security_cookie) == 88, "SecurityCookie");
_Static_assert(__builtin_offsetof(struct drv_load_config, guard_cf_check_fptr) == 112, "GuardCFCheckFunctionPointer");
_Static_assert(__builtin_offsetof(struct drv_load_config, guard_flags) == 144, "GuardFlags");

typedef uint64_t (*drv_guard_fn)(uint64_t);

/* The loader-set cells and their directory; one instance per driver. */
#define DRV_LOAD_CONFIG                                                                              \
	uint64_t __security_cookie = NT_COOKIE_DEFAULT;                                               \
	static uint64_t drv_guard_default(uint64_t t)                                                 \
	{                                                                                             \
		return t;                                                                             \
	}                                                                                             \
	drv_guard_fn const volatile drv_guard_check = drv_guard_default;                              \
	const struct drv_load_config _load_config_used = {                                            \
		.size = sizeof(struct drv_load_config),                                               \
		.security_cookie = (uint64_t)(uintptr_t)&__security_cookie,                           \
		.guard_cf_check_fptr = (uint64_t)(uintptr_t)&drv_guard_check,                         \
		.guard_flags = 0x100, /* IMAGE_GUARD_CF_INSTRUMENTED */                               \
	}

extern uint64_t __security_cookie;
extern drv_guard_fn const volatile drv_guard_check;

/* "NAME: " + text on the kernel's console. */
#define DRV_SAY(name, text) (KePrint(name ": "), KePrint(text))

/* Clear CR0.WP around a write to read-only code, as rootkits do. */
static inline void drv_poke(void *dst, const void *src, uint64_t n)
{
	uint64_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~(UINT64_C(1) << 16)) : "memory");
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)dst)[i] = ((const uint8_t *)src)[i];
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
}

#endif
