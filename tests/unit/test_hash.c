/*
 * test_hash.c: the multi-digest of lib/hash.c against the FIPS 180 test
 * vectors ("abc", the empty string, the two-block message), split updates,
 * hex output and the algorithm name/id tables.
 */
#include <string.h>

#include "hash.h"
#include "pe.h"
#include "tap.h"

static const char abc_sha1[] = "a9993e364706816aba3e25717850c26c9cd0d89d";
static const char abc_sha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char abc_sha384[] = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
				 "8086072ba1e7cc2358baeca134c825a7";
static const char empty_sha1[] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
static const char empty_sha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char empty_sha384[] = "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
				   "274edebfe76f65fbd51ad2f14898b95b";
/* "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" */
static const char two_block_sha256[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

static int digest_all(const void *p, size_t n, struct hv_digests *d)
{
	struct hv_mh h;
	int rc = hv_mh_init(&h, HV_ALGS_ALL);
	if (rc)
		return rc;
	rc = hv_mh_update(&h, p, n);
	if (rc) {
		hv_mh_abort(&h);
		return rc;
	}
	return hv_mh_final(&h, d);
}

static int hex_is(const struct hv_digests *d, enum hv_alg a, const char *want)
{
	char hex[2 * HV_DIGEST_MAX + 1];
	hv_hex(d->d[a], hv_alg_size(a), hex);
	if (strcmp(hex, want) != 0) {
		printf("#   %s: got %s want %s\n", hv_alg_name(a), hex, want);
		return 0;
	}
	return 1;
}

static void test_mh_abc_vectors(void)
{
	struct hv_digests d;
	memset(&d, 0, sizeof(d));
	CHECK(digest_all("abc", 3, &d) == 0);
	CHECK(d.mask == HV_ALGS_ALL);
	CHECK(hex_is(&d, HV_SHA1, abc_sha1));
	CHECK(hex_is(&d, HV_SHA256, abc_sha256));
	CHECK(hex_is(&d, HV_SHA384, abc_sha384));
}

static void test_mh_empty_input_vectors(void)
{
	struct hv_digests d;
	memset(&d, 0, sizeof(d));
	CHECK(digest_all("", 0, &d) == 0);
	CHECK(hex_is(&d, HV_SHA1, empty_sha1));
	CHECK(hex_is(&d, HV_SHA256, empty_sha256));
	CHECK(hex_is(&d, HV_SHA384, empty_sha384));
}

static void test_mh_no_update_equals_empty(void)
{
	struct hv_mh h;
	struct hv_digests d;
	memset(&d, 0, sizeof(d));
	CHECK(hv_mh_init(&h, HV_ALGS_ALL) == 0);
	CHECK(hv_mh_final(&h, &d) == 0);
	CHECK(hex_is(&d, HV_SHA256, empty_sha256));
}

static void test_mh_split_updates_equal_one(void)
{
	static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t n = sizeof(msg) - 1;
	struct hv_digests one, split;
	memset(&one, 0, sizeof(one));
	CHECK(digest_all(msg, n, &one) == 0);
	CHECK(hex_is(&one, HV_SHA256, two_block_sha256));
	for (size_t cut = 0; cut <= n; cut += 7) {
		struct hv_mh h;
		memset(&split, 0xee, sizeof(split));
		CHECK(hv_mh_init(&h, HV_ALGS_ALL) == 0);
		CHECK(hv_mh_update(&h, msg, cut) == 0);
		CHECK(hv_mh_update(&h, "", 0) == 0);
		CHECK(hv_mh_update(&h, msg + cut, n - cut) == 0);
		CHECK(hv_mh_final(&h, &split) == 0);
		for (int a = 0; a < HV_NALGS; a++)
			CHECKF(memcmp(one.d[a], split.d[a], hv_alg_size(a)) == 0, "alg %d cut %zu", a, cut);
	}
}

static void test_mh_mask_selects_algorithms(void)
{
	struct hv_mh h;
	struct hv_digests d;
	memset(&d, 0, sizeof(d));
	CHECK(hv_mh_init(&h, HV_ALG_BIT(HV_SHA256)) == 0);
	CHECK(hv_mh_update(&h, "abc", 3) == 0);
	CHECK(hv_mh_final(&h, &d) == 0);
	CHECK(d.mask == HV_ALG_BIT(HV_SHA256));
	CHECK(hex_is(&d, HV_SHA256, abc_sha256));

	memset(&d, 0, sizeof(d));
	CHECK(hv_mh_init(&h, HV_ALG_BIT(HV_SHA1) | HV_ALG_BIT(HV_SHA384)) == 0);
	CHECK(hv_mh_update(&h, "abc", 3) == 0);
	CHECK(hv_mh_final(&h, &d) == 0);
	CHECK(d.mask == (HV_ALG_BIT(HV_SHA1) | HV_ALG_BIT(HV_SHA384)));
	CHECK(hex_is(&d, HV_SHA1, abc_sha1));
	CHECK(hex_is(&d, HV_SHA384, abc_sha384));
}

static void test_mh_abort_frees(void)
{
	/* Under ASan, a leaked context fails the run. */
	struct hv_mh h;
	CHECK(hv_mh_init(&h, HV_ALGS_ALL) == 0);
	CHECK(hv_mh_update(&h, "abc", 3) == 0);
	hv_mh_abort(&h);
}

static void test_mh_large_input(void)
{
	/* One million 'a': SHA-256 vector of FIPS 180-2 appendix B.3. */
	size_t n = 1000000;
	char *m = malloc(n);
	struct hv_digests d;
	CHECK(m != NULL);
	if (!m)
		return;
	memset(m, 'a', n);
	memset(&d, 0, sizeof(d));
	CHECK(digest_all(m, n, &d) == 0);
	CHECK(hex_is(&d, HV_SHA256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	CHECK(hex_is(&d, HV_SHA1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
	free(m);
}

static void test_hex_lowercase_and_terminated(void)
{
	static const uint8_t b[] = {0x00, 0x01, 0xab, 0xCD, 0xff};
	char out[2 * sizeof(b) + 2];
	memset(out, 'x', sizeof(out));
	CHECK(hv_hex(b, sizeof(b), out) == out);
	CHECK(strcmp(out, "0001abcdff") == 0);
	CHECK(out[2 * sizeof(b) + 1] == 'x'); /* nothing past the NUL */
	CHECK(strcmp(hv_hex(b, 0, out), "") == 0);
}

static void test_alg_tables_round_trip(void)
{
	static const struct {
		enum hv_alg a;
		const char *name;
		uint16_t id;
		size_t size;
	} t[] = {
		{HV_SHA1, "sha1", 0x0004, 20},
		{HV_SHA256, "sha256", 0x000B, 32},
		{HV_SHA384, "sha384", 0x000C, 48},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(strcmp(hv_alg_name(t[i].a), t[i].name) == 0);
		CHECK(hv_alg_tpm_id(t[i].a) == t[i].id);
		CHECK(hv_alg_size(t[i].a) == t[i].size);
		CHECK(hv_alg_from_name(t[i].name) == (int)t[i].a);
		CHECK(hv_alg_from_tpm_id(t[i].id) == (int)t[i].a);
		CHECK(hv_alg_from_name(hv_alg_name(t[i].a)) == (int)t[i].a);
		CHECK(hv_alg_from_tpm_id(hv_alg_tpm_id(t[i].a)) == (int)t[i].a);
	}
	CHECK(hv_alg_size(HV_SHA384) <= HV_DIGEST_MAX);
}

static void test_alg_unknown_names_and_ids(void)
{
	CHECK(hv_alg_from_name("md5") == -1);
	CHECK(hv_alg_from_name("") == -1);
	CHECK(hv_alg_from_name("sha") == -1);
	CHECK(hv_alg_from_name("sha2566") == -1);
	CHECK(hv_alg_from_tpm_id(0x0000) == -1);
	CHECK(hv_alg_from_tpm_id(0x000D) == -1); /* SHA-512 */
	CHECK(hv_alg_from_tpm_id(0x0012) == -1); /* SM3 */
	CHECK(hv_alg_from_tpm_id(0xFFFF) == -1);
}

int main(void)
{
	RUN(test_mh_abc_vectors);
	RUN(test_mh_empty_input_vectors);
	RUN(test_mh_no_update_equals_empty);
	RUN(test_mh_split_updates_equal_one);
	RUN(test_mh_mask_selects_algorithms);
	RUN(test_mh_abort_frees);
	RUN(test_mh_large_input);
	RUN(test_hex_lowercase_and_terminated);
	RUN(test_alg_tables_round_trip);
	RUN(test_alg_unknown_names_and_ids);
	return tap_done();
}
