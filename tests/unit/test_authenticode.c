/*
 * test_authenticode.c: lib/authenticode.c on synthetic files: the digest
 * against the specification's ranges computed by hand, the certificate
 * table walk and DER decoding, and each malformation refused with a reason.
 */
#include "pecheck.h"

/* ---- Authenticode ---------------------------------------------------------- */

/* The digest by hand, from the spec's ranges, for a file whose certificate
 * table (if any) is at its end. */
static void authenticode_by_hand(const struct pb *b, const uint8_t *f, size_t len, uint32_t cert_size,
				 struct hv_digests *d)
{
	struct hv_mh h;
	uint32_t ck = b->opt_off + PB_OPT_CHECKSUM, cd = b->dirs_off + 4 * PB_DIRENT_SIZE;
	hv_mh_init(&h, HV_ALGS_ALL);
	hv_mh_update(&h, f, ck);
	hv_mh_update(&h, f + ck + 4, cd - ck - 4);
	hv_mh_update(&h, f + cd + 8, b->size_of_headers - cd - 8);
	size_t end = b->size_of_headers;
	for (int i = 0; i < b->nsec; i++) { /* pebuild lays sections out in order */
		hv_mh_update(&h, f + b->sec[i].raw_ptr, b->sec[i].raw_size);
		end = b->sec[i].raw_ptr + b->sec[i].raw_size;
	}
	hv_mh_update(&h, f + end, len - end - cert_size);
	hv_mh_final(&h, d);
}

static void test_authenticode_matches_spec_ranges(void)
{
	struct pb_std s;
	size_t len;
	pb_std_init(&s, PB_PE32PLUS);
	s.b.trailer_len = 0x30; /* 0x10 of trailing data, then a 0x20-byte certificate table */
	uint8_t *f = pb_link(&s.b, &len);
	memset(f + len - 0x30, 0x3c, 0x10);
	set_dir(&s.b, f, 4, (uint32_t)len - 0x20, 0x20);
	hv_put_le32(f + len - 0x20, 0x20);
	hv_put_le16(f + len - 0x1c, 0x0200);
	hv_put_le16(f + len - 0x1a, 0x0001); /* X.509, not PKCS#7: not decoded */
	struct hv_pe pe;
	struct hv_digests got, want, again;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc != HV_OK)
		goto out;
	rc = hv_authenticode(&pe, HV_ALGS_ALL, &got, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	authenticode_by_hand(&s.b, f, len, 0x20, &want);
	CHECK(got.mask == HV_ALGS_ALL);
	for (int a = 0; a < HV_NALGS; a++)
		CHECKF(memcmp(got.d[a], want.d[a], hv_alg_size(a)) == 0, "alg %d", a);
	/* the excluded fields and the certificate table do not count */
	hv_put_le32(f + s.b.opt_off + PB_OPT_CHECKSUM, 0x12345678u);
	f[len - 1] ^= 0xff;
	rc = hv_authenticode(&pe, HV_ALG_BIT(HV_SHA256), &again, &why);
	CHECK(rc == HV_OK && memcmp(again.d[HV_SHA256], want.d[HV_SHA256], 32) == 0);
	/* trailing data before the table does */
	f[len - 0x21] ^= 1;
	rc = hv_authenticode(&pe, HV_ALG_BIT(HV_SHA256), &again, &why);
	CHECK(rc == HV_OK && memcmp(again.d[HV_SHA256], want.d[HV_SHA256], 32) != 0);
	f[len - 0x21] ^= 1;
	/* and so does the raw padding past VirtualSize */
	f[0x400 + 0x1f0] ^= 1;
	rc = hv_authenticode(&pe, HV_ALG_BIT(HV_SHA256), &again, &why);
	CHECK(rc == HV_OK && memcmp(again.d[HV_SHA256], want.d[HV_SHA256], 32) != 0);

	struct hv_pe_signature sig[2];
	size_t n = 0;
	rc = hv_authenticode_signatures(&pe, sig, 2, &n, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	CHECK(n == 1 && sig[0].offset == len - 0x20 && sig[0].length == 0x20 && sig[0].revision == 0x200 &&
	      sig[0].type == 1 && sig[0].digest_len == 0);
	hv_pe_free(&pe);
out:
	std_done(&s, f);
}

static void test_authenticode_unsigned_has_no_signatures(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32, &len);
	struct hv_pe pe;
	hv_why why = {{0}};
	struct hv_digests d, want;
	if (hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why) == HV_OK) {
		size_t n = 7;
		CHECK(hv_authenticode_signatures(&pe, NULL, 0, &n, &why) == HV_E_ABSENT && n == 0);
		CHECK(hv_authenticode(&pe, HV_ALGS_ALL, &d, &why) == HV_OK);
		authenticode_by_hand(&s.b, f, len, 0, &want);
		CHECK(memcmp(d.d[HV_SHA384], want.d[HV_SHA384], 48) == 0);
		hv_pe_free(&pe);
	} else {
		CHECKF(0, "%s", why.msg);
	}
	std_done(&s, f);
}

static int same_digests(const struct hv_digests *a, const struct hv_digests *b)
{
	return a->mask == b->mask && memcmp(a->d, b->d, sizeof(a->d)) == 0;
}

static int authenticode_n(const uint8_t *f, size_t n, enum hv_layout l, hv_why *why)
{
	struct hv_pe pe;
	struct hv_digests d;
	uint8_t *c = dup_n(f, n);
	memset(why, 0, sizeof(*why));
	int rc = hv_pe_parse(&pe, c, n, l, why);
	if (rc == HV_OK) {
		rc = hv_authenticode(&pe, HV_ALGS_ALL, &d, why);
		hv_pe_free(&pe);
	}
	free(c);
	return rc;
}

#define CHECK_AUTH_FAILS(f, n, want)                                      \
	do {                                                              \
		hv_why w_;                                                \
		int rc_ = authenticode_n((f), (n), HV_LAYOUT_FILE, &w_);  \
		CHECK_STATUS(rc_, (want), w_);                            \
	} while (0)

static void test_authenticode_checksum_beyond_headers(void)
{
	/* SizeOfHeaders ends before the CheckSum field: parse refuses it
	 * already (the section table lies past SizeOfHeaders) */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_HEADERS, s.b.opt_off + PB_OPT_CHECKSUM + 2);
	CHECK_AUTH_FAILS(f, len, HV_E_RANGE);
	std_done(&s, f);
}

static void test_authenticode_cert_table_past_end(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	set_dir(&s.b, f, 4, (uint32_t)len - 8, 0x10);
	CHECK_AUTH_FAILS(f, len, HV_E_RANGE);
	set_dir(&s.b, f, 4, 0xfffffff8u, 0x10); /* offset + size wraps in 32 bits */
	CHECK_AUTH_FAILS(f, len, HV_E_RANGE);
	set_dir(&s.b, f, 4, 0x10, 0xfffffff8u);
	CHECK_AUTH_FAILS(f, len, HV_E_RANGE);
	std_done(&s, f);
}

static void test_authenticode_cert_table_inside_sections(void)
{
	/* A table that overlaps the last section's raw data: nothing trails
	 * the sections, so, as in EDK2's HashPeImage, every section is hashed
	 * whole and the digest is that of an unsigned file (such a file can
	 * carry no valid signature: the signature would cover itself). */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	struct hv_digests want, got;
	set_dir(&s.b, f, 4, (uint32_t)len - 0x100, 0x100);
	authenticode_by_hand(&s.b, f, len, 0, &want);
	struct hv_pe pe;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_authenticode(&pe, HV_ALGS_ALL, &got, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		CHECK(rc != HV_OK || same_digests(&got, &want));
		hv_pe_free(&pe);
	}
	/* with trailing data shorter than the table: refused */
	std_done(&s, f);
	pb_std_init(&s, PB_PE32PLUS);
	s.b.trailer_len = 0x10;
	f = pb_link(&s.b, &len);
	set_dir(&s.b, f, 4, (uint32_t)len - 0x20, 0x20);
	CHECK_AUTH_FAILS(f, len, HV_E_FORMAT);
	std_done(&s, f);
}

static void test_authenticode_cert_signatures_malformed(void)
{
	struct pb_std s;
	size_t len;
	pb_std_init(&s, PB_PE32PLUS);
	s.b.trailer_len = 0x40;
	uint8_t *f = pb_link(&s.b, &len);
	set_dir(&s.b, f, 4, (uint32_t)len - 0x40, 0x40);
	struct hv_pe pe;
	hv_why why;
	struct hv_pe_signature sig[1];
	size_t n;
	/* dwLength past the table, below 8, then a PKCS#7 entry of garbage */
	static const uint32_t lens[] = {0x48, 4, 0x40};
	static const int want[] = {HV_E_FORMAT, HV_E_FORMAT, HV_E_FORMAT};
	for (int i = 0; i < 3; i++) {
		hv_put_le32(f + len - 0x40, lens[i]);
		hv_put_le16(f + len - 0x3c, 0x200);
		hv_put_le16(f + len - 0x3a, HV_WIN_CERT_TYPE_PKCS_SIGNED_DATA);
		memset(f + len - 0x38, 0x30, 0x38); /* SEQUENCE of 0x30 bytes, nested... */
		uint8_t *c = dup_n(f, len);
		memset(&why, 0, sizeof(why));
		if (hv_pe_parse(&pe, c, len, HV_LAYOUT_FILE, &why) == HV_OK) {
			int rc = hv_authenticode_signatures(&pe, sig, 1, &n, &why);
			CHECK_STATUS(rc, want[i], why);
			hv_pe_free(&pe);
		}
		free(c);
	}
	std_done(&s, f);
}

/* Minimal DER writer: tag, length (short or long form), content. */
static size_t der(uint8_t *out, uint8_t tag, const uint8_t *content, size_t n)
{
	size_t h = 0;
	out[h++] = tag;
	if (n < 0x80) {
		out[h++] = (uint8_t)n;
	} else if (n < 0x100) {
		out[h++] = 0x81, out[h++] = (uint8_t)n;
	} else {
		out[h++] = 0x82, out[h++] = (uint8_t)(n >> 8), out[h++] = (uint8_t)n;
	}
	memmove(out + h, content, n);
	return h + n;
}

/* A WIN_CERTIFICATE-free PKCS#7 ContentInfo carrying an
 * SpcIndirectDataContent whose DigestInfo holds digest (SHA-256). */
static size_t pkcs7_with_digest(uint8_t *out, const uint8_t *digest)
{
	static const uint8_t oid_sd[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
	static const uint8_t oid_spc[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04};
	static const uint8_t alg256[] = {0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
					 0x03, 0x04, 0x02, 0x01, 0x05, 0x00};
	static const uint8_t data[] = {0x30, 0x03, 0x06, 0x01, 0x00}; /* SpcAttributeTypeAndOptionalValue stand-in */
	uint8_t a[512], b[512];
	size_t n, m;
	/* DigestInfo */
	n = 0;
	memcpy(a, alg256, sizeof(alg256)), n = sizeof(alg256);
	n += der(a + n, 0x04, digest, 32);
	m = der(b, 0x30, a, n);
	/* SpcIndirectDataContent */
	memmove(b + sizeof(data), b, m);
	memcpy(b, data, sizeof(data));
	m += sizeof(data);
	n = der(a, 0x30, b, m);
	m = der(b, 0xa0, a, n);
	/* contentInfo */
	memmove(b + sizeof(oid_spc), b, m);
	memcpy(b, oid_spc, sizeof(oid_spc));
	m += sizeof(oid_spc);
	n = der(a, 0x30, b, m);
	/* SignedData: version, digestAlgorithms, contentInfo */
	uint8_t hdr[64];
	size_t h = 0;
	hdr[h++] = 0x02, hdr[h++] = 0x01, hdr[h++] = 0x01;
	h += der(hdr + h, 0x31, alg256, sizeof(alg256));
	memmove(a + h, a, n);
	memcpy(a, hdr, h);
	n += h;
	m = der(b, 0x30, a, n);
	n = der(a, 0xa0, b, m);
	memmove(a + sizeof(oid_sd), a, n);
	memcpy(a, oid_sd, sizeof(oid_sd));
	n += sizeof(oid_sd);
	return der(out, 0x30, a, n);
}

static void test_authenticode_signature_digest_decoded(void)
{
	struct pb_std s;
	size_t len;
	uint8_t p7[512], digest[32];
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(0xa0 + i);
	size_t n7 = pkcs7_with_digest(p7, digest);
	uint32_t entry = (uint32_t)(8 + n7), table = (entry + 7) & ~7u;
	pb_std_init(&s, PB_PE32PLUS);
	s.b.trailer_len = table;
	uint8_t *f = pb_link(&s.b, &len);
	uint8_t *c = f + len - table;
	hv_put_le32(c, entry);
	hv_put_le16(c + 4, 0x0200);
	hv_put_le16(c + 6, HV_WIN_CERT_TYPE_PKCS_SIGNED_DATA);
	memcpy(c + 8, p7, n7);
	set_dir(&s.b, f, 4, (uint32_t)len - table, table);
	struct hv_pe pe;
	hv_why why = {{0}};
	struct hv_pe_signature sig[2];
	size_t n = 0;
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_authenticode_signatures(&pe, sig, 2, &n, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		CHECK(n == 1);
		CHECK(sig[0].alg == HV_SHA256 && sig[0].digest_len == 32 && memcmp(sig[0].digest, digest, 32) == 0);
		CHECK(sig[0].length == entry && sig[0].type == HV_WIN_CERT_TYPE_PKCS_SIGNED_DATA);
		/* the table is excluded from the file digest */
		struct hv_digests got, want;
		CHECK(hv_authenticode(&pe, HV_ALGS_ALL, &got, &why) == HV_OK);
		authenticode_by_hand(&s.b, f, len, table, &want);
		CHECK(same_digests(&got, &want));
		hv_pe_free(&pe);
	}
	std_done(&s, f);
}

static void test_authenticode_signatures_unaligned_table_end(void)
{
	/* A table of 0x21 bytes at the very end of the file holding one entry
	 * of dwLength 0x21: the 8-byte rounding steps past the table end, and
	 * the walk must stop there instead of reading past the file. */
	struct pb_std s;
	size_t len;
	pb_std_init(&s, PB_PE32PLUS);
	s.b.trailer_len = 0x21;
	uint8_t *f = pb_link(&s.b, &len);
	hv_put_le32(f + len - 0x21, 0x21);
	hv_put_le16(f + len - 0x1d, 0x0200);
	hv_put_le16(f + len - 0x1b, 0x0001);
	set_dir(&s.b, f, 4, (uint32_t)len - 0x21, 0x21);
	struct hv_pe pe;
	hv_why why = {{0}};
	struct hv_pe_signature sig[HV_CAP_CERT_ENTRIES + 1];
	size_t n = 0;
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_authenticode_signatures(&pe, sig, HV_CAP_CERT_ENTRIES + 1, &n, &why);
		show_why(rc, &why);
		CHECKF((rc == HV_OK && n == 1) || (rc == HV_E_FORMAT && why.msg[0]), "status %d, %zu entries: %s", rc, n,
		       why.msg);
		hv_pe_free(&pe);
	}
	std_done(&s, f);
}

static void test_authenticode_size_of_headers_past_end(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	/* SizeOfHeaders larger than the file (and than .text's RVA) */
	hv_put_le32(f + s.b.opt_off + PB_OPT_SIZE_OF_HEADERS, 0x4800);
	CHECK_AUTH_FAILS(f, len, HV_E_TRUNCATED);
	std_done(&s, f);
	/* a headers-only file cut inside its headers */
	struct pb b;
	pb_init(&b, PB_PE32);
	b.size_of_image = 0x1000;
	f = pb_link(&b, &len);
	CHECK_AUTH_FAILS(f, len - 1, HV_E_TRUNCATED);
	free(f);
	pb_free(&b);
}

static void test_authenticode_section_raw_size_past_end(void)
{
	/* VirtualSize keeps the copied bytes in the file, SizeOfRawData does not */
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_VSIZE, 0x10);
	hv_put_le32(sh(&s.b, f, 3) + PB_SH_RAW_SIZE, 0x10000);
	CHECK_AUTH_FAILS(f, len, HV_E_RANGE);
	std_done(&s, f);
}

static void test_authenticode_te_unsupported(void)
{
	struct pb_std s;
	size_t len;
	uint8_t *f = std_file(&s, PB_TE, &len);
	CHECK_AUTH_FAILS(f, len, HV_E_UNSUPPORTED);
	std_done(&s, f);
}

static void test_authenticode_loaded_layout_unsupported(void)
{
	struct pb_std s;
	size_t len, ilen;
	uint8_t *f = std_file(&s, PB_PE32PLUS, &len);
	uint8_t *img = pb_load(&s.b, f, 0x180000000ull, 0, &ilen);
	hv_why why;
	int rc = authenticode_n(img, ilen, HV_LAYOUT_LOADED, &why);
	CHECK_STATUS(rc, HV_E_UNSUPPORTED, why);
	free(img);
	std_done(&s, f);
}

static void test_authenticode_few_directories(void)
{
	/* NumberOfRvaAndSizes 4: no certificate table entry, the headers are
	 * hashed without a hole for it */
	struct pb b;
	size_t len;
	pb_init(&b, PB_PE32PLUS);
	b.ndirs = 4;
	pb_add_section(&b, ".text", 0x1000, 0x100, 0x200, 0x60000020u);
	uint8_t *f = pb_link(&b, &len);
	struct hv_pe pe;
	struct hv_digests got, want;
	hv_why why = {{0}};
	int rc = hv_pe_parse(&pe, f, len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s", why.msg);
	if (rc == HV_OK) {
		rc = hv_authenticode(&pe, HV_ALG_BIT(HV_SHA256), &got, &why);
		CHECKF(rc == HV_OK, "%s", why.msg);
		struct hv_mh h;
		uint32_t ck = b.opt_off + PB_OPT_CHECKSUM;
		hv_mh_init(&h, HV_ALG_BIT(HV_SHA256));
		hv_mh_update(&h, f, ck);
		hv_mh_update(&h, f + ck + 4, len - ck - 4);
		hv_mh_final(&h, &want);
		CHECK(memcmp(got.d[HV_SHA256], want.d[HV_SHA256], 32) == 0);
		hv_pe_free(&pe);
	}
	free(f);
	pb_free(&b);
}

int main(void)
{
	RUN(test_authenticode_matches_spec_ranges);
	RUN(test_authenticode_unsigned_has_no_signatures);
	RUN(test_authenticode_checksum_beyond_headers);
	RUN(test_authenticode_cert_table_past_end);
	RUN(test_authenticode_cert_table_inside_sections);
	RUN(test_authenticode_cert_signatures_malformed);
	RUN(test_authenticode_signature_digest_decoded);
	RUN(test_authenticode_size_of_headers_past_end);
	RUN(test_authenticode_section_raw_size_past_end);
	RUN(test_authenticode_te_unsupported);
	RUN(test_authenticode_loaded_layout_unsupported);
	RUN(test_authenticode_few_directories);
	/* last: it crashes while lib reads past the table (see the test) */
	RUN(test_authenticode_signatures_unaligned_table_end);
	return tap_done();
}
