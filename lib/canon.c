/*
 * canon.c: the hvima canonical image digest, version 1 (docs/measurement.md
 * is the specification; this file follows its steps in order).
 *
 *   1. Regions: the headers (RVA [bias, bias + SizeOfHeaders)) and, for each
 *      section in header order, [VirtualAddress, + copied) where copied is
 *      min(VirtualSize, SizeOfRawData) (SizeOfRawData if VirtualSize is 0).
 *   2. Relocation sites (HIGHLOW, DIR64), in ascending RVA order: the value
 *      minus the address of RVA 0 (file: the header's ImageBase; loaded: the
 *      load address). A site only partly inside a region is an error.
 *   3. Masks, set to zero: the ImageBase field; HIGH, LOW and HIGHADJ sites;
 *      IAT and delay-IAT slots and delay module-handle slots; the slots the
 *      Load Config points at; DVRT sites; debug AddressOfRawData fields.
 *   4. SHA-x("hvima-canon-v1\0" || for each region: le32 rva, le32 length,
 *      bytes || le32 number of import tables || le32 slots of each).
 * Steps 2 and 3 are a list of sites (hv_canon_sites) applied to each region
 * by hv_canon_normalize; the plugin's guard applies the same list to any
 * window of a running image.
 */
#include <stdlib.h>
#include <string.h>

#include "canon.h"

struct collect {
	const struct hv_pe *pe;
	uint64_t va0;
	struct hv_canon_site *v[2]; /* 0: sub, 1: zero */
	uint32_t n[2], cap[2];
	uint32_t *counts; /* slots of each import and delay-import table */
	uint32_t ncounts;
	struct hv_canon_stats st;
	hv_why *why;
	int err;
};

static void add(struct collect *c, int zero, uint64_t rva, uint64_t len, uint8_t op)
{
	struct hv_canon_site *nv;

	if (c->err || rva > UINT32_MAX || len == 0 || len > UINT32_MAX)
		return;
	if (c->n[zero] == c->cap[zero]) {
		uint32_t ncap = c->cap[zero] ? 2 * c->cap[zero] : 64;
		nv = realloc(c->v[zero], ncap * sizeof(*nv));
		if (!nv) {
			c->err = hv_fail(c->why, HV_E_NOMEM, "no memory for %u loader-written sites", ncap);
			return;
		}
		c->v[zero] = nv;
		c->cap[zero] = ncap;
	}
	c->v[zero][c->n[zero]++] = (struct hv_canon_site){(uint32_t)rva, (uint32_t)len, op};
	if (zero)
		c->st.masked++;
}

static int on_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct collect *c = ctx;
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
	c->st.relocs++;
	if (type == HV_REL_HIGHLOW)
		add(c, 0, rva, 4, HV_SITE_SUB32);
	else if (type == HV_REL_DIR64)
		add(c, 0, rva, 8, HV_SITE_SUB64);
	else
		add(c, 1, rva, 2, HV_SITE_ZERO); /* HIGH, LOW, HIGHADJ: carries make them base-dependent */
	return c->err;
}

static int on_import(void *ctx, const struct hv_pe_import *imp)
{
	struct collect *c = ctx;
	uint32_t *nc = realloc(c->counts, (c->ncounts + 1) * sizeof(*nc));

	if (!nc)
		return c->err = hv_fail(c->why, HV_E_NOMEM, "no memory for import counts");
	c->counts = nc;
	c->counts[c->ncounts++] = imp->nthunks;
	add(c, 1, imp->iat_rva, (uint64_t)imp->nthunks * imp->thunk_size, HV_SITE_ZERO);
	if (imp->handle_rva)
		add(c, 1, imp->handle_rva, imp->thunk_size, HV_SITE_ZERO);
	return c->err;
}

static int on_dvrt(void *ctx, uint32_t rva, unsigned width)
{
	struct collect *c = ctx;
	add(c, 1, rva, width, HV_SITE_ZERO);
	return c->err;
}

static int on_debug(void *ctx, const struct hv_pe_debug *d)
{
	struct collect *c = ctx;
	add(c, 1, (uint64_t)d->entry_rva + HV_DEBUG_ADDRESS_OF_RAW_DATA, 4, HV_SITE_ZERO);
	return c->err;
}

/* The pointer-sized slot a Load Config field points at. */
static void add_va(struct collect *c, uint64_t va)
{
	unsigned w = c->pe->kind == HV_PE32PLUS ? 8 : 4;
	uint64_t rva = (va - c->va0) & (w == 8 ? UINT64_MAX : UINT32_MAX);

	if (va != 0 && rva < c->pe->size_of_image)
		add(c, 1, rva, w, HV_SITE_ZERO);
}

/* A walker's result: absent is fine, anything else is the digest's error. */
static int walked(int rc)
{
	return rc == HV_E_ABSENT ? HV_OK : rc;
}

static int collect_all(struct collect *c)
{
	const struct hv_pe *pe = c->pe;
	struct hv_pe_loadcfg lc;
	int rc;

	rc = walked(hv_pe_relocs(pe, on_reloc, c, c->why));
	if (rc)
		return rc;
	add(c, 1, (uint64_t)pe->image_base_off + pe->rva_bias, pe->image_base_width, HV_SITE_ZERO);
	rc = walked(hv_pe_debug_entries(pe, on_debug, c, c->why));
	if (rc || pe->kind == HV_TE)
		return rc ? rc : c->err;
	rc = walked(hv_pe_imports(pe, on_import, c, c->why));
	if (rc == HV_OK)
		rc = walked(hv_pe_delay_imports(pe, on_import, c, c->why));
	if (rc)
		return rc;
	rc = hv_pe_loadcfg(pe, &lc, c->why);
	if (rc == HV_E_ABSENT)
		return c->err;
	if (rc)
		return rc;
	add_va(c, lc.security_cookie);
	add_va(c, lc.guard_cf_check_fptr);
	add_va(c, lc.guard_cf_dispatch_fptr);
	add_va(c, lc.guard_rf_failure_fptr);
	add_va(c, lc.guard_rf_verify_sp_fptr);
	add_va(c, lc.guard_xfg_check_fptr);
	add_va(c, lc.guard_xfg_dispatch_fptr);
	add_va(c, lc.guard_xfg_table_dispatch_fptr);
	add_va(c, lc.guard_memcpy_fptr);
	rc = hv_pe_dvrt(pe, &lc, on_dvrt, c, c->why);
	/* A DVRT hvima cannot read stays covered: a loader rewrite of those
	 * sites then shows as a mismatch, never as a silent pass. */
	if (rc && rc != HV_E_ABSENT && rc != HV_E_UNSUPPORTED)
		return rc;
	return c->err;
}

static int cmp_site(const void *a, const void *b)
{
	const struct hv_canon_site *x = a, *y = b;
	/* Equal RVAs: the same subtraction twice commutes, zeros too. */
	if (x->rva != y->rva)
		return x->rva < y->rva ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

uint64_t hv_canon_va0(const struct hv_pe *pe, uint64_t base)
{
	return pe->layout == HV_LAYOUT_FILE ? pe->image_base : base - pe->rva_bias;
}

int hv_canon_sites(const struct hv_pe *pe, uint64_t base, struct hv_canon_sites *out, hv_why *why)
{
	struct collect c = {.pe = pe, .va0 = hv_canon_va0(pe, base), .why = why};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = collect_all(&c);
	if (rc) {
		free(c.v[0]);
		free(c.v[1]);
		free(c.counts);
		return rc;
	}
	if (c.n[0])
		qsort(c.v[0], c.n[0], sizeof(*c.v[0]), cmp_site);
	if (c.n[1])
		qsort(c.v[1], c.n[1], sizeof(*c.v[1]), cmp_site);
	out->sub = c.v[0], out->nsub = c.n[0];
	out->zero = c.v[1], out->nzero = c.n[1];
	for (uint32_t i = 0; i < c.n[1]; i++)
		if (c.v[1][i].len > out->zero_maxlen)
			out->zero_maxlen = c.v[1][i].len;
	out->st = c.st;
	out->import_counts = c.counts;
	out->nimports = c.ncounts;
	return HV_OK;
}

void hv_canon_sites_free(struct hv_canon_sites *s)
{
	free(s->sub);
	free(s->zero);
	free(s->import_counts);
	memset(s, 0, sizeof(*s));
}

/* First site whose rva >= lo. */
static uint32_t lower_bound(const struct hv_canon_site *v, uint32_t n, uint64_t lo)
{
	uint32_t a = 0, b = n;
	while (a < b) {
		uint32_t m = a + (b - a) / 2;
		if (v[m].rva < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

static void zero_overlap(uint32_t rva, uint8_t *buf, uint32_t len, uint64_t s_lo, uint64_t s_hi)
{
	uint64_t lo = s_lo > rva ? s_lo : rva;
	uint64_t hi = s_hi < (uint64_t)rva + len ? s_hi : (uint64_t)rva + len;
	if (lo < hi)
		memset(buf + (lo - rva), 0, hi - lo);
}

void hv_canon_normalize(const struct hv_canon_sites *s, uint64_t va0, uint32_t rva, uint8_t *buf, uint32_t len)
{
	uint64_t end = (uint64_t)rva + len;

	for (uint32_t i = lower_bound(s->sub, s->nsub, rva >= 7 ? rva - 7 : 0); i < s->nsub && s->sub[i].rva < end; i++) {
		const struct hv_canon_site *x = &s->sub[i];
		uint64_t x_end = (uint64_t)x->rva + x->len;
		if (x_end <= rva)
			continue;
		if (x->rva < rva || x_end > end) {
			zero_overlap(rva, buf, len, x->rva, x_end); /* cut by the window: not comparable */
			continue;
		}
		uint8_t *p = buf + (x->rva - rva);
		if (x->op == HV_SITE_SUB32)
			hv_put_le32(p, hv_le32(p) - (uint32_t)va0);
		else
			hv_put_le64(p, hv_le64(p) - va0);
	}
	uint64_t from = rva > s->zero_maxlen ? rva - s->zero_maxlen : 0;
	for (uint32_t i = lower_bound(s->zero, s->nzero, from); i < s->nzero && s->zero[i].rva < end; i++)
		zero_overlap(rva, buf, len, s->zero[i].rva, (uint64_t)s->zero[i].rva + s->zero[i].len);
}

struct region {
	uint32_t rva, len;
};

static int cmp_region(const void *a, const void *b)
{
	const struct region *x = a, *y = b;
	return x->rva < y->rva ? -1 : x->rva > y->rva;
}

/* Every relocation site must lie wholly inside one region or wholly outside
 * all of them (zero-filled tails are not covered). */
static int check_sites(const struct hv_canon_sites *s, const struct region *order, uint32_t n, hv_why *why)
{
	struct region *r = malloc(n * sizeof(*r));
	uint32_t k = 0;
	int rc = HV_OK;

	if (!r)
		return hv_fail(why, HV_E_NOMEM, "no memory for the region table");
	memcpy(r, order, n * sizeof(*r));
	qsort(r, n, sizeof(*r), cmp_region);
	for (uint32_t i = 0; i < s->nsub && rc == HV_OK; i++) {
		uint64_t lo = s->sub[i].rva, hi = lo + s->sub[i].len;
		while (k < n && (uint64_t)r[k].rva + r[k].len <= lo)
			k++;
		if (k < n && r[k].rva < hi && (lo < r[k].rva || hi > (uint64_t)r[k].rva + r[k].len))
			rc = hv_fail(why, HV_E_RANGE, "relocation site [0x%llx, +%u) is only partly inside the copied bytes",
				     (unsigned long long)lo, s->sub[i].len);
	}
	free(r);
	return rc;
}

int hv_canon_digest(const struct hv_pe *pe, uint64_t base, unsigned mask_algs, struct hv_digests *out,
		    struct hv_canon_stats *stats, hv_why *why)
{
	struct hv_canon_sites sites;
	struct region *order = NULL;
	uint64_t va0 = hv_canon_va0(pe, base), total = 0, biggest = 0;
	uint8_t *buf = NULL;
	uint32_t n = 0;
	struct hv_mh h;
	int rc;

	rc = hv_canon_sites(pe, base, &sites, why);
	if (rc)
		return rc;
	order = malloc((pe->nsections + 1u) * sizeof(*order));
	if (!order) {
		rc = hv_fail(why, HV_E_NOMEM, "no memory for the region table");
		goto out;
	}
	order[n++] = (struct region){pe->rva_bias, pe->size_of_headers};
	for (uint32_t i = 0; i < pe->nsections; i++) {
		uint32_t len = hv_pe_section_copied(&pe->sections[i]);
		if (len)
			order[n++] = (struct region){pe->sections[i].virtual_address, len};
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!hv_pe_rva(pe, order[i].rva, order[i].len)) {
			rc = hv_fail(why, HV_E_RANGE, "bytes [0x%x, +0x%x) of the image are not in this input", order[i].rva,
				     order[i].len);
			goto out;
		}
		total += order[i].len;
		if (order[i].len > biggest)
			biggest = order[i].len;
	}
	rc = check_sites(&sites, order, n, why);
	if (rc)
		goto out;
	buf = malloc(biggest ? biggest : 1);
	if (!buf) {
		rc = hv_fail(why, HV_E_NOMEM, "no memory for 0x%llx bytes of image", (unsigned long long)biggest);
		goto out;
	}
	rc = hv_mh_init(&h, mask_algs);
	if (rc) {
		rc = hv_fail(why, rc, "cannot start the digests");
		goto out;
	}
	hv_mh_update(&h, HV_CANON_DOMAIN, sizeof(HV_CANON_DOMAIN));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t hdr[8];
		memcpy(buf, hv_pe_rva(pe, order[i].rva, order[i].len), order[i].len);
		hv_canon_normalize(&sites, va0, order[i].rva, buf, order[i].len);
		hv_put_le32(hdr, order[i].rva);
		hv_put_le32(hdr + 4, order[i].len);
		hv_mh_update(&h, hdr, sizeof(hdr));
		hv_mh_update(&h, buf, order[i].len);
	}
	/* Step 5: the number of slots of each import table, so that a loader
	 * writing past an IAT's terminator (masked when the IAT is counted on
	 * itself) changes the digest. */
	uint8_t cnt[4];
	hv_put_le32(cnt, sites.nimports);
	hv_mh_update(&h, cnt, 4);
	for (uint32_t i = 0; i < sites.nimports; i++) {
		hv_put_le32(cnt, sites.import_counts[i]);
		hv_mh_update(&h, cnt, 4);
	}
	rc = hv_mh_final(&h, out);
	if (rc) {
		rc = hv_fail(why, rc, "digest library failure");
	} else if (stats) {
		*stats = sites.st;
		stats->regions = n;
		stats->bytes_covered = total;
	}
out:
	free(buf);
	free(order);
	hv_canon_sites_free(&sites);
	return rc;
}
