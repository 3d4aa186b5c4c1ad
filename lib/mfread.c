/*
 * mfread.c: the manifest reader of mfread.h. Parses with json.c, checks
 * every field the verifier uses (type, size, range) and copies what it keeps
 * out of the JSON tree, which is then freed. An image costs one entry and
 * three short strings; the index is a power-of-two table at most half full,
 * probed linearly from the first 4 bytes of the digest (digests of hostile
 * images may collide on purpose: the probe still ends, the table always
 * has free slots).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "json.h"
#include "mfread.h"
#include "rd.h"

bool hv_unhex(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				return false;
			v = v << 4 | d;
		}
		out[i] = (uint8_t)v;
	}
	return true;
}

struct ctx {
	const struct hv_json *doc;
	const char *label;
	hv_why *why;
};

static int bad(struct ctx *c, const char *path, long idx, const char *field, const char *what)
{
	if (idx < 0)
		return hv_fail(c->why, HV_E_FORMAT, "manifest %s: %s%s%s: %s", c->label, path, field ? "." : "",
			       field ? field : "", what);
	return hv_fail(c->why, HV_E_FORMAT, "manifest %s: %s[%ld]%s%s: %s", c->label, path, idx, field ? "." : "",
		       field ? field : "", what);
}

/* A string member: required or optional (*out NULL then), at most max bytes. */
static int get_str(struct ctx *c, const struct hv_json_node *obj, const char *key, bool required, size_t max,
		   const char *path, long idx, char **out)
{
	const struct hv_json_node *n = hv_json_get(c->doc, obj, key);
	*out = NULL;
	if (!n)
		return required ? bad(c, path, idx, key, "missing") : HV_OK;
	if (n->type != HV_JSON_STR)
		return bad(c, path, idx, key, "not a string");
	if (n->len > max)
		return bad(c, path, idx, key, "string too long");
	*out = strdup(hv_json_sval(c->doc, n));
	return *out ? HV_OK : hv_fail(c->why, HV_E_NOMEM, "manifest %s: no memory", c->label);
}

static int get_u64(struct ctx *c, const struct hv_json_node *obj, const char *key, uint64_t max, const char *path,
		   long idx, uint64_t *out)
{
	const struct hv_json_node *n = hv_json_get(c->doc, obj, key);
	*out = 0;
	if (!n)
		return HV_OK; /* optional: the verifier does not need it to match */
	if (!hv_json_u64(n, max, out))
		return bad(c, path, idx, key, "not an integer in range");
	return HV_OK;
}

/* {"sha1": hex, "sha256": hex, "sha384": hex}: each present bank checked. */
static int get_digests(struct ctx *c, const struct hv_json_node *obj, const char *key, long idx, unsigned *mask,
		       uint8_t (*d)[HV_DIGEST_MAX])
{
	const struct hv_json_node *n = hv_json_get(c->doc, obj, key);
	char field[64];
	*mask = 0;
	if (!n)
		return HV_OK;
	if (n->type != HV_JSON_OBJ)
		return bad(c, "images", idx, key, "not an object");
	for (int a = 0; a < HV_NALGS; a++) {
		const struct hv_json_node *v = hv_json_get(c->doc, n, hv_alg_name(a));
		if (!v)
			continue;
		snprintf(field, sizeof(field), "%s.%s", key, hv_alg_name(a));
		if (!hv_unhex(hv_json_sval(c->doc, v), d ? d[a] : (uint8_t[HV_DIGEST_MAX]){0}, hv_alg_size(a)))
			return bad(c, "images", idx, field, a == HV_SHA1 ? "expected 40 hex digits"
						     : a == HV_SHA256 ? "expected 64 hex digits" : "expected 96 hex digits");
		*mask |= HV_ALG_BIT(a);
	}
	return HV_OK;
}

static void free_image(struct hv_mr_image *im)
{
	free(im->path);
	free(im->name);
	free(im->image_name);
}

static int read_image(struct ctx *c, const struct hv_json_node *o, long idx, uint32_t nsrc, struct hv_mr_image *im)
{
	uint64_t v;
	char *fmt = NULL;
	unsigned amask;
	int rc;

	memset(im, 0, sizeof(*im));
	if (o->type != HV_JSON_OBJ)
		return bad(c, "images", idx, NULL, "not an object");
	const struct hv_json_node *src = hv_json_get(c->doc, o, "source");
	if (!src)
		return bad(c, "images", idx, "source", "missing");
	if (!hv_json_u64(src, nsrc ? nsrc - 1 : 0, &v) || !nsrc)
		return bad(c, "images", idx, "source", "not an index into sources");
	im->source = (uint32_t)v;
	if ((rc = get_str(c, o, "path", true, 4096, "images", idx, &im->path)) ||
	    (rc = get_str(c, o, "name", false, HV_CAP_NAME, "images", idx, &im->name)) ||
	    (rc = get_str(c, o, "image_name", false, HV_CAP_NAME, "images", idx, &im->image_name)) ||
	    (rc = get_str(c, o, "format", false, sizeof(im->format) - 1, "images", idx, &fmt)))
		goto fail;
	if (fmt) {
		strcpy(im->format, fmt);
		free(fmt);
	}
	if ((rc = get_u64(c, o, "machine_id", 0xffff, "images", idx, &v)))
		goto fail;
	im->machine_id = (uint32_t)v;
	if ((rc = get_u64(c, o, "subsystem_id", 0xffff, "images", idx, &v)))
		goto fail;
	im->subsystem_id = (uint32_t)v;
	if ((rc = get_u64(c, o, "size", UINT32_MAX, "images", idx, &im->size)) ||
	    (rc = get_u64(c, o, "size_of_image", UINT32_MAX, "images", idx, &im->size_of_image)) ||
	    (rc = get_digests(c, o, "canonical", idx, &im->canon_mask, im->canon)) ||
	    (rc = get_digests(c, o, "authenticode", idx, &amask, NULL)))
		goto fail;
	if (!(im->canon_mask & HV_ALG_BIT(HV_SHA256))) {
		rc = bad(c, "images", idx, "canonical.sha256", "missing");
		goto fail;
	}
	im->next_same = HV_MR_NONE;
	return HV_OK;
fail:
	free_image(im);
	return rc;
}

static int check_header(struct ctx *c, const struct hv_json_node *root)
{
	uint64_t v;
	if (!root || root->type != HV_JSON_OBJ)
		return bad(c, "(top)", -1, NULL, "not an object");
	if (!hv_json_u64(hv_json_get(c->doc, root, "hvima_manifest"), UINT32_MAX, &v))
		return bad(c, "hvima_manifest", -1, NULL, "missing or not a number: not an hvima manifest");
	if (v != 1)
		return hv_fail(c->why, HV_E_UNSUPPORTED, "manifest %s: hvima_manifest %llu: this hvima reads version 1",
			       c->label, (unsigned long long)v);
	if (!hv_json_u64(hv_json_get(c->doc, root, "canonical_version"), UINT32_MAX, &v))
		return bad(c, "canonical_version", -1, NULL, "missing or not a number");
	if (v != 1)
		return hv_fail(c->why, HV_E_UNSUPPORTED,
			       "manifest %s: canonical_version %llu: this hvima computes version 1", c->label,
			       (unsigned long long)v);
	const struct hv_json_node *im = hv_json_get(c->doc, root, "images");
	if (!im || im->type != HV_JSON_ARR)
		return bad(c, "images", -1, NULL, "missing or not an array");
	const struct hv_json_node *src = hv_json_get(c->doc, root, "sources");
	if (!src || src->type != HV_JSON_ARR)
		return bad(c, "sources", -1, NULL, "missing or not an array");
	return HV_OK;
}

static int grow(struct hv_mr_set *s, uint32_t more, hv_why *why)
{
	if (more > HV_CAP_MANIFEST_IMAGES || s->nimages > HV_CAP_MANIFEST_IMAGES - more)
		return hv_fail(why, HV_E_CAP, "manifests: more than %u images in all", HV_CAP_MANIFEST_IMAGES);
	if (s->nimages + more <= s->cap)
		return HV_OK;
	uint32_t ncap = s->nimages + more;
	struct hv_mr_image *n = realloc(s->images, (size_t)ncap * sizeof(*n));
	if (!n)
		return hv_fail(why, HV_E_NOMEM, "manifests: no memory for %u images", ncap);
	s->images = n;
	s->cap = ncap;
	return HV_OK;
}

static int load_sources(struct ctx *c, struct hv_mr_set *s, const struct hv_json_node *arr, uint32_t mf)
{
	long i = 0;
	if (arr->len > 65536)
		return hv_fail(c->why, HV_E_CAP, "manifest %s: sources: more than 65536", c->label);
	struct hv_mr_source *n = realloc(s->sources, (size_t)(s->nsources + arr->len + 1) * sizeof(*n));
	if (!n)
		return hv_fail(c->why, HV_E_NOMEM, "manifest %s: no memory", c->label);
	s->sources = n;
	for (const struct hv_json_node *o = hv_json_first(c->doc, arr); o; o = hv_json_next(c->doc, o), i++) {
		struct hv_mr_source *src = &s->sources[s->nsources];
		int rc;
		if (o->type != HV_JSON_OBJ)
			return bad(c, "sources", i, NULL, "not an object");
		if ((rc = get_str(c, o, "kind", true, 64, "sources", i, &src->kind)))
			return rc;
		if ((rc = get_str(c, o, "path", false, 4096, "sources", i, &src->path))) {
			free(src->kind);
			return rc;
		}
		src->manifest = mf;
		s->nsources++;
	}
	return HV_OK;
}

static void unload_from(struct hv_mr_set *s, uint32_t nsrc, uint32_t nimg)
{
	while (s->nsources > nsrc) {
		s->nsources--;
		free(s->sources[s->nsources].kind);
		free(s->sources[s->nsources].path);
	}
	while (s->nimages > nimg)
		free_image(&s->images[--s->nimages]);
}

int hv_mr_load(struct hv_mr_set *s, const char *label, const uint8_t *buf, size_t len, hv_why *why)
{
	struct hv_json doc;
	struct ctx c = {&doc, label, why};
	uint32_t nsrc0 = s->nsources, nimg0 = s->nimages, mf = s->nfiles;
	long i = 0;
	int rc;

	if (s->nfiles >= HV_CAP_MANIFESTS)
		return hv_fail(why, HV_E_CAP, "more than %u manifests", HV_CAP_MANIFESTS);
	if ((rc = hv_json_parse(&doc, buf, len, why))) {
		hv_why inner = *why;
		hv_fail(why, rc, "manifest %s: %s", label, inner.msg);
		return rc;
	}
	const struct hv_json_node *root = hv_json_root(&doc);
	if ((rc = check_header(&c, root)))
		goto out;
	if ((rc = load_sources(&c, s, hv_json_get(&doc, root, "sources"), mf)))
		goto out;
	const struct hv_json_node *arr = hv_json_get(&doc, root, "images");
	if ((rc = grow(s, arr->len, why)))
		goto out;
	for (const struct hv_json_node *o = hv_json_first(&doc, arr); o; o = hv_json_next(&doc, o), i++) {
		struct hv_mr_image *im = &s->images[s->nimages];
		if ((rc = read_image(&c, o, i, s->nsources - nsrc0, im)))
			goto out;
		im->source += nsrc0;
		im->manifest = mf;
		im->firmware = !strcmp(s->sources[im->source].kind, "firmware");
		s->nimages++;
	}
	char **f = realloc(s->files, (size_t)(s->nfiles + 1) * sizeof(*f));
	if (!f || !(f[s->nfiles] = strdup(label))) {
		if (f)
			s->files = f;
		rc = hv_fail(why, HV_E_NOMEM, "manifest %s: no memory", label);
		goto out;
	}
	s->files = f;
	s->nfiles++;
out:
	if (rc)
		unload_from(s, nsrc0, nimg0);
	hv_json_free(&doc);
	return rc;
}

int hv_mr_index(struct hv_mr_set *s, hv_why *why)
{
	uint32_t size = 16;
	while (size < 2 * (uint64_t)s->nimages + 2)
		size *= 2;
	free(s->table);
	s->table = malloc((size_t)size * sizeof(*s->table));
	if (!s->table)
		return hv_fail(why, HV_E_NOMEM, "manifests: no memory for an index of %u slots", size);
	memset(s->table, 0xff, (size_t)size * sizeof(*s->table));
	s->tmask = size - 1;
	/* Insert in reverse so that each chain lists images in load order. */
	for (uint32_t i = s->nimages; i-- > 0;) {
		struct hv_mr_image *im = &s->images[i];
		uint32_t h = hv_le32(im->canon[HV_SHA256]) & s->tmask;
		im->next_same = HV_MR_NONE;
		for (;; h = (h + 1) & s->tmask) {
			uint32_t e = s->table[h];
			if (e == HV_MR_NONE) {
				s->table[h] = i;
				break;
			}
			if (!memcmp(s->images[e].canon[HV_SHA256], im->canon[HV_SHA256], 32)) {
				im->next_same = e;
				s->table[h] = i;
				break;
			}
		}
	}
	return HV_OK;
}

uint32_t hv_mr_lookup(const struct hv_mr_set *s, const uint8_t *d)
{
	if (!s->table)
		return HV_MR_NONE;
	for (uint32_t h = hv_le32(d) & s->tmask;; h = (h + 1) & s->tmask) {
		uint32_t e = s->table[h];
		if (e == HV_MR_NONE || !memcmp(s->images[e].canon[HV_SHA256], d, 32))
			return e;
	}
}

void hv_mr_free(struct hv_mr_set *s)
{
	unload_from(s, 0, 0);
	for (uint32_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->sources);
	free(s->images);
	free(s->table);
	memset(s, 0, sizeof(*s));
}
