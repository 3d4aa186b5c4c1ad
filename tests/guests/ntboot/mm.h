/*
 * mm.h: 4-level x86-64 page tables for winload and the kernel. Physical
 * memory below 4 GiB is identity mapped (2 MiB pages), so page-table pages
 * are reached at their physical address before and after the CR3 switch.
 * Pages for new tables come from a caller-owned stack of free pages.
 */
#ifndef NTBOOT_MM_H
#define NTBOOT_MM_H

#include <stdint.h>

struct mm_pool {
	uint64_t *pages; /* free physical pages (identity mapped, below 4 GiB) */
	uint32_t n;
};

uint64_t mm_take(struct mm_pool *p); /* a zeroed free page, 0 if none */
/* A fresh PML4 with 0..4 GiB identity mapped. 0 if out of pages. */
uint64_t mm_new_root(struct mm_pool *p);
/* Map the 4 KiB page va to pa (present, writable). 0 or -1 (no page). */
int mm_map(uint64_t pml4, uint64_t va, uint64_t pa, struct mm_pool *p);
/* Unmap va; returns the physical page it mapped, 0 if none. */
uint64_t mm_unmap(uint64_t pml4, uint64_t va);
/* Physical address behind va, 0 if unmapped (4 KiB mappings only). */
uint64_t mm_phys(uint64_t pml4, uint64_t va);

#endif
