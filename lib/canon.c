/*
 * canon.c: the hvima canonical image digest, version 1 (docs/measurement.md
 * is the specification; this file follows its steps in order).
 *
 *   1. Regions: the headers (RVA [bias, bias + SizeOfHeaders)) and, for each
 *      section in header order, [VirtualAddress, + copied) where copied is
 *      min(VirtualSize, SizeOfRawData) (SizeOfRawData if VirtualSize is 0).
 *      Empty regions are left out. The regions are copied into one buffer.
 *   2. Relocation sites (HIGHLOW, DIR64), in directory order: the value
 *      minus the address of RVA 0 (file: the header's ImageBase; loaded: the
 *      load address). A site that lies partly in a region is an error.
 *   3. Masks, set to zero: the ImageBase field; HIGH, LOW and HIGHADJ sites;
 *      IAT and delay-IAT slots and delay module-handle slots; the slots the
 *      Load Config points at (security cookie, CFG/XFG/RF/memcpy guard
 *      pointers); DVRT sites; AddressOfRawData of every debug entry.
 *   4. SHA-x("hvima-canon-v1\0" || for each region: le32 rva, le32 length,
 *      bytes).
 * Pointers found in the Load Config are turned into RVAs the same way as
 * relocation sites, so their masks land on the same bytes in a file and in
 * a loaded image.
 */
#include <stdlib.h>
#include <string.h>

#include "canon.h"

struct region {
	uint32_t rva, len;
	uint8_t *buf; /* inside the one canonical buffer */
};

struct canon {
	const struct hv_pe *pe;
	uint64_t va0; /* address of RVA 0 in this input */
	struct region *r;
	uint32_t nr;
	struct hv_canon_stats st;
	hv_why *why;
};

/* The region holding rva, or NULL. Regions are sorted and disjoint. */
static struct region *region_at(struct canon *c, uint64_t rva)
{
	uint32_t lo = 0, hi = c->nr;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct region *r = &c->r[mid];
		if (rva < r->rva)
			hi = mid;
		else if (rva - r->rva >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* Zero [rva, rva + n) wherever it meets a region. */
static void mask(struct canon *c, uint64_t rva, uint64_t n)
{
	if (rva > UINT32_MAX || n == 0)
		return;
	c->st.masked++;
	for (uint32_t i = 0; i < c->nr; i++) {
		struct region *r = &c->r[i];
		uint64_t lo = rva > r->rva ? rva : r->rva;
		uint64_t hi = rva + n < (uint64_t)r->rva + r->len ? rva + n : (uint64_t)r->rva + r->len;
		if (lo < hi)
			memset(r->buf + (lo - r->rva), 0, hi - lo);
	}
}

/* Mask the pointer-sized slot a Load Config field points at. */
static void mask_va(struct canon *c, uint64_t va)
{
	unsigned w = c->pe->kind == HV_PE32PLUS ? 8 : 4;
	uint64_t rva = (va - c->va0) & (w == 8 ? UINT64_MAX : UINT32_MAX);

	if (va != 0 && rva < c->pe->size_of_image)
		mask(c, rva, w);
}

static int check_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct canon *c = ctx;
	unsigned w = hv_reloc_width(type);

	(void)arg;
	if (type == HV_REL_ABSOLUTE)
		return 0;
	if (w == 0) {
		c->st.unknown_relocs++;
		return 0;
	}
	if ((uint64_t)rva + w > c->pe->size_of_image)
		return hv_fail(c->why, HV_E_RANGE, "relocation site [0x%x, +%u) lies outside the image (SizeOfImage 0x%x)",
			       rva, w, c->pe->size_of_image);
	struct region *a = region_at(c, rva), *b = region_at(c, (uint64_t)rva + w - 1);
	if (a != b)
		return hv_fail(c->why, HV_E_RANGE, "relocation site [0x%x, +%u) is only partly inside the copied bytes",
			       rva, w);
	return 0;
}

static int apply_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct canon *c = ctx;
	struct region *r = region_at(c, rva);
	uint8_t *p;

	(void)arg;
	if (!r || hv_reloc_width(type) == 0)
		return 0;
	p = r->buf + (rva - r->rva);
	c->st.relocs++;
	if (type == HV_REL_HIGHLOW)
		hv_put_le32(p, hv_le32(p) - (uint32_t)c->va0);
	else if (type == HV_REL_DIR64)
		hv_put_le64(p, hv_le64(p) - c->va0);
	else
		memset(p, 0, 2); /* HIGH, LOW, HIGHADJ: carries make them base-dependent */
	return 0;
}

static int mask_import(void *ctx, const struct hv_pe_import *imp)
{
	struct canon *c = ctx;
	mask(c, imp->iat_rva, (uint64_t)imp->nthunks * imp->thunk_size);
	if (imp->handle_rva)
		mask(c, imp->handle_rva, imp->thunk_size);
	return 0;
}

static int mask_dvrt(void *ctx, uint32_t rva, unsigned width)
{
	mask(ctx, rva, width);
	return 0;
}

static int mask_debug(void *ctx, const struct hv_pe_debug *d)
{
	mask(ctx, (uint64_t)d->entry_rva + HV_DEBUG_ADDRESS_OF_RAW_DATA, 4);
	return 0;
}

/* A walker's result: absent is fine, anything else is the digest's error. */
static int walked(int rc)
{
	return rc == HV_E_ABSENT ? HV_OK : rc;
}

static int neutralize(struct canon *c)
{
	const struct hv_pe *pe = c->pe;
	struct hv_pe_loadcfg lc;
	int rc;

	rc = walked(hv_pe_relocs(pe, check_reloc, c, c->why));
	if (rc == HV_OK)
		rc = walked(hv_pe_relocs(pe, apply_reloc, c, c->why));
	if (rc)
		return rc;
	mask(c, (uint64_t)pe->image_base_off + pe->rva_bias, pe->image_base_width);
	if (pe->kind == HV_TE)
		return walked(hv_pe_debug_entries(pe, mask_debug, c, c->why));
	rc = walked(hv_pe_imports(pe, mask_import, c, c->why));
	if (rc == HV_OK)
		rc = walked(hv_pe_delay_imports(pe, mask_import, c, c->why));
	if (rc == HV_OK)
		rc = walked(hv_pe_debug_entries(pe, mask_debug, c, c->why));
	if (rc)
		return rc;
	rc = hv_pe_loadcfg(pe, &lc, c->why);
	if (rc == HV_E_ABSENT)
		return HV_OK;
	if (rc)
		return rc;
	mask_va(c, lc.security_cookie);
	mask_va(c, lc.guard_cf_check_fptr);
	mask_va(c, lc.guard_cf_dispatch_fptr);
	mask_va(c, lc.guard_rf_failure_fptr);
	mask_va(c, lc.guard_rf_verify_sp_fptr);
	mask_va(c, lc.guard_xfg_check_fptr);
	mask_va(c, lc.guard_xfg_dispatch_fptr);
	mask_va(c, lc.guard_xfg_table_dispatch_fptr);
	mask_va(c, lc.guard_memcpy_fptr);
	rc = hv_pe_dvrt(pe, &lc, mask_dvrt, c, c->why);
	/* A DVRT hvima cannot read stays covered: a loader rewrite of those
	 * sites then shows as a mismatch, never as a silent pass. */
	return rc == HV_E_ABSENT || rc == HV_E_UNSUPPORTED ? HV_OK : rc;
}

static int cmp_region(const void *a, const void *b)
{
	const struct region *x = a, *y = b;
	return x->rva < y->rva ? -1 : x->rva > y->rva;
}

/* Regions in hashing order: headers, then sections in header order. */
static int collect(struct canon *c, struct region *order, uint8_t **buf)
{
	const struct hv_pe *pe = c->pe;
	uint64_t total = 0;
	uint32_t n = 0;

	order[n++] = (struct region){pe->rva_bias, pe->size_of_headers, NULL};
	for (uint32_t i = 0; i < pe->nsections; i++) {
		uint32_t len = hv_pe_section_copied(&pe->sections[i]);
		if (len)
			order[n++] = (struct region){pe->sections[i].virtual_address, len, NULL};
	}
	for (uint32_t i = 0; i < n; i++) {
		total += order[i].len;
		if (!hv_pe_rva(pe, order[i].rva, order[i].len))
			return hv_fail(c->why, HV_E_RANGE, "bytes [0x%x, +0x%x) of the image are not in this input",
				       order[i].rva, order[i].len);
	}
	if (total > HV_CAP_IMAGE_SIZE + (uint64_t)HV_CAP_HEADERS_SIZE)
		return hv_fail(c->why, HV_E_CAP, "0x%llx bytes to hash, over the limit", (unsigned long long)total);
	*buf = malloc(total ? total : 1);
	if (!*buf)
		return hv_fail(c->why, HV_E_NOMEM, "no memory for 0x%llx bytes of image", (unsigned long long)total);
	total = 0;
	for (uint32_t i = 0; i < n; i++) {
		order[i].buf = *buf + total;
		memcpy(order[i].buf, hv_pe_rva(pe, order[i].rva, order[i].len), order[i].len);
		total += order[i].len;
	}
	c->nr = n;
	c->st.regions = n;
	c->st.bytes_covered = total;
	return HV_OK;
}

int hv_canon_digest(const struct hv_pe *pe, uint64_t base, unsigned mask_algs, struct hv_digests *out,
		    struct hv_canon_stats *stats, hv_why *why)
{
	struct canon c = {.pe = pe, .why = why};
	struct region *order = NULL;
	uint8_t *buf = NULL;
	struct hv_mh h;
	int rc;

	c.va0 = pe->layout == HV_LAYOUT_FILE ? pe->image_base : base - pe->rva_bias;
	order = malloc((pe->nsections + 1u) * sizeof(*order));
	c.r = malloc((pe->nsections + 1u) * sizeof(*c.r));
	if (!order || !c.r) {
		rc = hv_fail(why, HV_E_NOMEM, "no memory for the region table");
		goto out;
	}
	rc = collect(&c, order, &buf);
	if (rc)
		goto out;
	memcpy(c.r, order, c.nr * sizeof(*order));
	qsort(c.r, c.nr, sizeof(*c.r), cmp_region);
	rc = neutralize(&c);
	if (rc)
		goto out;
	rc = hv_mh_init(&h, mask_algs);
	if (rc) {
		rc = hv_fail(why, rc, "cannot start the digests");
		goto out;
	}
	hv_mh_update(&h, HV_CANON_DOMAIN, sizeof(HV_CANON_DOMAIN));
	for (uint32_t i = 0; i < c.nr; i++) {
		uint8_t hdr[8];
		hv_put_le32(hdr, order[i].rva);
		hv_put_le32(hdr + 4, order[i].len);
		hv_mh_update(&h, hdr, sizeof(hdr));
		hv_mh_update(&h, order[i].buf, order[i].len);
	}
	rc = hv_mh_final(&h, out);
	if (rc)
		rc = hv_fail(why, rc, "digest library failure");
	else if (stats)
		*stats = c.st;
out:
	free(buf);
	free(order);
	free(c.r);
	return rc;
}
