/*
 * authenticode.c: the Authenticode digest of a PE file, and the digests its
 * signatures carry.
 *
 * Hashed ranges (Microsoft, "Windows Authenticode Portable Executable
 * Signature Format", "Calculating the PE Image Hash"), named as in the code:
 *   begin -> CheckSum, CheckSum+4 -> CertDir, CertDir+8 -> SizeOfHeaders,
 *   each section with SizeOfRawData != 0 in PointerToRawData order,
 *   end of the last section -> FileSize - CertDir.Size.
 * When the file is shorter than the hashed bytes plus the certificate table,
 * the image is rejected, as UEFI firmware does when it measures it.
 *
 * Signatures: WIN_CERTIFICATE entries, 8-byte aligned, fill the certificate
 * table. A PKCS#7 entry is ContentInfo{signedData, SignedData{version,
 * digestAlgorithms, contentInfo{SPC_INDIRECT_DATA, SpcIndirectDataContent{
 * data, DigestInfo{algorithm, digest}}}...}}; a bounded DER walk takes the
 * DigestInfo out. The signature is not verified here.
 */
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"

struct range {
	uint32_t off, len;
};

static int cmp_raw(const void *a, const void *b)
{
	const struct hv_pe_section *x = *(const struct hv_pe_section *const *)a;
	const struct hv_pe_section *y = *(const struct hv_pe_section *const *)b;
	if (x->raw_ptr != y->raw_ptr)
		return x->raw_ptr < y->raw_ptr ? -1 : 1;
	return x < y ? -1 : x > y; /* stable: header order on ties */
}

int hv_authenticode(const struct hv_pe *pe, unsigned mask, struct hv_digests *out, hv_why *why)
{
	const struct hv_rd *in = &pe->in;
	uint32_t soh = pe->size_of_headers, certdir = pe->dirs_off + 8 * HV_DIR_SECURITY;
	uint64_t sum, cert_size = 0;
	const struct hv_pe_section **order = NULL;
	struct hv_mh h;
	uint32_t n = 0;
	int rc;

	if (pe->kind == HV_TE)
		return hv_fail(why, HV_E_UNSUPPORTED, "TE images have no Authenticode digest");
	if (pe->layout != HV_LAYOUT_FILE)
		return hv_fail(why, HV_E_UNSUPPORTED, "Authenticode is defined on files, not loaded images");
	if (pe->checksum_off + 4 > soh)
		return hv_fail(why, HV_E_FORMAT, "CheckSum field at 0x%x lies beyond SizeOfHeaders 0x%x", pe->checksum_off,
			       soh);
	if (pe->ndirs_raw > HV_DIR_SECURITY) {
		if (pe->ndirs <= HV_DIR_SECURITY || certdir + 8 > soh)
			return hv_fail(why, HV_E_FORMAT, "certificate table entry at 0x%x lies beyond SizeOfHeaders 0x%x",
				       certdir, soh);
		cert_size = pe->dirs[HV_DIR_SECURITY].size;
		if (cert_size && (uint64_t)pe->dirs[HV_DIR_SECURITY].rva + cert_size > in->len)
			return hv_fail(why, HV_E_RANGE, "certificate table [0x%x, +0x%llx) runs past the end of the file (0x%zx)",
				       pe->dirs[HV_DIR_SECURITY].rva, (unsigned long long)cert_size, in->len);
	}

	if (pe->nsections) {
		order = malloc(pe->nsections * sizeof(*order));
		if (!order)
			return hv_fail(why, HV_E_NOMEM, "no memory to sort sections");
	}
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		if (s->raw_size == 0)
			continue;
		if (!hv_rd_has(in, s->raw_ptr, s->raw_size)) {
			free(order);
			return hv_fail(why, HV_E_RANGE, "section %u (%s): raw data [0x%x, +0x%x) runs past the end of the file (0x%zx)",
				       i, s->name, s->raw_ptr, s->raw_size, in->len);
		}
		order[n++] = s;
	}
	if (n)
		qsort(order, n, sizeof(*order), cmp_raw);

	rc = hv_mh_init(&h, mask);
	if (rc) {
		free(order);
		return hv_fail(why, rc, "cannot start the digests");
	}
	/* begin -> CheckSum, CheckSum+4 -> CertDir (or SizeOfHeaders), CertDir+8 -> SizeOfHeaders */
	hv_mh_update(&h, in->p, pe->checksum_off);
	if (pe->ndirs_raw > HV_DIR_SECURITY) {
		hv_mh_update(&h, in->p + pe->checksum_off + 4, certdir - (pe->checksum_off + 4));
		hv_mh_update(&h, in->p + certdir + 8, soh - (certdir + 8));
	} else {
		hv_mh_update(&h, in->p + pe->checksum_off + 4, soh - (pe->checksum_off + 4));
	}
	sum = soh;
	for (uint32_t i = 0; i < n; i++) {
		hv_mh_update(&h, in->p + order[i]->raw_ptr, order[i]->raw_size);
		sum += order[i]->raw_size;
	}
	free(order);
	/* end of sections -> FileSize - CertDir.Size */
	if (in->len > sum) {
		if (in->len < sum + cert_size) {
			hv_mh_abort(&h);
			return hv_fail(why, HV_E_FORMAT,
				       "certificate table of 0x%llx bytes overlaps the 0x%llx hashed bytes of a 0x%zx-byte file",
				       (unsigned long long)cert_size, (unsigned long long)sum, in->len);
		}
		hv_mh_update(&h, in->p + sum, in->len - sum - cert_size);
	}
	rc = hv_mh_final(&h, out);
	return rc ? hv_fail(why, rc, "digest library failure") : HV_OK;
}

/* ---- DER ---------------------------------------------------------------- */

struct der {
	const uint8_t *p;
	size_t len;
};

/* Take one TLV off the front of *d: its tag and its content. Definite
 * lengths only (DER), up to 4 length bytes. */
static bool der_next(struct der *d, uint8_t *tag, struct der *content)
{
	size_t len, hdr = 2;

	if (d->len < 2)
		return false;
	*tag = d->p[0];
	if ((*tag & 0x1f) == 0x1f)
		return false; /* high tag numbers do not occur in Authenticode */
	len = d->p[1];
	if (len & 0x80) {
		unsigned nb = len & 0x7f;
		if (nb == 0 || nb > 4 || d->len - 2 < nb)
			return false;
		len = 0;
		for (unsigned i = 0; i < nb; i++)
			len = len << 8 | d->p[2 + i];
		hdr += nb;
	}
	if (len > d->len - hdr)
		return false;
	content->p = d->p + hdr;
	content->len = len;
	d->p += hdr + len;
	d->len -= hdr + len;
	return true;
}

static bool der_expect(struct der *d, uint8_t tag, struct der *content)
{
	uint8_t t;
	return der_next(d, &t, content) && t == tag;
}

static bool der_is_oid(const struct der *c, const uint8_t *oid, size_t n)
{
	return c->len == n && memcmp(c->p, oid, n) == 0;
}

#define DER_SEQ 0x30
#define DER_SET 0x31
#define DER_OID 0x06
#define DER_INT 0x02
#define DER_OCTETS 0x04
#define DER_CTX0 0xa0

static const uint8_t oid_signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
static const uint8_t oid_spc_indirect[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04};
static const struct {
	uint8_t oid[9];
	uint8_t len;
	int alg;
} digest_oids[] = {
	{{0x2b, 0x0e, 0x03, 0x02, 0x1a}, 5, HV_SHA1},
	{{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, 9, HV_SHA256},
	{{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, 9, HV_SHA384},
};

static int decode_pkcs7(const uint8_t *p, size_t len, struct hv_pe_signature *sig)
{
	struct der d = {p, len}, ci, c, sd, x, inner, spc, di, alg;

	if (!der_expect(&d, DER_SEQ, &ci) || !der_expect(&ci, DER_OID, &c) ||
	    !der_is_oid(&c, oid_signed_data, sizeof(oid_signed_data)) || !der_expect(&ci, DER_CTX0, &c) ||
	    !der_expect(&c, DER_SEQ, &sd))
		return HV_E_FORMAT;
	if (!der_expect(&sd, DER_INT, &x) || !der_expect(&sd, DER_SET, &x) || !der_expect(&sd, DER_SEQ, &inner))
		return HV_E_FORMAT;
	if (!der_expect(&inner, DER_OID, &c) || !der_is_oid(&c, oid_spc_indirect, sizeof(oid_spc_indirect)) ||
	    !der_expect(&inner, DER_CTX0, &c) || !der_expect(&c, DER_SEQ, &spc))
		return HV_E_FORMAT;
	if (!der_expect(&spc, DER_SEQ, &x) || !der_expect(&spc, DER_SEQ, &di))
		return HV_E_FORMAT;
	if (!der_expect(&di, DER_SEQ, &alg) || !der_expect(&alg, DER_OID, &c) || !der_expect(&di, DER_OCTETS, &x))
		return HV_E_FORMAT;
	if (x.len == 0 || x.len > HV_DIGEST_MAX)
		return HV_E_FORMAT;
	sig->alg = -1;
	for (size_t i = 0; i < sizeof(digest_oids) / sizeof(digest_oids[0]); i++)
		if (der_is_oid(&c, digest_oids[i].oid, digest_oids[i].len))
			sig->alg = digest_oids[i].alg;
	if (sig->alg >= 0 && x.len != hv_alg_size((enum hv_alg)sig->alg))
		return HV_E_FORMAT;
	memcpy(sig->digest, x.p, x.len);
	sig->digest_len = x.len;
	return HV_OK;
}

int hv_authenticode_signatures(const struct hv_pe *pe, struct hv_pe_signature *out, size_t max, size_t *n,
			       hv_why *why)
{
	const struct hv_pe_dirent *d = hv_pe_dir(pe, HV_DIR_SECURITY);
	uint64_t off, end;

	*n = 0;
	if (pe->kind == HV_TE || pe->layout != HV_LAYOUT_FILE || !d || d->size == 0)
		return hv_fail(why, HV_E_ABSENT, "the file is not signed (no certificate table)");
	off = d->rva;
	end = off + d->size;
	if (end > pe->in.len)
		return hv_fail(why, HV_E_RANGE, "certificate table [0x%x, +0x%x) runs past the end of the file", d->rva,
			       d->size);
	while (off < end && end - off >= 8) {
		struct hv_pe_signature sig;
		const uint8_t *p = pe->in.p + off;

		if (*n >= HV_CAP_CERT_ENTRIES)
			return hv_fail(why, HV_E_CAP, "more than %u certificate entries", HV_CAP_CERT_ENTRIES);
		memset(&sig, 0, sizeof(sig));
		sig.offset = (uint32_t)off;
		sig.length = hv_le32(p);
		sig.revision = hv_le16(p + 4);
		sig.type = hv_le16(p + 6);
		sig.alg = -1;
		if (sig.length < 8 || sig.length > end - off)
			return hv_fail(why, HV_E_FORMAT, "certificate entry at 0x%llx: dwLength %u is below 8 or past the table",
				       (unsigned long long)off, sig.length);
		if (sig.type == HV_WIN_CERT_TYPE_PKCS_SIGNED_DATA && decode_pkcs7(p + 8, sig.length - 8, &sig) != HV_OK)
			return hv_fail(why, HV_E_FORMAT, "certificate entry at 0x%llx: no SpcIndirectDataContent digest in its PKCS#7",
				       (unsigned long long)off);
		if (*n < max)
			out[*n] = sig;
		(*n)++;
		off += ((uint64_t)sig.length + 7) & ~(uint64_t)7;
	}
	return HV_OK;
}
