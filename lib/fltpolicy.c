/*
 * fltpolicy.c: the minifilter's policy parser, allowlist and decisions,
 * and Windows file name normalization (fltpolicy.h). Freestanding: no libc
 * and no allocation, so the driver builds it as it is; the allowlist lives
 * in memory the caller sizes with a counting pass.
 */
#include "fltpolicy.h"

static const char *const default_ext[] = {".exe", ".dll", ".sys"};

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
static int cmp32(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 32; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}
static void swap32(uint8_t *a, uint8_t *b)
{
	for (int i = 0; i < 32; i++) {
		uint8_t t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

/* In-place heapsort: O(n log n), no recursion, no memory. */
static void sift(uint8_t (*a)[32], uint32_t root, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * root + 1;
		if (c >= n)
			return;
		if (c + 1 < n && cmp32(a[c], a[c + 1]) < 0)
			c++;
		if (cmp32(a[root], a[c]) >= 0)
			return;
		swap32(a[root], a[c]);
		root = c;
	}
}
static void sort_allow(uint8_t (*a)[32], uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (uint32_t end = n; end > 1; end--) {
		swap32(a[0], a[end - 1]);
		sift(a, 0, end - 1);
	}
}

void hv_fpol_default(struct hv_fpol *p)
{
	uint8_t *b = (uint8_t *)p;
	for (size_t i = 0; i < sizeof(*p); i++)
		b[i] = 0;
	for (uint32_t i = 0; i < 3; i++)
		for (size_t k = 0; k <= slen(default_ext[i]); k++)
			p->ext[i][k] = default_ext[i][k];
	p->n_ext = 3;
}

/* Normalize a '\'-separated name in place (see hv_winpath_norm). */
static size_t norm_inplace(char *s, size_t n)
{
	size_t r, w = 0;
	uint32_t ncomp = 0;
	bool lead = n > 0 && s[0] == '\\';

	if (lead)
		w = 1;
	r = w;
	while (r < n) {
		size_t start, clen;
		while (r < n && s[r] == '\\')
			r++;
		if (r >= n)
			break;
		start = r;
		while (r < n && s[r] != '\\')
			r++;
		clen = r - start;
		if (clen == 1 && s[start] == '.')
			continue;
		if (clen == 2 && s[start] == '.' && s[start + 1] == '.') {
			if (ncomp > 1) { /* drop the last component and its separator */
				while (w > 0 && s[w - 1] != '\\')
					w--;
				w--;
				ncomp--;
			}
			continue;
		}
		if (ncomp > 0)
			s[w++] = '\\';
		for (size_t k = 0; k < clen; k++)
			s[w++] = s[start + k];
		ncomp++;
	}
	s[w] = 0;
	return w;
}

int hv_winpath_norm(const uint16_t *w, size_t nw, char *out, size_t cap, size_t *outlen, const char **why)
{
	size_t o = 0;

	*why = 0;
	for (size_t i = 0; i < nw; i++) {
		uint32_t cp = w[i];
		uint8_t enc[4];
		size_t k;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 1 >= nw || w[i + 1] < 0xdc00 || w[i + 1] > 0xdfff) {
				*why = "unpaired high surrogate";
				return -1;
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (w[++i] - 0xdc00u);
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			*why = "unpaired low surrogate";
			return -1;
		}
		if (cp < 0x20 || cp == 0x7f) {
			*why = "NUL or control character in the name";
			return -1;
		}
		if (cp == '/')
			cp = '\\';
		if (cp < 0x80)
			enc[0] = (uint8_t)cp, k = 1;
		else if (cp < 0x800)
			enc[0] = (uint8_t)(0xc0 | cp >> 6), enc[1] = (uint8_t)(0x80 | (cp & 0x3f)), k = 2;
		else if (cp < 0x10000)
			enc[0] = (uint8_t)(0xe0 | cp >> 12), enc[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)),
			enc[2] = (uint8_t)(0x80 | (cp & 0x3f)), k = 3;
		else
			enc[0] = (uint8_t)(0xf0 | cp >> 18), enc[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)),
			enc[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), enc[3] = (uint8_t)(0x80 | (cp & 0x3f)), k = 4;
		if (cap == 0 || k > cap - 1 - o) {
			*why = "name too long";
			return -1;
		}
		for (size_t j = 0; j < k; j++)
			out[o++] = (char)enc[j];
	}
	if (cap == 0) {
		*why = "name too long";
		return -1;
	}
	*outlen = norm_inplace(out, o);
	return 0;
}

/* ---- the policy text ---------------------------------------------------- */

struct lx {
	const char *s;
	size_t n, i; /* the line and a cursor in it */
};

static void skip_ws(struct lx *l)
{
	while (l->i < l->n && (l->s[l->i] == ' ' || l->s[l->i] == '\t'))
		l->i++;
}
/* Next word: [*b, *b + *len); false at the end of the line. */
static bool word(struct lx *l, size_t *b, size_t *len)
{
	skip_ws(l);
	*b = l->i;
	while (l->i < l->n && l->s[l->i] != ' ' && l->s[l->i] != '\t')
		l->i++;
	*len = l->i - *b;
	return *len > 0;
}
static bool is(const struct lx *l, size_t b, size_t len, const char *w)
{
	size_t k = slen(w);
	if (k != len)
		return false;
	for (size_t i = 0; i < k; i++)
		if (l->s[b + i] != w[i])
			return false;
	return true;
}

static int fail(struct hv_fpol_err *e, uint32_t line, size_t col, const char *msg)
{
	e->line = line;
	e->col = (uint32_t)col + 1;
	e->msg = msg;
	return -1;
}

static int do_ext(struct hv_fpol *p, struct lx *l, uint32_t ln, bool *ext_seen, struct hv_fpol_err *e)
{
	size_t b, len;
	if (!*ext_seen)
		p->n_ext = 0;
	*ext_seen = true;
	if (!word(l, &b, &len))
		return fail(e, ln, l->i, "ext: needs at least one extension");
	do {
		if (len < 2 || len > HV_FPOL_EXT_LEN || l->s[b] != '.')
			return fail(e, ln, b, "ext: an extension is '.' and 1 to 14 letters, digits, '_' or '-'");
		for (size_t k = 1; k < len; k++) {
			char c = lower(l->s[b + k]);
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
				return fail(e, ln, b + k, "ext: an extension is '.' and 1 to 14 letters, digits, '_' or '-'");
		}
		if (p->n_ext >= HV_FPOL_EXT_MAX)
			return fail(e, ln, b, "ext: more than 16 extensions");
		for (size_t k = 0; k < len; k++)
			p->ext[p->n_ext][k] = lower(l->s[b + k]);
		p->ext[p->n_ext][len] = 0;
		p->n_ext++;
	} while (word(l, &b, &len));
	return 0;
}

static int do_watch(struct hv_fpol *p, struct lx *l, uint32_t ln, struct hv_fpol_err *e)
{
	size_t b, end;
	char *dst;
	skip_ws(l);
	b = l->i;
	end = l->n;
	while (end > b && (l->s[end - 1] == ' ' || l->s[end - 1] == '\t'))
		end--;
	if (end == b)
		return fail(e, ln, b, "watch: needs a path prefix");
	if (end - b > HV_FPOL_WATCH_LEN)
		return fail(e, ln, b, "watch: prefix longer than 512 bytes");
	if (p->n_watch >= HV_FPOL_WATCH_MAX)
		return fail(e, ln, b, "watch: more than 32 prefixes");
	dst = p->watch[p->n_watch];
	for (size_t k = b; k < end; k++) {
		char c = l->s[k];
		if ((unsigned char)c < 0x20 || c == 0x7f)
			return fail(e, ln, k, "watch: control character in the prefix");
		dst[k - b] = c == '/' ? '\\' : c;
	}
	if (norm_inplace(dst, end - b) == 0 || (dst[0] == '\\' && dst[1] == 0))
		return fail(e, ln, b, "watch: the prefix is empty once normalized");
	p->n_watch++;
	return 0;
}

static int do_allow(struct hv_fpol *p, struct lx *l, uint32_t ln, uint8_t (*allow)[32], uint32_t cap,
		    struct hv_fpol_err *e)
{
	size_t b, len;
	uint8_t d[32];
	skip_ws(l);
	b = l->i;
	while (l->i < l->n && l->s[l->i] != ' ' && l->s[l->i] != '\t')
		l->i++;
	len = l->i - b;
	if (len != 64)
		return fail(e, ln, b, "allow: the digest is 64 hex digits (SHA-256)");
	for (size_t k = 0; k < 32; k++) {
		int hi = hexval(l->s[b + 2 * k]), lo = hexval(l->s[b + 2 * k + 1]);
		if (hi < 0 || lo < 0)
			return fail(e, ln, b + 2 * k + (hi < 0 ? 0 : 1), "allow: not a hex digit");
		d[k] = (uint8_t)(hi << 4 | lo);
	}
	if (p->n_allow >= HV_FPOL_ALLOW_MAX)
		return fail(e, ln, b, "allow: more than 200000 digests");
	if (allow) {
		if (p->n_allow >= cap)
			return fail(e, ln, b, "allow: more digests than in the counting pass");
		for (int k = 0; k < 32; k++)
			allow[p->n_allow][k] = d[k];
	}
	p->n_allow++;
	return 0;
}

static int line(struct hv_fpol *p, struct lx *l, uint32_t ln, bool *versioned, bool *ext_seen,
		uint8_t (*allow)[32], uint32_t cap, struct hv_fpol_err *e)
{
	size_t b, len, b2, len2;

	for (size_t k = 0; k < l->n; k++)
		if (l->s[k] == 0)
			return fail(e, ln, k, "NUL byte in the policy");
	if (!word(l, &b, &len) || l->s[b] == '#')
		return 0;
	if (!*versioned) {
		if (!is(l, b, len, "version"))
			return fail(e, ln, b, "the first directive must be 'version 1'");
		if (!word(l, &b2, &len2) || !is(l, b2, len2, "1"))
			return fail(e, ln, b2, "version: only version 1 is known");
		*versioned = true;
	} else if (is(l, b, len, "mode")) {
		if (!word(l, &b2, &len2))
			return fail(e, ln, l->i, "mode: audit or enforce");
		if (is(l, b2, len2, "audit"))
			p->mode = HV_FPOL_AUDIT;
		else if (is(l, b2, len2, "enforce"))
			p->mode = HV_FPOL_ENFORCE;
		else
			return fail(e, ln, b2, "mode: audit or enforce");
	} else if (is(l, b, len, "ext")) {
		return do_ext(p, l, ln, ext_seen, e);
	} else if (is(l, b, len, "watch")) {
		return do_watch(p, l, ln, e);
	} else if (is(l, b, len, "allow")) {
		return do_allow(p, l, ln, allow, cap, e);
	} else {
		return fail(e, ln, b, "unknown directive (version, mode, ext, watch, allow)");
	}
	skip_ws(l);
	if (l->i < l->n)
		return fail(e, ln, l->i, "trailing text after the directive");
	return 0;
}

int hv_fpol_parse(struct hv_fpol *p, const char *text, size_t len, uint8_t (*allow)[32], uint32_t allow_cap,
		  struct hv_fpol_err *err)
{
	bool versioned = false, ext_seen = false;
	uint32_t ln = 0;
	size_t i = 0;

	hv_fpol_default(p);
	err->line = err->col = 0;
	err->msg = 0;
	if (len > HV_FPOL_TEXT_MAX)
		return fail(err, 0, 0, "policy larger than 16 MiB");
	while (i < len) {
		struct lx l = {text + i, 0, 0};
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		l.n = j - i;
		ln++;
		if (l.n && l.s[l.n - 1] == '\r')
			l.n--;
		if (l.n > HV_FPOL_LINE_MAX)
			return fail(err, ln, HV_FPOL_LINE_MAX, "line longer than 1024 bytes");
		if (line(p, &l, ln, &versioned, &ext_seen, allow, allow_cap, err))
			return -1;
		i = j + 1;
	}
	if (!versioned)
		return fail(err, 1, 0, "no 'version 1' line: not an hvimaflt policy");
	if (allow) {
		p->allow = allow;
		sort_allow(allow, p->n_allow);
	}
	return 0;
}

/* ---- decisions ---------------------------------------------------------- */

bool hv_fpol_allowed(const struct hv_fpol *p, const uint8_t digest[32])
{
	uint32_t lo = 0, hi = p->allow ? p->n_allow : 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = cmp32(p->allow[mid], digest);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool hv_fpol_exe_name(const struct hv_fpol *p, const char *path)
{
	size_t n = slen(path);
	for (uint32_t i = 0; i < p->n_ext; i++) {
		size_t k = slen(p->ext[i]), j;
		if (k > n)
			continue;
		for (j = 0; j < k && lower(path[n - k + j]) == p->ext[i][j]; j++)
			;
		if (j == k)
			return true;
	}
	return false;
}

bool hv_fpol_watched(const struct hv_fpol *p, const char *path)
{
	for (uint32_t i = 0; i < p->n_watch; i++) {
		const char *w = p->watch[i];
		size_t k = 0;
		while (w[k] && path[k] && lower(w[k]) == lower(path[k]))
			k++;
		if (!w[k] && (path[k] == '\\' || path[k] == 0 || (k > 0 && w[k - 1] == '\\')))
			return true;
	}
	return false;
}

bool hv_fpol_is_mz(const uint8_t *head, size_t n)
{
	return n >= 2 && head[0] == 'M' && head[1] == 'Z';
}

bool hv_fpol_deny(const struct hv_fpol *p, unsigned access, bool executable, const uint8_t digest[32])
{
	if (p->mode != HV_FPOL_ENFORCE || !executable)
		return false;
	if (access != 1 && access != 2) /* HV_ACC_EXECUTE, HV_ACC_MAP (chanrec.h) */
		return false;
	return !hv_fpol_allowed(p, digest);
}
