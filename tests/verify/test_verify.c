/*
 * test_verify.c: the verifier's readers on valid and hostile input (TAP):
 * the JSON parser, the manifest reader (errors naming the JSON path),
 * policy, baseline and PCR YAML readers, the quote parser and checks on a
 * hand-made TPMS_ATTEST (every truncation, wrong nonce, wrong PCRs), and
 * the log classification and matching on the sample log of tests/log.
 */
#include <stdio.h>
#include <string.h>

#include "baseline.h"
#include "json.h"
#include "log/logbuild.h"
#include "mfread.h"
#include "quote.h"
#include "tap.h"
#include "verify.h"

#define S(x) (const uint8_t *)(x), strlen(x)
#define D64 "ddd506ef06bab1baefc22ebd15223e4823978f64036f6e1ace7bc8a5d950a4fb"

static void test_json_valid_and_accessors(void)
{
	struct hv_json d;
	hv_why why;
	uint64_t v;
	CHECK(!hv_json_parse(&d, S(" {\"a\": [1, 2.5, -3], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\", \"t\": true, \"a\": 7}"),
			     &why));
	const struct hv_json_node *r = hv_json_root(&d);
	CHECK(r && r->type == HV_JSON_OBJ && r->len == 4);
	CHECK(hv_json_u64(hv_json_get(&d, r, "a"), 100, &v) && v == 7); /* the last "a" wins */
	CHECK(!strcmp(hv_json_sval(&d, hv_json_get(&d, r, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n"));
	CHECK(hv_json_get(&d, r, "t")->type == HV_JSON_TRUE);
	CHECK(!hv_json_u64(hv_json_get(&d, r, "s"), 100, &v));
	hv_json_free(&d);
}

static void test_json_hostile_errors_name_the_offset(void)
{
	struct hv_json d;
	hv_why why;
	char deep[200];
	CHECK(hv_json_parse(&d, S("[1, 2,]"), &why) == HV_E_FORMAT && strstr(why.msg, "offset 6"));
	CHECK(hv_json_parse(&d, S("{\"a\": \"abc"), &why) == HV_E_TRUNCATED);
	CHECK(hv_json_parse(&d, S("\"a\\u0000b\""), &why) == HV_E_FORMAT && strstr(why.msg, "u0000"));
	CHECK(hv_json_parse(&d, S("01"), &why) == HV_E_FORMAT);
	CHECK(hv_json_parse(&d, S("[1] x"), &why) == HV_E_FORMAT && strstr(why.msg, "after the value"));
	CHECK(hv_json_parse(&d, S("\"a\x01\""), &why) == HV_E_FORMAT);
	memset(deep, '[', sizeof(deep));
	CHECK(hv_json_parse(&d, (const uint8_t *)deep, sizeof(deep), &why) == HV_E_CAP);
	CHECK(hv_json_parse(&d, S(""), &why) == HV_E_TRUNCATED);
}

static const char *manifest(const char *image)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"hvima_manifest\": 1, \"canonical_version\": 1, \"future_key\": {\"x\": []},"
		 " \"sources\": [{\"kind\": \"dir\", \"path\": \"/esp\"}],"
		 " \"images\": [{\"source\": 0, \"path\": \"EFI/BOOT/BOOTX64.EFI\", \"name\": \"BOOTX64.EFI\","
		 " \"size_of_image\": 36864, \"subsystem_id\": 10, \"canonical\": {\"sha256\": \"" D64 "\"}}%s]}",
		 image);
	return buf;
}

static void test_manifest_reads_and_indexes(void)
{
	struct hv_mr_set s = {0};
	hv_why why;
	uint8_t d[32];
	CHECK(!hv_mr_load(&s, "a.json", S(manifest("")), &why));
	CHECK(!hv_mr_load(&s, "b.json", S(manifest("")), &why));
	CHECK(!hv_mr_index(&s, &why));
	CHECK(s.nimages == 2 && s.nsources == 2 && s.images[1].source == 1);
	CHECK(hv_unhex(D64, d, 32));
	uint32_t i = hv_mr_lookup(&s, d);
	CHECK(i == 0 && s.images[0].next_same == 1 && !strcmp(s.images[0].path, "EFI/BOOT/BOOTX64.EFI"));
	d[0] ^= 1;
	CHECK(hv_mr_lookup(&s, d) == HV_MR_NONE);
	hv_mr_free(&s);
}

static void test_manifest_errors_name_the_json_path(void)
{
	struct hv_mr_set s = {0};
	hv_why why;
	CHECK(hv_mr_load(&s, "m", S(manifest(", {\"source\": 0, \"path\": \"x\", \"canonical\": {\"sha256\": 5}}")),
			 &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "images[1].canonical.sha256"), "%s", why.msg);
	CHECK(s.nimages == 0 && s.nsources == 0); /* a failed load leaves nothing */
	CHECK(hv_mr_load(&s, "m", S(manifest(", {\"source\": 3, \"path\": \"x\"}")), &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "images[1].source"), "%s", why.msg);
	CHECK(hv_mr_load(&s, "m", S(manifest(", {\"source\": 0, \"path\": \"x\"}")), &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "images[1].canonical.sha256: missing"), "%s", why.msg);
	CHECK(hv_mr_load(&s, "m", S(manifest(", {\"source\": 0, \"path\": 7}")), &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "images[1].path: not a string"), "%s", why.msg);
	CHECK(hv_mr_load(&s, "m", S("{\"hvima_manifest\": 2, \"canonical_version\": 1}"), &why) == HV_E_UNSUPPORTED);
	CHECK(hv_mr_load(&s, "m", S("{\"images\": []}"), &why) == HV_E_FORMAT && strstr(why.msg, "hvima_manifest"));
	CHECK(hv_mr_load(&s, "m", S("[1,"), &why) == HV_E_TRUNCATED && strstr(why.msg, "manifest m: json: offset"));
	hv_mr_free(&s);
}

static void test_policy_and_pcr_yaml(void)
{
	struct hv_vf_policy p;
	struct hv_vf_pcrs y;
	hv_why why;
	CHECK(!hv_vf_policy_load(&p, "p", S("{\"hvima_policy\": 1, \"allow_unattributed\": [{\"page_sha256\": \"" D64
					     "\", \"reason\": \"r\"}, {\"page_from\": \"0x0\", \"page_to\": \"0xfffff\"}],"
					     " \"optional\": [\"EFI/*/grub*.efi\"]}"), &why));
	CHECK(p.nun == 2 && p.un[0].by_hash && p.un[1].to == 0xfffff && p.nopt == 1);
	hv_vf_policy_free(&p);
	CHECK(hv_vf_policy_load(&p, "p", S("{\"hvima_policy\": 1, \"allow_unattributed\": [{\"page_sha256\": \"zz\"}]}"),
				&why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "allow_unattributed[0]: page_sha256"), "%s", why.msg);
	CHECK(!hv_vf_pcrs_parse_yaml(&y, S("  sha1:\n    0 : 0x" "0000000000000000000000000000000000000001\n"
					   "  sm3_256:\n    0 : 0x00\n  sha256:\n    23: 0x" D64 "\n"), &why));
	CHECK(y.have[HV_SHA1] == 1 && y.have[HV_SHA256] == 1u << 23 && y.v[HV_SHA1][0][19] == 1);
	CHECK(hv_vf_pcrs_parse_yaml(&y, S("  sha256:\n    0 : 0x00\n"), &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "line 2"), "%s", why.msg);
	CHECK(hv_vf_pcrs_parse_yaml(&y, S("  sha256:\n    24 : 0x" D64 "\n"), &why) == HV_E_FORMAT);
}

/* A TPMS_ATTEST for a quote of sha256 PCRs 2 and 4 of replay r. */
static size_t make_attest(uint8_t *b, const struct hv_log_replay *r, const uint8_t *nonce, size_t nlen)
{
	size_t n = 0;
	struct hv_mh h;
	struct hv_digests out;
#define PUT16(v) (b[n++] = (uint8_t)((v) >> 8), b[n++] = (uint8_t)(v))
#define PUT32(v) (PUT16((v) >> 16), PUT16((v) & 0xffff))
	PUT32(HV_TPM_GENERATED_VALUE);
	PUT16(HV_TPM_ST_ATTEST_QUOTE);
	PUT16(2), b[n++] = 0, b[n++] = 0xb;          /* qualifiedSigner */
	PUT16(nlen), memcpy(b + n, nonce, nlen), n += nlen; /* extraData */
	memset(b + n, 0, 17 + 8), n += 17 + 8;       /* clockInfo, firmwareVersion */
	PUT32(1), PUT16(0x000b), b[n++] = 3, b[n++] = 0x14, b[n++] = 0, b[n++] = 0;
	hv_mh_init(&h, HV_ALG_BIT(HV_SHA256));
	hv_mh_update(&h, r->pcr[HV_SHA256][2], 32);
	hv_mh_update(&h, r->pcr[HV_SHA256][4], 32);
	hv_mh_final(&h, &out);
	PUT16(32), memcpy(b + n, out.d[HV_SHA256], 32), n += 32;
	return n;
}

static void test_quote_parse_and_check(void)
{
	struct hv_log_replay r;
	struct hv_quote q;
	uint8_t b[256], nonce[20] = {9, 8, 7};
	hv_why why;
	memset(&r, 0, sizeof(r));
	r.algs = HV_ALG_BIT(HV_SHA256);
	r.pcrs_used = 1u << 2 | 1u << 4;
	r.pcr[HV_SHA256][2][0] = 0x22;
	size_t n = make_attest(b, &r, nonce, sizeof(nonce));
	CHECK(!hv_quote_parse(b, n, &q, &why) && q.nbanks == 1 && q.banks[0].pcrs == (1u << 2 | 1u << 4));
	CHECK(!hv_quote_check(&q, 0x000b, nonce, sizeof(nonce), &r, &why));
	nonce[0] ^= 1;
	CHECK(hv_quote_check(&q, 0x000b, nonce, sizeof(nonce), &r, &why) == HV_E_FORMAT && strstr(why.msg, "nonce"));
	nonce[0] ^= 1;
	r.pcr[HV_SHA256][4][0] = 1; /* the log replays to other values than the TPM quoted */
	CHECK(hv_quote_check(&q, 0x000b, nonce, sizeof(nonce), &r, &why) == HV_E_FORMAT && strstr(why.msg, "pcrDigest"));
	r.pcrs_used |= 1u << 13;
	CHECK(hv_quote_check(&q, 0x000b, nonce, sizeof(nonce), &r, &why) == HV_E_FORMAT && strstr(why.msg, "PCR 13"));
	for (size_t k = 0; k < n; k++) /* every truncation is an error, never a read past the end */
		CHECKF(hv_quote_parse(b, k, &q, &why) != HV_OK, "length %zu", k);
	b[0] ^= 0xff;
	CHECK(hv_quote_parse(b, n, &q, &why) == HV_E_FORMAT && strstr(why.msg, "magic"));
	struct hv_quote_sig s;
	static const uint8_t sig[] = {0, 0x14, 0, 0x0b, 0, 2, 0xaa, 0xbb};
	CHECK(!hv_quote_parse_sig(sig, sizeof(sig), &s, &why) && s.sig_len == 2);
	CHECK(hv_quote_parse_sig(sig, sizeof(sig) - 1, &s, &why) == HV_E_TRUNCATED);
	CHECK(hv_quote_verify_sig(b, n, &s, S("not a key"), &why) == HV_E_FORMAT);
}

static void test_log_classified_and_matched(void)
{
	const char *path = "test_verify.log";
	uint8_t *buf;
	size_t len;
	hv_why why;
	struct hv_vf v;
	struct hv_mr_set s = {0};
	char m[1024], hex[65];
	CHECK(logbuild_sample(path, HV_ALGS_ALL, 0, &why) > 0);
	CHECK(!logbuild_read(path, &buf, &len));
	remove(path);
	CHECK(!hv_vf_scan(&v, buf, len, &why));
	CHECK(v.counts[HV_VF_IMAGE] >= 2 && v.counts[HV_VF_VIOLATION] >= 1 && v.counts[HV_VF_UNATTRIBUTED] >= 1 &&
	      v.counts[HV_VF_MALFORMED] >= 1);
	const struct hv_vf_event *img = NULL;
	for (uint64_t k = 0; k < v.nev && !img; k++)
		if (v.ev[k].kind == HV_VF_IMAGE && v.ev[k].has_sha256)
			img = &v.ev[k];
	CHECK(img != NULL);
	snprintf(m, sizeof(m), "{\"hvima_manifest\": 1, \"canonical_version\": 1, \"sources\": [{\"kind\": \"file\"}],"
			       " \"images\": [{\"source\": 0, \"path\": \"x.efi\", \"canonical\": {\"sha256\": \"%s\"}},"
			       " {\"source\": 0, \"path\": \"never.efi\", \"canonical\": {\"sha256\": \"" D64 "\"}}]}",
		 hv_hex(img->sha256, 32, hex));
	CHECK(!hv_mr_load(&s, "m", S(m), &why) && !hv_mr_index(&s, &why));
	CHECK(!hv_vf_match(&v, &s, NULL, &why));
	CHECK(v.matched == 1 && v.missing == 1 && v.seen[0] == 1 && v.unattr_bad == v.counts[HV_VF_UNATTRIBUTED]);
	/* the same log against itself as a baseline: no difference */
	struct hv_baseline *b = calloc(1, sizeof(*b));
	CHECK(b && !hv_bl_add_run(b, &v, &why) && !hv_bl_add_run(b, &v, &why) && b->runs == 2);
	CHECK(b && hv_bl_find(b, img->pcr, HV_BL_IMAGE, img->sha256) >= 0);
	if (b)
		hv_bl_free(b);
	free(b);
	hv_mr_free(&s);
	hv_vf_free(&v);
	/* a log cut inside its last record: an error naming the offset */
	struct hv_vf cut;
	CHECK(hv_vf_scan(&cut, buf, len - 3, &why) == HV_E_TRUNCATED);
	CHECKF(strstr(why.msg, "offset"), "%s", why.msg);
	hv_vf_free(&cut);
	free(buf);
}

int main(void)
{
	RUN(test_json_valid_and_accessors);
	RUN(test_json_hostile_errors_name_the_offset);
	RUN(test_manifest_reads_and_indexes);
	RUN(test_manifest_errors_name_the_json_path);
	RUN(test_policy_and_pcr_yaml);
	RUN(test_quote_parse_and_check);
	RUN(test_log_classified_and_matched);
	return tap_done();
}
