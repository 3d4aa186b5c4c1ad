/*
 * hash.c: SHA-1, SHA-256 and SHA-384 together over one stream, on OpenSSL's
 * EVP interface. The TPM bank ids come from the TCG Algorithm Registry.
 */
#include <openssl/evp.h>
#include <string.h>

#include "hash.h"
#include "pe.h"

static const struct {
	const char *name;
	uint16_t tpm_id;
	size_t size;
	const EVP_MD *(*md)(void);
} algs[HV_NALGS] = {
	[HV_SHA1] = {"sha1", 0x0004, 20, EVP_sha1},
	[HV_SHA256] = {"sha256", 0x000b, 32, EVP_sha256},
	[HV_SHA384] = {"sha384", 0x000c, 48, EVP_sha384},
};

size_t hv_alg_size(enum hv_alg a) { return (unsigned)a < HV_NALGS ? algs[a].size : 0; }
const char *hv_alg_name(enum hv_alg a) { return (unsigned)a < HV_NALGS ? algs[a].name : "?"; }
uint16_t hv_alg_tpm_id(enum hv_alg a) { return (unsigned)a < HV_NALGS ? algs[a].tpm_id : 0; }

int hv_alg_from_name(const char *name)
{
	for (int a = 0; a < HV_NALGS; a++)
		if (strcmp(name, algs[a].name) == 0)
			return a;
	return -1;
}

int hv_alg_from_tpm_id(uint16_t id)
{
	for (int a = 0; a < HV_NALGS; a++)
		if (algs[a].tpm_id == id)
			return a;
	return -1;
}

void hv_mh_abort(struct hv_mh *h)
{
	for (int a = 0; a < HV_NALGS; a++) {
		EVP_MD_CTX_free(h->ctx[a]);
		h->ctx[a] = NULL;
	}
	h->mask = 0;
}

int hv_mh_init(struct hv_mh *h, unsigned mask)
{
	memset(h, 0, sizeof(*h));
	h->mask = mask & HV_ALGS_ALL;
	for (int a = 0; a < HV_NALGS; a++) {
		if (!(h->mask & HV_ALG_BIT(a)))
			continue;
		h->ctx[a] = EVP_MD_CTX_new();
		if (!h->ctx[a]) {
			hv_mh_abort(h);
			return HV_E_NOMEM;
		}
		if (EVP_DigestInit_ex(h->ctx[a], algs[a].md(), NULL) != 1) {
			hv_mh_abort(h);
			return HV_E_CRYPTO;
		}
	}
	return HV_OK;
}

int hv_mh_update(struct hv_mh *h, const void *p, size_t n)
{
	for (int a = 0; a < HV_NALGS; a++)
		if (h->ctx[a] && n && EVP_DigestUpdate(h->ctx[a], p, n) != 1)
			return HV_E_CRYPTO;
	return HV_OK;
}

int hv_mh_final(struct hv_mh *h, struct hv_digests *out)
{
	int rc = HV_OK;

	memset(out, 0, sizeof(*out));
	for (int a = 0; a < HV_NALGS; a++) {
		if (!h->ctx[a])
			continue;
		if (EVP_DigestFinal_ex(h->ctx[a], out->d[a], NULL) != 1)
			rc = HV_E_CRYPTO;
		else
			out->mask |= HV_ALG_BIT(a);
	}
	hv_mh_abort(h);
	return rc;
}

char *hv_hex(const uint8_t *p, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[p[i] >> 4];
		out[2 * i + 1] = x[p[i] & 15];
	}
	out[2 * n] = 0;
	return out;
}
