/*
 * test_pe.c: headers, sections and RVA mapping of lib/pe.c (PE32, PE32+,
 * TE) on synthetic images (pebuild.h). Each failure test is named after
 * the malformation it covers and checks the status and that a reason was
 * written; the SANITIZE=1 build checks that none makes lib read out of
 * bounds.
 */
#include "pecheck.h"

/* ---- hv_pe_parse: malformed headers ----------------------------------- */

static void test_parse_empty_input(void)
{
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, NULL, 0, HV_LAYOUT_FILE, &why);
	CHECK_STATUS(rc, HV_E_TRUNCATED, why);
	CHECK_PARSE_FAILS((const uint8_t *)"", 0, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	CHECK_PARSE_FAILS((const uint8_t *)"M", 1, HV_LAYOUT_LOADED, HV_E_TRUNCATED);
}

static void test_parse_null_why_does_not_crash(void)
{
	struct hv_pe pe;
	uint8_t *c = dup_n((const uint8_t *)"MZ", 2);
	CHECK(hv_pe_parse(&pe, c, 2, HV_LAYOUT_FILE, NULL) == HV_E_TRUNCATED);
	free(c);
}

static void test_parse_truncated_dos_header(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	for (size_t n = 2; n < PB_DOS_LFANEW + 4; n++)
		CHECK_PARSE_FAILS(f, n, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	std_done(&s, f);
}

static void test_parse_bad_mz(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	f[1] = 'X';
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	f[0] = 0, f[1] = 0;
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_parse_bad_pe_signature(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	f[s.b.pe_off + 2] = 1; /* "PE\1\0" */
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_parse_e_lfanew_past_end(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* the signature would straddle the end, or start at it */
	hv_put_le32(f + PB_DOS_LFANEW, 0x7e);
	CHECK_PARSE_FAILS(f, 0x80, HV_LAYOUT_FILE, HV_E_RANGE);
	hv_put_le32(f + PB_DOS_LFANEW, 0x80);
	CHECK_PARSE_FAILS(f, 0x80, HV_LAYOUT_FILE, HV_E_RANGE);
	hv_put_le32(f + PB_DOS_LFANEW, (uint32_t)len);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_e_lfanew_huge(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	static const uint32_t bad[] = {0xffffffffu, 0xfffffffcu, 0x80000000u, HV_CAP_LFANEW + 4};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hv_put_le32(f + PB_DOS_LFANEW, bad[i]);
		CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_CAP);
	}
	std_done(&s, f);
}

static void test_parse_truncated_coff_header(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	for (uint32_t n = s.b.coff_off; n < s.b.coff_off + PB_COFF_SIZE; n++)
		CHECK_PARSE_FAILS(f, n, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	std_done(&s, f);
}

static void test_parse_truncated_optional_header(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	for (uint32_t n = s.b.opt_off; n < s.b.sect_off; n += 7)
		CHECK_PARSE_FAILS(f, n, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	CHECK_PARSE_FAILS(f, s.b.sect_off - 1, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	std_done(&s, f);
}

static void test_parse_truncated_section_table(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32, &len);
	/* SizeOfHeaders (0x400) lies past the cut too: either reason will do */
	int rc;
	hv_why why;
	rc = parse_n(f, s.b.sect_off + PB_SH_SIZE + 3, HV_LAYOUT_FILE, &why);
	CHECK_STATUS(rc, HV_E_TRUNCATED, why);
	std_done(&s, f);
}

static void test_parse_bad_optional_magic(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	static const uint16_t bad[] = {0x107 /* ROM */, 0x0000, 0x20c, 0x10a, 0xffff};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hv_put_le16(f + s.b.opt_off + PB_OPT_MAGIC, bad[i]);
		CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	}
	std_done(&s, f);
}

static void test_parse_size_of_optional_header_too_small(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* a PE32+ header is at least 112 bytes before its directories */
	hv_put_le16(f + s.b.coff_off + PB_COFF_OPT_SIZE, PB_OPT64_DIRS - 1);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	hv_put_le16(f + s.b.coff_off + PB_COFF_OPT_SIZE, 0);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	std_done(&s, f);

	f = std_file(&s, PB_PE32, &len);
	hv_put_le16(f + s.b.coff_off + PB_COFF_OPT_SIZE, PB_OPT32_DIRS - 2);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_parse_section_table_past_headers(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint32_t table_end = s.b.sect_off + PB_SH_SIZE * (uint32_t)s.b.nsec;
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_HEADERS, table_end - 1);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	/* more sections than SizeOfHeaders has room for */
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_HEADERS, 0x400);
	hv_put_le16(f + s.b.coff_off + PB_COFF_NSECTIONS, 100);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_zero_sections(void)
{
	/* A headers-only image is valid: nothing but the headers is mapped. */
	struct pb b;
	size_t len;
	pb_init(&b, PB_PE32PLUS);
	b.size_of_image = 0x1000;
	uint8_t *f = pb_link(&b, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	CHECK(len == 0x200);
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		CHECK(pe.nsections == 0);
		CHECK(hv_pe_rva(&pe, 0, 2) == f);
		CHECK(hv_pe_rva(&pe, 0x1ff, 1) == f + 0x1ff);
		CHECK(hv_pe_rva(&pe, 0x200, 1) == NULL);
		CHECK(hv_pe_section_at(&pe, 0x100) == NULL);
		hv_pe_free(&pe);
	}
	free(f);
	pb_free(&b);
}

static void test_parse_huge_number_of_sections(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le16(f + s.b.coff_off + PB_COFF_NSECTIONS, 0xffff);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_CAP);
	hv_put_le16(f + s.b.coff_off + PB_COFF_NSECTIONS, HV_CAP_SECTIONS + 1);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_CAP);
	std_done(&s, f);
}

static void test_parse_overlapping_sections(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* .rdata starts inside .text [0x1000, 0x1180) */
	hv_put_le32(sh(&s.b, f, 1) + PB_SH_VADDR, 0x1100);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	/* the same RVA twice */
	hv_put_le32(sh(&s.b, f, 1) + PB_SH_VADDR, 0x1000);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_RANGE);
	/* .text (VirtualSize 0) covers its 0x200 raw bytes: reaches 0x1200 */
	hv_put_le32(sh(&s.b, f, 1) + PB_SH_VADDR, 0x1180);
	hv_put_le32(sh(&s.b, f, 0) + PB_SH_VSIZE, 0);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	/* a later section in the table that lies below an earlier one */
	std_done(&s, f);
	f = std_file(&s, PB_PE32, &len);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VADDR, 0x2400);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_section_beyond_size_of_image(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VSIZE, 0x1001); /* .reloc at 0x4000, image ends at 0x5000 */
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VSIZE, 0x100);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VADDR, 0xfffff000u); /* VA + size wraps in 32 bits */
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VSIZE, 0x2000);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VADDR, 0x5000);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VSIZE, 1);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_section_inside_headers(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(sh(&s.b, f, 0) + PB_SH_VADDR, 0x200); /* below SizeOfHeaders 0x400 */
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_section_raw_data_past_end_of_file(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* last section's copied bytes (VirtualSize of .reloc) cut by one; the
	 * raw padding after them may go */
	CHECK_PARSE_FAILS(f, pb_file_off(&s.b, s.reloc_rva) + s.reloc_size - 1, HV_LAYOUT_FILE, HV_E_RANGE);
	hv_why why;
	CHECK(parse_n(f, pb_file_off(&s.b, s.reloc_rva) + s.reloc_size, HV_LAYOUT_FILE, &why) == HV_OK);
	/* PointerToRawData past the end, and PointerToRawData + size wrapping */
	hv_put_le32(sh(&s.b, f, 2) + PB_SH_RAW_PTR, (uint32_t)len);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	hv_put_le32(sh(&s.b, f, 2) + PB_SH_RAW_PTR, 0xffffff00u);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_section_raw_ptr_ignored_when_loaded(void)
{
	/* In a loaded image sections sit at their RVA: raw pointers are not used. */
	struct pb_std s;
	size_t len, ilen;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint8_t *img = pb_load(&s.b, f, 0xfffff80000000000ull, 0xee, &ilen);
	hv_put_le32(sh(&s.b, img, 2) + PB_SH_RAW_PTR, 0xffffff00u);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, img, ilen, HV_LAYOUT_LOADED, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK)
		hv_pe_free(&pe);
	free(img);
	std_done(&s, f);
}

static void test_parse_section_size_huge(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(sh(&s.b, f, 0) + PB_SH_RAW_SIZE, 0xffffffffu);
	hv_put_le32(sh(&s.b, f, 0) + PB_SH_VSIZE, 0);
	hv_why why;
	int rc = parse_n(f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_E_CAP || rc == HV_E_RANGE, "status %d: %s", rc, why.msg);
	CHECK(why.msg[0]);
	std_done(&s, f);
}

static void test_parse_size_of_image_huge(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_IMAGE, 0xffffffffu);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_CAP);
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_IMAGE, HV_CAP_IMAGE_SIZE + 1);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_CAP);
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_IMAGE, 0);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_CAP);
	std_done(&s, f);
}

static void test_parse_size_of_headers_huge(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_HEADERS, 0xffffffffu);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_CAP);
	/* larger than SizeOfImage */
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_HEADERS, 0x6000);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_parse_number_of_rva_and_sizes_huge(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(f + s.b.opt_off + PB_OPT64_NDIRS, 0xffffffffu);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg); /* clamped to 16 (pe.h) */
	if (rc == HV_OK) {
		CHECK(pe.ndirs == HV_DIR_COUNT);
		CHECK(pe.ndirs_raw == 0xffffffffu);
		CHECK(hv_pe_dir(&pe, HV_DIR_IMPORT) && hv_pe_dir(&pe, HV_DIR_IMPORT)->rva == s.dll[0].desc_rva);
		hv_pe_free(&pe);
	}
	std_done(&s, f);
}

static void test_parse_number_of_rva_and_sizes_beyond_optional_header(void)
{
	/* Two directories in the header, NumberOfRvaAndSizes says 16: the
	 * entries past SizeOfOptionalHeader (the section table) are not read. */
	struct pb b;
	size_t len;
	pb_init(&b, PB_PE32);
	b.ndirs = 2;
	pb_add_section(&b, ".text", 0x1000, 0x100, 0x200, 0x60000020u);
	uint8_t *f = pb_link(&b, &len);
	hv_put_le32(f + b.opt_off + PB_OPT32_NDIRS, 16);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		CHECK(pe.ndirs == 2);
		CHECK(pe.nsections == 1);
		CHECK(hv_pe_dir(&pe, HV_DIR_BASERELOC) == NULL);
		CHECK(hv_pe_dir(&pe, HV_DIR_SECURITY) == NULL);
		hv_pe_free(&pe);
	}
	free(f);
	pb_free(&b);
}

/* ---- hv_pe_parse: well-formed images ----------------------------------- */

static void test_parse_pe32plus_fields(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	CHECK(pe.kind == HV_PE32PLUS);
	CHECK(pe.machine == HV_MACHINE_AMD64);
	CHECK(pe.nsections == 4);
	CHECK(pe.timestamp == 0x5f000000u);
	CHECK(pe.characteristics == 0x0022);
	CHECK(pe.subsystem == HV_SUBSYS_EFI_APPLICATION);
	CHECK(pe.dll_characteristics == 0x0160);
	CHECK(pe.image_base == 0x140000000ull);
	CHECK(pe.size_of_image == 0x5000);
	CHECK(pe.size_of_headers == 0x400);
	CHECK(pe.entry_rva == 0x1000);
	CHECK(pe.checksum == 0);
	CHECK(pe.pe_off == 0x80);
	CHECK(pe.opt_off == 0x98);
	CHECK(pe.opt_size == PB_OPT64_DIRS + 16 * PB_DIRENT_SIZE);
	CHECK(pe.image_base_off == 0x98 + PB_OPT64_IMAGE_BASE);
	CHECK(pe.image_base_width == 8);
	CHECK(pe.checksum_off == 0x98 + HV_OPT_CHECKSUM);
	CHECK(pe.dirs_off == 0x98 + HV_OPT64_DIRS);
	CHECK(pe.ndirs == 16 && pe.ndirs_raw == 16);
	CHECK(pe.rva_bias == 0);
	CHECK(pe.dirs[HV_DIR_BASERELOC].rva == 0x4000 && pe.dirs[HV_DIR_BASERELOC].size == s.reloc_size);
	CHECK(pe.dirs[HV_DIR_IAT].rva == 0x2000 && pe.dirs[HV_DIR_IAT].size == 0x30);
	CHECK(hv_pe_dir(&pe, HV_DIR_SECURITY) == NULL);
	CHECK(hv_pe_dir(&pe, HV_DIR_DEBUG) && hv_pe_dir(&pe, HV_DIR_DEBUG)->rva == s.debug_rva);
	const struct {
		const char *name;
		uint32_t vs, va, rs, rp, ch;
	} want[] = {
		{".text", 0x180, 0x1000, 0x200, 0x400, 0x60000020u},
		{".rdata", 0x800, 0x2000, 0x800, 0x600, 0x40000040u},
		{".data", 0x300, 0x3000, 0x200, 0xe00, 0xc0000040u},
		{".reloc", s.reloc_size, 0x4000, 0x200, 0x1000, 0x42000040u},
	};
	for (int i = 0; i < 4; i++) {
		const struct hv_pe_section *x = &pe.sections[i];
		CHECKF(strcmp(x->name, want[i].name) == 0, "section %d name %s", i, x->name);
		CHECKF(x->virtual_size == want[i].vs && x->virtual_address == want[i].va && x->raw_size == want[i].rs &&
			       x->raw_ptr == want[i].rp && x->characteristics == want[i].ch,
		       "section %d", i);
		CHECK(x->hdr_off == s.b.sect_off + 40u * (uint32_t)i);
	}
	CHECK(len == 0x1200);
	hv_pe_free(&pe);
	CHECK(pe.sections == NULL);
out:
	std_done(&s, f);
}

static void test_parse_pe32_fields(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	CHECK(pe.kind == HV_PE32);
	CHECK(pe.machine == HV_MACHINE_I386);
	CHECK(pe.characteristics == 0x0102);
	CHECK(pe.image_base == 0x400000u);
	CHECK(pe.image_base_off == 0x98 + PB_OPT32_IMAGE_BASE);
	CHECK(pe.image_base_width == 4);
	CHECK(pe.opt_size == PB_OPT32_DIRS + 16 * PB_DIRENT_SIZE);
	CHECK(pe.dirs_off == 0x98 + HV_OPT32_DIRS);
	CHECK(pe.checksum_off == 0x98 + HV_OPT_CHECKSUM);
	CHECK(pe.size_of_image == 0x5000 && pe.size_of_headers == 0x400);
	CHECK(pe.nsections == 4);
	CHECK(pe.dirs[HV_DIR_IAT].rva == 0x2000 && pe.dirs[HV_DIR_IAT].size == 0x18);
	CHECK(strcmp(hv_pe_kind_str(pe.kind), "PE32") == 0);
	hv_pe_free(&pe);
out:
	std_done(&s, f);
}

static void test_rva_file_layout(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	/* headers */
	CHECK(hv_pe_rva(&pe, 0, 0x400) == f);
	CHECK(hv_pe_rva(&pe, 0x3ff, 1) == f + 0x3ff);
	CHECK(hv_pe_rva(&pe, 0x3ff, 2) == NULL);
	CHECK(hv_pe_rva(&pe, 0x400, 1) == NULL); /* between headers and .text */
	/* .text: copied bytes are min(VirtualSize 0x180, SizeOfRawData 0x200) */
	CHECK(hv_pe_rva(&pe, 0x1000, 0x180) == f + 0x400);
	CHECK(hv_pe_rva(&pe, 0x117f, 1) == f + 0x57f);
	CHECK(hv_pe_rva(&pe, 0x1180, 1) == NULL); /* raw padding: not in the image */
	CHECK(hv_pe_rva(&pe, 0x1100, 0x81) == NULL);
	/* .data: 0x200 raw bytes of 0x300; the zero-filled tail has no bytes in a file */
	CHECK(hv_pe_rva(&pe, 0x3000, 0x200) == f + 0xe00);
	CHECK(hv_pe_rva(&pe, 0x31ff, 1) == f + 0xfff);
	CHECK(hv_pe_rva(&pe, 0x3200, 1) == NULL);
	CHECK(hv_pe_rva(&pe, 0x1ff0, 0x20) == NULL); /* straddles two sections */
	CHECK(hv_pe_rva(&pe, 0xffffffffu, 1) == NULL);
	CHECK(hv_pe_rva(&pe, 0x100000000ull, 1) == NULL);
	CHECK(hv_pe_rva(&pe, 0x1000, 0xffffffffffffffffull) == NULL);
	CHECK(hv_pe_rva(&pe, 0xffffffffffffffffull, 2) == NULL);
	/* section lookup covers the virtual range */
	CHECK(hv_pe_section_at(&pe, 0x3280) == &pe.sections[2]);
	CHECK(hv_pe_section_at(&pe, 0x1180) == NULL);
	CHECK(hv_pe_section_at(&pe, 0x0) == NULL);
	CHECK(hv_pe_section_copied(&pe.sections[0]) == 0x180);
	CHECK(hv_pe_section_copied(&pe.sections[2]) == 0x200);
	hv_pe_free(&pe);
out:
	std_done(&s, f);
}

static void test_rva_loaded_layout(void)
{
	struct pb_std s;
	size_t len, ilen;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint8_t *img = pb_load(&s.b, f, 0xfffff80012340000ull, 0xee, &ilen);
	struct hv_pe pe;
	hv_why why = {{0}};
	CHECK(ilen == 0x5000);
	int rc = hv_pe_parse(&pe, img, ilen, HV_LAYOUT_LOADED, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	CHECK(pe.image_base == 0xfffff80012340000ull);
	CHECK(hv_pe_rva(&pe, 0, 0x400) == img);
	CHECK(hv_pe_rva(&pe, 0x1180, 1) == img + 0x1180); /* the gap is mapped */
	CHECK(hv_pe_rva(&pe, 0x3280, 0x10) == img + 0x3280);
	CHECK(hv_pe_rva(&pe, 0x4fff, 1) == img + 0x4fff);
	CHECK(hv_pe_rva(&pe, 0x4fff, 2) == NULL);
	CHECK(hv_pe_rva(&pe, 0x5000, 1) == NULL);
	CHECK(hv_pe_rva(&pe, 0, 0x5000) == img);
	CHECK(hv_pe_rva(&pe, 0, 0x5001) == NULL);
	hv_pe_free(&pe);

	/* a partial copy (the tail unmapped): NULL just past the copied bytes */
	rc = hv_pe_parse(&pe, img, 0x3100, HV_LAYOUT_LOADED, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		CHECK(hv_pe_rva(&pe, 0x30ff, 1) == img + 0x30ff);
		CHECK(hv_pe_rva(&pe, 0x3100, 1) == NULL);
		CHECK(hv_pe_rva(&pe, 0x30f0, 0x11) == NULL);
		hv_pe_free(&pe);
	}
out:
	free(img);
	std_done(&s, f);
}

static void test_names_and_strings(void)
{
	CHECK(strcmp(hv_pe_machine_str(HV_MACHINE_AMD64), "x86-64") == 0);
	CHECK(hv_pe_machine_str(0x1234)[0] != 0);
	CHECK(hv_pe_subsystem_str(0xffff)[0] != 0);
	CHECK(strcmp(hv_pe_kind_str(HV_TE), "TE") == 0);
	for (int st = 0; st >= -9; st--)
		CHECK(hv_status_str(st)[0] != 0);
	CHECK(hv_fail(NULL, HV_E_RANGE, "x %d", 1) == HV_E_RANGE);
}

/* ---- TE ---------------------------------------------------------------- */

static void test_te_parse_and_rva(void)
{
	struct pb_std s;
	size_t len, ilen;
	uint8_t *f = std_file(&s, PB_TE, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	uint32_t bias = s.b.te_stripped - PB_TE_SIZE;
	CHECK(pe.kind == HV_TE);
	CHECK(pe.rva_bias == bias);
	CHECK(pe.nsections == 3);
	CHECK(pe.machine == HV_MACHINE_AMD64);
	CHECK(pe.subsystem == HV_SUBSYS_EFI_APPLICATION);
	CHECK(pe.entry_rva == 0x1000);
	CHECK(pe.image_base == s.b.image_base);
	CHECK(pe.size_of_headers == PB_TE_SIZE + 3 * PB_SH_SIZE);
	CHECK(pe.size_of_image == 0x4000 + s.reloc_size);
	CHECK(hv_pe_dir(&pe, HV_DIR_BASERELOC) && pe.dirs[HV_DIR_BASERELOC].rva == 0x4000);
	CHECK(hv_pe_dir(&pe, HV_DIR_IMPORT) == NULL);
	/* the TE header is RVA bias; .text is at raw_ptr - bias in the file */
	CHECK(hv_pe_rva(&pe, bias, PB_TE_SIZE) == f);
	CHECK(hv_pe_rva(&pe, 0, 1) == NULL);
	CHECK(hv_pe_rva(&pe, 0x1000, 0x180) == f + pb_file_off(&s.b, 0x1000));
	CHECK(pb_file_off(&s.b, 0x1000) == pe.sections[0].raw_ptr - bias);
	char name[64];
	CHECK(hv_pe_codeview_name(&pe, name, sizeof(name), &why) == HV_OK);
	CHECK(strcmp(name, "DxeCore.pdb") == 0);
	hv_pe_free(&pe);

	/* loaded at base: byte i is RVA i + bias */
	uint8_t *img = pb_load(&s.b, f, 0x7e000000u, 0, &ilen);
	rc = hv_pe_parse(&pe, img, ilen, HV_LAYOUT_LOADED, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		CHECK(hv_pe_rva(&pe, 0x1000, 4) == img + 0x1000 - bias);
		CHECK(hv_pe_rva(&pe, bias - 1, 1) == NULL);
		CHECK(hv_pe_rva(&pe, 0x4000 + s.reloc_size, 1) == NULL);
		hv_pe_free(&pe);
	}
	free(img);
out:
	std_done(&s, f);
}

static void test_te_bad_signature(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_TE, &len);
	f[1] = 'Y';
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_te_stripped_size_smaller_than_header(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_TE, &len);
	hv_put_le16(f + PB_TE_STRIPPED, PB_TE_SIZE - 1);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_FORMAT);
	hv_put_le16(f + PB_TE_STRIPPED, 0);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_te_stripped_size_huge(void)
{
	/* bias 0xffd7: the headers end past every section's RVA */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_TE, &len);
	hv_put_le16(f + PB_TE_STRIPPED, 0xffff);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_LOADED, HV_E_RANGE);
	std_done(&s, f);
}

static void test_te_stripped_size_above_raw_pointers(void)
{
	/* StrippedSize moved so that PointerToRawData - bias goes negative */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_TE, &len);
	hv_put_le32(sh(&s.b, f, 0) + PB_SH_RAW_PTR, 0x10);
	CHECK_PARSE_FAILS(f, len, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

static void test_te_truncated(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_TE, &len);
	for (size_t n = 2; n < PB_TE_SIZE; n += 5)
		CHECK_PARSE_FAILS(f, n, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	CHECK_PARSE_FAILS(f, PB_TE_SIZE + PB_SH_SIZE + 1, HV_LAYOUT_FILE, HV_E_TRUNCATED);
	/* inside the last section's copied bytes */
	CHECK_PARSE_FAILS(f, pb_file_off(&s.b, s.reloc_rva) + s.reloc_size - 1, HV_LAYOUT_FILE, HV_E_RANGE);
	std_done(&s, f);
}

int main(void)
{
	RUN(test_parse_empty_input);
	RUN(test_parse_null_why_does_not_crash);
	RUN(test_parse_truncated_dos_header);
	RUN(test_parse_bad_mz);
	RUN(test_parse_bad_pe_signature);
	RUN(test_parse_e_lfanew_past_end);
	RUN(test_parse_e_lfanew_huge);
	RUN(test_parse_truncated_coff_header);
	RUN(test_parse_truncated_optional_header);
	RUN(test_parse_truncated_section_table);
	RUN(test_parse_bad_optional_magic);
	RUN(test_parse_size_of_optional_header_too_small);
	RUN(test_parse_section_table_past_headers);
	RUN(test_parse_zero_sections);
	RUN(test_parse_huge_number_of_sections);
	RUN(test_parse_overlapping_sections);
	RUN(test_parse_section_beyond_size_of_image);
	RUN(test_parse_section_inside_headers);
	RUN(test_parse_section_raw_data_past_end_of_file);
	RUN(test_parse_section_raw_ptr_ignored_when_loaded);
	RUN(test_parse_section_size_huge);
	RUN(test_parse_size_of_image_huge);
	RUN(test_parse_size_of_headers_huge);
	RUN(test_parse_number_of_rva_and_sizes_huge);
	RUN(test_parse_number_of_rva_and_sizes_beyond_optional_header);
	RUN(test_parse_pe32plus_fields);
	RUN(test_parse_pe32_fields);
	RUN(test_rva_file_layout);
	RUN(test_rva_loaded_layout);
	RUN(test_names_and_strings);
	RUN(test_te_parse_and_rva);
	RUN(test_te_bad_signature);
	RUN(test_te_stripped_size_smaller_than_header);
	RUN(test_te_stripped_size_huge);
	RUN(test_te_stripped_size_above_raw_pointers);
	RUN(test_te_truncated);
	return tap_done();
}
