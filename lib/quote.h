/*
 * quote.h: checking a TPM 2.0 quote (TPM2_Quote, TPM 2.0 Library Part 2,
 * 10.12.12 TPMS_ATTEST and 10.12.1 TPMS_QUOTE_INFO; Part 3, 18.4) against a
 * log's replayed PCRs. The quote is hostile input: the attestation blob
 * (TPMS_ATTEST, as tpm2_quote -m writes it) and the signature (TPMT_SIGNATURE,
 * tpm2_quote -s) are parsed with bounded big-endian reads, every size
 * checked; then the signature is verified with the attestation key's
 * public key (PEM, as tpm2_createak -f pem writes it) through OpenSSL.
 *
 * A quote passes when: magic is TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE,
 * extraData equals the verifier's nonce, the signature verifies with the
 * given key, the PCR selection covers every PCR the log extends (in at least
 * one bank the replay has), and pcrDigest equals the hash (the signature's
 * hash algorithm) of the replayed values of the selected PCRs, bank by bank
 * in selection order, PCRs in ascending order.
 */
#ifndef HVIMA_QUOTE_H
#define HVIMA_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "pe.h"
#include "tcglog.h"

#define HV_TPM_GENERATED_VALUE 0xff544347u
#define HV_TPM_ST_ATTEST_QUOTE 0x8018u
#define HV_TPM_ALG_RSASSA 0x0014u
#define HV_QUOTE_MAX_BANKS 8

struct hv_quote {
	uint8_t nonce[64];
	uint16_t nonce_len;
	uint8_t signer[68]; /* qualifiedSigner (TPM2B_NAME) */
	uint16_t signer_len;
	uint64_t clock;
	uint32_t reset_count, restart_count;
	unsigned nbanks;
	struct {
		uint16_t alg_id;
		uint32_t pcrs; /* bit i: PCR i selected */
	} banks[HV_QUOTE_MAX_BANKS];
	uint8_t pcr_digest[64];
	uint16_t pcr_digest_len;
};

struct hv_quote_sig {
	uint16_t sig_alg, hash_alg;
	const uint8_t *sig; /* into the caller's buffer */
	uint16_t sig_len;
};

int hv_quote_parse(const uint8_t *buf, size_t len, struct hv_quote *q, hv_why *why);
int hv_quote_parse_sig(const uint8_t *buf, size_t len, struct hv_quote_sig *s, hv_why *why);
/* The signature over attest[0, len) with the public key in pem. HV_E_CRYPTO
 * with the reason when it does not verify; HV_E_FORMAT for a key OpenSSL
 * cannot read; HV_E_UNSUPPORTED for a scheme other than RSASSA. */
int hv_quote_verify_sig(const uint8_t *attest, size_t len, const struct hv_quote_sig *s, const uint8_t *pem,
			size_t pem_len, hv_why *why);
/* Nonce, selection and pcrDigest against the replay (see above). HV_E_FORMAT
 * names what differs. hash_alg is the signature's (TPM_ALG_ID). */
int hv_quote_check(const struct hv_quote *q, uint16_t hash_alg, const uint8_t *nonce, size_t nonce_len,
		   const struct hv_log_replay *r, hv_why *why);

#endif
