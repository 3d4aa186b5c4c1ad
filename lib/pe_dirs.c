/*
 * pe_dirs.c: walkers over the data directories hvima needs: base
 * relocations, imports and delay imports, Load Config and its Dynamic Value
 * Relocation Table, the debug directory (CodeView name) and the export
 * module name.
 *
 * Contract: every structure is reached through hv_pe_rva(), which fails
 * unless the whole structure is in the image; RVA arithmetic is done in 64
 * bits and rejected past 4 GiB; every loop is bounded by a cap of caps.h.
 * Walkers call back once per item and stop at the first non-zero return.
 * References: Microsoft PE/COFF specification ("The .reloc Section",
 * "The .idata Section", "The Load Configuration Structure", "Debug
 * Directory", "Delay-Load Import Tables"); winnt.h layouts of
 * IMAGE_LOAD_CONFIG_DIRECTORY32/64 and IMAGE_DYNAMIC_RELOCATION_TABLE.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pe.h"

unsigned hv_reloc_width(unsigned type)
{
	switch (type) {
	case HV_REL_HIGH:
	case HV_REL_LOW:
	case HV_REL_HIGHADJ: return 2;
	case HV_REL_HIGHLOW: return 4;
	case HV_REL_DIR64: return 8;
	default: return 0;
	}
}

int hv_pe_relocs(const struct hv_pe *pe, hv_reloc_cb cb, void *ctx, hv_why *why)
{
	const struct hv_pe_dirent *d = hv_pe_dir(pe, HV_DIR_BASERELOC);
	const uint8_t *p;
	uint32_t off = 0, blocks = 0;
	uint64_t entries = 0;

	if (!d || d->size == 0)
		return hv_fail(why, HV_E_ABSENT, "no base relocation directory");
	p = hv_pe_rva(pe, d->rva, d->size);
	if (!p)
		return hv_fail(why, HV_E_RANGE, "relocation directory [0x%x, +0x%x) is not in the image", d->rva,
			       d->size);
	while (off < d->size) {
		uint32_t page, bsize, n;

		if (d->size - off < 8)
			return hv_fail(why, HV_E_TRUNCATED,
				       "relocation block at directory offset 0x%x: %u bytes left, a block header needs 8",
				       off, d->size - off);
		page = hv_le32(p + off);
		bsize = hv_le32(p + off + 4);
		if (page == 0 && bsize == 0)
			break; /* zero padding after the last block */
		if (bsize < 8 || (bsize & 1))
			return hv_fail(why, HV_E_FORMAT, "relocation block at directory offset 0x%x: SizeOfBlock %u is %s",
				       off, bsize, bsize < 8 ? "below 8" : "odd");
		if (bsize > d->size - off)
			return hv_fail(why, HV_E_RANGE,
				       "relocation block at directory offset 0x%x: SizeOfBlock %u runs past the directory end",
				       off, bsize);
		if (++blocks > HV_CAP_RELOC_BLOCKS)
			return hv_fail(why, HV_E_CAP, "more than %u relocation blocks", HV_CAP_RELOC_BLOCKS);
		n = (bsize - 8) / 2;
		entries += n;
		if (entries > HV_CAP_RELOC_ENTRIES)
			return hv_fail(why, HV_E_CAP, "more than %u relocation entries", HV_CAP_RELOC_ENTRIES);
		for (uint32_t i = 0; i < n; i++) {
			uint16_t e = hv_le16(p + off + 8 + 2 * i), arg = 0;
			unsigned type = e >> 12;
			uint64_t rva = (uint64_t)page + (e & 0xfff);
			int rc;

			if (rva > UINT32_MAX)
				return hv_fail(why, HV_E_RANGE, "relocation at page 0x%x + 0x%x wraps past 4 GiB", page,
					       e & 0xfff);
			if (type == HV_REL_HIGHADJ) {
				if (i + 1 >= n)
					return hv_fail(why, HV_E_FORMAT,
						       "HIGHADJ relocation at RVA 0x%llx has no parameter entry",
						       (unsigned long long)rva);
				arg = hv_le16(p + off + 8 + 2 * (++i));
			}
			rc = cb(ctx, (uint32_t)rva, type, arg);
			if (rc)
				return rc;
		}
		off += bsize;
	}
	return HV_OK;
}

/* Copy the NUL-terminated string at rva into out (cut to outlen - 1). */
static int rva_cstr(const struct hv_pe *pe, uint64_t rva, char *out, size_t outlen, const char *what, hv_why *why)
{
	size_t k = 0;

	for (uint32_t i = 0; i <= HV_CAP_NAME; i++) {
		const uint8_t *b = hv_pe_rva(pe, rva + i, 1);
		if (!b)
			return hv_fail(why, HV_E_RANGE, "%s at RVA 0x%llx runs out of the image unterminated", what,
				       (unsigned long long)rva);
		if (*b == 0) {
			if (outlen)
				out[k] = 0;
			return HV_OK;
		}
		if (k + 1 < outlen)
			out[k++] = (*b >= 0x20 && *b < 0x7f) ? (char)*b : '?';
	}
	return hv_fail(why, HV_E_FORMAT, "%s at RVA 0x%llx is longer than %u bytes", what, (unsigned long long)rva,
		       HV_CAP_NAME);
}

/* Count the non-zero entries of a thunk table up to its terminator. */
static int count_thunks(const struct hv_pe *pe, uint32_t table, unsigned ts, uint32_t *n, hv_why *why)
{
	for (uint32_t k = 0; k <= HV_CAP_IMPORT_THUNKS; k++) {
		const uint8_t *t = hv_pe_rva(pe, (uint64_t)table + (uint64_t)k * ts, ts);
		if (!t)
			return hv_fail(why, HV_E_RANGE, "thunk table at RVA 0x%x: entry %u is not in the image (unterminated)",
				       table, k);
		if ((ts == 8 ? hv_le64(t) : hv_le32(t)) == 0) {
			*n = k;
			return HV_OK;
		}
	}
	return hv_fail(why, HV_E_CAP, "thunk table at RVA 0x%x has more than %u entries", table, HV_CAP_IMPORT_THUNKS);
}

struct desc_layout {
	enum hv_dir dir;
	uint32_t size, name, ilt, iat, handle; /* field offsets; handle 0 = none */
	const char *what;
};

static const struct desc_layout import_layout = {HV_DIR_IMPORT, 20, 12, 0, 16, 0, "import descriptor"};
static const struct desc_layout delay_layout = {HV_DIR_DELAY_IMPORT, 32, 4, 16, 12, 8, "delay-import descriptor"};

static int walk_descriptors(const struct hv_pe *pe, const struct desc_layout *L, hv_import_cb cb, void *ctx,
			    hv_why *why)
{
	const struct hv_pe_dirent *d = hv_pe_dir(pe, L->dir);
	unsigned ts = pe->kind == HV_PE32PLUS ? 8 : 4;
	uint64_t total = 0;

	if (!d || d->rva == 0)
		return hv_fail(why, HV_E_ABSENT, "no %s directory", L->what);
	for (uint32_t i = 0;; i++) {
		uint64_t drva = (uint64_t)d->rva + (uint64_t)i * L->size;
		const uint8_t *p;
		struct hv_pe_import imp;
		int rc;

		if (i >= HV_CAP_IMPORT_DESCRIPTORS)
			return hv_fail(why, HV_E_CAP, "more than %u %ss without a terminator", HV_CAP_IMPORT_DESCRIPTORS,
				       L->what);
		if (drva > UINT32_MAX)
			return hv_fail(why, HV_E_RANGE, "%s %u: RVA wraps past 4 GiB", L->what, i);
		p = hv_pe_rva(pe, drva, L->size);
		if (!p)
			return hv_fail(why, HV_E_RANGE, "%s %u at RVA 0x%llx is not in the image (no terminator)", L->what,
				       i, (unsigned long long)drva);
		memset(&imp, 0, sizeof(imp));
		imp.desc_rva = (uint32_t)drva;
		imp.ilt_rva = hv_le32(p + L->ilt);
		imp.iat_rva = hv_le32(p + L->iat);
		imp.handle_rva = L->handle ? hv_le32(p + L->handle) : 0;
		imp.thunk_size = (uint8_t)ts;
		/* The Windows loader stops at the first descriptor without a name
		 * or an IAT; so do we, so that we mask exactly what it writes. */
		if (hv_le32(p + L->name) == 0 || imp.iat_rva == 0)
			return HV_OK;
		if (L->dir == HV_DIR_DELAY_IMPORT && !(hv_le32(p) & 1))
			return hv_fail(why, HV_E_UNSUPPORTED, "%s %u uses VAs (Attributes bit 0 clear)", L->what, i);
		rc = rva_cstr(pe, hv_le32(p + L->name), imp.dll, sizeof(imp.dll), "DLL name", why);
		if (rc)
			return rc;
		rc = count_thunks(pe, imp.ilt_rva ? imp.ilt_rva : imp.iat_rva, ts, &imp.nthunks, why);
		if (rc)
			return rc;
		if (!hv_pe_rva(pe, imp.iat_rva, (uint64_t)imp.nthunks * ts))
			return hv_fail(why, HV_E_RANGE, "IAT of %s at RVA 0x%x (%u entries) is not in the image", imp.dll,
				       imp.iat_rva, imp.nthunks);
		total += imp.nthunks;
		if (total > HV_CAP_IMPORT_THUNKS_TOTAL)
			return hv_fail(why, HV_E_CAP, "more than %u imported symbols", HV_CAP_IMPORT_THUNKS_TOTAL);
		rc = cb(ctx, &imp);
		if (rc)
			return rc;
	}
}

int hv_pe_imports(const struct hv_pe *pe, hv_import_cb cb, void *ctx, hv_why *why)
{
	return walk_descriptors(pe, &import_layout, cb, ctx, why);
}

int hv_pe_delay_imports(const struct hv_pe *pe, hv_import_cb cb, void *ctx, hv_why *why)
{
	return walk_descriptors(pe, &delay_layout, cb, ctx, why);
}

/* Offsets of Load Config fields: {PE32, PE32+}; pointer-sized unless noted. */
static const struct {
	uint16_t off[2];
	uint8_t width; /* 0 = pointer size */
	size_t field;
} lc_fields[] = {
	{{60, 88}, 0, offsetof(struct hv_pe_loadcfg, security_cookie)},
	{{72, 112}, 0, offsetof(struct hv_pe_loadcfg, guard_cf_check_fptr)},
	{{76, 120}, 0, offsetof(struct hv_pe_loadcfg, guard_cf_dispatch_fptr)},
	{{88, 144}, 4, offsetof(struct hv_pe_loadcfg, guard_flags)},
	{{120, 192}, 0, offsetof(struct hv_pe_loadcfg, dvrt_va)},
	{{132, 216}, 0, offsetof(struct hv_pe_loadcfg, guard_rf_failure_fptr)},
	{{136, 224}, 4, offsetof(struct hv_pe_loadcfg, dvrt_offset)},
	{{140, 228}, 2, offsetof(struct hv_pe_loadcfg, dvrt_section)},
	{{144, 232}, 0, offsetof(struct hv_pe_loadcfg, guard_rf_verify_sp_fptr)},
	{{172, 280}, 0, offsetof(struct hv_pe_loadcfg, guard_xfg_check_fptr)},
	{{176, 288}, 0, offsetof(struct hv_pe_loadcfg, guard_xfg_dispatch_fptr)},
	{{180, 296}, 0, offsetof(struct hv_pe_loadcfg, guard_xfg_table_dispatch_fptr)},
	{{188, 312}, 0, offsetof(struct hv_pe_loadcfg, guard_memcpy_fptr)},
};

int hv_pe_loadcfg(const struct hv_pe *pe, struct hv_pe_loadcfg *lc, hv_why *why)
{
	const struct hv_pe_dirent *d = hv_pe_dir(pe, HV_DIR_LOAD_CONFIG);
	int wide = pe->kind == HV_PE32PLUS;
	const uint8_t *p;

	memset(lc, 0, sizeof(*lc));
	if (!d || d->rva == 0 || pe->kind == HV_TE)
		return hv_fail(why, HV_E_ABSENT, "no Load Config directory");
	p = hv_pe_rva(pe, d->rva, 4);
	if (!p)
		return hv_fail(why, HV_E_RANGE, "Load Config at RVA 0x%x is not in the image", d->rva);
	lc->rva = d->rva;
	lc->size = hv_le32(p);
	if (lc->size < 4)
		return hv_fail(why, HV_E_FORMAT, "Load Config Size field %u is below 4", lc->size);
	p = hv_pe_rva(pe, d->rva, lc->size);
	if (!p)
		return hv_fail(why, HV_E_TRUNCATED, "Load Config Size %u runs past the image (RVA 0x%x)", lc->size,
			       d->rva);
	for (size_t i = 0; i < sizeof(lc_fields) / sizeof(lc_fields[0]); i++) {
		unsigned off = lc_fields[i].off[wide];
		unsigned w = lc_fields[i].width ? lc_fields[i].width : (wide ? 8 : 4);
		char *dst = (char *)lc + lc_fields[i].field;

		if (off + w > lc->size)
			continue;
		if (w == 2) {
			uint16_t v = hv_le16(p + off);
			memcpy(dst, &v, 2);
		} else if (w == 4 && lc_fields[i].width == 4) {
			uint32_t v = hv_le32(p + off);
			memcpy(dst, &v, 4);
		} else {
			uint64_t v = w == 8 ? hv_le64(p + off) : hv_le32(p + off);
			memcpy(dst, &v, 8);
		}
	}
	return HV_OK;
}

/* DVRT symbols (winnt.h IMAGE_DYNAMIC_RELOCATION_GUARD_*) and the bytes a
 * loader may rewrite at each site. The compiler emits, for the loader to
 * patch (LLVM's x64 import-call-optimization notes): an import call as REX +
 * FF 15 disp32 followed by a 5-byte nop (12 bytes); an indirect call or jump
 * through rax, optional REX, followed by a 3-byte nop (at most 6 bytes); a
 * switch-table jump through a register likewise (at most 6). */
#define DVRT_IMPORT_CONTROL_TRANSFER 3
#define DVRT_INDIR_CONTROL_TRANSFER 4
#define DVRT_SWITCHTABLE_BRANCH 5
#define DVRT_WIDTH_IMPORT 12
#define DVRT_WIDTH_INDIR 6
#define DVRT_WIDTH_SWITCH 6

static int dvrt_blocks(const struct hv_pe *pe, const uint8_t *p, uint32_t size, uint64_t symbol, hv_dvrt_cb cb,
		       void *ctx, uint32_t *count, hv_why *why)
{
	unsigned esize = symbol == DVRT_IMPORT_CONTROL_TRANSFER ? 4 : 2;
	unsigned width = symbol == DVRT_IMPORT_CONTROL_TRANSFER ? DVRT_WIDTH_IMPORT
			 : symbol == DVRT_INDIR_CONTROL_TRANSFER ? DVRT_WIDTH_INDIR
								   : DVRT_WIDTH_SWITCH;
	uint32_t off = 0;

	while (off < size) {
		uint32_t page, bsize;
		if (size - off < 8)
			return hv_fail(why, HV_E_TRUNCATED, "DVRT block header truncated");
		page = hv_le32(p + off);
		bsize = hv_le32(p + off + 4);
		if (bsize < 8 || bsize > size - off)
			return hv_fail(why, HV_E_FORMAT, "DVRT block SizeOfBlock %u is below 8 or past its table", bsize);
		for (uint32_t e = 8; e + esize <= bsize; e += esize) {
			uint32_t v = esize == 4 ? hv_le32(p + off + e) : hv_le16(p + off + e);
			uint64_t rva = (uint64_t)page + (v & 0xfff);
			int rc;
			if (v == 0 && esize == 2)
				continue; /* padding entry */
			if (++*count > HV_CAP_DVRT_ENTRIES)
				return hv_fail(why, HV_E_CAP, "more than %u DVRT entries", HV_CAP_DVRT_ENTRIES);
			if (rva > UINT32_MAX)
				return hv_fail(why, HV_E_RANGE, "DVRT site wraps past 4 GiB");
			rc = cb(ctx, (uint32_t)rva, width);
			if (rc)
				return rc;
		}
		off += bsize;
	}
	(void)pe;
	return HV_OK;
}

int hv_pe_dvrt(const struct hv_pe *pe, const struct hv_pe_loadcfg *lc, hv_dvrt_cb cb, void *ctx, hv_why *why)
{
	const struct hv_pe_section *s;
	unsigned symw = pe->kind == HV_PE32PLUS ? 8 : 4;
	uint64_t rva;
	uint32_t version, size, off = 0, count = 0;
	const uint8_t *p;

	if (lc->dvrt_section == 0)
		return lc->dvrt_va ? hv_fail(why, HV_E_UNSUPPORTED, "DVRT given by VA only")
				   : hv_fail(why, HV_E_ABSENT, "no Dynamic Value Relocation Table");
	if (lc->dvrt_section > pe->nsections)
		return hv_fail(why, HV_E_RANGE, "DynamicValueRelocTableSection %u beyond the %u sections",
			       lc->dvrt_section, pe->nsections);
	s = &pe->sections[lc->dvrt_section - 1];
	rva = (uint64_t)s->virtual_address + lc->dvrt_offset;
	p = hv_pe_rva(pe, rva, 8);
	if (!p)
		return hv_fail(why, HV_E_RANGE, "DVRT header at RVA 0x%llx is not in the image", (unsigned long long)rva);
	version = hv_le32(p);
	size = hv_le32(p + 4);
	if (version != 1)
		return hv_fail(why, HV_E_UNSUPPORTED, "DVRT version %u (hvima reads version 1)", version);
	p = hv_pe_rva(pe, rva + 8, size);
	if (!p)
		return hv_fail(why, HV_E_RANGE, "DVRT of %u bytes at RVA 0x%llx is not in the image", size,
			       (unsigned long long)rva + 8);
	while (off < size) {
		uint64_t symbol;
		uint32_t brsize;
		int rc;
		if (size - off < symw + 4)
			return hv_fail(why, HV_E_TRUNCATED, "DVRT entry header truncated at offset 0x%x", off);
		symbol = symw == 8 ? hv_le64(p + off) : hv_le32(p + off);
		brsize = hv_le32(p + off + symw);
		off += symw + 4;
		if (brsize > size - off)
			return hv_fail(why, HV_E_RANGE, "DVRT BaseRelocSize %u runs past the table", brsize);
		if (symbol == DVRT_IMPORT_CONTROL_TRANSFER || symbol == DVRT_INDIR_CONTROL_TRANSFER ||
		    symbol == DVRT_SWITCHTABLE_BRANCH) {
			rc = dvrt_blocks(pe, p + off, brsize, symbol, cb, ctx, &count, why);
			if (rc)
				return rc;
		}
		off += brsize;
	}
	return HV_OK;
}

int hv_pe_debug_entries(const struct hv_pe *pe, hv_debug_cb cb, void *ctx, hv_why *why)
{
	const struct hv_pe_dirent *d = hv_pe_dir(pe, HV_DIR_DEBUG);
	uint32_t n;

	if (!d || d->rva == 0 || d->size == 0)
		return hv_fail(why, HV_E_ABSENT, "no debug directory");
	n = d->size / HV_DEBUG_ENTRY_SIZE;
	if (n > HV_CAP_DEBUG_ENTRIES)
		return hv_fail(why, HV_E_CAP, "debug directory of %u entries exceeds the limit of %u", n,
			       HV_CAP_DEBUG_ENTRIES);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t rva = (uint64_t)d->rva + (uint64_t)i * HV_DEBUG_ENTRY_SIZE;
		const uint8_t *p = hv_pe_rva(pe, rva, HV_DEBUG_ENTRY_SIZE);
		struct hv_pe_debug e;
		int rc;
		if (!p)
			return hv_fail(why, HV_E_RANGE, "debug entry %u at RVA 0x%llx is not in the image", i,
				       (unsigned long long)rva);
		e.entry_rva = (uint32_t)rva;
		e.type = hv_le32(p + 12);
		e.size = hv_le32(p + 16);
		e.data_rva = hv_le32(p + 20);
		e.data_ptr = hv_le32(p + 24);
		rc = cb(ctx, &e);
		if (rc)
			return rc;
	}
	return HV_OK;
}

static int find_codeview(void *ctx, const struct hv_pe_debug *d)
{
	if (d->type != HV_DEBUG_TYPE_CODEVIEW)
		return 0;
	*(struct hv_pe_debug *)ctx = *d;
	return 1;
}

int hv_pe_codeview_name(const struct hv_pe *pe, char *out, size_t outlen, hv_why *why)
{
	struct hv_pe_debug cv;
	const uint8_t *p = NULL;
	uint32_t name_off;
	int rc;

	if (outlen)
		out[0] = 0;
	rc = hv_pe_debug_entries(pe, find_codeview, &cv, why);
	if (rc == 0)
		return hv_fail(why, HV_E_ABSENT, "no CodeView debug entry");
	if (rc != 1)
		return rc;
	if (cv.data_rva)
		p = hv_pe_rva(pe, cv.data_rva, cv.size);
	else if (pe->layout == HV_LAYOUT_FILE && cv.data_ptr >= pe->rva_bias)
		p = hv_rd_ptr(&pe->in, (uint64_t)cv.data_ptr - pe->rva_bias, cv.size);
	if (!p)
		return hv_fail(why, HV_E_RANGE, "CodeView data (%u bytes) is not in the input", cv.size);
	if (cv.size >= 24 && memcmp(p, "RSDS", 4) == 0)
		name_off = 24;
	else if (cv.size >= 16 && memcmp(p, "NB10", 4) == 0)
		name_off = 16;
	else
		return hv_fail(why, HV_E_FORMAT, "CodeView data has no RSDS or NB10 signature");
	const uint8_t *nul = memchr(p + name_off, 0, cv.size - name_off);
	if (!nul)
		return hv_fail(why, HV_E_FORMAT, "CodeView PDB name is not terminated within its %u bytes", cv.size);
	size_t n = (size_t)(nul - (p + name_off));
	if (n > HV_CAP_NAME)
		n = HV_CAP_NAME;
	for (size_t i = 0; i < n && i + 1 < outlen; i++) {
		uint8_t c = p[name_off + i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		out[i + 1] = 0;
	}
	return HV_OK;
}

int hv_pe_export_name(const struct hv_pe *pe, char *out, size_t outlen, hv_why *why)
{
	const struct hv_pe_dirent *d = hv_pe_dir(pe, HV_DIR_EXPORT);
	const uint8_t *p;

	if (outlen)
		out[0] = 0;
	if (!d || d->rva == 0)
		return hv_fail(why, HV_E_ABSENT, "no export directory");
	p = hv_pe_rva(pe, d->rva, 40);
	if (!p)
		return hv_fail(why, HV_E_RANGE, "export directory at RVA 0x%x is not in the image", d->rva);
	if (hv_le32(p + 12) == 0)
		return hv_fail(why, HV_E_ABSENT, "export directory has no module name");
	return rva_cstr(pe, hv_le32(p + 12), out, outlen, "export module name", why);
}

void hv_pe_best_name(const struct hv_pe *pe, char *out, size_t outlen)
{
	char pdb[HV_CAP_NAME + 1];
	const char *base = pdb;

	if (!outlen)
		return;
	if (hv_pe_export_name(pe, out, outlen, NULL) == HV_OK && out[0])
		return;
	out[0] = 0;
	if (hv_pe_codeview_name(pe, pdb, sizeof(pdb), NULL) != HV_OK)
		return;
	for (const char *c = pdb; *c; c++)
		if (*c == '\\' || *c == '/')
			base = c + 1;
	snprintf(out, outlen, "%s", base);
}
