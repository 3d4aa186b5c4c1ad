/*
 * quote.c: the quote checks of quote.h. TPM structures are big-endian;
 * a cursor (pos within len) is advanced only after a length check by
 * subtraction. Field names follow TPM 2.0 Library Part 2.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hash.h"
#include "quote.h"

struct be {
	const uint8_t *p;
	size_t len, pos;
	hv_why *why;
	const char *what; /* "attest" or "signature" */
};

static int need(struct be *b, size_t n, const char *field)
{
	if (n > b->len - b->pos)
		return hv_fail(b->why, HV_E_TRUNCATED, "%s: %s at offset %zu needs %zu bytes, %zu left", b->what, field,
			       b->pos, n, b->len - b->pos);
	return HV_OK;
}

static int u16(struct be *b, const char *field, uint16_t *v)
{
	int rc = need(b, 2, field);
	if (!rc) {
		*v = (uint16_t)(b->p[b->pos] << 8 | b->p[b->pos + 1]);
		b->pos += 2;
	}
	return rc;
}

static int u32(struct be *b, const char *field, uint32_t *v)
{
	uint16_t hi, lo;
	int rc = u16(b, field, &hi);
	if (!rc && !(rc = u16(b, field, &lo)))
		*v = (uint32_t)hi << 16 | lo;
	return rc;
}

/* TPM2B_*: u16 size, then size bytes (at most cap, copied to out if any). */
static int tpm2b(struct be *b, const char *field, size_t cap, uint8_t *out, uint16_t *n, const uint8_t **ptr)
{
	int rc = u16(b, field, n);
	if (rc)
		return rc;
	if (*n > cap)
		return hv_fail(b->why, HV_E_FORMAT, "%s: %s at offset %zu: size %u exceeds %zu", b->what, field,
			       b->pos - 2, *n, cap);
	if ((rc = need(b, *n, field)))
		return rc;
	if (out)
		memcpy(out, b->p + b->pos, *n);
	if (ptr)
		*ptr = b->p + b->pos;
	b->pos += *n;
	return HV_OK;
}

int hv_quote_parse(const uint8_t *buf, size_t len, struct hv_quote *q, hv_why *why)
{
	struct be b = {buf, len, 0, why, "attest"};
	uint32_t magic, nsel;
	uint16_t type;
	int rc;

	memset(q, 0, sizeof(*q));
	if ((rc = u32(&b, "magic", &magic)))
		return rc;
	if (magic != HV_TPM_GENERATED_VALUE)
		return hv_fail(why, HV_E_FORMAT, "attest: magic 0x%08x is not TPM_GENERATED_VALUE (0xff544347)", magic);
	if ((rc = u16(&b, "type", &type)))
		return rc;
	if (type != HV_TPM_ST_ATTEST_QUOTE)
		return hv_fail(why, HV_E_FORMAT, "attest: type 0x%04x is not TPM_ST_ATTEST_QUOTE (0x8018)", type);
	if ((rc = tpm2b(&b, "qualifiedSigner", sizeof(q->signer), q->signer, &q->signer_len, NULL)) ||
	    (rc = tpm2b(&b, "extraData", sizeof(q->nonce), q->nonce, &q->nonce_len, NULL)))
		return rc;
	/* clockInfo: clock u64, resetCount u32, restartCount u32, safe u8 */
	uint32_t hi, lo;
	if ((rc = u32(&b, "clockInfo.clock", &hi)) || (rc = u32(&b, "clockInfo.clock", &lo)) ||
	    (rc = u32(&b, "clockInfo.resetCount", &q->reset_count)) ||
	    (rc = u32(&b, "clockInfo.restartCount", &q->restart_count)) || (rc = need(&b, 1, "clockInfo.safe")))
		return rc;
	q->clock = (uint64_t)hi << 32 | lo;
	b.pos += 1;
	if ((rc = need(&b, 8, "firmwareVersion")))
		return rc;
	b.pos += 8;
	if ((rc = u32(&b, "pcrSelect.count", &nsel)))
		return rc;
	if (nsel > HV_QUOTE_MAX_BANKS)
		return hv_fail(why, HV_E_FORMAT, "attest: pcrSelect.count %u exceeds %d", nsel, HV_QUOTE_MAX_BANKS);
	for (uint32_t i = 0; i < nsel; i++) {
		uint8_t sz;
		if ((rc = u16(&b, "pcrSelections.hash", &q->banks[i].alg_id)) || (rc = need(&b, 1, "sizeofSelect")))
			return rc;
		sz = b.p[b.pos++];
		if (sz > 3)
			return hv_fail(why, HV_E_FORMAT, "attest: pcrSelections[%u].sizeofSelect %u exceeds 3 (24 PCRs)",
				       i, sz);
		if ((rc = need(&b, sz, "pcrSelect")))
			return rc;
		for (uint8_t k = 0; k < sz; k++)
			q->banks[i].pcrs |= (uint32_t)b.p[b.pos + k] << (8 * k);
		b.pos += sz;
	}
	q->nbanks = nsel;
	if ((rc = tpm2b(&b, "pcrDigest", sizeof(q->pcr_digest), q->pcr_digest, &q->pcr_digest_len, NULL)))
		return rc;
	if (b.pos != len)
		return hv_fail(why, HV_E_FORMAT, "attest: %zu bytes after pcrDigest", len - b.pos);
	return HV_OK;
}

int hv_quote_parse_sig(const uint8_t *buf, size_t len, struct hv_quote_sig *s, hv_why *why)
{
	struct be b = {buf, len, 0, why, "signature"};
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = u16(&b, "sigAlg", &s->sig_alg)))
		return rc;
	if (s->sig_alg != HV_TPM_ALG_RSASSA)
		return hv_fail(why, HV_E_UNSUPPORTED, "signature: sigAlg 0x%04x: only RSASSA (0x0014) is verified",
			       s->sig_alg);
	if ((rc = u16(&b, "hash", &s->hash_alg)) || (rc = tpm2b(&b, "sig", 512, NULL, &s->sig_len, &s->sig)))
		return rc;
	if (hv_alg_from_tpm_id(s->hash_alg) < 0)
		return hv_fail(why, HV_E_UNSUPPORTED, "signature: hash 0x%04x is not sha1, sha256 or sha384",
			       s->hash_alg);
	if (b.pos != len)
		return hv_fail(why, HV_E_FORMAT, "signature: %zu bytes after the signature", len - b.pos);
	return HV_OK;
}

int hv_quote_verify_sig(const uint8_t *attest, size_t len, const struct hv_quote_sig *s, const uint8_t *pem,
			size_t pem_len, hv_why *why)
{
	static const char *md_names[] = {"SHA1", "SHA256", "SHA384"};
	int a = hv_alg_from_tpm_id(s->hash_alg), rc = HV_OK;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *ctx = NULL;
	BIO *bio;

	if (a < 0 || s->sig_alg != HV_TPM_ALG_RSASSA)
		return hv_fail(why, HV_E_UNSUPPORTED, "signature: scheme 0x%04x/0x%04x not supported", s->sig_alg,
			       s->hash_alg);
	if (pem_len > 65536 || !(bio = BIO_new_mem_buf(pem, (int)pem_len)))
		return hv_fail(why, HV_E_FORMAT, "attestation key: not a PEM public key of at most 64 KiB");
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key)
		return hv_fail(why, HV_E_FORMAT, "attestation key: OpenSSL cannot read it as a PEM public key");
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		rc = hv_fail(why, HV_E_UNSUPPORTED, "attestation key: not an RSA key");
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_get_digestbyname(md_names[a]), NULL, key) != 1) {
		rc = hv_fail(why, HV_E_CRYPTO, "signature: OpenSSL could not set up the verification");
		goto out;
	}
	if (EVP_DigestVerify(ctx, s->sig, s->sig_len, attest, len) != 1)
		rc = hv_fail(why, HV_E_CRYPTO,
			     "signature: does not verify with the attestation key (another key, or altered data)");
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

int hv_quote_check(const struct hv_quote *q, uint16_t hash_alg, const uint8_t *nonce, size_t nonce_len,
		   const struct hv_log_replay *r, hv_why *why)
{
	int ha = hv_alg_from_tpm_id(hash_alg);
	uint32_t covered = 0;
	struct hv_digests out;
	struct hv_mh h;
	int rc;

	if (q->nonce_len != nonce_len || memcmp(q->nonce, nonce, nonce_len))
		return hv_fail(why, HV_E_FORMAT, "quote: extraData (%u bytes) is not the verifier's nonce: a replayed "
						 "or foreign quote", q->nonce_len);
	if (ha < 0)
		return hv_fail(why, HV_E_UNSUPPORTED, "quote: hash 0x%04x unknown", hash_alg);
	if ((rc = hv_mh_init(&h, HV_ALG_BIT(ha))))
		return hv_fail(why, rc, "quote: digest setup failed");
	for (unsigned i = 0; i < q->nbanks; i++) {
		int a = hv_alg_from_tpm_id(q->banks[i].alg_id);
		if (q->banks[i].pcrs && (a < 0 || !(r->algs & HV_ALG_BIT(a)))) {
			hv_mh_abort(&h);
			return hv_fail(why, HV_E_FORMAT, "quote: selects bank 0x%04x, which the log does not carry",
				       q->banks[i].alg_id);
		}
		if (!q->banks[i].pcrs)
			continue;
		covered |= q->banks[i].pcrs;
		for (unsigned p = 0; p < 24; p++)
			if (q->banks[i].pcrs & (1u << p))
				hv_mh_update(&h, r->pcr[a][p], hv_alg_size(a));
	}
	if ((rc = hv_mh_final(&h, &out)))
		return hv_fail(why, rc, "quote: digest failed");
	uint32_t missing = r->pcrs_used & ~covered;
	if (missing) {
		unsigned p = (unsigned)__builtin_ctz(missing);
		return hv_fail(why, HV_E_FORMAT, "quote: does not cover PCR %u, which the log extends", p);
	}
	if (q->pcr_digest_len != hv_alg_size(ha) || memcmp(q->pcr_digest, out.d[ha], hv_alg_size(ha)))
		return hv_fail(why, HV_E_FORMAT, "quote: pcrDigest differs from the digest of the log's replayed "
						 "PCRs: the log does not match the TPM that signed");
	return HV_OK;
}
