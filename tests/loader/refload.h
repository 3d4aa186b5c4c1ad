/*
 * refload.h: a reference loader for tests. It places a PE or TE file in a
 * new buffer at a chosen address the way EDK2's BasePeCoffLib or the Windows
 * kernel loader would before the entry point runs, so tests can check that
 * the canonical digest of the loaded image equals that of the file.
 *
 * It finds structures with lib's parser (FILE layout) but makes every write
 * itself, independently of canon.c. It never zeroes what a loader leaves
 * stale: gaps between sections and the tail hold non-zero garbage.
 */
#ifndef HVIMA_TESTS_REFLOAD_H
#define HVIMA_TESTS_REFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "pe.h"

enum rl_mode {
	RL_EDK2,    /* copy, relocate, ImageBase, CodeView placement */
	RL_WINDOWS, /* copy, relocate, ImageBase, IAT, /GS cookie, CFG, DVRT */
};

/* What happened to each byte of the loaded buffer. */
enum rl_byte {
	RL_STALE = 0,   /* not covered: gap, tail, raw padding past VirtualSize */
	RL_COPIED = 1,  /* copied from the file and left alone */
	RL_ZERO = 2,    /* zero fill from SizeOfRawData up to VirtualSize */
	RL_WRITTEN = 3, /* copied, then written by the loader (reloc, slot...) */
};

struct rl_image {
	uint8_t *buf;     /* buf[0] sits at address base */
	size_t len;       /* bytes a measurer reads: SizeOfImage less TE's bias */
	size_t alloc;     /* bytes in buf, >= len (EDK2 CodeView copy) */
	uint8_t *map;     /* alloc entries of enum rl_byte */
	uint64_t base;    /* address of buf[0] (TE: of the TE header) */
	uint32_t rva_bias; /* buf[i] is RVA i + rva_bias */
	unsigned relocs;  /* relocation sites rewritten */
	unsigned slots;   /* IAT slots bound */
	unsigned fields;  /* other fields written (cookie, CFG, DVRT, debug) */
};

/* Load file [file, file + len) at base. seed varies the stale garbage and
 * the cookie. HV_E_UNSUPPORTED when the image must move but has its
 * relocations stripped, or (Windows) it is a TE image. */
int rl_load(const uint8_t *file, size_t len, uint64_t base, enum rl_mode mode, uint32_t seed,
	    struct rl_image *img, hv_why *why);
void rl_free(struct rl_image *img);

/* The address of buf[0] at which the image needs no relocation. */
uint64_t rl_own_base(const struct hv_pe *pe);

const char *rl_mode_str(enum rl_mode mode);

#endif
