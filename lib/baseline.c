/*
 * baseline.c: building, merging and reading baselines (baseline.h). A run
 * becomes a sorted array of (key, count); merging two sorted arrays keeps
 * for each key the least and the greatest count, a key absent from a run
 * counting 0. Reading checks every field like the manifest reader does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "caps.h"
#include "json.h"

static const char *kinds[HV_BL_NKINDS] = {"image", "unattributed", "firmware", "violation", "malformed"};

const char *hv_bl_kind_name(unsigned kind) { return kind < HV_BL_NKINDS ? kinds[kind] : "?"; }

static int cmp_key(const struct hv_bl_entry *a, const struct hv_bl_entry *b)
{
	if (a->pcr != b->pcr)
		return a->pcr < b->pcr ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return memcmp(a->sha256, b->sha256, 32);
}

static int cmp_qsort(const void *a, const void *b) { return cmp_key(a, b); }

static int bl_kind(uint8_t vf_kind)
{
	switch (vf_kind) {
	case HV_VF_IMAGE: return HV_BL_IMAGE;
	case HV_VF_UNATTRIBUTED: return HV_BL_UNATTRIBUTED;
	case HV_VF_FIRMWARE: return HV_BL_FIRMWARE;
	case HV_VF_VIOLATION: return HV_BL_VIOLATION;
	case HV_VF_MALFORMED: return HV_BL_MALFORMED;
	}
	return -1; /* notes: not part of what ran */
}

/* One run: sorted entries with min = max = count. */
static int run_entries(const struct hv_vf *v, struct hv_bl_entry **out, uint32_t *n, hv_why *why)
{
	struct hv_bl_entry *e = calloc(v->nev ? v->nev : 1, sizeof(*e));
	uint32_t m = 0;
	if (!e)
		return hv_fail(why, HV_E_NOMEM, "baseline: no memory for %llu events", (unsigned long long)v->nev);
	for (uint64_t k = 0; k < v->nev; k++) {
		const struct hv_vf_event *x = &v->ev[k];
		int kind = bl_kind(x->kind);
		if (kind < 0 || !x->has_sha256)
			continue;
		e[m].pcr = x->pcr;
		e[m].kind = (uint8_t)kind;
		memcpy(e[m].sha256, x->sha256, 32);
		snprintf(e[m].name, sizeof(e[m].name), "%s", x->text && kind == HV_BL_IMAGE ? x->text : "");
		e[m].min = e[m].max = 1;
		m++;
	}
	qsort(e, m, sizeof(*e), cmp_qsort);
	uint32_t w = 0;
	for (uint32_t i = 0; i < m; i++) {
		if (w && !cmp_key(&e[w - 1], &e[i])) {
			e[w - 1].min++;
			e[w - 1].max++;
		} else {
			e[w++] = e[i];
		}
	}
	*out = e;
	*n = w;
	return HV_OK;
}

static void add_pcrs(struct hv_baseline *b, const struct hv_log_replay *r)
{
	for (int a = 0; a < HV_NALGS; a++) {
		if (!(r->algs & HV_ALG_BIT(a)))
			continue;
		for (int p = 0; p < 24; p++) {
			bool seen = false;
			for (unsigned i = 0; i < b->nvals[a][p] && !seen; i++)
				seen = !memcmp(b->vals[a][p][i], r->pcr[a][p], hv_alg_size(a));
			if (!seen && b->nvals[a][p] < HV_BL_MAX_VALUES)
				memcpy(b->vals[a][p][b->nvals[a][p]++], r->pcr[a][p], hv_alg_size(a));
		}
	}
}

int hv_bl_add_run(struct hv_baseline *b, const struct hv_vf *v, hv_why *why)
{
	struct hv_bl_entry *r = NULL, *m;
	uint32_t nr = 0, i = 0, j = 0, w = 0;
	int rc = run_entries(v, &r, &nr, why);
	if (rc)
		return rc;
	m = calloc((size_t)b->n + nr + 1, sizeof(*m));
	if (!m) {
		free(r);
		return hv_fail(why, HV_E_NOMEM, "baseline: no memory");
	}
	while (i < b->n || j < nr) {
		int c = i == b->n ? 1 : j == nr ? -1 : cmp_key(&b->e[i], &r[j]);
		if (c < 0) { /* only in the baseline: this run had none */
			m[w] = b->e[i++];
			m[w++].min = 0;
		} else if (c > 0) { /* only in this run */
			m[w] = r[j++];
			if (b->runs)
				m[w].min = 0;
			w++;
		} else {
			m[w] = b->e[i];
			m[w].min = b->e[i].min < r[j].min ? b->e[i].min : r[j].min;
			m[w].max = b->e[i].max > r[j].max ? b->e[i].max : r[j].max;
			w++, i++, j++;
		}
	}
	free(r);
	free(b->e);
	b->e = m;
	b->n = b->cap = w;
	b->runs++;
	add_pcrs(b, &v->replay);
	return HV_OK;
}

long hv_bl_find(const struct hv_baseline *b, uint32_t pcr, unsigned kind, const uint8_t *sha256)
{
	struct hv_bl_entry k = {.pcr = pcr, .kind = (uint8_t)kind};
	memcpy(k.sha256, sha256, 32);
	long lo = 0, hi = (long)b->n - 1;
	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		int c = cmp_key(&b->e[mid], &k);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int bfail(hv_why *why, const char *label, long i, const char *what)
{
	return hv_fail(why, HV_E_FORMAT, "baseline %s: entries[%ld]: %s", label, i, what);
}

static int read_entry(const struct hv_json *d, const struct hv_json_node *o, long i, const char *label,
		      struct hv_bl_entry *e, hv_why *why)
{
	uint64_t v;
	const char *k = hv_json_sval(d, hv_json_get(d, o, "kind")), *nm;
	memset(e, 0, sizeof(*e));
	if (!hv_json_u64(hv_json_get(d, o, "pcr"), 23, &v))
		return bfail(why, label, i, "pcr: not an integer 0-23");
	e->pcr = (uint32_t)v;
	for (e->kind = 0; e->kind < HV_BL_NKINDS && (!k || strcmp(k, kinds[e->kind])); e->kind++)
		;
	if (e->kind == HV_BL_NKINDS)
		return bfail(why, label, i, "kind: not image, unattributed, firmware, violation or malformed");
	if (!hv_unhex(hv_json_sval(d, hv_json_get(d, o, "sha256")), e->sha256, 32))
		return bfail(why, label, i, "sha256: expected 64 hex digits");
	if ((nm = hv_json_sval(d, hv_json_get(d, o, "name"))))
		snprintf(e->name, sizeof(e->name), "%s", nm);
	if (!hv_json_u64(hv_json_get(d, o, "min"), UINT32_MAX, &v))
		return bfail(why, label, i, "min: not a count");
	e->min = (uint32_t)v;
	if (!hv_json_u64(hv_json_get(d, o, "max"), UINT32_MAX, &v) || v < e->min)
		return bfail(why, label, i, "max: not a count >= min");
	e->max = (uint32_t)v;
	return HV_OK;
}

static int read_pcrs(struct hv_baseline *b, const struct hv_json *d, const struct hv_json_node *pcrs,
		     const char *label, hv_why *why)
{
	for (const struct hv_json_node *bank = hv_json_first(d, pcrs); bank; bank = hv_json_next(d, bank)) {
		int a = hv_alg_from_name(hv_json_key(d, bank));
		if (a < 0)
			continue;
		for (const struct hv_json_node *p = hv_json_first(d, bank); p; p = hv_json_next(d, p)) {
			char *end;
			long idx = strtol(hv_json_key(d, p), &end, 10);
			if (*end || idx < 0 || idx > 23 || p->type != HV_JSON_ARR || p->len > HV_BL_MAX_VALUES)
				return hv_fail(why, HV_E_FORMAT, "baseline %s: pcrs.%s.%s: not a PCR 0-23 with a list "
								 "of at most %d values", label, hv_alg_name(a),
					       hv_json_key(d, p), HV_BL_MAX_VALUES);
			b->nvals[a][idx] = 0;
			for (const struct hv_json_node *x = hv_json_first(d, p); x; x = hv_json_next(d, x))
				if (!hv_unhex(hv_json_sval(d, x), b->vals[a][idx][b->nvals[a][idx]++], hv_alg_size(a)))
					return hv_fail(why, HV_E_FORMAT, "baseline %s: pcrs.%s.%ld: not %zu hex bytes",
						       label, hv_alg_name(a), idx, hv_alg_size(a));
		}
	}
	return HV_OK;
}

int hv_bl_load(struct hv_baseline *b, const char *label, const uint8_t *buf, size_t len, hv_why *why)
{
	struct hv_json d;
	uint64_t v;
	long i = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = hv_json_parse(&d, buf, len, why))) {
		hv_why inner = *why;
		return hv_fail(why, rc, "baseline %s: %s", label, inner.msg);
	}
	const struct hv_json_node *root = hv_json_root(&d), *arr = hv_json_get(&d, root, "entries"),
				  *pcrs = hv_json_get(&d, root, "pcrs");
	if (!hv_json_u64(hv_json_get(&d, root, "hvima_baseline"), UINT32_MAX, &v) || v != 1) {
		rc = hv_fail(why, HV_E_FORMAT, "baseline %s: hvima_baseline: missing, or not 1", label);
		goto out;
	}
	if (!hv_json_u64(hv_json_get(&d, root, "runs"), UINT32_MAX, &v) || !arr || arr->type != HV_JSON_ARR ||
	    !pcrs || pcrs->type != HV_JSON_OBJ || arr->len > HV_CAP_MANIFEST_IMAGES) {
		rc = hv_fail(why, HV_E_FORMAT, "baseline %s: needs runs (number), entries (array), pcrs (object)", label);
		goto out;
	}
	b->runs = (uint32_t)v;
	b->e = calloc(arr->len ? arr->len : 1, sizeof(*b->e));
	if (!b->e) {
		rc = hv_fail(why, HV_E_NOMEM, "baseline %s: no memory", label);
		goto out;
	}
	for (const struct hv_json_node *o = hv_json_first(&d, arr); o; o = hv_json_next(&d, o), i++) {
		if ((rc = read_entry(&d, o, i, label, &b->e[b->n], why)))
			goto out;
		if (b->n && cmp_key(&b->e[b->n - 1], &b->e[b->n]) >= 0) {
			rc = bfail(why, label, i, "entries are not sorted by (pcr, kind, sha256) or repeat");
			goto out;
		}
		b->n++;
	}
	rc = read_pcrs(b, &d, pcrs, label, why);
out:
	hv_json_free(&d);
	if (rc)
		hv_bl_free(b);
	return rc;
}

void hv_bl_free(struct hv_baseline *b)
{
	free(b->e);
	memset(b, 0, sizeof(*b));
}
