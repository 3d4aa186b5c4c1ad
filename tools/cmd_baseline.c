/*
 * cmd_baseline.c: `hvima baseline [-o FILE] RUN_DIR|LOG...` records known-good
 * runs into one baseline (lib/baseline.h); `hvima verify --baseline FILE`
 * reports the differences of a run from it as a diff: "+" added (more than
 * the baseline's largest count), "-" removed (fewer than its least count),
 * "~" changed (an added and a removed image with the same name in the same
 * PCR), and PCRs whose value no recorded run had ("order only" when the
 * measurements of that PCR match: firmware that loads in another order).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline.h"
#include "hvima.h"
#include "verify_report.h"

int verify_baseline(struct vr *r, const struct hv_vf *v, const char *path);

static int scan_run(const char *arg, struct hv_vf *v)
{
	char path[4096];
	struct stat st;
	uint8_t *buf;
	size_t len;
	hv_why why = {{0}};
	const char *lp = arg;

	if (!stat(arg, &st) && S_ISDIR(st.st_mode)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/eventlog.bin", arg) >= sizeof(path))
			return HV_EXIT_USAGE;
		lp = path;
	}
	int err = hv_read_file(lp, &buf, &len);
	if (err) {
		fprintf(stderr, "hvima: log %s: %s\n", lp, strerror(-err));
		return HV_EXIT_INPUT;
	}
	int rc = hv_vf_scan(v, buf, len, &why);
	free(buf);
	if (rc) {
		hv_vf_free(v);
		fprintf(stderr, "hvima: log %s: %s: %s\n", lp, hv_status_str(rc), why.msg);
		return rc == HV_E_NOMEM ? HV_EXIT_INTERNAL : HV_EXIT_INPUT;
	}
	return 0;
}

static void write_baseline(FILE *f, const struct hv_baseline *b)
{
	char hex[2 * HV_DIGEST_MAX + 1];
	fprintf(f, "{\"hvima_baseline\": 1, \"runs\": %u,\n \"entries\": [", b->runs);
	for (uint32_t i = 0; i < b->n; i++) {
		const struct hv_bl_entry *e = &b->e[i];
		fprintf(f, "%s\n  {\"pcr\": %u, \"kind\": \"%s\", \"sha256\": \"%s\", \"name\": ", i ? "," : "", e->pcr,
			hv_bl_kind_name(e->kind), hv_hex(e->sha256, 32, hex));
		hv_json_str(f, e->name);
		fprintf(f, ", \"min\": %u, \"max\": %u}", e->min, e->max);
	}
	fprintf(f, "\n ],\n \"pcrs\": {");
	bool firstb = true;
	for (int a = 0; a < HV_NALGS; a++) {
		bool any = false;
		for (int p = 0; p < 24; p++)
			any |= b->nvals[a][p] > 0;
		if (!any)
			continue;
		fprintf(f, "%s\n  \"%s\": {", firstb ? "" : ",", hv_alg_name(a));
		firstb = false;
		bool firstp = true;
		for (int p = 0; p < 24; p++) {
			if (!b->nvals[a][p])
				continue;
			fprintf(f, "%s\"%d\": [", firstp ? "" : ", ", p);
			firstp = false;
			for (unsigned k = 0; k < b->nvals[a][p]; k++)
				fprintf(f, "%s\"%s\"", k ? ", " : "", hv_hex(b->vals[a][p][k], hv_alg_size(a), hex));
			fputc(']', f);
		}
		fputc('}', f);
	}
	fprintf(f, "\n }\n}\n");
}

int cmd_baseline(int argc, char **argv)
{
	static const struct option lo[] = {{"output", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	static struct hv_baseline b;
	const char *out = NULL;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: hvima baseline [-o FILE] RUN_DIR|LOG...\n\n"
				"Records known-good runs into one baseline (JSON, to stdout or FILE) for\n"
				"`hvima verify --baseline`. Several runs merge: per measurement the least and\n"
				"the greatest count seen, per PCR every value seen (docs/cli.md).\n"
				"Exit: 0 written, 2 usage, 3 a log is unreadable or malformed, 5 internal.\n");
			return c == 'h' ? HV_EXIT_OK : HV_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "hvima baseline: no run given (hvima baseline --help)\n");
		return HV_EXIT_USAGE;
	}
	memset(&b, 0, sizeof(b));
	for (int i = optind; i < argc && !rc; i++) {
		struct hv_vf v;
		hv_why why = {{0}};
		if ((rc = scan_run(argv[i], &v)))
			break;
		if (hv_bl_add_run(&b, &v, &why)) {
			fprintf(stderr, "hvima baseline: %s\n", why.msg);
			rc = HV_EXIT_INTERNAL;
		}
		hv_vf_free(&v);
	}
	if (!rc) {
		FILE *f = out ? fopen(out, "w") : stdout;
		if (!f) {
			fprintf(stderr, "hvima baseline: cannot write %s\n", out);
			rc = HV_EXIT_INPUT;
		} else {
			write_baseline(f, &b);
			if ((out && fclose(f)) || (!out && fflush(f)))
				rc = HV_EXIT_INTERNAL;
		}
	}
	hv_bl_free(&b);
	return rc;
}

/* ---- verify --baseline ------------------------------------------------ */

static void diff_entries(struct vr *r, const struct hv_baseline *run, const struct hv_baseline *b,
			 uint32_t *bad_pcrs)
{
	char name[200], hex[65];
	for (uint32_t i = 0; i < run->n; i++) { /* added or more often */
		const struct hv_bl_entry *e = &run->e[i];
		long k = hv_bl_find(b, e->pcr, e->kind, e->sha256);
		uint32_t max = k < 0 ? 0 : b->e[k].max;
		if (e->max <= max)
			continue;
		*bad_pcrs |= 1u << e->pcr;
		const char *how = "+ added";
		for (uint32_t j = 0; *e->name && j < b->n; j++)
			if (b->e[j].pcr == e->pcr && b->e[j].kind == e->kind && !strcmp(b->e[j].name, e->name) &&
			    hv_bl_find(run, e->pcr, e->kind, b->e[j].sha256) < 0)
				how = "~ changed";
		snprintf(name, sizeof(name), "%s pcr %u %s %s sha256:%.16s", how, e->pcr, hv_bl_kind_name(e->kind),
			 *e->name ? e->name : "-", hv_hex(e->sha256, 32, hex));
		vr_add(r, "baseline", VR_FAIL, name, "%s %u time(s), the baseline at most %u (sha256:%s)",
		       hv_bl_kind_name(e->kind), e->max, max, hex);
	}
	for (uint32_t i = 0; i < b->n; i++) { /* removed or fewer */
		const struct hv_bl_entry *e = &b->e[i];
		long k = hv_bl_find(run, e->pcr, e->kind, e->sha256);
		uint32_t got = k < 0 ? 0 : run->e[k].max;
		if (got >= e->min)
			continue;
		*bad_pcrs |= 1u << e->pcr;
		snprintf(name, sizeof(name), "- removed pcr %u %s %s sha256:%.16s", e->pcr, hv_bl_kind_name(e->kind),
			 *e->name ? e->name : "-", hv_hex(e->sha256, 32, hex));
		vr_add(r, "baseline", VR_FAIL, name, "%s %u time(s), the baseline at least %u (sha256:%s)",
		       hv_bl_kind_name(e->kind), got, e->min, hex);
	}
}

int verify_baseline(struct vr *r, const struct hv_vf *v, const char *path)
{
	static struct hv_baseline b, run;
	uint8_t *buf;
	size_t len;
	hv_why why = {{0}};
	uint32_t bad_pcrs = 0;
	char hex[2 * HV_DIGEST_MAX + 1], name[64];
	size_t before = vr_failures(r, "baseline");

	int err = hv_read_file(path, &buf, &len);
	if (err) {
		fprintf(stderr, "hvima verify: baseline %s: %s\n", path, strerror(-err));
		return HV_EXIT_INPUT;
	}
	int rc = hv_bl_load(&b, path, buf, len, &why);
	free(buf);
	if (rc) {
		fprintf(stderr, "hvima verify: %s\n", why.msg);
		return HV_EXIT_INPUT;
	}
	memset(&run, 0, sizeof(run));
	if (hv_bl_add_run(&run, v, &why)) {
		hv_bl_free(&b);
		fprintf(stderr, "hvima verify: %s\n", why.msg);
		return HV_EXIT_INTERNAL;
	}
	diff_entries(r, &run, &b, &bad_pcrs);
	for (int a = 0; a < HV_NALGS; a++) {
		for (uint32_t p = 0; p < 24 && (v->replay.algs & HV_ALG_BIT(a)); p++) {
			bool seen = !b.nvals[a][p];
			for (unsigned k = 0; k < b.nvals[a][p] && !seen; k++)
				seen = !memcmp(b.vals[a][p][k], v->replay.pcr[a][p], hv_alg_size(a));
			if (seen)
				continue;
			snprintf(name, sizeof(name), "~ pcr %u %s", p, hv_alg_name(a));
			hv_hex(v->replay.pcr[a][p], hv_alg_size(a), hex);
			if (bad_pcrs & (1u << p) || p == 16)
				vr_add(r, "baseline", p == 16 ? VR_PASS : VR_FAIL, name,
				       p == 16 ? "notes differ (not compared): %s" : "%s: no recorded run had this value",
				       hex);
			else
				vr_add(r, "baseline", VR_PASS, name,
				       "%s: order only (the same measurements as the baseline, in another order)", hex);
		}
	}
	if (vr_failures(r, "baseline") == before)
		vr_add(r, "baseline", VR_PASS, "same-as-baseline", "%s: %u entries from %u run(s), no difference", path,
		       b.n, b.runs);
	hv_bl_free(&b);
	hv_bl_free(&run);
	return 0;
}
