/*
 * ldr.c: the PE32+ loader of ntboot (ldr.h). Image files come from the
 * guest's own ESP, but every field is still checked against the file and
 * the image size: a bad file fails to load with a message, it does not
 * make the loader write outside the image.
 */
#include "ldr.h"

#define DIR_EXPORT 0
#define DIR_IMPORT 1
#define DIR_BASERELOC 5
#define DIR_LOADCFG 10
#define SCN_DISCARDABLE 0x02000000u
#define LC_SECURITY_COOKIE 88
#define LC_GUARD_CF_CHECK 112

void ldr_memset(void *d, int c, uint64_t n)
{
	volatile uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
}

void ldr_memcpy(void *d, const void *s, uint64_t n)
{
	volatile uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
}

int ldr_streq_nocase(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a, y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;
		if (x != y)
			return 0;
		if (!x)
			return 1;
	}
}

static uint32_t f16(const struct ldr_img *im, uint32_t off)
{
	return off + 2 <= im->flen ? (uint32_t)(im->file[off] | im->file[off + 1] << 8) : 0;
}

static uint32_t f32(const struct ldr_img *im, uint32_t off)
{
	return off + 4 <= im->flen ? f16(im, off) | f16(im, off + 2) << 16 : 0;
}

/* Bytes of the mapped image, through at(), byte by byte across pages. */
static uint8_t m8(struct ldr_img *im, uint32_t rva)
{
	return *im->at(im->ctx, rva);
}

static uint32_t m32(struct ldr_img *im, uint32_t rva)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | m8(im, rva + (uint32_t)i);
	return v;
}

static uint64_t m64(struct ldr_img *im, uint32_t rva)
{
	return (uint64_t)m32(im, rva + 4) << 32 | m32(im, rva);
}

static void w64(struct ldr_img *im, uint32_t rva, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		*im->at(im->ctx, rva + (uint32_t)i) = (uint8_t)v;
}

static void w32(struct ldr_img *im, uint32_t rva, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		*im->at(im->ctx, rva + (uint32_t)i) = (uint8_t)v;
}

static void put(struct ldr_img *im, uint32_t rva, const uint8_t *src, uint32_t n)
{
	while (n) {
		uint32_t room = 4096 - (rva & 4095), k = n < room ? n : room;
		if (src)
			ldr_memcpy(im->at(im->ctx, rva), src, k);
		else
			ldr_memset(im->at(im->ctx, rva), 0, k);
		rva += k, n -= k;
		if (src)
			src += k;
	}
}

static int fail(struct ldr_img *im, const char *why)
{
	im->err = why;
	return -1;
}

int ldr_parse(struct ldr_img *im, const uint8_t *file, uint32_t len)
{
	uint32_t pe, nd;

	im->file = file, im->flen = len;
	if (len < 0x40 || file[0] != 'M' || file[1] != 'Z')
		return fail(im, "no MZ header");
	pe = f32(im, 0x3c);
	if (pe > len - 24 || f32(im, pe) != 0x4550)
		return fail(im, "no PE signature");
	if (f16(im, pe + 4) != 0x8664)
		return fail(im, "not x86-64");
	im->nsec = f16(im, pe + 6);
	im->opt_off = pe + 24;
	im->sec_off = im->opt_off + f16(im, pe + 20);
	if (f16(im, im->opt_off) != 0x20b)
		return fail(im, "not PE32+");
	if (im->nsec == 0 || im->nsec > LDR_MAX_SECTIONS || im->sec_off + 40 * im->nsec > len)
		return fail(im, "bad section table");
	im->entry_rva = f32(im, im->opt_off + 16);
	im->image_base = (uint64_t)f32(im, im->opt_off + 28) << 32 | f32(im, im->opt_off + 24);
	im->size = (f32(im, im->opt_off + 56) + 4095) & ~4095u;
	im->soh = f32(im, im->opt_off + 60);
	nd = f32(im, im->opt_off + 108);
	if (im->size == 0 || im->size > LDR_MAX_IMAGE || im->soh > im->size || im->soh > len ||
	    im->sec_off + 40 * im->nsec > im->soh)
		return fail(im, "bad image or header size");
	for (uint32_t i = 0; i < 16; i++) {
		im->dir_rva[i] = i < nd ? f32(im, im->opt_off + 112 + 8 * i) : 0;
		im->dir_size[i] = i < nd ? f32(im, im->opt_off + 116 + 8 * i) : 0;
		if (im->dir_rva[i] >= im->size || im->dir_size[i] > im->size - im->dir_rva[i])
			im->dir_rva[i] = im->dir_size[i] = 0;
	}
	im->discard_rva = im->size;
	for (uint32_t i = 0; i < im->nsec; i++) {
		uint32_t s = im->sec_off + 40 * i, va = f32(im, s + 12), vs = f32(im, s + 8);
		uint32_t raw = f32(im, s + 16), ptr = f32(im, s + 20), fl = f32(im, s + 36);
		if (va < im->soh || va >= im->size || vs > im->size - va || raw > len || ptr > len - raw)
			return fail(im, "section outside the image or the file");
		/* the run of discardable sections that ends the image */
		if (!(fl & SCN_DISCARDABLE))
			im->discard_rva = im->size;
		else if (im->discard_rva == im->size)
			im->discard_rva = va & ~4095u;
	}
	return 0;
}

static int copy_sections(struct ldr_img *im)
{
	put(im, 0, 0, im->size);
	put(im, 0, im->file, im->soh);
	for (uint32_t i = 0; i < im->nsec; i++) {
		uint32_t s = im->sec_off + 40 * i, va = f32(im, s + 12), vs = f32(im, s + 8);
		uint32_t raw = f32(im, s + 16), ptr = f32(im, s + 20);
		uint32_t n = vs == 0 || raw < vs ? raw : vs;
		if (n > im->size - va)
			return fail(im, "section data past SizeOfImage");
		put(im, va, im->file + ptr, n);
	}
	return 0;
}

static int relocate(struct ldr_img *im)
{
	uint64_t delta = im->base - im->image_base;
	uint32_t at = im->dir_rva[DIR_BASERELOC], end = at + im->dir_size[DIR_BASERELOC];

	w64(im, im->opt_off + 24, im->base); /* ImageBase */
	while (at + 8 <= end) {
		uint32_t page = m32(im, at), bsize = m32(im, at + 4);
		if (bsize < 8 || bsize > end - at)
			return fail(im, "bad relocation block");
		for (uint32_t e = at + 8; e + 2 <= at + bsize; e += 2) {
			uint32_t v = m8(im, e) | (uint32_t)m8(im, e + 1) << 8, rva = page + (v & 0xfff);
			if (v >> 12 == 0)
				continue;
			if (v >> 12 != 10 || rva > im->size - 8)
				return fail(im, "unsupported relocation");
			w64(im, rva, m64(im, rva) + delta);
		}
		at += bsize;
	}
	return 0;
}

/* A NUL-terminated name of the mapped image, at most n - 1 bytes. */
static void mname(struct ldr_img *im, uint32_t rva, char *out, uint32_t n)
{
	uint32_t i = 0;
	for (; i + 1 < n && rva + i < im->size; i++)
		if (!(out[i] = (char)m8(im, rva + i)))
			return;
	out[i] = 0;
}

static int bind(struct ldr_img *im, ldr_resolve fn, void *rctx)
{
	uint32_t d = im->dir_rva[DIR_IMPORT], end = d + im->dir_size[DIR_IMPORT];
	char dll[64], sym[96];

	for (; d + 20 <= end; d += 20) {
		uint32_t ilt = m32(im, d), name = m32(im, d + 12), iat = m32(im, d + 16);
		if (!name || !iat)
			break;
		if (name >= im->size)
			return fail(im, "bad import descriptor");
		mname(im, name, dll, sizeof(dll));
		if (!ilt)
			ilt = iat;
		for (uint32_t k = 0;; k += 8) {
			uint64_t e, addr;
			if (ilt > im->size - 8 - k || iat > im->size - 8 - k)
				return fail(im, "import table past the image");
			e = m64(im, ilt + k);
			if (!e)
				break;
			if (e >> 63 || (uint32_t)e >= im->size - 2)
				return fail(im, "import by ordinal or bad hint/name");
			mname(im, (uint32_t)e + 2, sym, sizeof(sym));
			addr = fn(rctx, dll, sym);
			if (!addr)
				return fail(im, "unresolved import");
			w64(im, iat + k, addr);
		}
	}
	return 0;
}

/* Windows sets the /GS cookie when it holds 0 or the default, and the CFG
 * check pointer, before the entry point runs. */
static void loadcfg(struct ldr_img *im, uint64_t cookie, uint64_t cfg_check)
{
	uint32_t lc = im->dir_rva[DIR_LOADCFG], size;
	uint64_t p;

	if (!lc || im->dir_size[DIR_LOADCFG] < 4)
		return;
	size = m32(im, lc);
	if (size >= LC_SECURITY_COOKIE + 8 && size <= im->size - lc) {
		p = m64(im, lc + LC_SECURITY_COOKIE) - im->base;
		if (p <= im->size - 8 && (m64(im, (uint32_t)p) == 0 || m64(im, (uint32_t)p) == 0x00002B992DDFA232ull))
			w64(im, (uint32_t)p, cookie);
	}
	if (size >= LC_GUARD_CF_CHECK + 8 && size <= im->size - lc) {
		p = m64(im, lc + LC_GUARD_CF_CHECK) - im->base;
		if (p && p <= im->size - 8)
			w64(im, (uint32_t)p, cfg_check);
	}
}

int ldr_load(struct ldr_img *im, ldr_resolve fn, void *rctx, uint64_t cookie, uint64_t cfg_check)
{
	if (copy_sections(im) || relocate(im) || bind(im, fn, rctx))
		return -1;
	loadcfg(im, cookie, cfg_check);
	(void)w32;
	return 0;
}

uint64_t ldr_export(struct ldr_img *im, const char *sym)
{
	uint32_t e = im->dir_rva[DIR_EXPORT], n, names, ords, funcs;
	char buf[96];

	if (!e || im->dir_size[DIR_EXPORT] < 40)
		return 0;
	n = m32(im, e + 24), funcs = m32(im, e + 28), names = m32(im, e + 32), ords = m32(im, e + 36);
	if (n > 65536 || names > im->size - 4 * n || ords > im->size - 2 * n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t o;
		mname(im, m32(im, names + 4 * i), buf, sizeof(buf));
		if (!ldr_streq_nocase(buf, sym))
			continue;
		o = m8(im, ords + 2 * i) | (uint32_t)m8(im, ords + 2 * i + 1) << 8;
		if (funcs > im->size - 4 * (o + 1))
			return 0;
		return im->base + m32(im, funcs + 4 * o);
	}
	return 0;
}

void ldr_export_name(struct ldr_img *im, char *out, uint32_t n)
{
	uint32_t e = im->dir_rva[DIR_EXPORT];
	out[0] = 0;
	if (e && im->dir_size[DIR_EXPORT] >= 40 && m32(im, e + 12) < im->size)
		mname(im, m32(im, e + 12), out, n);
}

int ldr_attach(struct ldr_img *im, uint64_t base, uint8_t *(*at)(void *, uint32_t), void *ctx)
{
	uint32_t pe, nd;

	im->base = base, im->at = at, im->ctx = ctx, im->size = 4096;
	if (m8(im, 0) != 'M' || m8(im, 1) != 'Z')
		return fail(im, "no MZ header");
	pe = m32(im, 0x3c);
	if (pe > 4096 - 264 || m32(im, pe) != 0x4550)
		return fail(im, "no PE signature");
	im->opt_off = pe + 24;
	im->size = m32(im, im->opt_off + 56);
	nd = m32(im, im->opt_off + 108);
	if (im->size < 4096 || im->size > LDR_MAX_IMAGE)
		return fail(im, "bad SizeOfImage");
	for (uint32_t i = 0; i < 16; i++) {
		im->dir_rva[i] = i < nd ? m32(im, im->opt_off + 112 + 8 * i) : 0;
		im->dir_size[i] = i < nd ? m32(im, im->opt_off + 116 + 8 * i) : 0;
		if (im->dir_rva[i] >= im->size || im->dir_size[i] > im->size - im->dir_rva[i])
			im->dir_rva[i] = im->dir_size[i] = 0;
	}
	return 0;
}
