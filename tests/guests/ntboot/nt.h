/*
 * nt.h: what the ntboot guest's parts share: the loader block winload
 * hands to the kernel, the driver object the kernel hands to each
 * DriverEntry, the kernel's exported API and the virtual address layout.
 *
 * ntboot imitates the Windows boot chain closely enough for hvima's plugin
 * to meet what it meets on Windows: bootmgr (BOOTX64.EFI) starts winload
 * (an EFI application), which loads ntoskrnl.exe and the boot drivers at
 * random kernel addresses in scattered physical pages under its own page
 * tables, exits boot services, switches CR3, calls SetVirtualAddressMap and
 * enters the kernel. Freestanding: no C library, no Windows headers.
 */
#ifndef NTBOOT_NT_H
#define NTBOOT_NT_H

#include <stddef.h>
#include <stdint.h>

/* Virtual layout (PML4 slots 496-508, as Windows uses the top half). */
#define NT_KVA_IMAGES UINT64_C(0xFFFFF80000000000) /* kernel and drivers, + random slide */
#define NT_KVA_SLIDE_MAX 512                     /* slide: 0..511 x 2 MiB */
#define NT_KVA_HEAP UINT64_C(0xFFFFF90000000000)   /* kernel pool, mapped on demand */
#define NT_KVA_STACK UINT64_C(0xFFFFFA0000000000)  /* kernel stack */
#define NT_KVA_RUNTIME UINT64_C(0xFFFFFE0000000000) /* firmware runtime: VA = this + PA */
#define NT_STACK_PAGES 16
#define NT_PAGE 4096u

#define NT_LB_MAGIC UINT64_C(0x31424C544F4F424E) /* "NBOOTLB1" */
#define NT_MAX_MODS 48
#define NT_MAX_LATE 8
#define NT_MAX_SCRIPT 512
#define NT_NAME 32

/* A loaded module, as the kernel keeps it. */
struct nt_module {
	char name[NT_NAME];
	uint64_t base;        /* virtual address of RVA 0 */
	uint32_t size;        /* SizeOfImage, page-rounded */
	uint32_t entry_rva;
	uint32_t discard_rva; /* start of the trailing discardable sections; = size if none */
	uint32_t flags;       /* NT_MOD_* */
};
#define NT_MOD_STARTED 1u
#define NT_MOD_UNLOADED 2u

/* A driver file handed over for loading after boot. */
struct nt_late {
	char name[NT_NAME];
	uint64_t buf; /* identity-mapped physical address of the file bytes */
	uint32_t len;
};

struct nt_loader_block {
	uint64_t magic;
	uint64_t pml4;         /* physical; memory below 4 GiB is identity mapped */
	uint64_t image_va_next; /* first kernel VA after the loaded images */
	uint64_t *free_pages;  /* identity-mapped array of free physical pages */
	uint32_t nfree;
	uint32_t nmods;        /* mods[0] is the kernel, then the boot drivers in start order */
	struct nt_module mods[NT_MAX_MODS];
	uint32_t nlate;
	struct nt_late late[NT_MAX_LATE];
	char script[NT_MAX_SCRIPT]; /* post-boot actions, "late NAME" / "unload NAME" lines */
	uint64_t runtime_va;   /* EFI_RUNTIME_SERVICES, virtual (after SetVirtualAddressMap) */
	uint64_t slide;        /* the random slide of the image area */
	uint64_t seed;         /* for the kernel's own choices */
};

/* What DriverEntry receives (a much reduced DRIVER_OBJECT). */
struct nt_driver {
	const char *name;
	uint64_t base;
	uint32_t size;
	void (*unload)(struct nt_driver *self);
};
typedef long (*nt_driver_entry)(struct nt_driver *self, void *reserved);

/* The kernel's exports (ntoskrnl.exe); drivers link with its import library. */
#ifdef NT_KERNEL
#define NT_API __declspec(dllexport)
#else
#define NT_API __declspec(dllimport)
#endif
NT_API void KePrint(const char *s);
NT_API void KePrintHex(uint64_t v);
NT_API void *KeAllocatePool(uint64_t bytes); /* executable, like NonPagedPoolExecute */
NT_API const struct nt_module *KeFindModule(const char *name);
NT_API uint64_t KeGuardCheckIcall(uint64_t target); /* the CFG check the loader installs */
NT_API uint64_t KeQueryRuntimeTime(void);           /* EFI GetTime, in virtual mode */
NT_API const struct nt_late *KeLateFile(uint32_t i); /* the i-th file for after boot, or 0 */

/* /GS default the loader replaces (x64), as on Windows. */
#define NT_COOKIE_DEFAULT UINT64_C(0x00002B992DDFA232)

#endif
