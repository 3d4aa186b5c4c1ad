/*
 * hash.h: the digests of the TPM banks hvima fills (SHA-1, SHA-256,
 * SHA-384), computed together in one pass over the data.
 *
 * A mask selects the algorithms (bit i = enum hv_alg i). The TPM algorithm
 * ids are those of the TCG Algorithm Registry (TPM_ALG_SHA1 0x0004,
 * TPM_ALG_SHA256 0x000B, TPM_ALG_SHA384 0x000C).
 */
#ifndef HVIMA_HASH_H
#define HVIMA_HASH_H

#include <stddef.h>
#include <stdint.h>

enum hv_alg { HV_SHA1, HV_SHA256, HV_SHA384, HV_NALGS };

#define HV_ALG_BIT(a) (1u << (a))
#define HV_ALGS_ALL (HV_ALG_BIT(HV_SHA1) | HV_ALG_BIT(HV_SHA256) | HV_ALG_BIT(HV_SHA384))
#define HV_DIGEST_MAX 48

struct hv_digests {
	unsigned mask; /* which of d[] are valid */
	uint8_t d[HV_NALGS][HV_DIGEST_MAX];
};

struct hv_mh {
	unsigned mask;
	void *ctx[HV_NALGS]; /* EVP_MD_CTX * */
};

size_t hv_alg_size(enum hv_alg a);
const char *hv_alg_name(enum hv_alg a);     /* "sha1", "sha256", "sha384" */
uint16_t hv_alg_tpm_id(enum hv_alg a);
/* -1 if the name or id is unknown. */
int hv_alg_from_name(const char *name);
int hv_alg_from_tpm_id(uint16_t id);

/* 0 or HV_E_CRYPTO / HV_E_NOMEM (pe.h). On failure nothing is left to free. */
int hv_mh_init(struct hv_mh *h, unsigned mask);
int hv_mh_update(struct hv_mh *h, const void *p, size_t n);
/* Writes the digests and frees the contexts. */
int hv_mh_final(struct hv_mh *h, struct hv_digests *out);
void hv_mh_abort(struct hv_mh *h);

/* Lower-case hex of n bytes into out (2n+1 bytes). Returns out. */
char *hv_hex(const uint8_t *p, size_t n, char *out);

#endif
