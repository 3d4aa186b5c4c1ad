/*
 * refload.c: the reference loader of refload.h.
 *
 * EDK2 mode follows BasePeCoffLib's observable behaviour (DESIGN.md, "The
 * loaders change images"): garbage-filled buffer of SizeOfImage, headers,
 * each section's min(VirtualSize, SizeOfRawData) bytes (all raw bytes when
 * VirtualSize is 0) and zero fill to VirtualSize, base relocations, the
 * ImageBase field, and a CodeView entry with AddressOfRawData 0 copied after
 * the last section. TE images run in place (XIP): the file is the image.
 * Windows mode adds what the kernel loader writes before DriverEntry: IAT
 * slots, the /GS cookie when it holds 0 or the default, CFG/XFG/RF/memcpy
 * guard slots and DVRT sites. Relocation arithmetic follows the PE/COFF
 * specification, section 6.6.2 (HIGHADJ included).
 */
#include <stdlib.h>
#include <string.h>

#include "refload.h"

#define RELOCS_STRIPPED 0x0001 /* COFF Characteristics */

struct ld {
	struct hv_pe pe;
	struct rl_image *img;
	enum rl_mode mode;
	uint64_t delta;
	uint32_t rng;
	hv_why *why;
};

static uint32_t rnd(struct ld *l)
{
	uint32_t x = l->rng;
	x ^= x << 13, x ^= x >> 17, x ^= x << 5;
	return l->rng = x;
}

const char *rl_mode_str(enum rl_mode mode) { return mode == RL_EDK2 ? "edk2" : "windows"; }

uint64_t rl_own_base(const struct hv_pe *pe) { return pe->image_base + pe->rva_bias; }

/* Pointer to [rva, rva + n) of the loaded buffer, or NULL. Loader writes
 * into the headers are out of scope (NULL): they change what the digest
 * parses, so no digest could match the file's, and it fails closed. */
static uint8_t *site(struct ld *l, uint64_t rva, uint64_t n)
{
	struct rl_image *img = l->img;
	if (rva < img->rva_bias || rva - img->rva_bias > img->len || n > img->len - (rva - img->rva_bias))
		return NULL;
	if (rva - img->rva_bias < l->pe.size_of_headers)
		return NULL;
	return img->buf + (rva - img->rva_bias);
}

static void mark(struct ld *l, uint8_t *p, size_t n, enum rl_byte how)
{
	memset(l->img->map + (p - l->img->buf), how, n);
}

static void put(struct ld *l, uint8_t *p, unsigned width, uint64_t v)
{
	if (width == 8)
		hv_put_le64(p, v);
	else if (width == 4)
		hv_put_le32(p, (uint32_t)v);
	else
		hv_put_le16(p, (uint16_t)v);
	mark(l, p, width, RL_WRITTEN);
}

/* ---- Copy ------------------------------------------------------------- */

static int te_is_xip(const struct hv_pe *pe)
{
	for (uint32_t i = 0; i < pe->nsections; i++)
		if (hv_pe_section_copied(&pe->sections[i]) && pe->sections[i].raw_ptr != pe->sections[i].virtual_address)
			return 0;
	return 1;
}

static void copy_image(struct ld *l, const uint8_t *file, size_t len)
{
	struct rl_image *img = l->img;
	const struct hv_pe *pe = &l->pe;
	int xip = pe->kind == HV_TE && te_is_xip(pe);

	for (size_t i = 0; i < img->alloc; i++)
		img->buf[i] = (uint8_t)(rnd(l) | 0x01);
	if (xip) /* runs in place: every file byte is where it was */
		memcpy(img->buf, file, len < img->alloc ? len : img->alloc);
	else
		memcpy(img->buf, file, pe->size_of_headers);
	memset(img->map, RL_COPIED, pe->size_of_headers);
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		uint32_t copied = hv_pe_section_copied(s);
		uint8_t *dst = img->buf + (s->virtual_address - img->rva_bias);

		if (!xip) {
			memcpy(dst, file + (s->raw_ptr - img->rva_bias), copied);
			if (s->virtual_size > copied)
				memset(dst + copied, 0, s->virtual_size - copied);
		}
		memset(img->map + (dst - img->buf), RL_COPIED, copied);
		if (!xip && s->virtual_size > copied)
			memset(img->map + (dst - img->buf) + copied, RL_ZERO, s->virtual_size - copied);
	}
}

/* ---- Relocations ------------------------------------------------------ */

static int reloc_one(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct ld *l = ctx;
	unsigned w = type == HV_REL_DIR64 ? 8 : type == HV_REL_HIGHLOW ? 4 : 2;
	uint8_t *p;
	uint32_t v;

	if (type == HV_REL_ABSOLUTE)
		return 0;
	if (type > HV_REL_HIGHADJ && type != HV_REL_DIR64)
		return hv_fail(l->why, HV_E_UNSUPPORTED, "relocation type %u at RVA 0x%x", type, rva);
	p = site(l, rva, w);
	if (!p)
		return hv_fail(l->why, HV_E_RANGE, "relocation site RVA 0x%x outside the image or in its headers", rva);
	switch (type) {
	case HV_REL_DIR64: put(l, p, 8, hv_le64(p) + l->delta); break;
	case HV_REL_HIGHLOW: put(l, p, 4, hv_le32(p) + (uint32_t)l->delta); break;
	case HV_REL_LOW: put(l, p, 2, hv_le16(p) + (uint16_t)l->delta); break;
	case HV_REL_HIGH: put(l, p, 2, hv_le16(p) + (uint16_t)((uint32_t)l->delta >> 16)); break;
	case HV_REL_HIGHADJ: /* rebuild the 32-bit value, add, round the high half */
		v = ((uint32_t)hv_le16(p) << 16) + (uint32_t)(int32_t)(int16_t)arg + (uint32_t)l->delta;
		put(l, p, 2, (uint16_t)((v + 0x8000u) >> 16));
		break;
	}
	l->img->relocs++;
	return 0;
}

static int relocate(struct ld *l)
{
	const struct hv_pe *pe = &l->pe;
	uint64_t new_base = l->img->base - l->img->rva_bias;
	int rc;

	if (pe->image_base_width == 4 && new_base > UINT32_MAX)
		return hv_fail(l->why, HV_E_RANGE, "base 0x%llx does not fit a PE32 ImageBase",
			       (unsigned long long)new_base);
	l->delta = new_base - pe->image_base;
	if (l->delta) {
		rc = hv_pe_relocs(pe, reloc_one, l, l->why);
		if (rc == HV_E_ABSENT || (pe->characteristics & RELOCS_STRIPPED && pe->kind != HV_TE))
			return hv_fail(l->why, HV_E_UNSUPPORTED, "image cannot move: no relocations");
		if (rc)
			return rc;
	}
	put(l, l->img->buf + pe->image_base_off, pe->image_base_width, new_base);
	return HV_OK;
}

/* ---- EDK2: CodeView data with AddressOfRawData 0 --------------------- */

struct cv {
	struct hv_pe_debug d;
	int found;
};

static int find_cv(void *ctx, const struct hv_pe_debug *d)
{
	struct cv *cv = ctx;
	if (d->type != HV_DEBUG_TYPE_CODEVIEW || cv->found)
		return 0;
	cv->found = 1;
	cv->d = *d;
	return 0;
}

/* RVA past the last section's virtual or raw extent, whichever is larger. */
static uint32_t end_of_sections(const struct hv_pe *pe)
{
	uint64_t end = 0;
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		uint64_t e = (uint64_t)s->virtual_address + (s->virtual_size > s->raw_size ? s->virtual_size : s->raw_size);
		end = e > end ? e : end;
	}
	return (uint32_t)end;
}

/* Bytes to allocate past SizeOfImage for the copy, 0 if none. */
static int plan_cv(struct ld *l, size_t flen, struct cv *cv, uint32_t *cv_rva)
{
	hv_why ignored;
	*cv_rva = 0;
	if (l->mode != RL_EDK2 || l->pe.kind == HV_TE)
		return 0;
	if (hv_pe_debug_entries(&l->pe, find_cv, cv, &ignored) || !cv->found)
		return 0;
	if (cv->d.data_rva != 0 || cv->d.data_ptr == 0 || cv->d.size == 0 || cv->d.data_ptr > flen ||
	    cv->d.size > flen - cv->d.data_ptr)
		return 0;
	*cv_rva = end_of_sections(&l->pe);
	return 1;
}

static void place_cv(struct ld *l, const uint8_t *file, const struct cv *cv, uint32_t cv_rva)
{
	uint8_t *field = site(l, (uint64_t)cv->d.entry_rva + HV_DEBUG_ADDRESS_OF_RAW_DATA, 4);
	if (!field)
		return;
	memcpy(l->img->buf + (cv_rva - l->img->rva_bias), file + cv->d.data_ptr, cv->d.size);
	put(l, field, 4, cv_rva);
	l->img->fields++;
}

/* ---- Windows: imports, Load Config, DVRT ----------------------------- */

static uint64_t fake_addr(struct ld *l, const char *dll, uint64_t thunk)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *c = dll; *c; c++)
		h = (h ^ (uint8_t)(*c | 0x20)) * 0x100000001b3ull;
	for (int i = 0; i < 8; i++)
		h = (h ^ (uint8_t)(thunk >> (8 * i))) * 0x100000001b3ull;
	if (l->pe.image_base_width == 4)
		return 0x80000000u | (h & 0x3ffffff0u);
	return 0xFFFFF80000000000ull + (h & 0xfffffffff0ull);
}

static void bind_one(struct ld *l, const struct hv_pe_import *imp)
{
	uint32_t lookup = imp->ilt_rva ? imp->ilt_rva : imp->iat_rva;

	for (uint32_t i = 0; i < imp->nthunks; i++) {
		uint64_t off = (uint64_t)i * imp->thunk_size;
		const uint8_t *t = hv_pe_rva(&l->pe, lookup + off, imp->thunk_size);
		uint8_t *slot = site(l, imp->iat_rva + off, imp->thunk_size);
		put(l, slot, imp->thunk_size, fake_addr(l, imp->dll, imp->thunk_size == 8 ? hv_le64(t) : hv_le32(t)));
		l->img->slots++;
	}
}

struct imps {
	struct hv_pe_import *v;
	size_t n;
};

static int collect(void *ctx, const struct hv_pe_import *imp)
{
	struct imps *c = ctx;
	struct hv_pe_import *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return HV_E_NOMEM;
	c->v = v;
	c->v[c->n++] = *imp;
	return 0;
}

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return a < b + blen && b < a + alen; }

/* Binding must not rewrite what the import walk reads (the descriptors and
 * the tables the slots are counted on, with their terminators): a loader
 * that does corrupts its own import table, and no digest can follow. */
static int check_imports(struct ld *l, const struct imps *c)
{
	const struct hv_pe_dirent *dir = hv_pe_dir(&l->pe, HV_DIR_IMPORT);
	uint64_t descs = (c->n + 1) * 20ull;

	for (size_t i = 0; i < c->n; i++) {
		const struct hv_pe_import *a = &c->v[i];
		uint64_t len = (uint64_t)a->nthunks * a->thunk_size;
		if (!site(l, a->iat_rva, len) || (len && !hv_pe_rva(&l->pe, a->ilt_rva ? a->ilt_rva : a->iat_rva, len)))
			return hv_fail(l->why, HV_E_RANGE, "%s: IAT 0x%x outside the image or in its headers", a->dll,
				       a->iat_rva);
		if (overlap(a->iat_rva, len, dir->rva, descs))
			return hv_fail(l->why, HV_E_UNSUPPORTED, "%s: IAT overlaps the import descriptors", a->dll);
		for (size_t j = 0; j < c->n; j++) {
			const struct hv_pe_import *b = &c->v[j];
			uint32_t table = b->ilt_rva ? b->ilt_rva : b->iat_rva;
			if (overlap(a->iat_rva, len, table, (b->nthunks + 1ull) * b->thunk_size) &&
			    (b->ilt_rva || i != j))
				return hv_fail(l->why, HV_E_UNSUPPORTED, "%s: IAT overlaps the lookup table of %s", a->dll,
					       b->dll);
		}
	}
	return HV_OK;
}

static int bind_imports(struct ld *l)
{
	struct imps c = {NULL, 0};
	int rc = hv_pe_imports(&l->pe, collect, &c, l->why);

	if (rc == HV_OK)
		rc = check_imports(l, &c);
	if (rc == HV_OK)
		for (size_t i = 0; i < c.n; i++)
			bind_one(l, &c.v[i]);
	free(c.v);
	return rc == HV_E_ABSENT ? HV_OK : rc;
}

/* The loaded bytes at a VA of the file's Load Config, or NULL. */
static uint8_t *va_site(struct ld *l, uint64_t va, unsigned width)
{
	if (!va || va < l->pe.image_base)
		return NULL;
	return site(l, va - l->pe.image_base, width);
}

static void set_cookie(struct ld *l, uint64_t va)
{
	unsigned w = l->pe.image_base_width;
	uint8_t *p = va_site(l, va, w);
	uint64_t v, cookie;

	if (!p)
		return;
	v = w == 8 ? hv_le64(p) : hv_le32(p);
	if (v != 0 && v != (w == 8 ? HV_GS_COOKIE_DEFAULT64 : HV_GS_COOKIE_DEFAULT32))
		return;
	do /* x64 cookies keep their top 16 bits clear */
		cookie = w == 8 ? ((uint64_t)rnd(l) << 32 | rnd(l)) & 0x0000ffffffffffffull : rnd(l);
	while (cookie == 0 || cookie == HV_GS_COOKIE_DEFAULT64 || cookie == HV_GS_COOKIE_DEFAULT32);
	put(l, p, w, cookie);
	l->img->fields++;
}

static int dvrt_one(void *ctx, uint32_t rva, unsigned width)
{
	struct ld *l = ctx;
	uint8_t *p = site(l, rva, width);
	if (!p)
		return hv_fail(l->why, HV_E_RANGE, "DVRT site RVA 0x%x outside the image or in its headers", rva);
	for (unsigned i = 0; i < width; i++)
		p[i] ^= 0x5a; /* a rewritten call or jump */
	mark(l, p, width, RL_WRITTEN);
	l->img->fields++;
	return 0;
}

static int windows_writes(struct ld *l)
{
	struct hv_pe_loadcfg lc;
	hv_why ignored;
	int rc;

	rc = bind_imports(l);
	if (rc)
		return rc;
	if (hv_pe_loadcfg(&l->pe, &lc, &ignored) != HV_OK)
		return HV_OK;
	set_cookie(l, lc.security_cookie);
	uint64_t slots[] = {lc.guard_cf_check_fptr,    lc.guard_cf_dispatch_fptr,        lc.guard_xfg_check_fptr,
			    lc.guard_xfg_dispatch_fptr, lc.guard_xfg_table_dispatch_fptr, lc.guard_rf_failure_fptr,
			    lc.guard_rf_verify_sp_fptr, lc.guard_memcpy_fptr};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		uint8_t *p = va_site(l, slots[i], l->pe.image_base_width);
		if (p) {
			put(l, p, l->pe.image_base_width, fake_addr(l, "guard", i));
			l->img->fields++;
		}
	}
	rc = hv_pe_dvrt(&l->pe, &lc, dvrt_one, l, l->why);
	return rc == HV_E_ABSENT ? HV_OK : rc;
}

/* ---- Entry ------------------------------------------------------------ */

static int load(struct ld *l, const uint8_t *file, size_t len)
{
	struct rl_image *img = l->img;
	struct cv cv = {0};
	uint32_t cv_rva;
	int rc;

	if (l->mode == RL_WINDOWS && l->pe.kind == HV_TE)
		return hv_fail(l->why, HV_E_UNSUPPORTED, "Windows does not load TE images");
	img->rva_bias = l->pe.rva_bias;
	img->len = l->pe.size_of_image - l->pe.rva_bias;
	img->alloc = img->len;
	if (plan_cv(l, len, &cv, &cv_rva) && (uint64_t)cv_rva + cv.d.size - img->rva_bias > img->alloc)
		img->alloc = cv_rva + cv.d.size - img->rva_bias;
	img->buf = malloc(img->alloc);
	img->map = calloc(1, img->alloc);
	if (!img->buf || !img->map)
		return hv_fail(l->why, HV_E_NOMEM, "no memory for a %zu-byte image", img->alloc);
	copy_image(l, file, len);
	rc = relocate(l);
	if (rc)
		return rc;
	if (cv.found && cv_rva)
		place_cv(l, file, &cv, cv_rva);
	if (l->mode == RL_WINDOWS)
		return windows_writes(l);
	return HV_OK;
}

int rl_load(const uint8_t *file, size_t len, uint64_t base, enum rl_mode mode, uint32_t seed,
	    struct rl_image *img, hv_why *why)
{
	struct ld l = {.img = img, .mode = mode, .rng = seed | 1, .why = why};
	int rc;

	memset(img, 0, sizeof(*img));
	img->base = base;
	rc = hv_pe_parse(&l.pe, file, len, HV_LAYOUT_FILE, why);
	if (rc)
		return rc;
	rc = load(&l, file, len);
	hv_pe_free(&l.pe);
	if (rc)
		rl_free(img);
	return rc;
}

void rl_free(struct rl_image *img)
{
	free(img->buf);
	free(img->map);
	img->buf = img->map = NULL;
}
