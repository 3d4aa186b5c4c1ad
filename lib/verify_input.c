/*
 * verify_input.c: the verifier's small inputs besides logs and manifests,
 * each hostile: the policy file (JSON, verify.h) and tpm2_pcrread's YAML
 * output (hvtpm-pcrs.yaml in a run directory). Errors name the JSON path
 * or the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "verify.h"

#define POLICY_MAX_ITEMS 65536u

static int pfail(hv_why *why, const char *label, const char *path, long i, const char *what)
{
	return hv_fail(why, HV_E_FORMAT, "policy %s: %s[%ld]: %s", label, path, i, what);
}

static bool parse_addr(const char *s, uint64_t *v)
{
	char *end;
	if (!s || !*s)
		return false;
	*v = strtoull(s, &end, 0);
	return *end == 0;
}

static char *dup_reason(const struct hv_json *d, const struct hv_json_node *o)
{
	const char *r = hv_json_sval(d, hv_json_get(d, o, "reason"));
	return strndup(r ? r : "", 256);
}

static int load_unattr(struct hv_vf_policy *p, const struct hv_json *d, const struct hv_json_node *arr,
		       const char *label, hv_why *why)
{
	long i = 0;
	p->un = calloc(arr->len ? arr->len : 1, sizeof(*p->un));
	if (!p->un)
		return hv_fail(why, HV_E_NOMEM, "policy %s: no memory", label);
	for (const struct hv_json_node *o = hv_json_first(d, arr); o; o = hv_json_next(d, o), i++) {
		struct hv_vf_allow_unattr *a = &p->un[p->nun];
		const char *h = hv_json_sval(d, hv_json_get(d, o, "page_sha256"));
		if (o->type != HV_JSON_OBJ)
			return pfail(why, label, "allow_unattributed", i, "not an object");
		if (h) {
			if (!hv_unhex(h, a->sha256, 32))
				return pfail(why, label, "allow_unattributed", i, "page_sha256: expected 64 hex digits");
			a->by_hash = true;
		} else if (!parse_addr(hv_json_sval(d, hv_json_get(d, o, "page_from")), &a->from) ||
			   !parse_addr(hv_json_sval(d, hv_json_get(d, o, "page_to")), &a->to) || a->from > a->to) {
			return pfail(why, label, "allow_unattributed", i,
				     "needs page_sha256, or page_from <= page_to (strings, e.g. \"0x9f000\")");
		}
		if (!(a->reason = dup_reason(d, o)))
			return hv_fail(why, HV_E_NOMEM, "policy %s: no memory", label);
		p->nun++;
	}
	return HV_OK;
}

static int load_optional(struct hv_vf_policy *p, const struct hv_json *d, const struct hv_json_node *arr,
			 const char *label, hv_why *why)
{
	long i = 0;
	p->optional = calloc(arr->len ? arr->len : 1, sizeof(*p->optional));
	if (!p->optional)
		return hv_fail(why, HV_E_NOMEM, "policy %s: no memory", label);
	for (const struct hv_json_node *o = hv_json_first(d, arr); o; o = hv_json_next(d, o), i++) {
		const char *g = hv_json_sval(d, o);
		if (!g || o->len > 4096)
			return pfail(why, label, "optional", i, "not a string (a glob of at most 4096 bytes)");
		if (!(p->optional[p->nopt] = strdup(g)))
			return hv_fail(why, HV_E_NOMEM, "policy %s: no memory", label);
		p->nopt++;
	}
	return HV_OK;
}

static int load_images(struct hv_vf_policy *p, const struct hv_json *d, const struct hv_json_node *arr,
		       const char *label, hv_why *why)
{
	long i = 0;
	p->images = calloc(arr->len ? arr->len : 1, sizeof(*p->images));
	if (!p->images)
		return hv_fail(why, HV_E_NOMEM, "policy %s: no memory", label);
	for (const struct hv_json_node *o = hv_json_first(d, arr); o; o = hv_json_next(d, o), i++) {
		if (!hv_unhex(hv_json_sval(d, hv_json_get(d, o, "sha256")), p->images[p->nimages].sha256, 32))
			return pfail(why, label, "allow_images", i, "sha256: expected 64 hex digits");
		if (!(p->images[p->nimages].reason = dup_reason(d, o)))
			return hv_fail(why, HV_E_NOMEM, "policy %s: no memory", label);
		p->nimages++;
	}
	return HV_OK;
}

int hv_vf_policy_load(struct hv_vf_policy *p, const char *label, const uint8_t *buf, size_t len, hv_why *why)
{
	static const char *keys[] = {"allow_unattributed", "optional", "allow_images"};
	struct hv_json d;
	uint64_t ver;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = hv_json_parse(&d, buf, len, why))) {
		hv_why inner = *why;
		return hv_fail(why, rc, "policy %s: %s", label, inner.msg);
	}
	const struct hv_json_node *root = hv_json_root(&d);
	if (!hv_json_u64(hv_json_get(&d, root, "hvima_policy"), UINT32_MAX, &ver) || ver != 1) {
		rc = hv_fail(why, HV_E_FORMAT, "policy %s: hvima_policy: missing, or not 1", label);
		goto out;
	}
	for (int k = 0; k < 3 && !rc; k++) {
		const struct hv_json_node *arr = hv_json_get(&d, root, keys[k]);
		if (!arr)
			continue;
		if (arr->type != HV_JSON_ARR || arr->len > POLICY_MAX_ITEMS) {
			rc = hv_fail(why, HV_E_FORMAT, "policy %s: %s: not an array of at most %u items", label, keys[k],
				     POLICY_MAX_ITEMS);
			break;
		}
		rc = k == 0 ? load_unattr(p, &d, arr, label, why)
		     : k == 1 ? load_optional(p, &d, arr, label, why) : load_images(p, &d, arr, label, why);
	}
out:
	hv_json_free(&d);
	if (rc)
		hv_vf_policy_free(p);
	return rc;
}

void hv_vf_policy_free(struct hv_vf_policy *p)
{
	for (uint32_t i = 0; i < p->nun; i++)
		free(p->un[i].reason);
	for (uint32_t i = 0; i < p->nopt; i++)
		free(p->optional[i]);
	for (uint32_t i = 0; i < p->nimages; i++)
		free(p->images[i].reason);
	free(p->un);
	free(p->optional);
	free(p->images);
	memset(p, 0, sizeof(*p));
}

/* One line: "  sha256:" selects a bank, "    N : 0xHEX" sets a PCR. */
static int yaml_line(struct hv_vf_pcrs *p, const char *l, size_t n, unsigned lineno, int *bank, hv_why *why)
{
	char tmp[160], name[16];
	unsigned pcr;
	int used = 0;

	if (n >= sizeof(tmp))
		return hv_fail(why, HV_E_FORMAT, "pcrs: line %u: longer than %zu bytes", lineno, sizeof(tmp) - 1);
	memcpy(tmp, l, n);
	tmp[n] = 0;
	if (sscanf(tmp, " %15[a-z0-9_]:%n", name, &used) == 1 && used > 0 && tmp[used] == 0) {
		*bank = hv_alg_from_name(name); /* -1: a bank hvima does not compute */
		return HV_OK;
	}
	char hex[2 * HV_DIGEST_MAX + 8];
	if (sscanf(tmp, " %u : 0x%100[0-9a-fA-F]%n", &pcr, hex, &used) == 2 && tmp[used] == 0) {
		if (pcr >= 24)
			return hv_fail(why, HV_E_FORMAT, "pcrs: line %u: PCR %u out of range", lineno, pcr);
		if (*bank < 0)
			return HV_OK;
		if (!hv_unhex(hex, p->v[*bank][pcr], hv_alg_size(*bank)))
			return hv_fail(why, HV_E_FORMAT, "pcrs: line %u: %s PCR %u: expected %zu hex digits", lineno,
				       hv_alg_name(*bank), pcr, 2 * hv_alg_size(*bank));
		p->have[*bank] |= 1u << pcr;
		return HV_OK;
	}
	if (strspn(tmp, " \t\r") == n)
		return HV_OK;
	return hv_fail(why, HV_E_FORMAT, "pcrs: line %u: neither a bank nor a PCR value", lineno);
}

int hv_vf_pcrs_parse_yaml(struct hv_vf_pcrs *p, const uint8_t *buf, size_t len, hv_why *why)
{
	int bank = -1, rc;
	unsigned lineno = 1;
	size_t s = 0;

	memset(p, 0, sizeof(*p));
	if (len > (1u << 20))
		return hv_fail(why, HV_E_CAP, "pcrs: %zu bytes, more than 1 MiB", len);
	if (memchr(buf, 0, len))
		return hv_fail(why, HV_E_FORMAT, "pcrs: a NUL byte");
	while (s < len) {
		const uint8_t *nl = memchr(buf + s, '\n', len - s);
		size_t e = nl ? (size_t)(nl - buf) : len;
		if ((rc = yaml_line(p, (const char *)buf + s, e - s, lineno, &bank, why)))
			return rc;
		s = e + 1;
		lineno++;
	}
	for (int a = 0; a < HV_NALGS; a++)
		if (p->have[a])
			return HV_OK;
	return hv_fail(why, HV_E_FORMAT, "pcrs: no PCR value of a bank hvima computes");
}
