/*
 * synth.c: builds the synthetic images of synth.h field by field, from the
 * Microsoft PE/COFF specification (headers, base relocations, imports, Load
 * Config of a 64-bit image) and the EDK2 TE header layout. Nothing here is
 * clever: every offset is written out so a test can name what it breaks.
 */
#include <stdlib.h>
#include <string.h>

#include "rd.h"
#include "synth.h"

#define IB SYNTH_IMAGE_BASE
#define PE_OFF 0x80u
#define OPT_OFF (PE_OFF + 24u)
#define OPT_SIZE 240u
#define SECT_OFF (OPT_OFF + OPT_SIZE) /* 0x188: also the TE StrippedSize */
#define NSECT 6u
#define RELOC_SIZE 0x4cu
#define CV_SIZE 0x22u

struct sect {
	const char *name;
	uint32_t va, vs, raw_ptr, raw_size, flags;
};

/* raw_ptr of the compact layout; the XIP layout uses raw_ptr = va. */
static const struct sect sects[NSECT] = {
	{".text", 0x1000, 0x180, 0x400, 0x200, 0x60000020},
	{".rdata", 0x2000, 0x300, 0x600, 0x400, 0x40000040},
	{".data", 0x3000, 0x280, 0xa00, 0x200, 0xc0000040},
	{".bss", 0x4000, 0x400, 0, 0, 0xc0000080},
	{".vs0", 0x5000, 0, 0xc00, 0x200, 0x40000040},
	{".reloc", 0x6000, RELOC_SIZE, 0xe00, 0x200, 0x42000040},
};

/* Load Config (IMAGE_LOAD_CONFIG_DIRECTORY64) offsets and the slot each
 * pointer field names, all DIR64 relocation sites. */
static const struct {
	uint32_t field, slot;
} lc_ptrs[] = {
	{88, SYNTH_COOKIE},          {112, SYNTH_CFG_CHECK},      {120, SYNTH_CFG_CHECK + 8},
	{280, SYNTH_CFG_CHECK + 16}, {288, SYNTH_CFG_CHECK + 24}, {296, SYNTH_CFG_CHECK + 32},
	{216, SYNTH_CFG_CHECK + 40}, {232, SYNTH_CFG_CHECK + 48}, {312, SYNTH_CFG_CHECK + 56},
};
#define NLC (sizeof(lc_ptrs) / sizeof(lc_ptrs[0]))

struct img {
	uint8_t *f;
	int xip;
};

/* File offset of an RVA inside a section's raw data. */
static uint8_t *at(struct img *m, uint32_t rva)
{
	for (unsigned i = 0; i < NSECT; i++) {
		const struct sect *s = &sects[i];
		if (s->raw_size && rva >= s->va && rva < s->va + s->raw_size)
			return m->f + (m->xip ? s->va : s->raw_ptr) + (rva - s->va);
	}
	abort();
}

static void put_str(struct img *m, uint32_t rva, const char *s) { memcpy(at(m, rva), s, strlen(s) + 1); }

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)((seed >> 16) | 1); /* never 0 */
	}
}

static void headers(struct img *m)
{
	uint8_t *f = m->f, *o = f + OPT_OFF;
	static const uint32_t dirs[][3] = {
		{1, SYNTH_IMPORT_DESC, 60}, {5, SYNTH_RELOC, RELOC_SIZE}, {6, SYNTH_DEBUG_DIR, 28},
		{10, SYNTH_LOADCFG, SYNTH_LOADCFG_SIZE}, {12, SYNTH_IAT0, 0x30},
	};

	f[0] = 'M', f[1] = 'Z';
	hv_put_le32(f + 0x3c, PE_OFF);
	memcpy(f + PE_OFF, "PE\0\0", 4);
	hv_put_le16(f + PE_OFF + 4, 0x8664);
	hv_put_le16(f + PE_OFF + 6, NSECT);
	hv_put_le32(f + PE_OFF + 8, 0x5eed1234);
	hv_put_le16(f + PE_OFF + 20, OPT_SIZE);
	hv_put_le16(f + PE_OFF + 22, 0x0022); /* executable, large address aware */
	hv_put_le16(o, 0x20b);
	hv_put_le32(o + 4, 0x200);            /* SizeOfCode */
	hv_put_le32(o + 16, SYNTH_ENTRY);
	hv_put_le32(o + 20, 0x1000);          /* BaseOfCode */
	hv_put_le64(o + 24, IB);
	hv_put_le32(o + 32, 0x1000);          /* SectionAlignment */
	hv_put_le32(o + 36, m->xip ? 0x1000 : 0x200);
	hv_put_le16(o + 40, 10), hv_put_le16(o + 48, 10);
	hv_put_le32(o + 56, SYNTH_SIZE_OF_IMAGE);
	hv_put_le32(o + 60, m->xip ? 0x1000 : 0x400);
	hv_put_le16(o + 68, 1);               /* native */
	hv_put_le16(o + 70, 0x4160);          /* guard CF, NX, dynamic base, high entropy */
	hv_put_le64(o + 72, 0x40000), hv_put_le64(o + 80, 0x1000);
	hv_put_le32(o + 108, 16);
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		hv_put_le32(o + 112 + 8 * dirs[i][0], dirs[i][1]);
		hv_put_le32(o + 116 + 8 * dirs[i][0], dirs[i][2]);
	}
	for (unsigned i = 0; i < NSECT; i++) {
		uint8_t *h = f + SECT_OFF + 40 * i;
		const struct sect *s = &sects[i];
		memcpy(h, s->name, strlen(s->name));
		hv_put_le32(h + 8, s->vs);
		hv_put_le32(h + 12, s->va);
		hv_put_le32(h + 16, s->raw_size);
		hv_put_le32(h + 20, s->raw_size ? (m->xip ? s->va : s->raw_ptr) : 0);
		hv_put_le32(h + 36, s->flags);
	}
}

static void text(struct img *m)
{
	uint8_t *t = at(m, 0x1000);
	fill_pattern(t, 0x180, 0x7e47);
	t[0x20] = 0x48, t[0x21] = 0xb8; /* mov rax, imm64 */
	hv_put_le64(at(m, SYNTH_DIR64_SITE), IB + 0x3000);
	hv_put_le32(at(m, SYNTH_HIGHLOW_SITE), (uint32_t)(IB + 0x3010));
	hv_put_le16(at(m, SYNTH_HIGH_SITE), (uint16_t)((IB + 0x2000) >> 16));
	hv_put_le16(at(m, SYNTH_LOW_SITE), 0x2000);
	/* HIGHADJ: high half of 0x40008010, rounded (its low half 0x8010 is
	 * the parameter of the relocation entry). */
	hv_put_le16(at(m, SYNTH_HIGHADJ_SITE), 0x4001);
	t[0x100] = 0xc3; /* the function the CFG slots point at */
}

static void rdata(struct img *m, uint32_t cv_off)
{
	uint8_t *lc = at(m, SYNTH_LOADCFG), *d = at(m, SYNTH_DEBUG_DIR);
	uint8_t *id = at(m, SYNTH_IMPORT_DESC), *ilt = at(m, SYNTH_ILT0);
	static const char *names[] = {"DbgPrint", "KeBugCheckEx", "KeStallExecutionProcessor"};

	hv_put_le32(lc, SYNTH_LOADCFG_SIZE);
	for (unsigned i = 0; i < NLC; i++)
		hv_put_le64(lc + lc_ptrs[i].field, IB + lc_ptrs[i].slot);
	hv_put_le32(lc + 144, 0x00000100); /* GuardFlags: CF instrumented */
	hv_put_le32(d + 12, 2);            /* CodeView */
	hv_put_le32(d + 16, CV_SIZE);
	hv_put_le32(d + 20, 0);            /* AddressOfRawData: not mapped */
	hv_put_le32(d + 24, cv_off);
	/* Descriptor 0 with a lookup table, descriptor 1 without (the IAT
	 * holds the hint/name RVAs, as in old Borland-style images). */
	hv_put_le32(id + 0, SYNTH_ILT0);
	hv_put_le32(id + 12, SYNTH_DLL0_NAME);
	hv_put_le32(id + 16, SYNTH_IAT0);
	hv_put_le32(id + 20 + 12, SYNTH_DLL1_NAME);
	hv_put_le32(id + 20 + 16, SYNTH_IAT1);
	for (unsigned i = 0; i < 3; i++) {
		put_str(m, 0x2202 + 0x10 * i, names[i]);
		if (i < 2)
			hv_put_le64(ilt + 8 * i, 0x2200 + 0x10 * i);
	}
	hv_put_le64(ilt + 16, 0x8000000000000005ull); /* by ordinal */
	put_str(m, SYNTH_DLL0_NAME, "ntoskrnl.exe");
	put_str(m, SYNTH_DLL1_NAME, "HAL.dll");
	memset(at(m, 0x2260), 0xa5, 0x2300 - 0x2260);
}

static void data(struct img *m)
{
	memcpy(at(m, SYNTH_IAT0), at(m, SYNTH_ILT0), 32);
	hv_put_le64(at(m, SYNTH_IAT1), 0x2220);
	hv_put_le64(at(m, SYNTH_COOKIE), 0x00002B992DDFA232ull);
	for (unsigned i = 0; i < 8; i++)
		hv_put_le64(at(m, SYNTH_CFG_CHECK + 8 * i), IB + 0x1100);
	hv_put_le64(at(m, SYNTH_DATA_PTR), IB + SYNTH_ENTRY);
	hv_put_le64(at(m, SYNTH_DATA_PTR + 8), IB + 0x2200);
	fill_pattern(at(m, 0x30c0), 0x140, 0xda7a);
	fill_pattern(at(m, 0x5000), 0x200, 0x0050);
}

/* Three blocks, 4-byte aligned with ABSOLUTE padding. */
static void relocs(struct img *m)
{
	uint8_t *r = at(m, SYNTH_RELOC);
	uint16_t b0[] = {0xa022, 0x3040, 0x1050, 0x2054, 0x4058, 0x8010};
	unsigned n;

	hv_put_le32(r, 0x1000), hv_put_le32(r + 4, 20);
	for (n = 0; n < 6; n++)
		hv_put_le16(r + 8 + 2 * n, b0[n]);
	r += 20;
	hv_put_le32(r, 0x2000), hv_put_le32(r + 4, 28);
	for (n = 0; n < NLC; n++)
		hv_put_le16(r + 8 + 2 * n, (uint16_t)(0xa000 | lc_ptrs[n].field));
	r += 28;
	hv_put_le32(r, 0x3000), hv_put_le32(r + 4, 28);
	for (n = 0; n < 8; n++)
		hv_put_le16(r + 8 + 2 * n, (uint16_t)(0xa000 | (SYNTH_CFG_CHECK + 8 * n - 0x3000)));
	hv_put_le16(r + 8 + 16, 0xa000 | (SYNTH_DATA_PTR - 0x3000));
	hv_put_le16(r + 8 + 18, 0xa000 | (SYNTH_DATA_PTR + 8 - 0x3000));
}

static void codeview(uint8_t *p)
{
	memcpy(p, "RSDS", 4);
	fill_pattern(p + 4, 16, 0x6a1d);
	hv_put_le32(p + 20, 1);
	memcpy(p + 24, "synth.pdb", 10);
}

/* TE: the 40-byte EFI_TE_IMAGE_HEADER replaces the first StrippedSize
 * bytes (DOS, PE and optional headers); the rest of the file follows. */
static uint8_t *to_te(const uint8_t *pe, size_t pelen, size_t *len)
{
	uint8_t *te = calloc(1, pelen - SECT_OFF + 40);
	if (!te)
		return NULL;
	te[0] = 'V', te[1] = 'Z';
	hv_put_le16(te + 2, 0x8664);
	te[4] = NSECT;
	te[5] = 11; /* boot service driver */
	hv_put_le16(te + 6, SECT_OFF);
	hv_put_le32(te + 8, SYNTH_ENTRY);
	hv_put_le32(te + 12, 0x1000);
	hv_put_le64(te + 16, IB);
	hv_put_le32(te + 24, SYNTH_RELOC), hv_put_le32(te + 28, RELOC_SIZE);
	hv_put_le32(te + 32, SYNTH_DEBUG_DIR), hv_put_le32(te + 36, 28);
	memcpy(te + 40, pe + SECT_OFF, pelen - SECT_OFF);
	*len = pelen - SECT_OFF + 40;
	return te;
}

uint8_t *synth_build(enum synth_kind kind, size_t *len)
{
	struct img m = {NULL, kind != SYNTH_PE64};
	uint32_t cv_off = m.xip ? SYNTH_SIZE_OF_IMAGE : 0x1000;
	size_t flen = cv_off + 0x30;
	uint8_t *te;

	m.f = calloc(1, flen);
	if (!m.f)
		return NULL;
	headers(&m);
	text(&m);
	rdata(&m, cv_off);
	data(&m);
	relocs(&m);
	codeview(m.f + cv_off);
	*len = flen;
	if (kind != SYNTH_TE)
		return m.f;
	te = to_te(m.f, flen, len);
	free(m.f);
	return te;
}
