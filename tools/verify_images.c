/*
 * verify_images.c: the per-event findings of `hvima verify` once the log is
 * matched (lib/verify.h): every image (matched, changed with the manifest
 * entry it replaces, unknown, allowed by the policy), malformed images,
 * violations, unattributed code, records hvima does not write, and the
 * manifest images expected to run that never did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tcglog.h"
#include "verify.h"
#include "verify_report.h"

void verify_images(struct vr *r, const struct hv_vf *v, const struct hv_mr_set *s, const struct hv_vf_policy *p,
		   bool with_manifests);

static const char *mf_label(const struct hv_mr_set *s, uint32_t i, char *buf, size_t n)
{
	const struct hv_mr_image *im = &s->images[i];
	char hex[65];
	snprintf(buf, n, "%s: %s (%s%s%s) canonical sha256:%s", s->files[im->manifest], im->path,
		 s->sources[im->source].kind, *im->format ? " " : "", im->format, hv_hex(im->canon[HV_SHA256], 32, hex));
	return buf;
}

static void image_finding(struct vr *r, const struct hv_vf *v, const struct hv_mr_set *s,
			  const struct hv_vf_event *e)
{
	char name[160], hex[65], where[1200];
	const char *t = e->text && *e->text ? e->text : "-";
	hv_hex(e->sha256, 32, hex);
	snprintf(name, sizeof(name), "event %" PRIu64 " pcr %u %s sha256:%.16s", e->index, e->pcr, t, hex);
	if (e->match != HV_MR_NONE)
		vr_add(r, "image", VR_PASS, name, "matches %s", mf_label(s, e->match, where, sizeof(where)));
	else if (e->allowed)
		vr_add(r, "image", VR_PASS, name, "not in a manifest, allowed by the policy: %s", e->reason);
	else if (e->changed != HV_MR_NONE)
		vr_add(r, "image", VR_FAIL, name, "digest mismatch: sha256:%s is in no manifest; it replaces %s", hex,
		       mf_label(s, e->changed, where, sizeof(where)));
	else
		vr_add(r, "image", VR_FAIL, name, "unknown image: sha256:%s (%s, length %" PRIu64 ") is in no manifest",
		       hex, hv_log_type_name(e->type) ? hv_log_type_name(e->type) : "?", e->length);
}

void verify_images(struct vr *r, const struct hv_vf *v, const struct hv_mr_set *s, const struct hv_vf_policy *p,
		   bool with_manifests)
{
	char name[96], where[1200];
	size_t viol = 0, malformed = 0, other = 0;

	for (uint64_t k = 0; k < v->nev; k++) {
		const struct hv_vf_event *e = &v->ev[k];
		const char *t = e->text ? e->text : "";
		snprintf(name, sizeof(name), "event %" PRIu64 " pcr %u", e->index, e->pcr);
		switch (e->kind) {
		case HV_VF_IMAGE:
			if (with_manifests)
				image_finding(r, v, s, e);
			break;
		case HV_VF_MALFORMED:
			malformed++;
			vr_add(r, "malformed", VR_FAIL, name, "malformed image: %s", t);
			break;
		case HV_VF_VIOLATION:
			viol++;
			vr_add(r, "violation", VR_FAIL, name, "violation: %s", t);
			break;
		case HV_VF_UNATTRIBUTED:
			vr_add(r, "unattributed", e->allowed ? VR_PASS : VR_FAIL, name, "%s%s%s", t,
			       e->allowed ? "; allowed by the policy: " : "; not allowed by the policy",
			       e->allowed ? e->reason : "");
			break;
		case HV_VF_OTHER:
			other++;
			vr_add(r, "other", VR_FAIL, name, "a record hvima does not write (%s): %s",
			       hv_log_type_name(e->type) ? hv_log_type_name(e->type) : "unknown type", t);
			break;
		default:
			break;
		}
	}
	if (!viol)
		vr_add(r, "violation", VR_PASS, "no-violations", "no measured code was modified");
	if (!malformed)
		vr_add(r, "malformed", VR_PASS, "no-malformed-images", "every image was parsed and read whole");
	(void)other;
	size_t expected = 0;
	for (uint32_t i = 0; i < s->nimages; i++) {
		if (!hv_vf_expected(s, i, p))
			continue;
		expected++;
		mf_label(s, i, where, sizeof(where));
		if (v->seen[i] == 1)
			vr_add(r, "expected", VR_PASS, s->images[i].path, "ran: %s", where);
		else if (v->seen[i] == 2)
			vr_add(r, "expected", VR_FAIL, s->images[i].path, "ran changed (see the image check): %s", where);
		else
			vr_add(r, "expected", VR_FAIL, s->images[i].path, "expected image never ran: %s", where);
	}
}
