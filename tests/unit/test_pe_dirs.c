/*
 * test_pe_dirs.c: the directory walkers of lib/pe_dirs.c (base
 * relocations, imports, Load Config, debug directory, CodeView and export
 * names) on synthetic images: exact results on well-formed ones, a status
 * and a reason on each malformation.
 */
#include "pecheck.h"

/* ---- Base relocations --------------------------------------------------- */

static void test_relocs_exact_list(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	struct rlist l = {0};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	rc = hv_pe_relocs(&pe, collect_reloc, &l, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	static const struct {
		uint32_t rva;
		unsigned type;
	} want[] = {
		{0x1010, 10}, {0x1020, 10},                    /* page 0x1000: 2 entries */
		{0x2300 + PB_LC64_SECURITY_COOKIE, 10}, {0x2000, 0}, /* + ABSOLUTE padding */
		{0x3008, 10}, {0x3000, 0},
	};
	CHECKF(l.n == 6, "%d entries", l.n);
	for (int i = 0; i < 6 && i < l.n; i++)
		CHECKF(l.e[i].rva == want[i].rva && l.e[i].type == want[i].type && l.e[i].arg == 0,
		       "entry %d: 0x%x type %u", i, l.e[i].rva, l.e[i].type);
	CHECK(s.reloc_size == 3 * 12);
	hv_pe_free(&pe);
out:
	std_done(&s, f);
}

/* An image with a hand-written relocation directory of `size` bytes at
 * 0x4000 (raw data 0x200 bytes, filled from words). */
static uint8_t *reloc_image(struct pb *b, enum pb_kind k, const uint16_t *words, int nwords, uint32_t dir_size,
			    size_t *len)
{
	pb_init(b, k);
	pb_add_section(b, ".text", 0x1000, 0x100, 0x200, 0x60000020u);
	pb_add_section(b, ".reloc", 0x4000, 0x200, 0x200, 0x42000040u);
	for (int i = 0; i < nwords; i++)
		pb_put16(b, 0x4000 + 2 * (uint32_t)i, words[i]);
	b->dirs[5].rva = 0x4000;
	b->dirs[5].size = dir_size;
	return pb_link(b, len);
}

#define W32(v) (uint16_t)((v)&0xffff), (uint16_t)((uint32_t)(v) >> 16)

static void test_relocs_highadj_parameter(void)
{
	static const uint16_t w[] = {
		W32(0x1000), W32(20),
		0x4010, 0x8000, /* HIGHADJ at 0x10, parameter 0x8000 */
		0x3020, 0x1030, 0x2040, 0x0000,
	};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32, w, 10, 20, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	struct rlist l = {0};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_pe_relocs(&pe, collect_reloc, &l, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		CHECKF(l.n == 5, "%d entries", l.n);
		CHECK(l.e[0].rva == 0x1010 && l.e[0].type == HV_REL_HIGHADJ && l.e[0].arg == 0x8000);
		CHECK(l.e[1].rva == 0x1020 && l.e[1].type == HV_REL_HIGHLOW && l.e[1].arg == 0);
		CHECK(l.e[2].rva == 0x1030 && l.e[2].type == HV_REL_HIGH);
		CHECK(l.e[3].rva == 0x1040 && l.e[3].type == HV_REL_LOW);
		CHECK(l.e[4].rva == 0x1000 && l.e[4].type == HV_REL_ABSOLUTE);
		hv_pe_free(&pe);
	}
	CHECK(hv_reloc_width(HV_REL_DIR64) == 8 && hv_reloc_width(HV_REL_HIGHLOW) == 4);
	CHECK(hv_reloc_width(HV_REL_HIGH) == 2 && hv_reloc_width(HV_REL_LOW) == 2);
	CHECK(hv_reloc_width(HV_REL_ABSOLUTE) == 0 && hv_reloc_width(7) == 0);
	free(f);
	pb_free(&b);
}

static void test_relocs_highadj_without_parameter(void)
{
	static const uint16_t w[] = {W32(0x1000), W32(12), 0x3020, 0x4010};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32, w, 6, 12, &len);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_FORMAT);
	free(f);
	pb_free(&b);
}

static void test_relocs_block_past_end(void)
{
	/* SizeOfBlock 0x100 in a directory of 12 bytes */
	static const uint16_t w[] = {W32(0x1000), W32(0x100), 0xa010, 0xa020};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 6, 12, &len);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_RANGE);
	free(f);
	pb_free(&b);
}

static void test_relocs_directory_past_image(void)
{
	struct pb b;
	size_t len;
	static const uint16_t w[] = {W32(0x1000), W32(12), 0xa010, 0xa020};
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 6, 0x201, &len); /* one byte past the copied data */
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_RANGE);
	set_dir(&b, f, 5, 0xfffffff8u, 0x10);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_RANGE);
	set_dir(&b, f, 5, 0x4000, 0xffffffffu);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_RANGE);
	free(f);
	pb_free(&b);
}

static void test_relocs_block_size_too_small(void)
{
	for (uint32_t bs = 0; bs < 8; bs += 2) {
		uint16_t w[] = {W32(0x1000), W32(bs), 0xa010, 0xa020};
		struct pb b;
		size_t len;
		uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 6, 12, &len);
		CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_FORMAT);
		free(f);
		pb_free(&b);
	}
}

static void test_relocs_block_size_odd(void)
{
	static const uint16_t w[] = {W32(0x1000), W32(11), 0xa010, 0xa020};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 6, 12, &len);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_FORMAT);
	free(f);
	pb_free(&b);
}

static void test_relocs_truncated_block_header(void)
{
	/* a whole block, then 4 bytes of another */
	static const uint16_t w[] = {W32(0x1000), W32(12), 0xa010, 0xa020, W32(0x2000)};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 8, 16, &len);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_TRUNCATED);
	free(f);
	pb_free(&b);
}

static void test_relocs_zero_size_directory(void)
{
	static const uint16_t w[] = {W32(0x1000), W32(12), 0xa010, 0xa020};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 6, 0, &len);
	/* an RVA with size 0 walks nothing: reported as no directory */
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_ABSENT);
	set_dir(&b, f, 5, 0, 0);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_RELOCS, HV_E_ABSENT);
	free(f);
	pb_free(&b);
}

static void test_relocs_page_wraps_past_4gib(void)
{
	static const uint16_t w[] = {W32(0xfffff000u), W32(12), 0xafff, 0xa000};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 6, 12, &len);
	/* 0xfffff000 + 0xfff does not wrap; the walker reports it, canon must refuse it */
	hv_why why;
	int rc = walk(f, len, HV_LAYOUT_FILE, W_RELOCS, &why);
	CHECKF(rc == HV_OK || rc == HV_E_RANGE, "status %d: %s", rc, why.msg);
	free(f);
	pb_free(&b);
}

static void test_relocs_zero_padding_ends_walk(void)
{
	/* a block followed by zero padding up to the directory size */
	static const uint16_t w[] = {W32(0x1000), W32(12), 0xa010, 0xa020, 0, 0, 0, 0};
	struct pb b;
	size_t len;
	uint8_t *f = reloc_image(&b, PB_PE32PLUS, w, 10, 20, &len);
	hv_why why;
	int rc = walk(f, len, HV_LAYOUT_FILE, W_RELOCS, &why);
	CHECKF(rc == HV_OK, "status %d: %s", rc, why.msg);
	free(f);
	pb_free(&b);
}

/* ---- Imports ------------------------------------------------------------ */

static void test_imports_exact(void)
{
	for (int k = 0; k < 2; k++) {
		struct pb_std s;
		size_t len, ilen;
		uint8_t *f = std_file(&s, k ? PB_PE32 : PB_PE32PLUS, &len);
		uint8_t *img = pb_load(&s.b, f, 0x10000000u, 0x77, &ilen);
		for (int l = 0; l < 2; l++) {
			struct hv_pe pe;
			hv_why why = {{0}};
			struct ilist il = {0};
			int rc = l ? hv_pe_parse(&pe, img, ilen, HV_LAYOUT_LOADED, &why)
				   : hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
			CHECKF(rc == HV_OK, "%s", why.msg);
			if (rc != HV_OK)
				continue;
			rc = hv_pe_imports(&pe, collect_import, &il, &why);
			CHECKF(rc == HV_OK, "%s", why.msg);
			CHECKF(il.n == 2, "%d imports", il.n);
			for (int i = 0; i < 2 && i < il.n; i++) {
				CHECKF(strcmp(il.e[i].dll, s.dll[i].name) == 0, "dll %d: %s", i, il.e[i].dll);
				CHECK(il.e[i].desc_rva == s.dll[i].desc_rva);
				CHECK(il.e[i].ilt_rva == s.dll[i].ilt_rva);
				CHECK(il.e[i].iat_rva == s.dll[i].iat_rva);
				CHECK(il.e[i].nthunks == (uint32_t)s.dll[i].nfuncs);
				CHECK(il.e[i].thunk_size == (k ? 4 : 8));
				CHECK(il.e[i].handle_rva == 0);
			}
			CHECK(s.dll[0].iat_rva == 0x2000);
			CHECK(s.dll[1].iat_rva == (k ? 0x2010u : 0x2020u));
			hv_pe_free(&pe);
		}
		free(img);
		std_done(&s, f);
	}
}

static void test_imports_absent(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	set_dir(&s.b, f, 1, 0, 0);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_ABSENT);
	std_done(&s, f);
}

static void test_imports_descriptors_loop(void)
{
	/* A descriptor table whose RVA arithmetic would wrap past 4 GiB */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	static const uint32_t bad[] = {0xffffffffu, 0xfffffff0u, 0xffffffecu, 0x80000000u, 0x5000};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_dir(&s.b, f, 1, bad[i], 0x28);
		CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	}
	std_done(&s, f);
}

static void test_imports_descriptors_never_terminated(void)
{
	/* 5000 identical valid descriptors, past HV_CAP_IMPORT_DESCRIPTORS */
	struct pb b;
	size_t len;
	uint32_t n = HV_CAP_IMPORT_DESCRIPTORS + 100, tbl = 0x2000;
	uint32_t sz = n * PB_IMP_SIZE + 0x100;
	pb_init(&b, PB_PE32PLUS);
	pb_add_section(&b, ".idata", 0x1000, 0x100, 0x200, 0xc0000040u);
	pb_add_section(&b, ".desc", tbl, sz, sz, 0x40000040u);
	pb_puts(&b, 0x1000, "A.dll");
	pb_put64(&b, 0x1010, 0x1080); /* one thunk, then 0 */
	pb_puts(&b, 0x1082, "f");
	for (uint32_t i = 0; i < n; i++) {
		pb_put32(&b, tbl + i * PB_IMP_SIZE + PB_IMP_ILT, 0x1010);
		pb_put32(&b, tbl + i * PB_IMP_SIZE + PB_IMP_NAME, 0x1000);
		pb_put32(&b, tbl + i * PB_IMP_SIZE + PB_IMP_IAT, 0x1010);
	}
	b.dirs[1].rva = tbl;
	b.dirs[1].size = PB_IMP_SIZE;
	uint8_t *f = pb_link(&b, &len);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_CAP);
	free(f);
	pb_free(&b);
}

static void test_imports_no_terminator(void)
{
	/* Two descriptors end exactly at the end of .rdata's bytes */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint32_t at = 0x2800 - 2 * PB_IMP_SIZE;
	memcpy(f + pb_file_off(&s.b, at), f + pb_file_off(&s.b, s.dll[0].desc_rva), 2 * PB_IMP_SIZE);
	set_dir(&s.b, f, 1, at, 2 * PB_IMP_SIZE);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	std_done(&s, f);
}

static void test_imports_thunks_unterminated(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* ntoskrnl's lookup table moved to the last 0x40 bytes of .rdata, all non-zero */
	uint32_t at = 0x2800 - 0x40;
	memset(f + pb_file_off(&s.b, at), 0x41, 0x40);
	hv_put_le32(f + pb_file_off(&s.b, s.dll[1].desc_rva + PB_IMP_ILT), at);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	/* without a lookup table the IAT is counted: same */
	hv_put_le32(f + pb_file_off(&s.b, s.dll[1].desc_rva + PB_IMP_ILT), 0);
	hv_put_le32(f + pb_file_off(&s.b, s.dll[1].desc_rva + PB_IMP_IAT), at);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	std_done(&s, f);
}

static void test_imports_iat_shorter_than_ilt(void)
{
	/* the lookup table has 3 entries; the IAT starts 8 bytes before the end of .rdata */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(f + pb_file_off(&s.b, s.dll[0].desc_rva + PB_IMP_IAT), 0x2800 - 8);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	std_done(&s, f);
}

static void test_imports_huge_thunk_count(void)
{
	/* HV_CAP_IMPORT_THUNKS + 1 non-zero entries */
	struct pb b;
	size_t len;
	uint32_t n = HV_CAP_IMPORT_THUNKS + 1;
	uint32_t sz = (n + 1) * 4 + 0x100;
	pb_init(&b, PB_PE32);
	pb_add_section(&b, ".idata", 0x1000, 0x100, 0x200, 0xc0000040u);
	pb_add_section(&b, ".thunks", 0x2000, sz, sz, 0x40000040u);
	pb_puts(&b, 0x1000, "BIG.dll");
	pb_puts(&b, 0x1042, "f");
	for (uint32_t i = 0; i < n; i++)
		pb_put32(&b, 0x2000 + 4 * i, 0x1040);
	pb_put32(&b, 0x1080 + PB_IMP_ILT, 0x2000);
	pb_put32(&b, 0x1080 + PB_IMP_NAME, 0x1000);
	pb_put32(&b, 0x1080 + PB_IMP_IAT, 0x2000);
	b.dirs[1].rva = 0x1080;
	b.dirs[1].size = 2 * PB_IMP_SIZE;
	uint8_t *f = pb_link(&b, &len);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_CAP);
	free(f);
	pb_free(&b);
}

static void test_imports_name_unterminated(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint32_t at = 0x2800 - 0x10;
	memset(f + pb_file_off(&s.b, at), 'A', 0x10);
	hv_put_le32(f + pb_file_off(&s.b, s.dll[1].desc_rva + PB_IMP_NAME), at);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	/* a name RVA outside the image */
	hv_put_le32(f + pb_file_off(&s.b, s.dll[1].desc_rva + PB_IMP_NAME), 0xfffffffeu);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_RANGE);
	std_done(&s, f);
}

static void test_imports_name_too_long(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint32_t at = 0x2600;
	memset(f + pb_file_off(&s.b, at), 'B', HV_CAP_NAME + 10);
	f[pb_file_off(&s.b, at) + HV_CAP_NAME + 10] = 0;
	hv_put_le32(f + pb_file_off(&s.b, s.dll[0].desc_rva + PB_IMP_NAME), at);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_IMPORTS, HV_E_FORMAT);
	std_done(&s, f);
}

/* ---- Load Config ---------------------------------------------------------- */

static void test_loadcfg_exact(void)
{
	for (int k = 0; k < 2; k++) {
		struct pb_std s;
		size_t len;
		uint8_t *f = std_file(&s, k ? PB_PE32 : PB_PE32PLUS, &len);
		struct hv_pe pe;
		struct hv_pe_loadcfg lc;
		hv_why why = {{0}};
		int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		if (rc == HV_OK) {
			rc = hv_pe_loadcfg(&pe, &lc, &why);
			CHECKF(rc == HV_OK, "%s", why.msg);
			CHECK(lc.rva == s.loadcfg_rva);
			CHECK(lc.size == (k ? PB_LC32_STRUCT_SIZE : PB_LC64_STRUCT_SIZE));
			CHECK(lc.security_cookie == s.b.image_base + s.cookie_rva);
			CHECK(lc.guard_cf_check_fptr == 0 && lc.dvrt_section == 0);
			CHECK(hv_pe_dvrt(&pe, &lc, NULL, NULL, &why) == HV_E_ABSENT);
			hv_pe_free(&pe);
		}
		std_done(&s, f);
	}
}

static void test_loadcfg_truncated(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* the directory points at the last 2 bytes of .rdata: no room for Size */
	set_dir(&s.b, f, 10, 0x2800 - 2, 0x140);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_LOADCFG, HV_E_RANGE);
	/* a Size field below 4 */
	set_dir(&s.b, f, 10, s.loadcfg_rva, 0x140);
	hv_put_le32(f + pb_file_off(&s.b, s.loadcfg_rva), 2);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_LOADCFG, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_loadcfg_size_field_larger_than_data(void)
{
	/* The structure sits 0x48 bytes before the end of .rdata and its Size
	 * says 0x140: lib fails closed (HV_E_TRUNCATED) rather than reading
	 * the fields that are present. (pe.h's comment on lc.size says
	 * "bounded by the bytes present"; reported.) */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32, &len);
	uint32_t at = 0x2800 - 0x48;
	memcpy(f + pb_file_off(&s.b, at), f + pb_file_off(&s.b, s.loadcfg_rva), 0x48);
	hv_put_le32(f + pb_file_off(&s.b, at), 0x140);
	set_dir(&s.b, f, 10, at, 0x48);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_LOADCFG, HV_E_TRUNCATED);
	/* Size far past the image */
	hv_put_le32(f + pb_file_off(&s.b, at), 0xfffffff0u);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_LOADCFG, HV_E_TRUNCATED);
	std_done(&s, f);
}

static void test_loadcfg_size_field_larger_than_directory(void)
{
	/* The directory entry says 0x40 (old linkers), the structure's own
	 * Size 0xc0 and its bytes are present: the Size field wins. */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32, &len);
	set_dir(&s.b, f, 10, s.loadcfg_rva, 0x40);
	struct hv_pe pe;
	struct hv_pe_loadcfg lc;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_pe_loadcfg(&pe, &lc, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		CHECK(lc.size == PB_LC32_STRUCT_SIZE);
		CHECK(lc.security_cookie == s.b.image_base + s.cookie_rva);
		hv_pe_free(&pe);
	}
	std_done(&s, f);
}

static void test_loadcfg_short_structure(void)
{
	/* an old Size (0x40) leaves SecurityCookie (offset 88) out */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(f + pb_file_off(&s.b, s.loadcfg_rva), 0x40);
	struct hv_pe pe;
	struct hv_pe_loadcfg lc;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_pe_loadcfg(&pe, &lc, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		CHECK(lc.size == 0x40);
		CHECK(lc.security_cookie == 0);
		hv_pe_free(&pe);
	}
	std_done(&s, f);
}

/* ---- Debug directory, CodeView, exports ----------------------------------- */

static void test_debug_and_names_exact(void)
{
	struct pb_std s;
	size_t len, ilen;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint8_t *img = pb_load(&s.b, f, 0xfffff80000000000ull, 0, &ilen);
	for (int l = 0; l < 2; l++) {
		struct hv_pe pe;
		hv_why why = {{0}};
		char name[HV_CAP_NAME + 1];
		int n = 0;
		int rc = l ? hv_pe_parse(&pe, img, ilen, HV_LAYOUT_LOADED, &why)
			   : hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		if (rc != HV_OK)
			continue;
		CHECK(hv_pe_debug_entries(&pe, count_debug, &n, &why) == HV_OK && n == 1);
		CHECK(hv_pe_codeview_name(&pe, name, sizeof(name), &why) == HV_OK);
		CHECKF(strcmp(name, "c:\\build\\obj\\drv.pdb") == 0, "%s", name);
		CHECK(hv_pe_export_name(&pe, name, sizeof(name), &why) == HV_OK);
		CHECK(strcmp(name, "drv.sys") == 0);
		hv_pe_best_name(&pe, name, sizeof(name));
		CHECK(strcmp(name, "drv.sys") == 0);
		/* a short buffer cuts, terminated */
		CHECK(hv_pe_codeview_name(&pe, name, 5, &why) == HV_OK && strcmp(name, "c:\\b") == 0);
		hv_pe_free(&pe);
	}
	/* without an export name, the PDB base name */
	set_dir(&s.b, f, 0, 0, 0);
	struct hv_pe pe;
	hv_why why;
	char name[64];
	if (hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why) == HV_OK) {
		hv_pe_best_name(&pe, name, sizeof(name));
		CHECKF(strcmp(name, "drv.pdb") == 0, "%s", name);
		CHECK(hv_pe_export_name(&pe, name, sizeof(name), &why) == HV_E_ABSENT);
		hv_pe_free(&pe);
	}
	free(img);
	std_done(&s, f);
}

static void test_debug_entries_huge_count(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	set_dir(&s.b, f, 6, 0x2000, (HV_CAP_DEBUG_ENTRIES + 1) * PB_DBG_ENTRY);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_DEBUG, HV_E_CAP);
	set_dir(&s.b, f, 6, 0x2000, 0xffffffffu);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_DEBUG, HV_E_CAP);
	std_done(&s, f);
}

static void test_debug_directory_past_section(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	set_dir(&s.b, f, 6, 0x2800 - PB_DBG_ENTRY + 4, PB_DBG_ENTRY);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_DEBUG, HV_E_RANGE);
	std_done(&s, f);
}

static void test_codeview_name_unterminated(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* SizeOfData ends before the NUL */
	uint32_t e = pb_file_off(&s.b, s.debug_rva);
	hv_put_le32(f + e + PB_DBG_SIZE_OF_DATA, 24 + 5);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_CODEVIEW, HV_E_FORMAT);
	/* the record at the end of .rdata, SizeOfData running past it */
	uint32_t at = 0x2800 - 30;
	memcpy(f + pb_file_off(&s.b, at), f + pb_file_off(&s.b, s.cv_rva), 30);
	hv_put_le32(f + e + PB_DBG_ADDRESS, at);
	hv_put_le32(f + e + PB_DBG_SIZE_OF_DATA, 60);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_CODEVIEW, HV_E_RANGE);
	/* RVA 0: the file offset is used; past the end of the file */
	hv_put_le32(f + e + PB_DBG_ADDRESS, 0);
	hv_put_le32(f + e + PB_DBG_POINTER, (uint32_t)len - 20);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_CODEVIEW, HV_E_RANGE);
	std_done(&s, f);
}

static void test_codeview_bad_signature(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	f[pb_file_off(&s.b, s.cv_rva)] = 'X';
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_CODEVIEW, HV_E_FORMAT);
	/* "RSDS" but SizeOfData too small for its header */
	f[pb_file_off(&s.b, s.cv_rva)] = 'R';
	hv_put_le32(f + pb_file_off(&s.b, s.debug_rva) + PB_DBG_SIZE_OF_DATA, 3);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_CODEVIEW, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_export_name_unterminated(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint32_t at = 0x2800 - 4;
	memset(f + pb_file_off(&s.b, at), 'x', 4);
	hv_put_le32(f + pb_file_off(&s.b, s.export_rva + PB_EXP_NAME), at);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_EXPORT, HV_E_RANGE);
	set_dir(&s.b, f, 0, 0x2800 - 20, 40);
	CHECK_WALK_FAILS(f, len, HV_LAYOUT_FILE, W_EXPORT, HV_E_RANGE);
	std_done(&s, f);
}

int main(void)
{
	RUN(test_relocs_exact_list);
	RUN(test_relocs_highadj_parameter);
	RUN(test_relocs_highadj_without_parameter);
	RUN(test_relocs_block_past_end);
	RUN(test_relocs_directory_past_image);
	RUN(test_relocs_block_size_too_small);
	RUN(test_relocs_block_size_odd);
	RUN(test_relocs_truncated_block_header);
	RUN(test_relocs_zero_size_directory);
	RUN(test_relocs_page_wraps_past_4gib);
	RUN(test_relocs_zero_padding_ends_walk);
	RUN(test_imports_exact);
	RUN(test_imports_absent);
	RUN(test_imports_descriptors_loop);
	RUN(test_imports_descriptors_never_terminated);
	RUN(test_imports_no_terminator);
	RUN(test_imports_thunks_unterminated);
	RUN(test_imports_iat_shorter_than_ilt);
	RUN(test_imports_huge_thunk_count);
	RUN(test_imports_name_unterminated);
	RUN(test_imports_name_too_long);
	RUN(test_loadcfg_exact);
	RUN(test_loadcfg_truncated);
	RUN(test_loadcfg_size_field_larger_than_data);
	RUN(test_loadcfg_size_field_larger_than_directory);
	RUN(test_loadcfg_short_structure);
	RUN(test_debug_and_names_exact);
	RUN(test_debug_entries_huge_count);
	RUN(test_debug_directory_past_section);
	RUN(test_codeview_name_unterminated);
	RUN(test_codeview_bad_signature);
	RUN(test_export_name_unterminated);
	return tap_done();
}
