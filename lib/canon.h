/*
 * canon.h: the hvima canonical image digest (docs/measurement.md).
 *
 * One function computes it from a file or from an image a loader placed in
 * memory at any base; both give the same digest. It covers the headers and
 * the bytes every loader copies from the file, with every field a loader
 * legitimately writes before the entry point runs put back into a form that
 * does not depend on the load base or on the loader:
 *   relocation sites (HIGHLOW, DIR64) as offsets from the image base,
 *   the ImageBase field, HIGH/LOW/HIGHADJ sites, import and delay-import
 *   address slots, the /GS security cookie, CFG/XFG/RF/memcpy guard
 *   pointer slots, DVRT sites and debug AddressOfRawData fields as zeros.
 */
#ifndef HVIMA_CANON_H
#define HVIMA_CANON_H

#include "hash.h"
#include "pe.h"

#define HV_CANON_VERSION 1
#define HV_CANON_DOMAIN "hvima-canon-v1" /* hashed first, with its NUL */

struct hv_canon_stats {
	uint64_t bytes_covered; /* bytes of the image the digest covers */
	uint32_t regions;       /* headers + sections with copied bytes */
	uint32_t relocs;        /* relocation sites normalized */
	uint32_t masked;        /* other neutralized fields (slots, cookie...) */
	uint32_t unknown_relocs; /* entries of types hvima leaves covered */
};

/*
 * Compute the canonical digest(s) of the image parsed in pe.
 * FILE layout: base is ignored; the header's ImageBase is the base the
 *   file's relocation sites are relative to.
 * LOADED layout: base is the address the image was loaded at, i.e. the
 *   address of input byte 0 (for TE, the address of the TE header).
 * stats may be NULL.
 */
/* The bytes a loader may write in one image (steps 2 and 3 of the
 * specification), as a list that can be applied to any window of the image:
 * the plugin's guard compares a retranslated block with the measured bytes
 * through the same normalization as the digest. */
enum hv_site_op { HV_SITE_SUB32, HV_SITE_SUB64, HV_SITE_ZERO };
struct hv_canon_site {
	uint32_t rva;
	uint32_t len;
	uint8_t op;
};
struct hv_canon_sites {
	struct hv_canon_site *sub; /* relocation sites, ascending RVA */
	uint32_t nsub;
	struct hv_canon_site *zero; /* masks, ascending RVA */
	uint32_t nzero;
	uint32_t zero_maxlen;
	uint32_t *import_counts; /* slots of each import, then delay-import, table */
	uint32_t nimports;
	struct hv_canon_stats st;
};

/* Collect the sites of pe as found in this input (base as for
 * hv_canon_digest). Fails if a relocation site lies outside the image. */
int hv_canon_sites(const struct hv_pe *pe, uint64_t base, struct hv_canon_sites *out, hv_why *why);
void hv_canon_sites_free(struct hv_canon_sites *s);

/* Address of RVA 0 for pe in this input (FILE: ImageBase; LOADED: base
 * minus the TE bias). */
uint64_t hv_canon_va0(const struct hv_pe *pe, uint64_t base);

/* Normalize buf, the image bytes [rva, rva + len) of an input whose RVA 0
 * is at va0: relocation sites wholly inside become offsets from va0, bytes
 * of sites cut by the window edge and masked bytes become zero. */
void hv_canon_normalize(const struct hv_canon_sites *s, uint64_t va0, uint32_t rva, uint8_t *buf, uint32_t len);

int hv_canon_digest(const struct hv_pe *pe, uint64_t base, unsigned mask, struct hv_digests *out,
		    struct hv_canon_stats *stats, hv_why *why);

#endif
