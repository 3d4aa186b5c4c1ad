/*
 * authenticode.h: Authenticode digests of PE files and the digests their
 * signatures carry.
 *
 * The digest follows Microsoft's "Windows Authenticode Portable Executable
 * Signature Format": the headers without the CheckSum field and the
 * Certificate Table directory entry, then each section with raw data in
 * order of PointerToRawData, then the bytes after the last section up to
 * the file size less the certificate table. This is what UEFI firmware
 * extends into PCR 2/4 for an image it loads and what a signature signs.
 * TE images have no Authenticode digest (HV_E_UNSUPPORTED).
 */
#ifndef HVIMA_AUTHENTICODE_H
#define HVIMA_AUTHENTICODE_H

#include "hash.h"
#include "pe.h"

/* pe must be parsed with HV_LAYOUT_FILE from the whole file. */
int hv_authenticode(const struct hv_pe *pe, unsigned mask, struct hv_digests *out, hv_why *why);

/* One WIN_CERTIFICATE of the certificate table. */
struct hv_pe_signature {
	uint32_t offset;   /* file offset of the WIN_CERTIFICATE */
	uint32_t length;   /* dwLength */
	uint16_t revision; /* wRevision, 0x0200 */
	uint16_t type;     /* wCertificateType, 0x0002 = PKCS#7 SignedData */
	int alg;           /* enum hv_alg of the signed digest, -1 if not one of ours */
	uint8_t digest[HV_DIGEST_MAX];
	size_t digest_len; /* 0 if the entry carries no SpcIndirectDataContent digest */
};

#define HV_WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002

/* Walk the certificate table and decode, for each PKCS#7 entry, the digest
 * in its SpcIndirectDataContent (a bounded DER walk; the signature itself is
 * not verified). Writes up to max entries; *n is the number found.
 * HV_E_ABSENT if the file is unsigned. */
int hv_authenticode_signatures(const struct hv_pe *pe, struct hv_pe_signature *out, size_t max, size_t *n,
			       hv_why *why);

#endif
