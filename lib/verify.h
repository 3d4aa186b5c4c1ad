/*
 * verify.h: what a verifier concludes from an hvima event log: each record
 * classified (image, malformed image, violation, unattributed code, note,
 * firmware), image events matched by canonical SHA-256 against manifests,
 * unattributed code and missing images judged by a policy, and the log's
 * replay compared with the hypervisor TPM's PCRs. The log is walked with
 * tcglog.h's bounded walker; nothing here trusts a byte of it.
 *
 * Policy (JSON, docs/cli.md "hvima verify"): {"hvima_policy": 1,
 * "allow_unattributed": [{"page_sha256": hex} or {"page_from": "0x..",
 * "page_to": "0x.."}, with "reason"], "optional": [glob on a manifest
 * image's path or name], "allow_images": [{"sha256": hex, "reason"}]}.
 */
#ifndef HVIMA_VERIFY_H
#define HVIMA_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "mfread.h"
#include "tcglog.h"

enum hv_vf_kind {
	HV_VF_IMAGE,        /* UEFI image load or SIPA module: canonical digest */
	HV_VF_MALFORMED,    /* an image the plugin could not parse or read */
	HV_VF_VIOLATION,    /* measured code modified */
	HV_VF_UNATTRIBUTED, /* code run outside any image */
	HV_VF_NOTE,         /* hvima notes and padding */
	HV_VF_FIRMWARE,     /* the S-CRTM firmware blob */
	HV_VF_OTHER,        /* a record hvima does not write */
};

struct hv_vf_event {
	uint64_t index, offset;
	uint32_t pcr, type;
	uint8_t kind;
	bool has_sha256;
	bool allowed;        /* unattributed or unknown image allowed by the policy */
	uint8_t sha256[32];  /* event digest (images: canonical); unattributed: the page's */
	char *text;          /* image: name (may be ""); tagged events: their text */
	uint64_t length;     /* image: length in memory; unattributed: page address */
	uint32_t match;      /* image: first manifest image with this digest, else HV_MR_NONE */
	uint32_t changed;    /* unknown image: the manifest image it most likely replaces */
	const char *reason;  /* policy reason when allowed (owned by the policy) */
};

struct hv_vf_allow_unattr {
	bool by_hash;
	uint8_t sha256[32];
	uint64_t from, to;
	char *reason;
};

struct hv_vf_policy {
	struct hv_vf_allow_unattr *un;
	uint32_t nun;
	char **optional;
	uint32_t nopt;
	struct {
		uint8_t sha256[32];
		char *reason;
	} *images;
	uint32_t nimages;
};

/* TPM PCR values (from a PCR read or a tpm2_pcrread YAML file). */
struct hv_vf_pcrs {
	uint32_t have[HV_NALGS]; /* bit i: PCR i of that bank is known */
	uint8_t v[HV_NALGS][24][HV_DIGEST_MAX];
};

struct hv_vf {
	struct hv_vf_event *ev;
	uint64_t nev, cap;
	struct hv_log_replay replay;
	uint64_t counts[HV_VF_OTHER + 1];
	/* after hv_vf_match */
	uint8_t *seen;       /* per manifest image: 1 ran, 2 replaced by a changed image */
	uint64_t matched, unknown, changed, unattr_bad, missing;
};

/* Walk and replay the log; classify every record. HV_E_* with the record
 * and offset at fault for a malformed log. */
int hv_vf_scan(struct hv_vf *v, const uint8_t *log, size_t len, hv_why *why);
/* Match image events against s (may be empty), apply the policy (may be
 * NULL). Fills match/changed/allowed and seen; counts. */
int hv_vf_match(struct hv_vf *v, const struct hv_mr_set *s, const struct hv_vf_policy *p, hv_why *why);
/* True if manifest image i is expected to run: not from firmware, not
 * optional by the policy. */
bool hv_vf_expected(const struct hv_mr_set *s, uint32_t i, const struct hv_vf_policy *p);
void hv_vf_free(struct hv_vf *v);

int hv_vf_policy_load(struct hv_vf_policy *p, const char *label, const uint8_t *buf, size_t len, hv_why *why);
void hv_vf_policy_free(struct hv_vf_policy *p);

/* tpm2_pcrread's YAML ("  sha256:" then "    N : 0xHEX" lines). */
int hv_vf_pcrs_parse_yaml(struct hv_vf_pcrs *p, const uint8_t *buf, size_t len, hv_why *why);

/* One PCR where the replay and the TPM differ. Returns how many (at most
 * max written to out), comparing PCRs 0-16 and 23 of every bank both
 * have (17-22 start at all-ones in the TPM and are not hvima's). *compared
 * counts the PCR values compared. */
struct hv_vf_pcrdiff {
	enum hv_alg alg;
	uint32_t pcr;
};
unsigned hv_vf_pcrs_compare(const struct hv_log_replay *r, const struct hv_vf_pcrs *t, struct hv_vf_pcrdiff *out,
			    unsigned max, unsigned *compared);

#endif
