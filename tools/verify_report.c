/*
 * verify_report.c: rendering the findings of `hvima verify` (verify_report.h).
 * Text: the first line is the verdict; then per check a summary line and
 * one line per failed or skipped finding (passed images are counted, not
 * listed). JSON: {"verdict", "exit_code", "subject", "checks": {check:
 * {"passed", "failed", "skipped"}}, "findings": [...]} with every finding.
 * JUnit: one <testsuite> per check, one <testcase> per finding; text is
 * XML-escaped and stripped of bytes XML 1.0 forbids.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvima.h"
#include "verify_report.h"

static const char *order[] = {"log", "tpm", "quote", "image", "malformed", "violation", "unattributed",
			      "expected", "baseline", "other"};
#define NORDER (sizeof(order) / sizeof(order[0]))

void vr_add(struct vr *r, const char *check, enum vr_state st, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct vr_finding *f = realloc(r->f, ncap * sizeof(*f));
		if (!f) {
			r->oom = true;
			return;
		}
		r->f = f;
		r->cap = ncap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	char *nm = strdup(name ? name : "");
	if (!nm || !msg) {
		free(nm);
		free(msg);
		r->oom = true;
		return;
	}
	r->f[r->n++] = (struct vr_finding){check, nm, msg, (uint8_t)st};
}

size_t vr_failures(const struct vr *r, const char *check)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->f[i].state == VR_FAIL && (!check || !strcmp(r->f[i].check, check));
	return n;
}

static void counts(const struct vr *r, const char *check, size_t c[3])
{
	c[0] = c[1] = c[2] = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].check, check))
			c[r->f[i].state]++;
}

void vr_text(const struct vr *r, FILE *f)
{
	size_t fails = vr_failures(r, NULL), c[3];
	fprintf(f, "hvima verify: %s: %s", fails ? "FAIL" : "PASS", r->subject);
	if (fails)
		fprintf(f, " (%zu problem%s)", fails, fails == 1 ? "" : "s");
	fputc('\n', f);
	for (size_t k = 0; k < NORDER; k++) {
		counts(r, order[k], c);
		if (!c[0] && !c[1] && !c[2])
			continue;
		fprintf(f, "%-12s %s: %zu passed, %zu failed", order[k], c[1] ? "FAIL" : c[0] ? "ok  " : "skip", c[0],
			c[1]);
		if (c[2])
			fprintf(f, ", %zu skipped", c[2]);
		fputc('\n', f);
		for (size_t i = 0; i < r->n; i++) {
			const struct vr_finding *x = &r->f[i];
			if (strcmp(x->check, order[k]))
				continue;
			bool one = c[0] + c[1] + c[2] == 1;
			if (x->state == VR_PASS && !one && strcmp(order[k], "unattributed"))
				continue;
			fprintf(f, "  %s %s%s%s\n", x->state == VR_FAIL ? "-" : x->state == VR_SKIP ? "?" : "+",
				x->name, *x->name && x->message && *x->message ? ": " : "", x->message ? x->message : "");
		}
	}
}

void vr_json(const struct vr *r, FILE *f)
{
	size_t c[3];
	fprintf(f, "{\"verdict\": \"%s\", \"exit_code\": %d, \"subject\": ", vr_failures(r, NULL) ? "fail" : "pass",
		r->exit_code);
	hv_json_str(f, r->subject);
	fprintf(f, ",\n \"checks\": {");
	bool first = true;
	for (size_t k = 0; k < NORDER; k++) {
		counts(r, order[k], c);
		if (!c[0] && !c[1] && !c[2])
			continue;
		fprintf(f, "%s\"%s\": {\"passed\": %zu, \"failed\": %zu, \"skipped\": %zu}", first ? "" : ", ", order[k],
			c[0], c[1], c[2]);
		first = false;
	}
	fprintf(f, "},\n \"findings\": [");
	for (size_t i = 0; i < r->n; i++) {
		const struct vr_finding *x = &r->f[i];
		fprintf(f, "%s\n  {\"check\": \"%s\", \"state\": \"%s\", \"name\": ", i ? "," : "", x->check,
			x->state == VR_PASS ? "pass" : x->state == VR_FAIL ? "fail" : "skip");
		hv_json_str(f, x->name);
		fprintf(f, ", \"message\": ");
		hv_json_str(f, x->message ? x->message : "");
		fputc('}', f);
	}
	fprintf(f, "\n]}\n");
}

static void xml(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if (*p < 0x20 && *p != '\t' && *p != '\n')
				fputc('?', f);
			else
				fputc(*p, f);
		}
	}
}

int vr_junit(const struct vr *r, const char *path)
{
	FILE *f = fopen(path, "w");
	size_t c[3];
	if (!f)
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hvima verify\" tests=\"%zu\" "
		   "failures=\"%zu\">\n", r->n, vr_failures(r, NULL));
	for (size_t k = 0; k < NORDER; k++) {
		counts(r, order[k], c);
		if (!c[0] && !c[1] && !c[2])
			continue;
		fprintf(f, " <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
			order[k], c[0] + c[1] + c[2], c[1], c[2]);
		for (size_t i = 0; i < r->n; i++) {
			const struct vr_finding *x = &r->f[i];
			if (strcmp(x->check, order[k]))
				continue;
			fprintf(f, "  <testcase classname=\"hvima.verify.%s\" name=\"", x->check);
			xml(f, *x->name ? x->name : x->check);
			fputs("\">", f);
			if (x->state == VR_FAIL) {
				fputs("<failure message=\"", f);
				xml(f, x->message);
				fputs("\" type=\"mismatch\">", f);
				xml(f, x->message);
				fputs("</failure>", f);
			} else if (x->state == VR_SKIP) {
				fputs("<skipped message=\"", f);
				xml(f, x->message);
				fputs("\"/>", f);
			} else if (x->message && *x->message) {
				fputs("<system-out>", f);
				xml(f, x->message);
				fputs("</system-out>", f);
			}
			fputs("</testcase>\n", f);
		}
		fputs(" </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return fclose(f) ? -1 : 0;
}

void vr_free(struct vr *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].name);
		free(r->f[i].message);
	}
	free(r->f);
	memset(r, 0, sizeof(*r));
}
