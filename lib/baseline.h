/*
 * baseline.h: known-good runs, recorded by `hvima baseline` and compared by
 * `hvima verify --baseline`. A baseline is a multiset of measurements keyed
 * by (PCR, kind, SHA-256), each with the smallest and largest count seen
 * over the recorded runs, plus the PCR values each run replayed to. Counts
 * ignore order, so firmware that loads drivers in a different order still
 * matches; the PCR values then differ, which a diff reports as "order only".
 *
 * JSON: {"hvima_baseline": 1, "runs": N, "entries": [{"pcr", "kind"
 * ("image"|"unattributed"|"firmware"|"violation"|"malformed"), "sha256",
 * "name", "min", "max"}], "pcrs": {"sha256": {"0": [hex, ...], ...}}}.
 * The reader treats it as hostile input, like a manifest.
 */
#ifndef HVIMA_BASELINE_H
#define HVIMA_BASELINE_H

#include <stdint.h>

#include "verify.h"

enum hv_bl_kind { HV_BL_IMAGE, HV_BL_UNATTRIBUTED, HV_BL_FIRMWARE, HV_BL_VIOLATION, HV_BL_MALFORMED, HV_BL_NKINDS };

struct hv_bl_entry {
	uint32_t pcr;
	uint8_t kind;
	uint8_t sha256[32];
	char name[128];
	uint32_t min, max;
};

#define HV_BL_MAX_VALUES 16 /* distinct values kept per PCR */

struct hv_baseline {
	uint32_t runs;
	struct hv_bl_entry *e;
	uint32_t n, cap;
	uint8_t nvals[HV_NALGS][24];
	uint8_t vals[HV_NALGS][24][HV_BL_MAX_VALUES][HV_DIGEST_MAX];
};

const char *hv_bl_kind_name(unsigned kind);
/* Add one run's measurements (hv_vf_scan output); entries stay sorted. */
int hv_bl_add_run(struct hv_baseline *b, const struct hv_vf *v, hv_why *why);
int hv_bl_load(struct hv_baseline *b, const char *label, const uint8_t *buf, size_t len, hv_why *why);
/* Index of the entry with this key, or -1 (binary search). */
long hv_bl_find(const struct hv_baseline *b, uint32_t pcr, unsigned kind, const uint8_t *sha256);
/* The run's measurements as a baseline of one run (to diff against). */
void hv_bl_free(struct hv_baseline *b);

#endif
