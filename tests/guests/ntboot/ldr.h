/*
 * ldr.h: the PE32+ image loader shared by winload and the kernel, written
 * to the rules a Windows loader follows: headers and each section's
 * min(VirtualSize, SizeOfRawData) bytes copied, the rest zero, base
 * relocations applied for the chosen address (and ImageBase rewritten),
 * imports bound by name through a resolver, the /GS cookie and the CFG
 * check pointer set through the Load Config directory.
 *
 * The image is written through at(): winload places images in scattered
 * physical pages before its page tables are live, the kernel writes
 * through their virtual addresses. at(ctx, rva) returns a pointer to that
 * byte, valid up to the end of its 4 KiB page.
 */
#ifndef NTBOOT_LDR_H
#define NTBOOT_LDR_H

#include <stdint.h>

#define LDR_MAX_SECTIONS 32
#define LDR_MAX_IMAGE (64u << 20)

struct ldr_img {
	const uint8_t *file;
	uint32_t flen;
	uint64_t base; /* where RVA 0 will be */
	uint8_t *(*at)(void *ctx, uint32_t rva);
	void *ctx;
	/* from the headers */
	uint64_t image_base;
	uint32_t size; /* SizeOfImage, page-rounded */
	uint32_t entry_rva, soh, nsec, sec_off, opt_off;
	uint32_t dir_rva[16], dir_size[16];
	uint32_t discard_rva; /* trailing discardable sections start; = size if none */
	const char *err;
};

typedef uint64_t (*ldr_resolve)(void *ctx, const char *dll, const char *sym);

void ldr_memset(void *d, int c, uint64_t n);
void ldr_memcpy(void *d, const void *s, uint64_t n);
int ldr_streq_nocase(const char *a, const char *b);

/* Check the headers of file[0, len). 0, or -1 with im->err set. */
int ldr_parse(struct ldr_img *im, const uint8_t *file, uint32_t len);
/* Copy, relocate for im->base, bind, set cookie and CFG pointer. */
int ldr_load(struct ldr_img *im, ldr_resolve fn, void *rctx, uint64_t cookie, uint64_t cfg_check);
/* Address of an exported symbol of a loaded image (read through at()); 0 if none. */
uint64_t ldr_export(struct ldr_img *im, const char *sym);
/* The export directory's module name, copied into out[n]. */
void ldr_export_name(struct ldr_img *im, char *out, uint32_t n);

/* Describe an image already loaded at base (for ldr_export): 0 or -1. */
int ldr_attach(struct ldr_img *im, uint64_t base, uint8_t *(*at)(void *, uint32_t), void *ctx);

#endif
