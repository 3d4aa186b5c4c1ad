/*
 * test_canon.c: properties of the canonical digest (lib/canon.c) on
 * synthetic images: a file and the same image laid out by hand at any base
 * (relocations applied by pebuild, not by lib) give one digest; the fields
 * a loader writes do not count; every byte a loader copies and does not
 * legitimately write does.
 */
#include <string.h>

#include "canon.h"
#include "pe.h"
#include "tap.h"
#include "pebuild.h"

static const uint64_t bases[] = {
	0xfffff80012340000ull, /* kernel space */
	0x140000000ull,        /* the preferred base: no move */
	0x10000ull,            /* below the preferred base */
	0x7ffe00000000ull,
};

/* Canonical digest of an exact-size copy of buf. */
static int canon_of(const uint8_t *buf, size_t len, enum hv_layout l, uint64_t base, unsigned mask,
		    struct hv_digests *d, struct hv_canon_stats *st, hv_why *why)
{
	struct hv_pe pe;
	uint8_t *c = malloc(len ? len : 1);
	if (!c)
		abort();
	memcpy(c, buf, len);
	memset(why, 0, sizeof(*why));
	memset(d, 0, sizeof(*d));
	int rc = hv_pe_parse(&pe, c, len, l, why);
	if (rc == HV_OK) {
		rc = hv_canon_digest(&pe, base, mask, d, st, why);
		hv_pe_free(&pe);
	}
	free(c);
	return rc;
}

static int same(const struct hv_digests *a, const struct hv_digests *b)
{
	return a->mask == b->mask && memcmp(a->d, b->d, sizeof(a->d)) == 0;
}

/* The file's digest, which every variant is compared with. */
struct fixture {
	struct pb_std s;
	uint8_t *f;
	size_t len;
	struct hv_digests ref;
	int ok;
};

static void fx_init(struct fixture *x, enum pb_kind k)
{
	hv_why why;
	pb_std_init(&x->s, k);
	x->f = pb_link(&x->s.b, &x->len);
	int rc = canon_of(x->f, x->len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &x->ref, NULL, &why);
	x->ok = rc == HV_OK;
	CHECKF(x->ok, "file digest: status %d: %s", rc, why.msg);
}

static void fx_done(struct fixture *x)
{
	free(x->f);
	pb_free(&x->s.b);
}

/* Digest of the fixture loaded at base, after edit(img) if given. */
static int loaded_digest(struct fixture *x, uint64_t base, uint8_t fill, void (*edit)(struct fixture *, uint8_t *),
			 struct hv_digests *d)
{
	size_t n;
	hv_why why;
	uint8_t *img = pb_load(&x->s.b, x->f, base, fill, &n);
	if (edit)
		edit(x, img);
	int rc = canon_of(img, n, HV_LAYOUT_LOADED, base, HV_ALGS_ALL, d, NULL, &why);
	if (rc)
		printf("#   loaded digest at 0x%llx: status %d: %s\n", (unsigned long long)base, rc, why.msg);
	free(img);
	return rc;
}

/* File digest after flipping byte `off` of the file. */
static int file_digest_flipped(struct fixture *x, uint32_t off, struct hv_digests *d)
{
	hv_why why;
	x->f[off] ^= 0x5a;
	int rc = canon_of(x->f, x->len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, d, NULL, &why);
	x->f[off] ^= 0x5a;
	if (rc)
		printf("#   status %d: %s\n", rc, why.msg);
	return rc;
}

/* ---- file == loaded ------------------------------------------------------ */

static void check_file_equals_loaded(enum pb_kind k)
{
	struct fixture x;
	fx_init(&x, k);
	for (size_t i = 0; x.ok && i < sizeof(bases) / sizeof(bases[0]); i++) {
		uint64_t base = k == PB_PE32 ? (uint32_t)bases[i] & 0x7fff0000u : bases[i];
		struct hv_digests d;
		for (int fill = 0; fill < 0x100; fill += 0xee) {
			CHECK(loaded_digest(&x, base, (uint8_t)fill, NULL, &d) == HV_OK);
			CHECKF(same(&d, &x.ref), "base 0x%llx fill 0x%x", (unsigned long long)base, fill);
		}
	}
	fx_done(&x);
}

static void test_canon_file_equals_loaded_pe32plus(void) { check_file_equals_loaded(PB_PE32PLUS); }
static void test_canon_file_equals_loaded_pe32(void) { check_file_equals_loaded(PB_PE32); }
static void test_canon_file_equals_loaded_te(void) { check_file_equals_loaded(PB_TE); }

static void test_canon_preferred_base_ignored(void)
{
	/* the same image linked at another preferred base: ImageBase and every
	 * relocation site differ in the file, the digest does not */
	struct fixture x, y;
	fx_init(&x, PB_PE32PLUS);
	memset(&y, 0, sizeof(y));
	pb_std_init(&y.s, PB_PE32PLUS);
	uint64_t delta = 0x7ff700000000ull - y.s.b.image_base;
	y.s.b.image_base += delta;
	for (int i = 0; i < y.s.b.nrel; i++) {
		uint8_t *p = pb_at(&y.s.b, y.s.b.rel[i].rva, 8);
		hv_put_le64(p, hv_le64(p) + delta);
	}
	y.f = pb_link(&y.s.b, &y.len);
	struct hv_digests d;
	hv_why why;
	CHECK(canon_of(y.f, y.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, NULL, &why) == HV_OK);
	CHECK(x.ok && same(&d, &x.ref));
	CHECK(memcmp(x.f, y.f, x.len) != 0);
	fx_done(&y);
	fx_done(&x);
}

static void edit_image_base_field(struct fixture *x, uint8_t *img)
{
	hv_put_le64(img + x->s.b.opt_off + PB_OPT64_IMAGE_BASE, 0x1234567890abcdefull);
}

static void test_canon_image_base_field_ignored(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_image_base_field, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	fx_done(&x);
}

/* ---- bytes that count ---------------------------------------------------- */

static void test_canon_section_byte_changes_digest(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	/* first and last copied byte of .text, a byte of .rdata, .data, .reloc */
	static const uint32_t rvas[] = {0x1000, 0x117f, 0x2700, 0x3100, 0x4000};
	for (size_t i = 0; i < sizeof(rvas) / sizeof(rvas[0]); i++) {
		CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, rvas[i]), &d) == HV_OK);
		CHECKF(!same(&d, &x.ref), "rva 0x%x", rvas[i]);
	}
	fx_done(&x);
}

static void test_canon_header_byte_changes_digest(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	uint32_t offs[] = {x.s.b.coff_off + PB_COFF_TIMESTAMP, x.s.b.opt_off + PB_OPT_SUBSYSTEM, 0x3ff};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		CHECK(file_digest_flipped(&x, offs[i], &d) == HV_OK);
		CHECKF(!same(&d, &x.ref), "offset 0x%x", offs[i]);
	}
	fx_done(&x);
}

static void test_canon_raw_padding_ignored(void)
{
	/* .text: VirtualSize 0x180, SizeOfRawData 0x200; the last 0x80 bytes of
	 * raw data are never copied */
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	static const uint32_t rvas[] = {0x1180, 0x11ff};
	for (size_t i = 0; i < sizeof(rvas) / sizeof(rvas[0]); i++) {
		CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, rvas[i]), &d) == HV_OK);
		CHECKF(same(&d, &x.ref), "rva 0x%x", rvas[i]);
	}
	fx_done(&x);
}

static void edit_gaps(struct fixture *x, uint8_t *img)
{
	img[0x400] ^= 1;  /* between the headers and .text */
	img[0x1180] ^= 1; /* after .text's VirtualSize */
	img[0x1fff] ^= 1;
	img[0x3250] ^= 1; /* .data's zero-filled tail: no bytes in the file */
	img[0x4fff] ^= 1; /* after .reloc, up to SizeOfImage */
}

static void test_canon_gap_between_sections_ignored(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0xcc, edit_gaps, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	fx_done(&x);
}

static void edit_iat(struct fixture *x, uint8_t *img)
{
	/* the loader writes resolved addresses into every IAT slot */
	for (int i = 0; i < 2; i++)
		for (int f = 0; f < x->s.dll[i].nfuncs; f++)
			hv_put_le64(img + x->s.dll[i].iat_rva + 8 * (uint32_t)f, 0xfffff80055550000ull + 16 * (uint32_t)f);
}

static void test_canon_iat_slot_ignored(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_iat, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	/* but not the lookup table, which the loader leaves alone */
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.dll[0].ilt_rva), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	/* nor the IAT's terminator */
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.dll[0].iat_rva + 8 * 3), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

static void test_canon_import_dll_name_counts(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.dll[0].name_rva + 7), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

static void edit_site_plus_one(struct fixture *x, uint8_t *img)
{
	uint8_t *p = img + x->s.site_a;
	hv_put_le64(p, hv_le64(p) + 1);
}

static void edit_site_unrelocated(struct fixture *x, uint8_t *img)
{
	hv_put_le64(img + x->s.site_b, x->s.b.image_base + x->s.text_rva);
}

static void test_canon_reloc_site_change_counts(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_site_plus_one, &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	/* a site the loader forgot to relocate */
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_site_unrelocated, &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	/* in the file too, the high byte of a DIR64 site */
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.site_c + 7), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

static void test_canon_reloc_site_change_counts_pe32(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32);
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.site_a), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.site_a + 3), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

static void edit_cookie(struct fixture *x, uint8_t *img)
{
	hv_put_le64(img + x->s.cookie_rva, 0x0000a5a5deadbeefull);
}

static void test_canon_security_cookie_ignored(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_cookie, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	/* the byte after the cookie slot still counts */
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.cookie_rva + 8), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

static void test_canon_security_cookie_ignored_pe32(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32);
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.cookie_rva + 3), &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.cookie_rva + 4), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

static void edit_debug_address(struct fixture *x, uint8_t *img)
{
	hv_put_le32(img + x->s.debug_rva + PB_DBG_ADDRESS, 0x4800);
}

static void test_canon_debug_address_of_raw_data_ignored(void)
{
	struct fixture x;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_debug_address, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	/* the debug entry's type counts */
	CHECK(file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.debug_rva + PB_DBG_TYPE), &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);

	fx_init(&x, PB_TE);
	CHECK(x.ok && file_digest_flipped(&x, pb_file_off(&x.s.b, x.s.debug_rva + PB_DBG_ADDRESS), &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	fx_done(&x);
}

static void edit_cfg_slot(struct fixture *x, uint8_t *img)
{
	hv_put_le64(img + x->s.data_rva + 0x40, 0xfffff80077770000ull);
}

static void test_canon_cfg_pointer_slot_ignored(void)
{
	/* GuardCFCheckFunctionPointer (offset 112) points at .data + 0x40 */
	struct fixture x;
	hv_why why;
	pb_std_init(&x.s, PB_PE32PLUS);
	pb_reloc(&x.s.b, x.s.loadcfg_rva + 112, PB_REL_DIR64, x.s.data_rva + 0x40);
	x.s.reloc_size = pb_emit_relocs(&x.s.b, x.s.reloc_rva);
	x.s.b.sec[3].vsize = x.s.reloc_size;
	x.f = pb_link(&x.s.b, &x.len);
	CHECK(canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &x.ref, NULL, &why) == HV_OK);
	struct hv_digests d;
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_cfg_slot, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_cookie, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	fx_done(&x);
}

static void edit_dvrt_site(struct fixture *x, uint8_t *img)
{
	/* an indirect call rewritten in place (5 bytes, IMAGE_DYNAMIC_RELOCATION_GUARD_INDIR_CONTROL_TRANSFER) */
	memcpy(img + x->s.text_rva + 0x60, "\xe8\x11\x22\x33\x44", 5);
}

static unsigned dvrt_width; /* reported by lib for the site */

static void edit_after_dvrt_site(struct fixture *x, uint8_t *img)
{
	img[x->s.text_rva + 0x60 + dvrt_width] ^= 1;
}

static int get_dvrt_site(void *ctx, uint32_t rva, unsigned width)
{
	*(uint32_t *)ctx = rva;
	dvrt_width = width;
	return 0;
}

static void test_canon_dvrt_site_ignored(void)
{
	/* Load Config DynamicValueRelocTableOffset/Section (PE32+ 224/228)
	 * point at a version 1 table in .rdata (section 2) with one block
	 * listing .text + 0x60 */
	struct fixture x;
	hv_why why;
	pb_std_init(&x.s, PB_PE32PLUS);
	uint32_t t = x.s.rdata_rva + 0x700;
	pb_put32(&x.s.b, x.s.loadcfg_rva + 224, t - x.s.rdata_rva);
	pb_put16(&x.s.b, x.s.loadcfg_rva + 228, 2);
	pb_put32(&x.s.b, t, 1);           /* Version */
	pb_put32(&x.s.b, t + 4, 12 + 12); /* Size */
	pb_put64(&x.s.b, t + 8, 4);       /* Symbol */
	pb_put32(&x.s.b, t + 16, 12);     /* BaseRelocSize */
	pb_put32(&x.s.b, t + 20, x.s.text_rva);
	pb_put32(&x.s.b, t + 24, 12);
	pb_put16(&x.s.b, t + 28, 0x060);
	x.f = pb_link(&x.s.b, &x.len);
	CHECK(canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &x.ref, NULL, &why) == HV_OK);
	struct hv_digests d;
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_dvrt_site, &d) == HV_OK);
	CHECK(same(&d, &x.ref));
	/* the walker reports the one site; the byte after its width counts */
	struct hv_pe pe;
	struct hv_pe_loadcfg lc;
	uint32_t site = 0;
	dvrt_width = 0;
	if (hv_pe_parse(&pe, x.f, x.len, HV_LAYOUT_FILE, &why) == HV_OK) {
		CHECK(hv_pe_loadcfg(&pe, &lc, &why) == HV_OK);
		CHECK(lc.dvrt_section == 2 && lc.dvrt_offset == 0x700);
		CHECK(hv_pe_dvrt(&pe, &lc, get_dvrt_site, &site, &why) == HV_OK);
		hv_pe_free(&pe);
	}
	CHECKF(site == x.s.text_rva + 0x60 && dvrt_width >= 5 && dvrt_width <= 16, "site 0x%x width %u", site,
	       dvrt_width);
	CHECK(loaded_digest(&x, 0xfffff80000000000ull, 0, edit_after_dvrt_site, &d) == HV_OK);
	CHECK(!same(&d, &x.ref));
	fx_done(&x);
}

/* ---- algorithms, stats, definition --------------------------------------- */

static void test_canon_algorithms_by_mask(void)
{
	struct fixture x;
	hv_why why;
	fx_init(&x, PB_PE32PLUS);
	CHECK(x.ref.mask == HV_ALGS_ALL);
	for (unsigned m = 1; m <= HV_ALGS_ALL; m++) {
		struct hv_digests d;
		CHECK(canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, m, &d, NULL, &why) == HV_OK);
		CHECKF(d.mask == m, "mask %u gave %u", m, d.mask);
		for (int a = 0; a < HV_NALGS; a++)
			if (m & HV_ALG_BIT(a))
				CHECKF(memcmp(d.d[a], x.ref.d[a], hv_alg_size(a)) == 0, "mask %u alg %d", m, a);
	}
	/* the three digests are not trivially related */
	CHECK(memcmp(x.ref.d[HV_SHA1], x.ref.d[HV_SHA256], 20) != 0);
	CHECK(memcmp(x.ref.d[HV_SHA256], x.ref.d[HV_SHA384], 32) != 0);
	fx_done(&x);
}

static void test_canon_stats(void)
{
	struct fixture x;
	hv_why why;
	struct hv_digests d;
	struct hv_canon_stats st;
	fx_init(&x, PB_PE32PLUS);
	memset(&st, 0xff, sizeof(st));
	CHECK(canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, &st, &why) == HV_OK);
	CHECK(st.regions == 5);
	CHECK(st.bytes_covered == 0x400 + 0x180 + 0x800 + 0x200 + x.s.reloc_size);
	CHECKF(st.relocs == 4, "relocs %u", st.relocs);
	CHECK(st.unknown_relocs == 0);
	CHECK(st.masked >= 4); /* ImageBase, two IATs, cookie, debug entry */
	fx_done(&x);
}

static void test_canon_matches_definition_for_plain_image(void)
{
	/* An image with nothing to normalize but ImageBase: the digest is
	 * SHA-256("hvima-canon-v1\0" || le32 rva || le32 len || bytes ...). */
	struct pb b;
	size_t len;
	pb_init(&b, PB_PE32PLUS);
	pb_add_section(&b, ".text", 0x1000, 0x10, 0x200, 0x60000020u);
	pb_add_section(&b, ".data", 0x2000, 0, 0x200, 0xc0000040u);
	memset(pb_at(&b, 0x1000, 0x200), 0xab, 0x200);
	memset(pb_at(&b, 0x2000, 0x200), 0xcd, 0x200);
	uint8_t *f = pb_link(&b, &len);
	struct hv_digests got, want;
	hv_why why;
	CHECK(canon_of(f, len, HV_LAYOUT_FILE, 0, HV_ALG_BIT(HV_SHA256), &got, NULL, &why) == HV_OK);

	uint8_t hdr[0x200];
	memcpy(hdr, f, sizeof(hdr));
	memset(hdr + b.opt_off + PB_OPT64_IMAGE_BASE, 0, 8);
	struct hv_mh h;
	uint8_t rl[8];
	hv_mh_init(&h, HV_ALG_BIT(HV_SHA256));
	hv_mh_update(&h, "hvima-canon-v1", 15);
	hv_put_le32(rl, 0), hv_put_le32(rl + 4, 0x200);
	hv_mh_update(&h, rl, 8);
	hv_mh_update(&h, hdr, 0x200);
	hv_put_le32(rl, 0x1000), hv_put_le32(rl + 4, 0x10);
	hv_mh_update(&h, rl, 8);
	hv_mh_update(&h, f + 0x200, 0x10);
	hv_put_le32(rl, 0x2000), hv_put_le32(rl + 4, 0x200); /* VirtualSize 0: all raw bytes */
	hv_mh_update(&h, rl, 8);
	hv_mh_update(&h, f + 0x400, 0x200);
	hv_mh_update(&h, "\0\0\0\0", 4); /* step 4: no import tables */
	hv_mh_final(&h, &want);
	CHECK(memcmp(got.d[HV_SHA256], want.d[HV_SHA256], 32) == 0);
	free(f);
	pb_free(&b);
}

/* ---- failures ------------------------------------------------------------- */

/* The standard image with one more hand-written relocation block. */
static void extra_reloc_block(struct fixture *x, uint32_t page, uint16_t entry)
{
	pb_std_init(&x->s, PB_PE32PLUS);
	uint32_t at = x->s.reloc_rva + x->s.reloc_size;
	pb_put32(&x->s.b, at, page);
	pb_put32(&x->s.b, at + 4, 12);
	pb_put16(&x->s.b, at + 8, entry);
	pb_put16(&x->s.b, at + 10, 0);
	x->s.b.dirs[5].size += 12;
	x->s.b.sec[3].vsize += 12;
	x->f = pb_link(&x->s.b, &x->len);
}

static void test_canon_reloc_site_outside_image(void)
{
	struct fixture x;
	hv_why why;
	struct hv_digests d;
	/* a DIR64 site past SizeOfImage */
	extra_reloc_block(&x, 0x10000, 0xa010);
	int rc = canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, NULL, &why);
	CHECKF(rc == HV_E_RANGE && why.msg[0], "status %d: %s", rc, why.msg);
	fx_done(&x);
	/* straddling SizeOfImage (0x5000) */
	extra_reloc_block(&x, 0x4000, 0xaffc);
	rc = canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, NULL, &why);
	CHECKF(rc == HV_E_RANGE && why.msg[0], "status %d: %s", rc, why.msg);
	fx_done(&x);
	/* at the top of the 32-bit RVA space */
	extra_reloc_block(&x, 0xfffff000u, 0xaffc);
	rc = canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, NULL, &why);
	CHECKF(rc == HV_E_RANGE && why.msg[0], "status %d: %s", rc, why.msg);
	fx_done(&x);
}

static void test_canon_reloc_site_straddles_copied_bytes(void)
{
	/* .text's copied bytes end at 0x1180: a DIR64 at 0x117c is half in */
	struct fixture x;
	hv_why why;
	struct hv_digests d;
	extra_reloc_block(&x, 0x1000, 0xa17c);
	int rc = canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, NULL, &why);
	CHECKF(rc == HV_E_RANGE && why.msg[0], "status %d: %s", rc, why.msg);
	fx_done(&x);
}

static void test_canon_loaded_input_too_short(void)
{
	struct fixture x;
	size_t n;
	hv_why why;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	uint8_t *img = pb_load(&x.s.b, x.f, 0x180000000ull, 0, &n);
	/* the copy stops inside .reloc's bytes */
	int rc = canon_of(img, 0x4004, HV_LAYOUT_LOADED, 0x180000000ull, HV_ALGS_ALL, &d, NULL, &why);
	CHECKF(rc == HV_E_RANGE && why.msg[0], "status %d: %s", rc, why.msg);
	free(img);
	fx_done(&x);
}

static void test_canon_bad_directory_fails_closed(void)
{
	/* a malformed import directory is an error, not a silent skip */
	struct fixture x;
	hv_why why;
	struct hv_digests d;
	fx_init(&x, PB_PE32PLUS);
	hv_put_le32(x.f + x.s.b.dirs_off + PB_DIRENT_SIZE * 1, 0xfffffff0u);
	int rc = canon_of(x.f, x.len, HV_LAYOUT_FILE, 0, HV_ALGS_ALL, &d, NULL, &why);
	CHECKF(rc < 0 && why.msg[0], "status %d", rc);
	fx_done(&x);
}

int main(void)
{
	RUN(test_canon_file_equals_loaded_pe32plus);
	RUN(test_canon_file_equals_loaded_pe32);
	RUN(test_canon_file_equals_loaded_te);
	RUN(test_canon_preferred_base_ignored);
	RUN(test_canon_image_base_field_ignored);
	RUN(test_canon_section_byte_changes_digest);
	RUN(test_canon_header_byte_changes_digest);
	RUN(test_canon_raw_padding_ignored);
	RUN(test_canon_gap_between_sections_ignored);
	RUN(test_canon_iat_slot_ignored);
	RUN(test_canon_import_dll_name_counts);
	RUN(test_canon_reloc_site_change_counts);
	RUN(test_canon_reloc_site_change_counts_pe32);
	RUN(test_canon_security_cookie_ignored);
	RUN(test_canon_security_cookie_ignored_pe32);
	RUN(test_canon_debug_address_of_raw_data_ignored);
	RUN(test_canon_cfg_pointer_slot_ignored);
	RUN(test_canon_dvrt_site_ignored);
	RUN(test_canon_algorithms_by_mask);
	RUN(test_canon_stats);
	RUN(test_canon_matches_definition_for_plain_image);
	RUN(test_canon_reloc_site_outside_image);
	RUN(test_canon_reloc_site_straddles_copied_bytes);
	RUN(test_canon_loaded_input_too_short);
	RUN(test_canon_bad_directory_fails_closed);
	return tap_done();
}
