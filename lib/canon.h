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
int hv_canon_digest(const struct hv_pe *pe, uint64_t base, unsigned mask, struct hv_digests *out,
		    struct hv_canon_stats *stats, hv_why *why);

#endif
