/*
 * pe.c: headers and sections of PE32, PE32+ and TE images, and the mapping
 * from RVAs to bytes of a file or of a loaded image.
 *
 * Contract: hv_pe_parse() accepts an image only if every structure the rest
 * of lib reads through hv_pe_rva() is addressable without overflow: the
 * header and section table lie inside the input, sections lie inside
 * SizeOfImage above the headers and do not overlap, and (file layout) the
 * bytes loaders copy lie inside the file. Offsets and sizes are checked by
 * subtraction or in 64-bit arithmetic before any pointer is formed.
 * References: Microsoft PE/COFF specification (headers, section table);
 * EDK2 PiFirmwareFile.h / PeImage.h (EFI_TE_IMAGE_HEADER).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe.h"

/* COFF header, relative to the PE signature. */
#define COFF_MACHINE 4
#define COFF_NSECTIONS 6
#define COFF_TIMESTAMP 8
#define COFF_OPT_SIZE 20
#define COFF_CHARACTERISTICS 22
#define COFF_END 24
/* Optional header, relative to its start. */
#define OPT_MAGIC 0
#define OPT_ENTRY 16
#define OPT32_IMAGE_BASE 28
#define OPT64_IMAGE_BASE 24
#define OPT_SIZE_OF_IMAGE 56
#define OPT_SIZE_OF_HEADERS 60
#define OPT_SUBSYSTEM 68
#define OPT_DLL_CHARACTERISTICS 70
#define OPT32_NUM_RVA 92
#define OPT64_NUM_RVA 108
#define OPT_MAGIC_PE32 0x10b
#define OPT_MAGIC_PE32PLUS 0x20b
/* Section header. */
#define SEC_VSIZE 8
#define SEC_VA 12
#define SEC_RAW_SIZE 16
#define SEC_RAW_PTR 20
#define SEC_CHARACTERISTICS 36
/* EFI_TE_IMAGE_HEADER. */
#define TE_MACHINE 2
#define TE_NSECTIONS 4
#define TE_SUBSYSTEM 5
#define TE_STRIPPED 6
#define TE_ENTRY 8
#define TE_IMAGE_BASE 16
#define TE_DIR_RELOC 24
#define TE_DIR_DEBUG 32

#define SIG_MZ 0x5a4d
#define SIG_VZ 0x5a56
#define SIG_PE 0x00004550

const char *hv_status_str(int status)
{
	switch (status) {
	case HV_OK: return "ok";
	case HV_E_TRUNCATED: return "truncated";
	case HV_E_FORMAT: return "malformed";
	case HV_E_RANGE: return "out of range";
	case HV_E_CAP: return "over a limit";
	case HV_E_NOMEM: return "out of memory";
	case HV_E_UNSUPPORTED: return "unsupported";
	case HV_E_CRYPTO: return "digest library failure";
	case HV_E_ABSENT: return "absent";
	default: return "unknown error";
	}
}

int hv_fail(hv_why *why, int status, const char *fmt, ...)
{
	if (why) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
		va_end(ap);
	}
	return status;
}

uint32_t hv_pe_section_copied(const struct hv_pe_section *s)
{
	if (s->virtual_size == 0)
		return s->raw_size;
	return s->virtual_size < s->raw_size ? s->virtual_size : s->raw_size;
}

/* Extent of a section in the image: VirtualSize, or SizeOfRawData if 0. */
static uint32_t section_extent(const struct hv_pe_section *s)
{
	return s->virtual_size ? s->virtual_size : s->raw_size;
}

static int read_sections(struct hv_pe *pe, uint32_t table_off, hv_why *why)
{
	const struct hv_rd *in = &pe->in;

	if (pe->nsections > HV_CAP_SECTIONS)
		return hv_fail(why, HV_E_CAP, "NumberOfSections %u exceeds the limit of %u", pe->nsections,
			       HV_CAP_SECTIONS);
	if (!hv_rd_has(in, table_off, (uint64_t)pe->nsections * HV_SECTION_HDR_SIZE))
		return hv_fail(why, HV_E_TRUNCATED, "section table [0x%x, +%u*40) runs past the input (%zu bytes)",
			       table_off, pe->nsections, in->len);
	if (pe->nsections == 0)
		return HV_OK;
	pe->sections = calloc(pe->nsections, sizeof(*pe->sections));
	if (!pe->sections)
		return hv_fail(why, HV_E_NOMEM, "no memory for %u section headers", pe->nsections);

	for (uint32_t i = 0; i < pe->nsections; i++) {
		const uint8_t *h = in->p + table_off + (size_t)i * HV_SECTION_HDR_SIZE;
		struct hv_pe_section *s = &pe->sections[i];
		for (int k = 0; k < 8; k++)
			s->name[k] = (h[k] >= 0x20 && h[k] < 0x7f) ? (char)h[k] : (h[k] ? '?' : 0);
		s->name[8] = 0;
		s->virtual_size = hv_le32(h + SEC_VSIZE);
		s->virtual_address = hv_le32(h + SEC_VA);
		s->raw_size = hv_le32(h + SEC_RAW_SIZE);
		s->raw_ptr = hv_le32(h + SEC_RAW_PTR);
		s->characteristics = hv_le32(h + SEC_CHARACTERISTICS);
		s->hdr_off = table_off + i * HV_SECTION_HDR_SIZE;
	}
	return HV_OK;
}

static int cmp_va(const void *a, const void *b)
{
	const struct hv_pe_section *x = *(const struct hv_pe_section *const *)a;
	const struct hv_pe_section *y = *(const struct hv_pe_section *const *)b;
	return x->virtual_address < y->virtual_address ? -1 : x->virtual_address > y->virtual_address;
}

/* Sections inside SizeOfImage, above the headers, pairwise disjoint; in a
 * file, the bytes a loader copies inside the file. */
static int check_sections(struct hv_pe *pe, hv_why *why)
{
	uint64_t hdr_end = (uint64_t)pe->rva_bias + pe->size_of_headers;
	const struct hv_pe_section **order;
	int rc = HV_OK;

	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		uint64_t end = (uint64_t)s->virtual_address + section_extent(s);
		uint32_t copied = hv_pe_section_copied(s);

		if (s->raw_size > HV_CAP_IMAGE_SIZE || s->virtual_size > HV_CAP_IMAGE_SIZE)
			return hv_fail(why, HV_E_CAP, "section %u (%s): size 0x%x/0x%x over the limit", i, s->name,
				       s->virtual_size, s->raw_size);
		if (section_extent(s) == 0)
			continue;
		if (end > pe->size_of_image)
			return hv_fail(why, HV_E_RANGE, "section %u (%s): [0x%x, 0x%llx) beyond SizeOfImage 0x%x", i,
				       s->name, s->virtual_address, (unsigned long long)end, pe->size_of_image);
		if (s->virtual_address < hdr_end)
			return hv_fail(why, HV_E_RANGE, "section %u (%s): RVA 0x%x overlaps the headers (end 0x%llx)", i,
				       s->name, s->virtual_address, (unsigned long long)hdr_end);
		if (pe->layout == HV_LAYOUT_FILE && copied) {
			if (s->raw_ptr < pe->rva_bias)
				return hv_fail(why, HV_E_RANGE, "section %u (%s): PointerToRawData 0x%x below the TE stripped size", i,
					       s->name, s->raw_ptr);
			if (!hv_rd_has(&pe->in, (uint64_t)s->raw_ptr - pe->rva_bias, copied))
				return hv_fail(why, HV_E_RANGE,
					       "section %u (%s): raw data [0x%x, +0x%x) runs past the end of the file (0x%zx)", i,
					       s->name, s->raw_ptr - pe->rva_bias, copied, pe->in.len);
		}
	}
	if (pe->nsections < 2)
		return HV_OK;
	order = malloc(pe->nsections * sizeof(*order));
	if (!order)
		return hv_fail(why, HV_E_NOMEM, "no memory to sort sections");
	for (uint32_t i = 0; i < pe->nsections; i++)
		order[i] = &pe->sections[i];
	qsort(order, pe->nsections, sizeof(*order), cmp_va);
	for (uint32_t i = 0, prev = UINT32_MAX; i < pe->nsections; i++) {
		if (section_extent(order[i]) == 0)
			continue;
		if (prev != UINT32_MAX &&
		    (uint64_t)order[prev]->virtual_address + section_extent(order[prev]) > order[i]->virtual_address) {
			rc = hv_fail(why, HV_E_RANGE, "sections %s and %s overlap at RVA 0x%x", order[prev]->name,
				     order[i]->name, order[i]->virtual_address);
			break;
		}
		prev = i;
	}
	free(order);
	return rc;
}

static int parse_pe(struct hv_pe *pe, hv_why *why)
{
	const struct hv_rd *in = &pe->in;
	uint32_t lfanew, sig, num_rva;
	uint16_t magic;
	uint32_t min_opt, dirs_rel, num_rva_off;

	if (!hv_rd_u32(in, HV_DOS_E_LFANEW, &lfanew))
		return hv_fail(why, HV_E_TRUNCATED, "input of %zu bytes ends inside the DOS header", in->len);
	if (lfanew > HV_CAP_LFANEW)
		return hv_fail(why, HV_E_CAP, "e_lfanew 0x%x exceeds the limit of 0x%x", lfanew, HV_CAP_LFANEW);
	if (!hv_rd_u32(in, lfanew, &sig))
		return hv_fail(why, HV_E_RANGE, "e_lfanew 0x%x points past the end of the input (%zu bytes)", lfanew,
			       in->len);
	if (sig != SIG_PE)
		return hv_fail(why, HV_E_FORMAT, "no PE signature at e_lfanew 0x%x (found 0x%08x)", lfanew, sig);
	if (!hv_rd_has(in, lfanew, COFF_END))
		return hv_fail(why, HV_E_TRUNCATED, "input ends inside the COFF header at 0x%x", lfanew + 4);
	pe->pe_off = lfanew;
	pe->machine = hv_le16(in->p + lfanew + COFF_MACHINE);
	pe->nsections = hv_le16(in->p + lfanew + COFF_NSECTIONS);
	pe->timestamp = hv_le32(in->p + lfanew + COFF_TIMESTAMP);
	pe->opt_size = hv_le16(in->p + lfanew + COFF_OPT_SIZE);
	pe->characteristics = hv_le16(in->p + lfanew + COFF_CHARACTERISTICS);
	pe->opt_off = lfanew + COFF_END;

	if (!hv_rd_u16(in, pe->opt_off, &magic))
		return hv_fail(why, HV_E_TRUNCATED, "input ends before the optional header at 0x%x", pe->opt_off);
	if (magic == OPT_MAGIC_PE32) {
		pe->kind = HV_PE32;
		min_opt = HV_OPT32_DIRS, dirs_rel = HV_OPT32_DIRS, num_rva_off = OPT32_NUM_RVA;
		pe->image_base_off = pe->opt_off + OPT32_IMAGE_BASE, pe->image_base_width = 4;
	} else if (magic == OPT_MAGIC_PE32PLUS) {
		pe->kind = HV_PE32PLUS;
		min_opt = HV_OPT64_DIRS, dirs_rel = HV_OPT64_DIRS, num_rva_off = OPT64_NUM_RVA;
		pe->image_base_off = pe->opt_off + OPT64_IMAGE_BASE, pe->image_base_width = 8;
	} else {
		return hv_fail(why, HV_E_FORMAT, "optional header magic 0x%x is neither PE32 (0x10b) nor PE32+ (0x20b)",
			       magic);
	}
	if (pe->opt_size < min_opt)
		return hv_fail(why, HV_E_FORMAT, "SizeOfOptionalHeader %u is smaller than the %u bytes of a %s header",
			       pe->opt_size, min_opt, hv_pe_kind_str(pe->kind));
	if (!hv_rd_has(in, pe->opt_off, pe->opt_size))
		return hv_fail(why, HV_E_TRUNCATED, "input ends inside the optional header [0x%x, +%u)", pe->opt_off,
			       pe->opt_size);

	const uint8_t *o = in->p + pe->opt_off;
	pe->entry_rva = hv_le32(o + OPT_ENTRY);
	pe->image_base = pe->image_base_width == 8 ? hv_le64(o + OPT64_IMAGE_BASE) : hv_le32(o + OPT32_IMAGE_BASE);
	pe->size_of_image = hv_le32(o + OPT_SIZE_OF_IMAGE);
	pe->size_of_headers = hv_le32(o + OPT_SIZE_OF_HEADERS);
	pe->checksum_off = pe->opt_off + HV_OPT_CHECKSUM;
	pe->checksum = hv_le32(o + HV_OPT_CHECKSUM);
	pe->subsystem = hv_le16(o + OPT_SUBSYSTEM);
	pe->dll_characteristics = hv_le16(o + OPT_DLL_CHARACTERISTICS);
	num_rva = hv_le32(o + num_rva_off);
	pe->ndirs_raw = num_rva;
	pe->ndirs = num_rva < HV_DIR_COUNT ? num_rva : HV_DIR_COUNT;
	if (pe->ndirs > (pe->opt_size - dirs_rel) / 8)
		pe->ndirs = (pe->opt_size - dirs_rel) / 8;
	pe->dirs_off = pe->opt_off + dirs_rel;
	for (uint32_t i = 0; i < pe->ndirs; i++) {
		pe->dirs[i].rva = hv_le32(o + dirs_rel + 8 * i);
		pe->dirs[i].size = hv_le32(o + dirs_rel + 8 * i + 4);
	}

	if (pe->size_of_image == 0 || pe->size_of_image > HV_CAP_IMAGE_SIZE)
		return hv_fail(why, HV_E_CAP, "SizeOfImage 0x%x is 0 or over the limit of 0x%x", pe->size_of_image,
			       HV_CAP_IMAGE_SIZE);
	if (pe->size_of_headers > HV_CAP_HEADERS_SIZE)
		return hv_fail(why, HV_E_CAP, "SizeOfHeaders 0x%x over the limit of 0x%x", pe->size_of_headers,
			       HV_CAP_HEADERS_SIZE);
	if (pe->size_of_headers > pe->size_of_image)
		return hv_fail(why, HV_E_RANGE, "SizeOfHeaders 0x%x exceeds SizeOfImage 0x%x", pe->size_of_headers,
			       pe->size_of_image);
	uint64_t table_end = (uint64_t)pe->opt_off + pe->opt_size + (uint64_t)pe->nsections * HV_SECTION_HDR_SIZE;
	if (pe->nsections <= HV_CAP_SECTIONS && table_end > pe->size_of_headers)
		return hv_fail(why, HV_E_RANGE, "section table ends at 0x%llx, past SizeOfHeaders 0x%x",
			       (unsigned long long)table_end, pe->size_of_headers);
	if (!hv_rd_has(in, 0, pe->size_of_headers))
		return hv_fail(why, HV_E_TRUNCATED, "input of 0x%zx bytes is shorter than SizeOfHeaders 0x%x", in->len,
			       pe->size_of_headers);
	return read_sections(pe, pe->opt_off + pe->opt_size, why);
}

static int parse_te(struct hv_pe *pe, hv_why *why)
{
	const struct hv_rd *in = &pe->in;
	const uint8_t *h = hv_rd_ptr(in, 0, HV_TE_HDR_SIZE);
	uint16_t stripped;
	uint64_t max_end;
	int rc;

	if (!h)
		return hv_fail(why, HV_E_TRUNCATED, "input of %zu bytes ends inside the 40-byte TE header", in->len);
	pe->kind = HV_TE;
	pe->machine = hv_le16(h + TE_MACHINE);
	pe->nsections = h[TE_NSECTIONS];
	pe->subsystem = h[TE_SUBSYSTEM];
	stripped = hv_le16(h + TE_STRIPPED);
	pe->entry_rva = hv_le32(h + TE_ENTRY);
	pe->image_base = hv_le64(h + TE_IMAGE_BASE);
	pe->image_base_off = TE_IMAGE_BASE, pe->image_base_width = 8;
	pe->ndirs = HV_DIR_COUNT, pe->ndirs_raw = 2;
	pe->dirs[HV_DIR_BASERELOC].rva = hv_le32(h + TE_DIR_RELOC);
	pe->dirs[HV_DIR_BASERELOC].size = hv_le32(h + TE_DIR_RELOC + 4);
	pe->dirs[HV_DIR_DEBUG].rva = hv_le32(h + TE_DIR_DEBUG);
	pe->dirs[HV_DIR_DEBUG].size = hv_le32(h + TE_DIR_DEBUG + 4);
	if (stripped < HV_TE_HDR_SIZE)
		return hv_fail(why, HV_E_FORMAT, "TE StrippedSize %u is smaller than the TE header it replaces", stripped);
	pe->rva_bias = stripped - HV_TE_HDR_SIZE;
	pe->size_of_headers = HV_TE_HDR_SIZE + (uint32_t)pe->nsections * HV_SECTION_HDR_SIZE;
	rc = read_sections(pe, HV_TE_HDR_SIZE, why);
	if (rc)
		return rc;
	/* TE has no SizeOfImage: the image ends where its last section does. */
	max_end = (uint64_t)pe->rva_bias + pe->size_of_headers;
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		uint64_t end = (uint64_t)s->virtual_address + section_extent(s);
		if (end > max_end)
			max_end = end;
	}
	if (max_end > HV_CAP_IMAGE_SIZE)
		return hv_fail(why, HV_E_CAP, "TE image ends at 0x%llx, over the limit of 0x%x",
			       (unsigned long long)max_end, HV_CAP_IMAGE_SIZE);
	pe->size_of_image = (uint32_t)max_end;
	return HV_OK;
}

int hv_pe_parse(struct hv_pe *pe, const uint8_t *buf, size_t len, enum hv_layout layout, hv_why *why)
{
	uint16_t sig;
	int rc;

	memset(pe, 0, sizeof(*pe));
	pe->in = hv_rd_make(buf, len);
	pe->layout = layout;
	if (!hv_rd_u16(&pe->in, 0, &sig))
		return hv_fail(why, HV_E_TRUNCATED, "input of %zu bytes is too short for an image", len);
	if (sig == SIG_MZ)
		rc = parse_pe(pe, why);
	else if (sig == SIG_VZ)
		rc = parse_te(pe, why);
	else
		rc = hv_fail(why, HV_E_FORMAT, "no MZ or VZ signature at offset 0 (found 0x%04x)", sig);
	if (rc == HV_OK)
		rc = check_sections(pe, why);
	if (rc != HV_OK)
		hv_pe_free(pe);
	return rc;
}

void hv_pe_free(struct hv_pe *pe)
{
	free(pe->sections);
	pe->sections = NULL;
	pe->nsections = 0;
}

const struct hv_pe_dirent *hv_pe_dir(const struct hv_pe *pe, enum hv_dir d)
{
	if ((unsigned)d >= pe->ndirs)
		return NULL;
	if (pe->dirs[d].rva == 0 && pe->dirs[d].size == 0)
		return NULL;
	return &pe->dirs[d];
}

const struct hv_pe_section *hv_pe_section_at(const struct hv_pe *pe, uint64_t rva)
{
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		if (rva >= s->virtual_address && rva - s->virtual_address < section_extent(s))
			return s;
	}
	return NULL;
}

const uint8_t *hv_pe_rva(const struct hv_pe *pe, uint64_t rva, uint64_t n)
{
	uint64_t hdr_lo = pe->rva_bias;

	if (rva > UINT32_MAX || n > pe->size_of_image)
		return NULL;
	/* The headers sit at the start of the input in both layouts. */
	if (rva >= hdr_lo && rva - hdr_lo <= pe->size_of_headers && n <= pe->size_of_headers - (rva - hdr_lo))
		return hv_rd_ptr(&pe->in, rva - hdr_lo, n);
	if (pe->layout == HV_LAYOUT_LOADED) {
		if (rva < hdr_lo || rva + n > pe->size_of_image)
			return NULL;
		return hv_rd_ptr(&pe->in, rva - hdr_lo, n);
	}
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		uint32_t copied = hv_pe_section_copied(s);
		if (rva >= s->virtual_address && rva - s->virtual_address <= copied &&
		    n <= copied - (rva - s->virtual_address))
			return hv_rd_ptr(&pe->in, (uint64_t)s->raw_ptr - pe->rva_bias + (rva - s->virtual_address), n);
	}
	return NULL;
}

const char *hv_pe_kind_str(enum hv_pe_kind k)
{
	switch (k) {
	case HV_PE32: return "PE32";
	case HV_PE32PLUS: return "PE32+";
	case HV_TE: return "TE";
	}
	return "?";
}

const char *hv_pe_machine_str(uint16_t m)
{
	switch (m) {
	case HV_MACHINE_I386: return "i386";
	case HV_MACHINE_AMD64: return "x86-64";
	case HV_MACHINE_ARM64: return "arm64";
	case 0x01c4: return "arm";
	case 0x0200: return "ia64";
	case 0x5064: return "riscv64";
	case 0x0ebc: return "ebc";
	default: return "unknown";
	}
}

const char *hv_pe_subsystem_str(uint16_t s)
{
	switch (s) {
	case HV_SUBSYS_NATIVE: return "native";
	case HV_SUBSYS_WINDOWS_GUI: return "windows-gui";
	case HV_SUBSYS_WINDOWS_CUI: return "windows-cui";
	case HV_SUBSYS_EFI_APPLICATION: return "efi-application";
	case HV_SUBSYS_EFI_BOOT_SERVICE_DRIVER: return "efi-boot-service-driver";
	case HV_SUBSYS_EFI_RUNTIME_DRIVER: return "efi-runtime-driver";
	case HV_SUBSYS_EFI_ROM: return "efi-rom";
	default: return "other";
	}
}
