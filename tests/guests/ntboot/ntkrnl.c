/*
 * ntkrnl.c: ntboot's kernel (ntoskrnl.exe), in the role of Windows' NT
 * kernel for what hvima observes:
 *   - exports the routines drivers import (nt.h), including memcpy/memset;
 *   - calls each boot driver's DriverEntry in load order, then frees the
 *     driver's trailing discardable sections (INIT, .reloc): their pages
 *     are unmapped and go back to the free list, their addresses back to
 *     the free kernel address space;
 *   - after boot, runs the loader block's script: "late NAME" loads a
 *     driver from the buffer winload read (first-fit address, last-freed
 *     pages first, so freed memory is reused), "unload NAME" calls a
 *     driver's unload routine and frees all its memory;
 *   - calls the firmware's GetTime in virtual mode (after
 *     SetVirtualAddressMap), then ResetSystem to power off.
 * Every line it prints on the serial port starts with "ntoskrnl: ".
 */
#define NT_KERNEL
#include "ldr.h"
#include "mm.h"
#include "nt.h"
#include "serial.h"

void KiSystemStartup(struct nt_loader_block *block);

#define MAX_RANGES 64
#define HEAP_MAX (8u << 20)
#define RT_GET_TIME 24
#define RT_RESET_SYSTEM 104
#define EFI_RESET_SHUTDOWN 2
#define ACPI_PM1A_CNT 0x604 /* q35 with OVMF: PM base 0x600 */

static struct nt_loader_block *lb;
static struct mm_pool pool;
static uint64_t heap_next = NT_KVA_HEAP, heap_mapped = NT_KVA_HEAP;
static struct range {
	uint64_t lo, hi;
} vfree[MAX_RANGES];
static uint32_t nvfree;
static struct nt_driver *drvobj[NT_MAX_MODS];

NT_API void *memcpy(void *d, const void *s, size_t n);
NT_API void *memset(void *d, int c, size_t n);

NT_API void *memcpy(void *d, const void *s, size_t n)
{
	ldr_memcpy(d, s, n);
	return d;
}

NT_API void *memset(void *d, int c, size_t n)
{
	ldr_memset(d, c, n);
	return d;
}

NT_API void KePrint(const char *s)
{
	nt_serial(s);
}

NT_API void KePrintHex(uint64_t v)
{
	nt_serial_hex(v);
}

static void halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void bugcheck(const char *why)
{
	KePrint("ntoskrnl: error: ");
	KePrint(why);
	KePrint("\r\n");
	__asm__ volatile("outw %0, %1" : : "a"((uint16_t)0x2000), "Nd"((uint16_t)ACPI_PM1A_CNT));
	halt();
}

NT_API void *KeAllocatePool(uint64_t bytes)
{
	uint64_t p = heap_next;

	bytes = (bytes + 15) & ~UINT64_C(15);
	if (bytes > HEAP_MAX || heap_next + bytes > NT_KVA_HEAP + HEAP_MAX)
		return 0;
	while (heap_mapped < heap_next + bytes) {
		uint64_t pa = mm_take(&pool);
		if (!pa || mm_map(lb->pml4, heap_mapped, pa, &pool))
			return 0;
		heap_mapped += NT_PAGE;
	}
	heap_next += bytes;
	return (void *)(uintptr_t)p;
}

NT_API const struct nt_module *KeFindModule(const char *name)
{
	for (uint32_t i = 0; i < lb->nmods; i++)
		if (!(lb->mods[i].flags & NT_MOD_UNLOADED) && ldr_streq_nocase(lb->mods[i].name, name))
			return &lb->mods[i];
	return 0;
}

NT_API uint64_t KeGuardCheckIcall(uint64_t target)
{
	return target;
}

struct efi_time {
	uint16_t year;
	uint8_t month, day, hour, minute, second, pad1;
	uint32_t nanosecond;
	int16_t tz;
	uint8_t daylight, pad2;
};

NT_API uint64_t KeQueryRuntimeTime(void)
{
	typedef uint64_t (*get_time_fn)(struct efi_time *t, void *caps);
	get_time_fn get_time = *(get_time_fn *)(uintptr_t)(lb->runtime_va + RT_GET_TIME);
	struct efi_time t = {0};

	if (get_time(&t, 0))
		return 0;
	return (uint64_t)t.year << 40 | (uint64_t)t.month << 32 | (uint64_t)t.day << 24 | (uint64_t)t.hour << 16 |
	       (uint64_t)t.minute << 8 | t.second;
}

NT_API const struct nt_late *KeLateFile(uint32_t i)
{
	return i < lb->nlate ? &lb->late[i] : 0;
}

/* ---- kernel address space for images -------------------------------- */

static void vfree_add(uint64_t lo, uint64_t hi)
{
	uint32_t i, j;

	if (lo >= hi)
		return;
	if (nvfree == MAX_RANGES)
		bugcheck("too many free address ranges");
	for (i = 0; i < nvfree && vfree[i].lo < lo; i++)
		;
	for (j = nvfree; j > i; j--)
		vfree[j] = vfree[j - 1];
	vfree[i].lo = lo, vfree[i].hi = hi;
	nvfree++;
	/* merge neighbours */
	for (i = 0; i + 1 < nvfree;) {
		if (vfree[i].hi >= vfree[i + 1].lo) {
			if (vfree[i + 1].hi > vfree[i].hi)
				vfree[i].hi = vfree[i + 1].hi;
			for (j = i + 1; j + 1 < nvfree; j++)
				vfree[j] = vfree[j + 1];
			nvfree--;
		} else {
			i++;
		}
	}
}

/* The lowest free range that fits: freed memory is reused first. */
static uint64_t vfree_take(uint64_t size)
{
	for (uint32_t i = 0; i < nvfree; i++) {
		if (vfree[i].hi - vfree[i].lo >= size) {
			uint64_t va = vfree[i].lo;
			vfree[i].lo += size;
			return va;
		}
	}
	return 0;
}

static void free_pages(uint64_t lo, uint64_t hi)
{
	for (uint64_t va = lo; va < hi; va += NT_PAGE) {
		uint64_t pa = mm_unmap(lb->pml4, va);
		if (pa)
			pool.pages[pool.n++] = pa; /* the array holds every pool page */
	}
	vfree_add(lo, hi);
}

/* ---- drivers ---------------------------------------------------------- */

static uint8_t *at_direct(void *ctx, uint32_t rva)
{
	return (uint8_t *)(uintptr_t)(*(uint64_t *)ctx + rva);
}

static uint64_t resolve(void *ctx, const char *dll, const char *sym)
{
	const struct nt_module *m = KeFindModule(dll);
	struct ldr_img im;
	uint64_t base;

	(void)ctx;
	if (!m)
		return 0;
	base = m->base;
	if (ldr_attach(&im, base, at_direct, &base))
		return 0;
	return ldr_export(&im, sym);
}

static void start_driver(uint32_t i)
{
	struct nt_module *m = &lb->mods[i];
	struct nt_driver *d = KeAllocatePool(sizeof(*d));
	nt_driver_entry entry = (nt_driver_entry)(uintptr_t)(m->base + m->entry_rva);
	long status;

	if (!d)
		bugcheck("out of pool");
	d->name = m->name, d->base = m->base, d->size = m->size, d->unload = 0;
	drvobj[i] = d;
	status = entry(d, 0);
	m->flags |= NT_MOD_STARTED;
	KePrint("ntoskrnl: ");
	KePrint(m->name);
	KePrint(" started, status ");
	KePrintHex((uint64_t)status);
	if (m->discard_rva < m->size) {
		free_pages(m->base + m->discard_rva, m->base + m->size);
		KePrint(", freed its discardable sections at ");
		KePrintHex(m->base + m->discard_rva);
	}
	KePrint("\r\n");
}

static const struct nt_late *late_file(const char *name)
{
	for (uint32_t i = 0; i < lb->nlate; i++)
		if (ldr_streq_nocase(lb->late[i].name, name))
			return &lb->late[i];
	return 0;
}

static void load_late(const char *name)
{
	const struct nt_late *f = late_file(name);
	struct ldr_img im = {0};
	struct nt_module *m;
	uint64_t va;

	if (!f || lb->nmods == NT_MAX_MODS)
		bugcheck("late driver not handed over");
	if (ldr_parse(&im, (const uint8_t *)(uintptr_t)f->buf, f->len))
		bugcheck(im.err);
	va = vfree_take(im.size);
	if (!va)
		bugcheck("no kernel address space");
	for (uint64_t off = 0; off < im.size; off += NT_PAGE) {
		uint64_t pa = mm_take(&pool);
		if (!pa || mm_map(lb->pml4, va + off, pa, &pool))
			bugcheck("out of pages");
	}
	im.base = va, im.at = at_direct, im.ctx = &va;
	if (ldr_load(&im, resolve, 0, lb->seed ^ va, (uint64_t)(uintptr_t)KeGuardCheckIcall))
		bugcheck(im.err);
	m = &lb->mods[lb->nmods];
	ldr_memset(m, 0, sizeof(*m));
	ldr_memcpy(m->name, name, NT_NAME - 1);
	m->base = va, m->size = im.size, m->entry_rva = im.entry_rva, m->discard_rva = im.discard_rva;
	KePrint("ntoskrnl: loaded ");
	KePrint(name);
	KePrint(" after boot at ");
	KePrintHex(va);
	KePrint("\r\n");
	start_driver(lb->nmods++);
}

static void unload(const char *name)
{
	struct nt_module *m = (struct nt_module *)KeFindModule(name);
	uint32_t i;

	if (!m)
		bugcheck("unload: no such driver");
	i = (uint32_t)(m - lb->mods);
	if (drvobj[i] && drvobj[i]->unload)
		drvobj[i]->unload(drvobj[i]);
	free_pages(m->base, m->base + (m->discard_rva < m->size ? m->discard_rva : m->size));
	m->flags |= NT_MOD_UNLOADED;
	KePrint("ntoskrnl: unloaded ");
	KePrint(name);
	KePrint(" from ");
	KePrintHex(m->base);
	KePrint("\r\n");
}

static void run_script(void)
{
	char *p = lb->script, *end = lb->script + NT_MAX_SCRIPT;

	while (p < end && *p) {
		char *nl = p, name[NT_NAME];
		uint32_t n;
		while (nl < end && *nl && *nl != '\n')
			nl++;
		for (n = 0; p + n < nl && p[n] != ' '; n++)
			;
		if (nl - (p + n) < 2 || nl - (p + n + 1) >= NT_NAME)
			bugcheck("bad script line");
		ldr_memset(name, 0, sizeof(name));
		ldr_memcpy(name, p + n + 1, (uint64_t)(nl - (p + n + 1)));
		if (n == 4 && p[0] == 'l' && p[1] == 'a' && p[2] == 't' && p[3] == 'e')
			load_late(name);
		else if (n == 6 && p[0] == 'u' && p[5] == 'd')
			unload(name);
		else
			bugcheck("unknown script action");
		p = nl + (nl < end && *nl == '\n');
	}
}

static void power_off(void)
{
	typedef void (*reset_fn)(int type, uint64_t status, uint64_t size, void *data);
	reset_fn reset = *(reset_fn *)(uintptr_t)(lb->runtime_va + RT_RESET_SYSTEM);

	reset(EFI_RESET_SHUTDOWN, 0, 0, 0);
	bugcheck("ResetSystem returned");
}

void KiSystemStartup(struct nt_loader_block *block)
{
	uint64_t t;

	lb = block;
	if (lb->magic != NT_LB_MAGIC)
		bugcheck("bad loader block");
	pool.pages = lb->free_pages, pool.n = lb->nfree;
	vfree_add(lb->image_va_next, NT_KVA_IMAGES + lb->slide + (UINT64_C(1) << 30));
	KePrint("ntoskrnl: start, image base ");
	KePrintHex(lb->mods[0].base);
	KePrint(", ");
	KePrintHex(lb->nmods - 1);
	KePrint(" boot drivers\r\n");
	for (uint32_t i = 1; i < lb->nmods; i++)
		start_driver(i);
	run_script();
	t = KeQueryRuntimeTime();
	KePrint("ntoskrnl: runtime GetTime in virtual mode: year ");
	KePrintHex(t >> 40);
	KePrint("\r\nntoskrnl: done\r\n");
	power_off();
}
