/*
 * mm.c: page tables (mm.h). Entries are present + writable; no NX bit, so
 * every mapping can run code (the injected-code scenario relies on that, as
 * Windows' executable pool does).
 */
#include "mm.h"
#include "ldr.h"

#define PTE_P 1u
#define PTE_W 2u
#define PTE_PS 0x80u
#define ADDR_MASK UINT64_C(0x000FFFFFFFFFF000)

uint64_t mm_take(struct mm_pool *p)
{
	uint64_t pa;
	if (!p->n)
		return 0;
	pa = p->pages[--p->n];
	ldr_memset((void *)(uintptr_t)pa, 0, 4096);
	return pa;
}

uint64_t mm_new_root(struct mm_pool *p)
{
	uint64_t pml4 = mm_take(p), pdpt = mm_take(p);
	uint64_t *t;

	if (!pml4 || !pdpt)
		return 0;
	((uint64_t *)(uintptr_t)pml4)[0] = pdpt | PTE_P | PTE_W;
	for (uint64_t g = 0; g < 4; g++) {
		uint64_t pd = mm_take(p);
		if (!pd)
			return 0;
		((uint64_t *)(uintptr_t)pdpt)[g] = pd | PTE_P | PTE_W;
		t = (uint64_t *)(uintptr_t)pd;
		for (uint64_t i = 0; i < 512; i++)
			t[i] = (g << 30 | i << 21) | PTE_P | PTE_W | PTE_PS;
	}
	return pml4;
}

/* The entry for va at the page-table level, creating tables on the way. */
static uint64_t *walk(uint64_t pml4, uint64_t va, struct mm_pool *p)
{
	uint64_t *t = (uint64_t *)(uintptr_t)pml4;

	for (int shift = 39; shift > 12; shift -= 9) {
		uint64_t *e = &t[(va >> shift) & 511];
		if (!(*e & PTE_P)) {
			uint64_t n = p ? mm_take(p) : 0;
			if (!n)
				return 0;
			*e = n | PTE_P | PTE_W;
		}
		if (*e & PTE_PS)
			return 0; /* inside a large page: not ours to split */
		t = (uint64_t *)(uintptr_t)(*e & ADDR_MASK);
	}
	return &t[(va >> 12) & 511];
}

int mm_map(uint64_t pml4, uint64_t va, uint64_t pa, struct mm_pool *p)
{
	uint64_t *e = walk(pml4, va, p);
	if (!e)
		return -1;
	*e = (pa & ADDR_MASK) | PTE_P | PTE_W;
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	return 0;
}

uint64_t mm_unmap(uint64_t pml4, uint64_t va)
{
	uint64_t *e = walk(pml4, va, 0), pa;
	if (!e || !(*e & PTE_P))
		return 0;
	pa = *e & ADDR_MASK;
	*e = 0;
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	return pa;
}

uint64_t mm_phys(uint64_t pml4, uint64_t va)
{
	uint64_t *e = walk(pml4, va, 0);
	return e && (*e & PTE_P) ? (*e & ADDR_MASK) | (va & 4095) : 0;
}
