/*
 * json.c: the bounded JSON reader of json.h. Recursive descent over the
 * grammar of RFC 8259 (no extensions: no comments, no trailing commas, no
 * NaN), recursion bounded by HV_CAP_JSON_DEPTH. Every error names the byte
 * offset where the text stops being JSON. Numbers are checked against the
 * grammar before strtod sees a bounded copy of them.
 */
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "json.h"

struct parser {
	const uint8_t *p;
	size_t len, pos;
	struct hv_json *doc;
	hv_why *why;
};

static void skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		uint8_t c = ps->p[ps->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static int fail_at(struct parser *ps, const char *what)
{
	if (ps->pos >= ps->len)
		return hv_fail(ps->why, HV_E_TRUNCATED, "json: offset %zu: the text ends where %s was expected",
			       ps->pos, what);
	return hv_fail(ps->why, HV_E_FORMAT, "json: offset %zu: %s expected", ps->pos, what);
}

static int new_node(struct parser *ps, uint8_t type, uint32_t *idx)
{
	struct hv_json *d = ps->doc;
	if (d->count == d->cap) {
		uint32_t ncap = d->cap ? d->cap * 2 : 64;
		if (ncap > HV_CAP_JSON_NODES)
			ncap = HV_CAP_JSON_NODES;
		if (d->count >= ncap)
			return hv_fail(ps->why, HV_E_CAP, "json: offset %zu: more than %u values", ps->pos,
				       HV_CAP_JSON_NODES);
		struct hv_json_node *n = realloc(d->n, (size_t)ncap * sizeof(*n));
		if (!n)
			return hv_fail(ps->why, HV_E_NOMEM, "json: no memory for %u values", ncap);
		d->n = n;
		d->cap = ncap;
	}
	*idx = d->count++;
	struct hv_json_node *n = &d->n[*idx];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->key = n->str = n->child = n->next = HV_JSON_NONE;
	n->off = (uint32_t)ps->pos;
	return HV_OK;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_u4(struct parser *ps, uint32_t *cp)
{
	if (ps->len - ps->pos < 4)
		return fail_at(ps, "4 hex digits after \\u");
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int v = hexval(ps->p[ps->pos + i]);
		if (v < 0)
			return fail_at(ps, "4 hex digits after \\u");
		*cp = *cp << 4 | (uint32_t)v;
	}
	ps->pos += 4;
	return HV_OK;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at ps->pos (on the quote), decoded to strs at the same offset:
 * an escape is never shorter in the text than in UTF-8, so the output
 * never overtakes the input. */
static int parse_string(struct parser *ps, uint32_t *off, uint32_t *len)
{
	size_t start = ps->pos;
	char *o = ps->doc->strs + start;
	size_t w = 0;

	ps->pos++;
	for (;;) {
		if (ps->pos >= ps->len)
			return fail_at(ps, "closing '\"'");
		uint8_t c = ps->p[ps->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return hv_fail(ps->why, HV_E_FORMAT, "json: offset %zu: control character 0x%02x in a string",
				       ps->pos, c);
		if (c != '\\') {
			o[w++] = (char)c;
			ps->pos++;
			continue;
		}
		ps->pos++;
		if (ps->pos >= ps->len)
			return fail_at(ps, "an escape");
		c = ps->p[ps->pos++];
		const char *simple = strchr("\"\\/bfnrt", c);
		if (c && simple) {
			o[w++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
			continue;
		}
		if (c != 'u') {
			ps->pos--;
			return fail_at(ps, "a valid escape");
		}
		uint32_t cp, lo;
		int rc = read_u4(ps, &cp);
		if (rc)
			return rc;
		if (cp >= 0xd800 && cp < 0xdc00 && ps->len - ps->pos >= 6 && ps->p[ps->pos] == '\\' &&
		    ps->p[ps->pos + 1] == 'u') {
			ps->pos += 2;
			if ((rc = read_u4(ps, &lo)))
				return rc;
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else {
				w += put_utf8(o + w, 0xfffd);
				cp = lo;
			}
		}
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xfffd; /* a lone surrogate */
		if (cp == 0)
			return hv_fail(ps->why, HV_E_FORMAT, "json: offset %zu: \\u0000 in a string", ps->pos - 6);
		w += put_utf8(o + w, cp);
	}
	o[w] = 0;
	ps->pos++;
	*off = (uint32_t)start;
	*len = (uint32_t)w;
	return HV_OK;
}

static int parse_number(struct parser *ps, double *v)
{
	size_t s = ps->pos, i = ps->pos;
	char tmp[64];

	if (i < ps->len && ps->p[i] == '-')
		i++;
	if (i < ps->len && ps->p[i] == '0')
		i++;
	else if (i < ps->len && ps->p[i] >= '1' && ps->p[i] <= '9')
		while (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9')
			i++;
	else
		return ps->pos = i, fail_at(ps, "a digit");
	if (i < ps->len && ps->p[i] == '.') {
		size_t d = ++i;
		while (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9')
			i++;
		if (i == d)
			return ps->pos = i, fail_at(ps, "a digit after '.'");
	}
	if (i < ps->len && (ps->p[i] == 'e' || ps->p[i] == 'E')) {
		i++;
		if (i < ps->len && (ps->p[i] == '+' || ps->p[i] == '-'))
			i++;
		size_t d = i;
		while (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9')
			i++;
		if (i == d)
			return ps->pos = i, fail_at(ps, "a digit in the exponent");
	}
	if (i - s >= sizeof(tmp))
		return hv_fail(ps->why, HV_E_CAP, "json: offset %zu: number longer than %zu characters", s,
			       sizeof(tmp) - 1);
	memcpy(tmp, ps->p + s, i - s);
	tmp[i - s] = 0;
	*v = strtod(tmp, NULL);
	ps->pos = i;
	return HV_OK;
}

static int parse_value(struct parser *ps, unsigned depth, uint32_t *idx);

/* Array or object at ps->pos (on '[' or '{'). */
static int parse_container(struct parser *ps, unsigned depth, uint32_t idx)
{
	bool obj = ps->doc->n[idx].type == HV_JSON_OBJ;
	uint8_t close = obj ? '}' : ']';
	uint32_t prev = HV_JSON_NONE, count = 0;

	if (depth >= HV_CAP_JSON_DEPTH)
		return hv_fail(ps->why, HV_E_CAP, "json: offset %zu: nested deeper than %u", ps->pos,
			       HV_CAP_JSON_DEPTH);
	ps->pos++;
	skip_ws(ps);
	if (ps->pos < ps->len && ps->p[ps->pos] == close) {
		ps->pos++;
		return HV_OK;
	}
	for (;;) {
		uint32_t key = HV_JSON_NONE, klen, child;
		int rc;
		skip_ws(ps);
		if (obj) {
			if (ps->pos >= ps->len || ps->p[ps->pos] != '"')
				return fail_at(ps, "a member name");
			if ((rc = parse_string(ps, &key, &klen)))
				return rc;
			skip_ws(ps);
			if (ps->pos >= ps->len || ps->p[ps->pos] != ':')
				return fail_at(ps, "':'");
			ps->pos++;
		}
		if ((rc = parse_value(ps, depth + 1, &child)))
			return rc;
		ps->doc->n[child].key = key;
		if (prev == HV_JSON_NONE)
			ps->doc->n[idx].child = child;
		else
			ps->doc->n[prev].next = child;
		prev = child;
		count++;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->p[ps->pos] == close) {
			ps->pos++;
			ps->doc->n[idx].len = count;
			return HV_OK;
		}
		return fail_at(ps, obj ? "',' or '}'" : "',' or ']'");
	}
}

static int parse_value(struct parser *ps, unsigned depth, uint32_t *idx)
{
	static const struct {
		const char *word;
		uint8_t type;
	} words[] = {{"null", HV_JSON_NULL}, {"false", HV_JSON_FALSE}, {"true", HV_JSON_TRUE}};
	int rc;

	skip_ws(ps);
	if (ps->pos >= ps->len)
		return fail_at(ps, "a value");
	uint8_t c = ps->p[ps->pos];
	if (c == '{' || c == '[') {
		if ((rc = new_node(ps, c == '{' ? HV_JSON_OBJ : HV_JSON_ARR, idx)))
			return rc;
		return parse_container(ps, depth, *idx);
	}
	if (c == '"') {
		uint32_t off, len;
		if ((rc = new_node(ps, HV_JSON_STR, idx)) || (rc = parse_string(ps, &off, &len)))
			return rc;
		ps->doc->n[*idx].str = off;
		ps->doc->n[*idx].len = len;
		return HV_OK;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		double v = 0;
		if ((rc = new_node(ps, HV_JSON_NUM, idx)) || (rc = parse_number(ps, &v)))
			return rc;
		ps->doc->n[*idx].num = v;
		return HV_OK;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i].word);
		if (ps->len - ps->pos >= wl && !memcmp(ps->p + ps->pos, words[i].word, wl)) {
			if ((rc = new_node(ps, words[i].type, idx)))
				return rc;
			ps->pos += wl;
			return HV_OK;
		}
	}
	return fail_at(ps, "a value");
}

int hv_json_parse(struct hv_json *doc, const uint8_t *text, size_t len, hv_why *why)
{
	struct parser ps = {text, len, 0, doc, why};
	uint32_t root;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (len > HV_CAP_JSON_SIZE)
		return hv_fail(why, HV_E_CAP, "json: %zu bytes exceed the limit of %u", len, HV_CAP_JSON_SIZE);
	doc->strs = malloc(len + 1);
	if (!doc->strs)
		return hv_fail(why, HV_E_NOMEM, "json: no memory for %zu bytes of strings", len);
	rc = parse_value(&ps, 0, &root);
	if (!rc) {
		skip_ws(&ps);
		if (ps.pos != len)
			rc = hv_fail(why, HV_E_FORMAT, "json: offset %zu: text after the value", ps.pos);
	}
	if (rc)
		hv_json_free(doc);
	return rc;
}

void hv_json_free(struct hv_json *doc)
{
	free(doc->n);
	free(doc->strs);
	memset(doc, 0, sizeof(*doc));
}

const struct hv_json_node *hv_json_first(const struct hv_json *doc, const struct hv_json_node *n)
{
	if (!n || (n->type != HV_JSON_ARR && n->type != HV_JSON_OBJ) || n->child == HV_JSON_NONE)
		return NULL;
	return &doc->n[n->child];
}

const struct hv_json_node *hv_json_next(const struct hv_json *doc, const struct hv_json_node *n)
{
	return n && n->next != HV_JSON_NONE ? &doc->n[n->next] : NULL;
}

const struct hv_json_node *hv_json_get(const struct hv_json *doc, const struct hv_json_node *obj, const char *key)
{
	const struct hv_json_node *found = NULL;
	if (!obj || obj->type != HV_JSON_OBJ)
		return NULL;
	for (const struct hv_json_node *c = hv_json_first(doc, obj); c; c = hv_json_next(doc, c))
		if (!strcmp(doc->strs + c->key, key))
			found = c;
	return found;
}

const char *hv_json_sval(const struct hv_json *doc, const struct hv_json_node *n)
{
	return n && n->type == HV_JSON_STR ? doc->strs + n->str : NULL;
}

const char *hv_json_key(const struct hv_json *doc, const struct hv_json_node *n)
{
	return n && n->key != HV_JSON_NONE ? doc->strs + n->key : NULL;
}

bool hv_json_u64(const struct hv_json_node *n, uint64_t max, uint64_t *out)
{
	if (!n || n->type != HV_JSON_NUM || !(n->num >= 0) || n->num > (double)max || n->num > 9007199254740992.0)
		return false;
	uint64_t v = (uint64_t)n->num;
	if ((double)v != n->num)
		return false;
	*out = v;
	return true;
}
