/*
 * synth.h: a synthetic PE32+ driver and its TE twin, built in memory, for
 * tests and fuzz seeds that must not depend on a toolchain or a corpus.
 *
 * The image holds every structure a loader writes to (relocations of all
 * types, two imports, one without a lookup table, a Load Config with /GS
 * cookie, CFG/XFG/RF/memcpy slots, a CodeView entry with AddressOfRawData 0
 * for EDK2 to place) and every layout case of the copy rules (gap after
 * VirtualSize < SizeOfRawData, zero fill, SizeOfRawData 0, VirtualSize 0).
 * The RVAs below let tests tamper with named fields.
 */
#ifndef HVIMA_TESTS_SYNTH_H
#define HVIMA_TESTS_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_IMAGE_BASE 0x140000000ull
#define SYNTH_SIZE_OF_IMAGE 0x7000u

/* RVAs of fields of interest. */
#define SYNTH_ENTRY 0x1010u
#define SYNTH_DIR64_SITE 0x1022u   /* mov rax, imm64: points at .data */
#define SYNTH_HIGHLOW_SITE 0x1040u
#define SYNTH_HIGH_SITE 0x1050u
#define SYNTH_LOW_SITE 0x1054u
#define SYNTH_HIGHADJ_SITE 0x1058u
#define SYNTH_LOADCFG 0x2000u
#define SYNTH_LOADCFG_SIZE 0x140u
#define SYNTH_DEBUG_DIR 0x2140u
#define SYNTH_IMPORT_DESC 0x2160u  /* two descriptors and the null one */
#define SYNTH_ILT0 0x21a0u
#define SYNTH_DLL0_NAME 0x2240u    /* "ntoskrnl.exe" */
#define SYNTH_DLL1_NAME 0x2250u    /* "HAL.dll" */
#define SYNTH_IAT0 0x3000u         /* 3 slots and a zero terminator */
#define SYNTH_IAT1 0x3020u         /* 1 slot, no lookup table */
#define SYNTH_COOKIE 0x3040u       /* holds the x64 default cookie */
#define SYNTH_CFG_CHECK 0x3048u    /* then dispatch, XFG x3, RF x2, memcpy */
#define SYNTH_DATA_PTR 0x30a0u     /* two DIR64 sites */
#define SYNTH_RELOC 0x6000u

enum synth_kind {
	SYNTH_PE64, /* file alignment 0x200: sections far from their RVAs */
	SYNTH_PE64_XIP, /* PointerToRawData == VirtualAddress */
	SYNTH_TE,   /* SYNTH_PE64_XIP stripped to a TE image */
};

/* A malloc'd file image of the given kind; *len its size. NULL on ENOMEM. */
uint8_t *synth_build(enum synth_kind kind, size_t *len);

#endif
