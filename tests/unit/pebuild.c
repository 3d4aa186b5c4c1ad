/*
 * pebuild.c: the synthetic image builder of the unit tests (pebuild.h).
 * Written from the Microsoft PE/COFF specification; it aborts on a
 * description that does not fit instead of producing something odd.
 */
#include "pebuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd.h"

static void pb_die(const char *what)
{
	fprintf(stderr, "pebuild: %s\n", what);
	abort();
}

static uint32_t align_up(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

static int is64(const struct pb *b) { return b->kind != PB_PE32; }

void pb_init(struct pb *b, enum pb_kind kind)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->machine = kind == PB_PE32 ? 0x014c : 0x8664;
	b->subsystem = 10;
	b->image_base = kind == PB_PE32 ? 0x00400000u : 0x140000000ull;
	b->e_lfanew = 0x80;
	b->ndirs = PB_NDIRS;
	b->file_align = 0x200;
	b->sect_align = 0x1000;
}

void pb_free(struct pb *b)
{
	for (int i = 0; i < b->nsec; i++)
		free(b->sec[i].data);
	b->nsec = 0;
}

struct pb_section *pb_add_section(struct pb *b, const char *name, uint32_t rva, uint32_t vsize,
				  uint32_t raw_size, uint32_t characteristics)
{
	if (b->nsec >= PB_MAX_SECTIONS)
		pb_die("too many sections");
	struct pb_section *s = &b->sec[b->nsec++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->rva = rva;
	s->vsize = vsize;
	s->raw_size = raw_size;
	s->characteristics = characteristics;
	s->data = calloc(1, raw_size ? raw_size : 1);
	if (!s->data)
		pb_die("out of memory");
	return s;
}

uint8_t *pb_at(struct pb *b, uint32_t rva, uint32_t n)
{
	for (int i = 0; i < b->nsec; i++) {
		struct pb_section *s = &b->sec[i];
		if (rva >= s->rva && rva - s->rva <= s->raw_size && n <= s->raw_size - (rva - s->rva))
			return s->data + (rva - s->rva);
	}
	pb_die("pb_at: RVA range not inside one section's raw data");
	return NULL;
}

void pb_put16(struct pb *b, uint32_t rva, uint16_t v) { hv_put_le16(pb_at(b, rva, 2), v); }
void pb_put32(struct pb *b, uint32_t rva, uint32_t v) { hv_put_le32(pb_at(b, rva, 4), v); }
void pb_put64(struct pb *b, uint32_t rva, uint64_t v) { hv_put_le64(pb_at(b, rva, 8), v); }

void pb_puts(struct pb *b, uint32_t rva, const char *s)
{
	size_t n = strlen(s) + 1;
	memcpy(pb_at(b, rva, (uint32_t)n), s, n);
}

void pb_reloc(struct pb *b, uint32_t rva, unsigned type, uint32_t target)
{
	if (b->nrel >= PB_MAX_RELOCS)
		pb_die("too many relocations");
	if (type == PB_REL_DIR64)
		pb_put64(b, rva, b->image_base + target);
	else if (type == PB_REL_HIGHLOW)
		pb_put32(b, rva, (uint32_t)(b->image_base + target));
	else
		pb_die("pb_reloc: only HIGHLOW and DIR64");
	b->rel[b->nrel].rva = rva;
	b->rel[b->nrel].type = type;
	b->nrel++;
}

static int cmp_rel(const void *x, const void *y)
{
	const struct pb_reloc *a = x, *c = y;
	return a->rva < c->rva ? -1 : a->rva > c->rva;
}

uint32_t pb_emit_relocs(struct pb *b, uint32_t rva)
{
	struct pb_reloc sorted[PB_MAX_RELOCS];
	memcpy(sorted, b->rel, sizeof(sorted[0]) * (size_t)b->nrel);
	qsort(sorted, (size_t)b->nrel, sizeof(sorted[0]), cmp_rel);
	uint32_t p = rva;
	for (int i = 0; i < b->nrel;) {
		uint32_t page = sorted[i].rva & ~0xfffu;
		uint32_t blk = p;
		p += PB_REL_HDR;
		for (; i < b->nrel && (sorted[i].rva & ~0xfffu) == page; i++, p += 2)
			pb_put16(b, p, (uint16_t)(sorted[i].type << 12 | (sorted[i].rva & 0xfff)));
		if ((p - blk) % 4)
			pb_put16(b, p, 0), p += 2; /* ABSOLUTE padding */
		pb_put32(b, blk + PB_REL_PAGE, page);
		pb_put32(b, blk + PB_REL_BLOCK_SIZE, p - blk);
	}
	b->dirs[5].rva = rva;
	b->dirs[5].size = p - rva;
	return p - rva;
}

uint32_t pb_emit_imports(struct pb *b, uint32_t desc_rva, uint32_t iat_rva, struct pb_dll *dlls, int ndlls)
{
	uint32_t ts = is64(b) ? 8 : 4;
	uint32_t p = align_up(desc_rva + PB_IMP_SIZE * (uint32_t)(ndlls + 1), 8);
	uint32_t q = iat_rva;
	for (int i = 0; i < ndlls; i++) {
		dlls[i].desc_rva = desc_rva + PB_IMP_SIZE * (uint32_t)i;
		dlls[i].ilt_rva = p;
		dlls[i].iat_rva = q;
		p += ts * (uint32_t)(dlls[i].nfuncs + 1);
		q += ts * (uint32_t)(dlls[i].nfuncs + 1);
	}
	for (int i = 0; i < ndlls; i++) {
		for (int f = 0; f < dlls[i].nfuncs; f++) {
			p = align_up(p, 2);
			pb_put16(b, p, (uint16_t)f); /* hint */
			pb_puts(b, p + 2, dlls[i].funcs[f]);
			if (ts == 8) {
				pb_put64(b, dlls[i].ilt_rva + 8 * (uint32_t)f, p);
				pb_put64(b, dlls[i].iat_rva + 8 * (uint32_t)f, p);
			} else {
				pb_put32(b, dlls[i].ilt_rva + 4 * (uint32_t)f, p);
				pb_put32(b, dlls[i].iat_rva + 4 * (uint32_t)f, p);
			}
			p += 2 + (uint32_t)strlen(dlls[i].funcs[f]) + 1;
		}
	}
	for (int i = 0; i < ndlls; i++) {
		dlls[i].name_rva = p;
		pb_puts(b, p, dlls[i].name);
		p += (uint32_t)strlen(dlls[i].name) + 1;
		pb_put32(b, dlls[i].desc_rva + PB_IMP_ILT, dlls[i].ilt_rva);
		pb_put32(b, dlls[i].desc_rva + PB_IMP_NAME, dlls[i].name_rva);
		pb_put32(b, dlls[i].desc_rva + PB_IMP_IAT, dlls[i].iat_rva);
	}
	b->dirs[1].rva = desc_rva;
	b->dirs[1].size = PB_IMP_SIZE * (uint32_t)(ndlls + 1);
	b->dirs[12].rva = iat_rva;
	b->dirs[12].size = q - iat_rva;
	return p;
}

void pb_emit_loadcfg(struct pb *b, uint32_t rva, uint32_t cookie_rva)
{
	uint32_t size = is64(b) ? PB_LC64_STRUCT_SIZE : PB_LC32_STRUCT_SIZE;
	pb_at(b, rva, size); /* the whole structure must fit */
	pb_put32(b, rva + PB_LC_SIZE, size);
	if (is64(b)) {
		pb_reloc(b, rva + PB_LC64_SECURITY_COOKIE, PB_REL_DIR64, cookie_rva);
		pb_put64(b, cookie_rva, 0x00002B992DDFA232ull);
	} else {
		pb_reloc(b, rva + PB_LC32_SECURITY_COOKIE, PB_REL_HIGHLOW, cookie_rva);
		pb_put32(b, cookie_rva, 0xBB40E64Eu);
	}
	b->dirs[10].rva = rva;
	b->dirs[10].size = size;
}

void pb_emit_debug(struct pb *b, uint32_t rva, uint32_t cv_rva, const char *pdb)
{
	uint32_t cv_size = 24 + (uint32_t)strlen(pdb) + 1;
	pb_put32(b, rva + PB_DBG_TYPE, PB_DBG_CODEVIEW);
	pb_put32(b, rva + PB_DBG_SIZE_OF_DATA, cv_size);
	pb_put32(b, rva + PB_DBG_ADDRESS, cv_rva);
	memcpy(pb_at(b, cv_rva, 4), "RSDS", 4);
	for (uint32_t i = 0; i < 16; i++)
		pb_at(b, cv_rva + 4 + i, 1)[0] = (uint8_t)(0x11 * i);
	pb_put32(b, cv_rva + 20, 1); /* age */
	pb_puts(b, cv_rva + 24, pdb);
	b->debug_entry_rva = rva;
	b->dirs[6].rva = rva;
	b->dirs[6].size = PB_DBG_ENTRY;
}

void pb_emit_export(struct pb *b, uint32_t rva, const char *name)
{
	pb_put32(b, rva + PB_EXP_NAME, rva + PB_EXP_SIZE);
	pb_put32(b, rva + 16, 1); /* Base */
	pb_puts(b, rva + PB_EXP_SIZE, name);
	b->dirs[0].rva = rva;
	b->dirs[0].size = PB_EXP_SIZE + (uint32_t)strlen(name) + 1;
}

/* TE: bytes the TE header replaces, less the header itself. */
static uint32_t te_bias(const struct pb *b) { return b->te_stripped - PB_TE_SIZE; }

uint32_t pb_file_off(const struct pb *b, uint32_t rva)
{
	if (b->kind != PB_TE && rva < b->size_of_headers)
		return rva;
	for (int i = 0; i < b->nsec; i++) {
		const struct pb_section *s = &b->sec[i];
		if (rva >= s->rva && rva - s->rva < s->raw_size)
			return s->raw_ptr + (rva - s->rva) - (b->kind == PB_TE ? te_bias(b) : 0);
	}
	pb_die("pb_file_off: RVA has no file bytes");
	return 0;
}

/* Section raw pointers, SizeOfHeaders, SizeOfImage and the file size. */
static void layout(struct pb *b)
{
	uint32_t hdr_end;
	if (b->kind == PB_TE) {
		if (!b->te_stripped)
			b->te_stripped = 0x80 + 4 + PB_COFF_SIZE + PB_OPT64_DIRS + PB_DIRENT_SIZE * PB_NDIRS;
		b->pe_off = b->coff_off = b->opt_off = 0;
		b->dirs_off = PB_TE_DIR_RELOC;
		b->sect_off = PB_TE_SIZE;
		/* the original PE's headers, as the section raw pointers see them */
		hdr_end = b->te_stripped + PB_SH_SIZE * (uint32_t)b->nsec;
	} else {
		b->pe_off = b->e_lfanew;
		b->coff_off = b->pe_off + 4;
		b->opt_off = b->coff_off + PB_COFF_SIZE;
		b->dirs_off = b->opt_off + (is64(b) ? PB_OPT64_DIRS : PB_OPT32_DIRS);
		uint32_t nd = b->ndirs < PB_NDIRS ? b->ndirs : PB_NDIRS;
		b->sect_off = b->dirs_off + PB_DIRENT_SIZE * nd;
		hdr_end = b->sect_off + PB_SH_SIZE * (uint32_t)b->nsec;
	}
	if (!b->size_of_headers)
		b->size_of_headers = align_up(hdr_end, b->file_align);
	uint32_t raw = b->size_of_headers, vend = b->size_of_headers;
	for (int i = 0; i < b->nsec; i++) {
		struct pb_section *s = &b->sec[i];
		if (!s->raw_ptr && s->raw_size)
			s->raw_ptr = align_up(raw, b->file_align);
		if (s->raw_size && s->raw_ptr + s->raw_size > raw)
			raw = s->raw_ptr + s->raw_size;
		uint32_t span = s->vsize ? s->vsize : s->raw_size;
		if (s->rva + span > vend)
			vend = s->rva + span;
	}
	if (!b->size_of_image)
		b->size_of_image = align_up(vend, b->sect_align);
	if (b->kind == PB_TE) {
		b->size_of_headers = PB_TE_SIZE + PB_SH_SIZE * (uint32_t)b->nsec;
		b->file_len = raw - te_bias(b) + b->trailer_len;
	} else {
		b->file_len = raw + b->trailer_len;
	}
}

static void write_section_table(const struct pb *b, uint8_t *out)
{
	for (int i = 0; i < b->nsec; i++) {
		const struct pb_section *s = &b->sec[i];
		uint8_t *h = out + b->sect_off + PB_SH_SIZE * (uint32_t)i;
		memcpy(h + PB_SH_NAME, s->name, strlen(s->name));
		hv_put_le32(h + PB_SH_VSIZE, s->vsize);
		hv_put_le32(h + PB_SH_VADDR, s->rva);
		hv_put_le32(h + PB_SH_RAW_SIZE, s->raw_size);
		hv_put_le32(h + PB_SH_RAW_PTR, s->raw_ptr);
		hv_put_le32(h + PB_SH_CHARACTERISTICS, s->characteristics);
	}
}

static void write_pe_headers(const struct pb *b, uint8_t *out)
{
	out[0] = 'M', out[1] = 'Z';
	hv_put_le32(out + PB_DOS_LFANEW, b->e_lfanew);
	memcpy(out + b->pe_off, "PE\0\0", 4);
	uint8_t *c = out + b->coff_off, *o = out + b->opt_off;
	hv_put_le16(c + PB_COFF_MACHINE, b->machine);
	hv_put_le16(c + PB_COFF_NSECTIONS, (uint16_t)b->nsec);
	hv_put_le32(c + PB_COFF_TIMESTAMP, 0x5f000000u);
	hv_put_le16(c + PB_COFF_OPT_SIZE, (uint16_t)(b->sect_off - b->opt_off));
	hv_put_le16(c + PB_COFF_CHARACTERISTICS, is64(b) ? 0x0022 : 0x0102);
	hv_put_le16(o + PB_OPT_MAGIC, is64(b) ? PB_MAGIC_PE32PLUS : PB_MAGIC_PE32);
	hv_put_le32(o + PB_OPT_ENTRY, b->entry_rva);
	hv_put_le32(o + PB_OPT_BASE_OF_CODE, b->nsec ? b->sec[0].rva : 0);
	if (is64(b))
		hv_put_le64(o + PB_OPT64_IMAGE_BASE, b->image_base);
	else
		hv_put_le32(o + PB_OPT32_IMAGE_BASE, (uint32_t)b->image_base);
	hv_put_le32(o + PB_OPT_SECTION_ALIGN, b->sect_align);
	hv_put_le32(o + PB_OPT_FILE_ALIGN, b->file_align);
	hv_put_le32(o + PB_OPT_SIZE_OF_IMAGE, b->size_of_image);
	hv_put_le32(o + PB_OPT_SIZE_OF_HEADERS, b->size_of_headers);
	hv_put_le16(o + PB_OPT_SUBSYSTEM, b->subsystem);
	hv_put_le16(o + PB_OPT_DLL_CHARACTERISTICS, 0x0160);
	hv_put_le32(o + (is64(b) ? PB_OPT64_NDIRS : PB_OPT32_NDIRS), b->ndirs);
	uint32_t nd = b->ndirs < PB_NDIRS ? b->ndirs : PB_NDIRS;
	for (uint32_t d = 0; d < nd; d++) {
		hv_put_le32(out + b->dirs_off + PB_DIRENT_SIZE * d, b->dirs[d].rva);
		hv_put_le32(out + b->dirs_off + PB_DIRENT_SIZE * d + 4, b->dirs[d].size);
	}
}

static void write_te_header(const struct pb *b, uint8_t *out)
{
	out[0] = 'V', out[1] = 'Z';
	hv_put_le16(out + PB_TE_MACHINE, b->machine);
	out[PB_TE_NSECTIONS] = (uint8_t)b->nsec;
	out[PB_TE_SUBSYSTEM] = (uint8_t)b->subsystem;
	hv_put_le16(out + PB_TE_STRIPPED, (uint16_t)b->te_stripped);
	hv_put_le32(out + PB_TE_ENTRY, b->entry_rva);
	hv_put_le32(out + PB_TE_BASE_OF_CODE, b->nsec ? b->sec[0].rva : 0);
	hv_put_le64(out + PB_TE_IMAGE_BASE, b->image_base);
	hv_put_le32(out + PB_TE_DIR_RELOC, b->dirs[5].rva);
	hv_put_le32(out + PB_TE_DIR_RELOC + 4, b->dirs[5].size);
	hv_put_le32(out + PB_TE_DIR_DEBUG, b->dirs[6].rva);
	hv_put_le32(out + PB_TE_DIR_DEBUG + 4, b->dirs[6].size);
}

uint8_t *pb_link(struct pb *b, size_t *len)
{
	layout(b);
	if (b->debug_entry_rva) {
		uint32_t cv = hv_le32(pb_at(b, b->debug_entry_rva + PB_DBG_ADDRESS, 4));
		pb_put32(b, b->debug_entry_rva + PB_DBG_POINTER, pb_file_off(b, cv));
	}
	uint8_t *out = calloc(1, b->file_len);
	if (!out)
		pb_die("out of memory");
	if (b->kind == PB_TE)
		write_te_header(b, out);
	else
		write_pe_headers(b, out);
	write_section_table(b, out);
	for (int i = 0; i < b->nsec; i++) {
		const struct pb_section *s = &b->sec[i];
		if (s->raw_size)
			memcpy(out + pb_file_off(b, s->rva), s->data, s->raw_size);
	}
	*len = b->file_len;
	return out;
}

uint8_t *pb_load(const struct pb *b, const uint8_t *file, uint64_t base, uint8_t gap_fill, size_t *len)
{
	uint32_t bias = b->kind == PB_TE ? te_bias(b) : 0;
	size_t n = b->size_of_image - bias;
	uint8_t *img = malloc(n);
	if (!img)
		pb_die("out of memory");
	memset(img, gap_fill, n);
	/* byte i of img is RVA i + bias */
	memcpy(img, file, b->size_of_headers);
	for (int i = 0; i < b->nsec; i++) {
		const struct pb_section *s = &b->sec[i];
		uint32_t copied = s->vsize && s->vsize < s->raw_size ? s->vsize : s->raw_size;
		uint32_t vs = s->vsize ? s->vsize : s->raw_size;
		memset(img + s->rva - bias, 0, vs);
		memcpy(img + s->rva - bias, file + pb_file_off(b, s->rva), copied);
	}
	uint64_t new_base = base - bias; /* the address of RVA 0 */
	uint64_t delta = new_base - b->image_base;
	if (b->kind == PB_TE)
		hv_put_le64(img + PB_TE_IMAGE_BASE, new_base);
	else if (is64(b))
		hv_put_le64(img + b->opt_off + PB_OPT64_IMAGE_BASE, new_base);
	else
		hv_put_le32(img + b->opt_off + PB_OPT32_IMAGE_BASE, (uint32_t)new_base);
	for (int i = 0; i < b->nrel; i++) {
		uint8_t *p = img + b->rel[i].rva - bias;
		if (b->rel[i].type == PB_REL_DIR64)
			hv_put_le64(p, hv_le64(p) + delta);
		else
			hv_put_le32(p, hv_le32(p) + (uint32_t)delta);
	}
	*len = n;
	return img;
}

/* ---- The standard image ------------------------------------------------ */

static const char *const k32_funcs[] = {"ExitProcess", "GetTickCount", "Sleep"};
static const char *const nt_funcs[] = {"KeBugCheckEx"};

void pb_std_init(struct pb_std *s, enum pb_kind kind)
{
	struct pb *b = &s->b;
	memset(s, 0, sizeof(*s));
	pb_init(b, kind);
	unsigned rt = kind == PB_PE32 ? PB_REL_HIGHLOW : PB_REL_DIR64;
	s->text_rva = 0x1000;
	s->rdata_rva = 0x2000;
	s->data_rva = 0x3000;
	s->reloc_rva = 0x4000;
	pb_add_section(b, ".text", s->text_rva, 0x180, 0x200, 0x60000020u);
	if (kind != PB_TE)
		pb_add_section(b, ".rdata", s->rdata_rva, 0x800, 0x800, 0x40000040u);
	pb_add_section(b, ".data", s->data_rva, 0x300, 0x200, 0xc0000040u);
	struct pb_section *rs = pb_add_section(b, ".reloc", s->reloc_rva, 0, 0x200, 0x42000040u);
	b->entry_rva = s->text_rva;

	/* code: a recognizable pattern, then two pointer sites */
	uint8_t *t = pb_at(b, s->text_rva, 0x180);
	for (int i = 0; i < 0x180; i++)
		t[i] = (uint8_t)(0x90 ^ i);
	/* raw padding past VirtualSize: not copied by a loader */
	memset(pb_at(b, s->text_rva + 0x180, 0x80), 0xcc, 0x80);
	s->site_a = s->text_rva + 0x10;
	s->site_b = s->text_rva + 0x20;
	s->site_c = s->data_rva + 0x08;
	pb_reloc(b, s->site_a, rt, s->data_rva + 0x10);
	pb_reloc(b, s->site_b, rt, s->text_rva);
	pb_reloc(b, s->site_c, rt, s->text_rva + 0x40);
	memset(pb_at(b, s->data_rva + 0x20, 0x40), 0x5a, 0x40);

	s->cookie_rva = s->data_rva;
	if (kind != PB_TE) {
		s->dll[0].name = "KERNEL32.dll";
		s->dll[0].nfuncs = 3;
		s->dll[0].funcs = k32_funcs;
		s->dll[1].name = "ntoskrnl.exe";
		s->dll[1].nfuncs = 1;
		s->dll[1].funcs = nt_funcs;
		pb_emit_imports(b, s->rdata_rva + 0x100, s->rdata_rva, s->dll, 2);
		s->loadcfg_rva = s->rdata_rva + 0x300;
		pb_emit_loadcfg(b, s->loadcfg_rva, s->cookie_rva);
		s->debug_rva = s->rdata_rva + 0x480;
		s->cv_rva = s->rdata_rva + 0x4a0;
		pb_emit_debug(b, s->debug_rva, s->cv_rva, "c:\\build\\obj\\drv.pdb");
		s->export_rva = s->rdata_rva + 0x500;
		pb_emit_export(b, s->export_rva, "drv.sys");
	} else {
		s->debug_rva = s->data_rva + 0x100;
		s->cv_rva = s->data_rva + 0x120;
		pb_emit_debug(b, s->debug_rva, s->cv_rva, "DxeCore.pdb");
	}
	s->reloc_size = pb_emit_relocs(b, s->reloc_rva);
	rs->vsize = s->reloc_size;
}
