/*
 * winload.c: ntboot's OS loader, in the role of Windows' winload.efi.
 *
 *  1. reads \ntboot\boot.txt: "kernel FILE", "driver FILE" (boot drivers,
 *     in start order), "late FILE" and "unload FILE" (post-boot actions of
 *     the kernel, which gets those files as buffers);
 *  2. reads each file from the ESP through the UEFI file protocols;
 *  3. takes a pool of physical pages, shuffles it, and builds its own
 *     4-level page tables: 0-4 GiB identity mapped, the kernel and the
 *     drivers at 0xFFFFF80000000000 plus a random slide, each image page in
 *     a scattered physical page;
 *  4. loads the images there by the Windows rules (ldr.c): headers and
 *     sections, base relocations, imports bound against the kernel's and
 *     other drivers' export tables, /GS cookie and CFG check pointer;
 *  5. saves the firmware's TCG event log to \hvima\guestlog.bin (where
 *     hvima run picks it up);
 *  6. exits boot services, maps the firmware's runtime regions high,
 *     switches CR3, calls SetVirtualAddressMap, and enters the kernel on a
 *     stack of its own with the loader block (nt.h).
 * Progress lines start with "winload: "; after ExitBootServices they go to
 * the serial port directly. Any failure shuts the machine down.
 */
#include "../uefi/efilib.h"
#include "ldr.h"
#include "mm.h"
#include "nt.h"
#include "serial.h"

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

#define POOL_PAGES 12288u      /* 48 MiB for images, tables, pool, stack */
#define MAX_FILE (16u << 20)
#define MAX_CONFIG 4096u

static struct nt_loader_block *lb;
static struct mm_pool pool;
static uint64_t rng;

static uint64_t rand64(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

static void ascii16(const char *a, CHAR16 *w, UINTN n)
{
	UINTN i = 0;
	for (; a[i] && i + 1 < n; i++)
		w[i] = (CHAR16)(UINT8)a[i];
	w[i] = 0;
}

static void die16(const CHAR16 *what, EFI_STATUS s)
{
	efi_fail(L"winload", what, s);
	ST->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	for (;;)
		__asm__ volatile("hlt");
}

static EFI_STATUS read_ntboot(EFI_FILE_HANDLE root, const char *name, VOID **buf, UINTN *len)
{
	CHAR16 path[80] = L"\\ntboot\\";
	ascii16(name, path + 8, 72);
	return efi_read_file(root, path, MAX_FILE, buf, len);
}

/* ---- images ---------------------------------------------------------- */

static uint8_t *at_va(void *ctx, uint32_t rva)
{
	return (uint8_t *)(uintptr_t)mm_phys(lb->pml4, *(uint64_t *)ctx + rva);
}

static uint64_t resolve(void *ctx, const char *dll, const char *sym)
{
	(void)ctx;
	for (uint32_t i = 0; i < lb->nmods; i++) {
		struct ldr_img im;
		uint64_t base = lb->mods[i].base;
		if (!ldr_streq_nocase(lb->mods[i].name, dll) || ldr_attach(&im, base, at_va, &base))
			continue;
		return ldr_export(&im, sym);
	}
	return 0;
}

static void load_image(const char *name, const uint8_t *file, UINTN len)
{
	struct nt_module *m = &lb->mods[lb->nmods];
	struct ldr_img im = {0};
	uint64_t va = lb->image_va_next, cfg = lb->nmods ? resolve(0, lb->mods[0].name, "KeGuardCheckIcall") : 0;
	CHAR16 w[NT_NAME];

	ascii16(name, w, NT_NAME);
	if (lb->nmods == NT_MAX_MODS)
		die16(L"too many modules", EFI_OUT_OF_RESOURCES);
	if (ldr_parse(&im, file, (uint32_t)len)) {
		puts16(w);
		die16(L": not a loadable image", EFI_LOAD_ERROR);
	}
	for (uint32_t off = 0; off < im.size; off += NT_PAGE) {
		uint64_t pa = mm_take(&pool);
		if (!pa || mm_map(lb->pml4, va + off, pa, &pool))
			die16(L"out of pages for images", EFI_OUT_OF_RESOURCES);
	}
	im.base = va, im.at = at_va, im.ctx = &va;
	if (ldr_load(&im, resolve, 0, rand64() & 0x0000FFFFFFFFFFFFull, cfg)) {
		puts16(w);
		die16(L": loading failed", EFI_LOAD_ERROR);
	}
	ldr_memcpy(m->name, name, NT_NAME - 1);
	m->base = va, m->size = im.size, m->entry_rva = im.entry_rva, m->discard_rva = im.discard_rva;
	lb->nmods++;
	lb->image_va_next = va + im.size;
	puts16(L"winload: loaded ");
	puts16(w);
	puts16(L" at 0x");
	putu(va, 16);
	puts16(L"\r\n");
}

/* ---- configuration --------------------------------------------------- */

static int word_is(const char *p, const char *w)
{
	while (*w)
		if (*p++ != *w++)
			return 0;
	return *p == ' ';
}

static void append_script(const char *line, UINTN n)
{
	UINTN used = 0;
	while (lb->script[used])
		used++;
	if (used + n + 2 > NT_MAX_SCRIPT)
		die16(L"boot.txt: too many post-boot actions", EFI_BUFFER_TOO_SMALL);
	ldr_memcpy(lb->script + used, line, n);
	lb->script[used + n] = '\n';
}

static void configure(EFI_FILE_HANDLE root, char *cfg, UINTN len)
{
	char *line = cfg, *end = cfg + len;

	while (line < end) {
		char *nl = line, name[NT_NAME];
		UINTN n, k;
		VOID *buf;
		UINTN flen;
		EFI_STATUS s;

		while (nl < end && *nl != '\n')
			nl++;
		n = (UINTN)(nl - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0 || line[0] == '#')
			goto next;
		for (k = 0; k < n && line[k] != ' '; k++)
			;
		if (n - k - 1 >= NT_NAME || k == n)
			die16(L"boot.txt: bad line", EFI_INVALID_PARAMETER);
		ldr_memset(name, 0, sizeof(name));
		ldr_memcpy(name, line + k + 1, n - k - 1);
		if (word_is(line, "unload")) {
			append_script(line, n);
			goto next;
		}
		s = read_ntboot(root, name, &buf, &flen);
		if (EFI_ERROR(s))
			die16(L"boot.txt: cannot read a listed file", s);
		if (word_is(line, "kernel") || word_is(line, "driver")) {
			if (word_is(line, "kernel") != (lb->nmods == 0))
				die16(L"boot.txt: the kernel must come first, once", EFI_INVALID_PARAMETER);
			load_image(name, buf, flen);
			ST->BootServices->FreePool(buf);
		} else if (word_is(line, "late")) {
			if (lb->nlate == NT_MAX_LATE)
				die16(L"boot.txt: too many late drivers", EFI_OUT_OF_RESOURCES);
			ldr_memcpy(lb->late[lb->nlate].name, name, NT_NAME);
			lb->late[lb->nlate].buf = (uint64_t)(uintptr_t)buf;
			lb->late[lb->nlate].len = (uint32_t)flen;
			lb->nlate++;
			append_script(line, n);
		} else {
			die16(L"boot.txt: unknown keyword", EFI_INVALID_PARAMETER);
		}
next:
		line = nl + 1;
	}
	if (!lb->nmods)
		die16(L"boot.txt: no kernel", EFI_NOT_FOUND);
}

/* ---- memory ---------------------------------------------------------- */

static void take_pool(void)
{
	EFI_PHYSICAL_ADDRESS a = 0xFFFFFFFF;
	EFI_STATUS s;

	s = ST->BootServices->AllocatePages(AllocateMaxAddress, EfiLoaderData, POOL_PAGES, &a);
	if (!EFI_ERROR(s))
		s = ST->BootServices->AllocatePool(EfiLoaderData, POOL_PAGES * sizeof(uint64_t), (VOID **)&pool.pages);
	if (EFI_ERROR(s))
		die16(L"no memory for the page pool", s);
	for (uint32_t i = 0; i < POOL_PAGES; i++)
		pool.pages[i] = a + (uint64_t)i * NT_PAGE;
	/* scattered: a shuffled stack */
	for (uint32_t i = POOL_PAGES - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rand64() % (i + 1));
		uint64_t t = pool.pages[i];
		pool.pages[i] = pool.pages[j], pool.pages[j] = t;
	}
	pool.n = POOL_PAGES;
}

static uint64_t map_stack(void)
{
	for (uint32_t i = 0; i < NT_STACK_PAGES; i++) {
		uint64_t pa = mm_take(&pool);
		if (!pa || mm_map(lb->pml4, NT_KVA_STACK + NT_PAGE * (i + 1), pa, &pool))
			die16(L"out of pages for the stack", EFI_OUT_OF_RESOURCES);
	}
	return NT_KVA_STACK + NT_PAGE * (NT_STACK_PAGES + 1);
}

static void save_guest_log(EFI_FILE_HANDLE root)
{
	VOID *log;
	UINTN len;
	BOOLEAN truncated;
	EFI_STATUS s = efi_guest_log(&log, &len, &truncated);

	if (!EFI_ERROR(s))
		s = efi_write_file(root, L"\\hvima", L"guestlog.bin", log, len);
	if (EFI_ERROR(s))
		die16(L"saving the firmware's event log", s);
	puts16(L"winload: guest log saved\r\n");
}

/* Exit boot services; the final memory map is returned. */
static EFI_MEMORY_DESCRIPTOR *exit_boot(EFI_HANDLE image, UINTN *msize, UINTN *dsize, UINT32 *dver)
{
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	UINTN key, cap = 0;
	EFI_STATUS s;

	for (int tries = 0; tries < 8; tries++) {
		*msize = cap;
		s = ST->BootServices->GetMemoryMap(msize, map, &key, dsize, dver);
		if (s == EFI_BUFFER_TOO_SMALL) {
			if (map)
				ST->BootServices->FreePool(map);
			cap = *msize + 16 * *dsize;
			if (EFI_ERROR(ST->BootServices->AllocatePool(EfiLoaderData, cap, (VOID **)&map)))
				break;
			continue;
		}
		if (EFI_ERROR(s))
			break;
		if (!EFI_ERROR(ST->BootServices->ExitBootServices(image, key)))
			return map;
	}
	die16(L"ExitBootServices failed", EFI_ABORTED);
	return NULL;
}

/* Runtime regions at NT_KVA_RUNTIME + their physical address. */
static void map_runtime(EFI_MEMORY_DESCRIPTOR *map, UINTN msize, UINTN dsize)
{
	for (UINTN off = 0; off + dsize <= msize; off += dsize) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((UINT8 *)map + off);
		if (!(d->Attribute & EFI_MEMORY_RUNTIME))
			continue;
		d->VirtualStart = NT_KVA_RUNTIME + d->PhysicalStart;
		for (UINT64 p = 0; p < d->NumberOfPages && p < 65536; p++) {
			UINT64 pa = d->PhysicalStart + p * NT_PAGE;
			if (mm_map(lb->pml4, NT_KVA_RUNTIME + pa, pa, &pool)) {
				nt_serial("winload: error: out of pages for the runtime map\r\n");
				for (;;)
					__asm__ volatile("cli; hlt");
			}
		}
	}
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_FILE_HANDLE root;
	EFI_MEMORY_DESCRIPTOR *map;
	UINTN msize, dsize, clen;
	UINT32 dver;
	VOID *cfg;
	EFI_TIME t;
	EFI_STATUS s;
	uint64_t stack, entry, lo, hi, rt_phys;

	ST = st;
	st->BootServices->SetWatchdogTimer(0, 0, 0, NULL);
	puts16(L"winload: start\r\n");
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	rng = (hi << 32 | lo) ^ UINT64_C(0x9E3779B97F4A7C15);
	if (!EFI_ERROR(st->RuntimeServices->GetTime(&t, NULL)))
		rng ^= (uint64_t)t.Nanosecond << 20 ^ t.Second ^ (uint64_t)t.Minute << 8;
	rng |= 1;
	s = efi_open_root(image, &root);
	if (EFI_ERROR(s))
		die16(L"opening the ESP", s);
	s = st->BootServices->AllocatePool(EfiLoaderData, sizeof(*lb), (VOID **)&lb);
	if (EFI_ERROR(s))
		die16(L"no memory for the loader block", s);
	ldr_memset(lb, 0, sizeof(*lb));
	lb->magic = NT_LB_MAGIC;
	take_pool();
	lb->pml4 = mm_new_root(&pool);
	if (!lb->pml4)
		die16(L"no pages for the page tables", EFI_OUT_OF_RESOURCES);
	lb->slide = (rand64() % NT_KVA_SLIDE_MAX) << 21;
	lb->image_va_next = NT_KVA_IMAGES + lb->slide;
	lb->seed = rand64();
	s = efi_read_file(root, L"\\ntboot\\boot.txt", MAX_CONFIG, &cfg, &clen);
	if (EFI_ERROR(s))
		die16(L"reading \\ntboot\\boot.txt", s);
	configure(root, cfg, clen);
	stack = map_stack();
	save_guest_log(root);
	root->Close(root);
	entry = lb->mods[0].base + lb->mods[0].entry_rva;
	puts16(L"winload: exiting boot services\r\n");

	map = exit_boot(image, &msize, &dsize, &dver);
	map_runtime(map, msize, dsize);
	rt_phys = (uint64_t)(uintptr_t)st->RuntimeServices;
	lb->free_pages = pool.pages;
	__asm__ volatile("mov %0, %%cr3" : : "r"(lb->pml4) : "memory");
	s = st->RuntimeServices->SetVirtualAddressMap(msize, dsize, dver, map);
	if (EFI_ERROR(s)) {
		nt_serial("winload: error: SetVirtualAddressMap failed\r\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	lb->runtime_va = NT_KVA_RUNTIME + rt_phys; /* the table is runtime data */
	lb->nfree = pool.n;
	nt_serial("winload: entering the kernel at ");
	nt_serial_hex(entry);
	nt_serial("\r\n");
	__asm__ volatile("cli\n\t"
			 "mov %%rdx, %%rsp\n\t"
			 "sub $48, %%rsp\n\t"
			 "call *%%rax\n\t"
			 "1: hlt\n\t"
			 "jmp 1b"
			 :
			 : "c"(lb), "d"(stack), "a"(entry)
			 : "memory");
	return EFI_SUCCESS;
}
