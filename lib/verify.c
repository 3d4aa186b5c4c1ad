/*
 * verify.c: the verifier's reading of an hvima log (verify.h): one pass of
 * the bounded walker classifies the records and keeps, per record, the
 * little a report needs (PCR, type, SHA-256, name or text); a second pass
 * replays the PCRs. Matching is one hash lookup per image event. An image
 * event whose digest no manifest holds is "unknown"; if a manifest image
 * that did not run has the same name (or, nameless, the same size in
 * memory and the same PCR class), the unknown image is reported as a
 * changed version of it: that is what a tampered file looks like.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "rd.h"
#include "verify.h"

#define HV_VF_MAX_PAIRING 256

struct scan {
	struct hv_vf *v;
	hv_why *why;
	struct hv_vf_event *cur;
	char *name;
};

static uint32_t tag_of(const struct hv_log_event *ev)
{
	struct hv_rd r = hv_rd_make(ev->event, ev->event_size);
	uint32_t tag = 0;
	hv_rd_u32(&r, 0, &tag);
	return tag;
}

static uint8_t classify(const struct hv_log_event *ev)
{
	switch (ev->type) {
	case EV_NO_ACTION:
		return HV_VF_NOTE;
	case EV_EFI_PLATFORM_FIRMWARE_BLOB:
		return ev->pcr == HV_PCR_FIRMWARE ? HV_VF_FIRMWARE : HV_VF_OTHER;
	case EV_EFI_BOOT_SERVICES_APPLICATION:
	case EV_EFI_BOOT_SERVICES_DRIVER:
	case EV_EFI_RUNTIME_SERVICES_DRIVER:
		return HV_VF_IMAGE;
	case EV_EVENT_TAG:
		switch (tag_of(ev)) {
		case HV_SIPA_LOADEDMODULE_AGGREGATION:
			return HV_VF_IMAGE;
		case HV_TAG_VIOLATION:
			return HV_VF_VIOLATION;
		case HV_TAG_UNATTRIBUTED:
			return HV_VF_UNATTRIBUTED;
		case HV_TAG_MALFORMED:
			return HV_VF_MALFORMED;
		case HV_TAG_NOTE:
		case HV_LOG_PAD_TAG:
			return HV_VF_NOTE;
		}
		return HV_VF_OTHER;
	}
	return HV_VF_OTHER;
}

/* Keep the first name ("path", "file_path") or text the decoder gives;
 * "malformed" data turns an image into a malformed one. */
static void kv_cb(void *ctx, const char *key, const char *value)
{
	struct scan *sc = ctx;
	if (!strcmp(key, "malformed")) {
		if (sc->cur->kind == HV_VF_IMAGE)
			sc->cur->kind = HV_VF_MALFORMED;
		free(sc->name);
		sc->name = strdup(value);
		return;
	}
	if (sc->name || (strcmp(key, "path") && strcmp(key, "file_path") && strcmp(key, "text")))
		return;
	sc->name = strdup(value);
}

/* "key=value" inside an hvima text ("page=0x9f000 pc=... sha256=..."). */
static const char *field(const char *text, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, ' '), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			*len = strcspn(p + kl + 1, " ");
			return p + kl + 1;
		}
	}
	return NULL;
}

static void unattributed_fields(struct hv_vf_event *e)
{
	char buf[80];
	size_t n;
	const char *s = e->text ? field(e->text, "sha256", &n) : NULL;
	e->has_sha256 = false;
	if (s && n == 64) {
		memcpy(buf, s, 64);
		buf[64] = 0;
		e->has_sha256 = hv_unhex(buf, e->sha256, 32);
	}
	s = e->text ? field(e->text, "page", &n) : NULL;
	if (s && n < sizeof(buf)) {
		memcpy(buf, s, n);
		buf[n] = 0;
		e->length = strtoull(buf, NULL, 0);
	}
}

static int scan_cb(void *ctx, const struct hv_log_event *ev)
{
	struct scan *sc = ctx;
	struct hv_vf *v = sc->v;

	if (ev->is_header)
		return 0;
	if (v->nev == v->cap) {
		uint64_t ncap = v->cap ? v->cap * 2 : 256;
		struct hv_vf_event *n = realloc(v->ev, ncap * sizeof(*n));
		if (!n)
			return hv_fail(sc->why, HV_E_NOMEM, "no memory for %llu events", (unsigned long long)ncap);
		v->ev = n;
		v->cap = ncap;
	}
	struct hv_vf_event *e = &v->ev[v->nev];
	memset(e, 0, sizeof(*e));
	e->index = ev->index;
	e->offset = ev->offset;
	e->pcr = ev->pcr;
	e->type = ev->type;
	e->kind = classify(ev);
	e->match = e->changed = HV_MR_NONE;
	for (unsigned i = 0; i < ev->ndigests; i++)
		if (ev->digests[i].alg_id == 0x000b && ev->digests[i].size == 32) {
			memcpy(e->sha256, ev->digests[i].digest, 32);
			e->has_sha256 = true;
		}
	if (e->kind == HV_VF_IMAGE && ev->type != EV_EVENT_TAG && ev->event_size >= 16)
		e->length = hv_le64(ev->event + 8);
	if (e->kind != HV_VF_NOTE && e->kind != HV_VF_FIRMWARE) {
		sc->cur = e;
		sc->name = NULL;
		hv_log_decode(ev, kv_cb, sc);
		e->text = sc->name;
	}
	if (e->kind == HV_VF_UNATTRIBUTED)
		unattributed_fields(e);
	v->counts[e->kind]++;
	v->nev++;
	return 0;
}

int hv_vf_scan(struct hv_vf *v, const uint8_t *log, size_t len, hv_why *why)
{
	struct scan sc = {v, why, NULL, NULL};
	int rc;

	memset(v, 0, sizeof(*v));
	rc = hv_log_walk(log, len, scan_cb, &sc, why);
	if (!rc)
		rc = hv_log_replay(log, len, &v->replay, why);
	return rc;
}

static bool glob_hit(const struct hv_vf_policy *p, const char *s)
{
	for (uint32_t i = 0; p && s && *s && i < p->nopt; i++)
		if (!fnmatch(p->optional[i], s, 0))
			return true;
	return false;
}

bool hv_vf_expected(const struct hv_mr_set *s, uint32_t i, const struct hv_vf_policy *p)
{
	const struct hv_mr_image *im = &s->images[i];
	return !im->firmware && !glob_hit(p, im->path) && !glob_hit(p, im->name);
}

/* The PCR an image of this subsystem is measured into (docs/plugin.md). */
static uint32_t class_pcr(uint32_t subsystem)
{
	return subsystem == 10 ? HV_PCR_UEFI_APPS
	       : subsystem == 11 || subsystem == 12 || subsystem == 13 ? HV_PCR_UEFI_DRIVERS : HV_PCR_KERNEL;
}

/* The manifest image an unknown image most likely replaces, or NONE. */
static uint32_t find_changed(const struct hv_vf *v, const struct hv_mr_set *s, const struct hv_vf_event *e)
{
	uint32_t by_size = HV_MR_NONE;
	for (uint32_t i = 0; i < s->nimages; i++) {
		const struct hv_mr_image *im = &s->images[i];
		if (v->seen[i])
			continue;
		if (e->text && *e->text && ((im->image_name && !strcmp(im->image_name, e->text)) ||
					    (im->name && !strcmp(im->name, e->text))))
			return i;
		if (by_size == HV_MR_NONE && !im->firmware && e->length && im->size_of_image == e->length &&
		    class_pcr(im->subsystem_id) == e->pcr)
			by_size = i;
	}
	return by_size;
}

static const char *allowed_unattr(const struct hv_vf_policy *p, const struct hv_vf_event *e)
{
	for (uint32_t i = 0; p && i < p->nun; i++) {
		const struct hv_vf_allow_unattr *a = &p->un[i];
		if (a->by_hash ? e->has_sha256 && !memcmp(a->sha256, e->sha256, 32)
			       : e->length >= a->from && e->length <= a->to)
			return a->reason ? a->reason : "";
	}
	return NULL;
}

static const char *allowed_image(const struct hv_vf_policy *p, const struct hv_vf_event *e)
{
	for (uint32_t i = 0; p && i < p->nimages; i++)
		if (e->has_sha256 && !memcmp(p->images[i].sha256, e->sha256, 32))
			return p->images[i].reason ? p->images[i].reason : "";
	return NULL;
}

int hv_vf_match(struct hv_vf *v, const struct hv_mr_set *s, const struct hv_vf_policy *p, hv_why *why)
{
	free(v->seen);
	v->seen = calloc(s->nimages ? s->nimages : 1, 1);
	if (!v->seen)
		return hv_fail(why, HV_E_NOMEM, "no memory for %u manifest images", s->nimages);
	v->matched = v->unknown = v->changed = v->unattr_bad = v->missing = 0;
	for (uint64_t k = 0; k < v->nev; k++) {
		struct hv_vf_event *e = &v->ev[k];
		if (e->kind == HV_VF_UNATTRIBUTED) {
			e->reason = allowed_unattr(p, e);
			e->allowed = e->reason != NULL;
			v->unattr_bad += !e->allowed;
		}
		if (e->kind != HV_VF_IMAGE || !e->has_sha256)
			continue;
		e->match = hv_mr_lookup(s, e->sha256);
		for (uint32_t i = e->match; i != HV_MR_NONE; i = s->images[i].next_same)
			v->seen[i] = 1;
		v->matched += e->match != HV_MR_NONE;
	}
	/* Unknown images, once every match is known: pair each with a manifest
	 * image that did not run. */
	for (uint64_t k = 0; k < v->nev; k++) {
		struct hv_vf_event *e = &v->ev[k];
		if (e->kind != HV_VF_IMAGE || e->match != HV_MR_NONE)
			continue;
		e->reason = allowed_image(p, e);
		e->allowed = e->reason != NULL;
		if (e->allowed)
			continue;
		/* Pairing scans the manifest: bounded, so that a log of many
		 * unknown images stays linear. */
		if (v->unknown + v->changed < HV_VF_MAX_PAIRING)
			e->changed = find_changed(v, s, e);
		if (e->changed != HV_MR_NONE) {
			v->seen[e->changed] = 2;
			v->changed++;
		} else {
			v->unknown++;
		}
	}
	for (uint32_t i = 0; i < s->nimages; i++)
		v->missing += !v->seen[i] && hv_vf_expected(s, i, p);
	return HV_OK;
}

void hv_vf_free(struct hv_vf *v)
{
	for (uint64_t k = 0; k < v->nev; k++)
		free(v->ev[k].text);
	free(v->ev);
	free(v->seen);
	memset(v, 0, sizeof(*v));
}

unsigned hv_vf_pcrs_compare(const struct hv_log_replay *r, const struct hv_vf_pcrs *t, struct hv_vf_pcrdiff *out,
			    unsigned max, unsigned *compared)
{
	unsigned n = 0;
	*compared = 0;
	for (int a = 0; a < HV_NALGS; a++) {
		if (!(r->algs & HV_ALG_BIT(a)))
			continue;
		for (uint32_t i = 0; i < 24; i++) {
			if ((i >= 17 && i <= 22) || !(t->have[a] & (1u << i)))
				continue;
			(*compared)++;
			if (!memcmp(r->pcr[a][i], t->v[a][i], hv_alg_size(a)))
				continue;
			if (n < max)
				out[n] = (struct hv_vf_pcrdiff){(enum hv_alg)a, i};
			n++;
		}
	}
	return n;
}
