/*
 * cmd_digest.c: `hvima digest FILE...` prints, for each PE32, PE32+ or TE
 * file, what it is, its Authenticode digest (what UEFI firmware extends for
 * it and what its signature signs), the digests inside its signatures, and
 * its hvima canonical digest (what the plugin measures from guest memory).
 * With --loaded BASE the files are memory dumps of images loaded at BASE,
 * and only the canonical digest is defined.
 *
 * Exit: 0 all files digested, 3 at least one file unreadable or malformed
 * (the others are still printed), 1 a signature's digest differs from the
 * file's Authenticode digest, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"
#include "canon.h"
#include "hvima.h"

struct opts {
	bool json;
	unsigned algs;
	bool loaded;
	uint64_t base;
};

struct result {
	const char *path;
	const char *stage; /* what failed: "read", "parse", ... */
	char err[256];
	struct hv_pe pe;
	bool parsed;
	char name[HV_CAP_NAME + 1];
	struct hv_digests auth, canon;
	bool have_auth, have_canon;
	char auth_err[200];
	struct hv_pe_signature sigs[HV_CAP_CERT_ENTRIES];
	size_t nsigs;
	int sig_mismatch;
};

static void digest_usage(FILE *f)
{
	fprintf(f, "Usage: hvima digest [--json] [--alg LIST] [--loaded BASE] FILE...\n\n"
		   "Print the Authenticode and hvima canonical digests of PE32, PE32+ and TE files.\n\n"
		   "  --json          one JSON array, an object per file (keys in docs/cli.md)\n"
		   "  --alg LIST      sha1, sha256, sha384 or all, comma-separated [sha256]\n"
		   "  --loaded BASE   FILEs are dumps of images loaded at address BASE: print\n"
		   "                  the canonical digest only\n"
		   "  --help          print this\n\n"
		   "Exit: 0 ok, 1 a signature's digest differs from the file, 2 usage,\n"
		   "3 a file is unreadable or malformed (the others are still printed).\n");
}

static int parse_algs(const char *s, unsigned *mask)
{
	char buf[64], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*mask = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int a = hv_alg_from_name(t);
		if (!strcmp(t, "all"))
			*mask |= HV_ALGS_ALL;
		else if (a < 0)
			return -1;
		else
			*mask |= HV_ALG_BIT(a);
	}
	return *mask ? 0 : -1;
}

static void digest_one(const struct opts *o, struct result *r, const uint8_t *buf, size_t len)
{
	hv_why why = {{0}};
	int rc;

	rc = hv_pe_parse(&r->pe, buf, len, o->loaded ? HV_LAYOUT_LOADED : HV_LAYOUT_FILE, &why);
	if (rc) {
		r->stage = "parse";
		snprintf(r->err, sizeof(r->err), "%s: %s", hv_status_str(rc), why.msg);
		return;
	}
	r->parsed = true;
	hv_pe_best_name(&r->pe, r->name, sizeof(r->name));
	rc = hv_canon_digest(&r->pe, o->base, o->algs, &r->canon, NULL, &why);
	if (rc) {
		r->stage = "canonical digest";
		snprintf(r->err, sizeof(r->err), "%s: %s", hv_status_str(rc), why.msg);
	} else {
		r->have_canon = true;
	}
	if (o->loaded || r->pe.kind == HV_TE)
		return;
	rc = hv_authenticode(&r->pe, o->algs | HV_ALGS_ALL, &r->auth, &why);
	if (rc) {
		snprintf(r->auth_err, sizeof(r->auth_err), "%s: %s", hv_status_str(rc), why.msg);
		if (!r->stage) {
			r->stage = "authenticode";
			snprintf(r->err, sizeof(r->err), "%s", r->auth_err);
		}
		return;
	}
	r->have_auth = true;
	rc = hv_authenticode_signatures(&r->pe, r->sigs, HV_CAP_CERT_ENTRIES, &r->nsigs, &why);
	if (rc && rc != HV_E_ABSENT && !r->stage) {
		r->stage = "signatures";
		snprintf(r->err, sizeof(r->err), "%s: %s", hv_status_str(rc), why.msg);
	}
	for (size_t i = 0; i < r->nsigs; i++)
		if (r->sigs[i].alg >= 0 && memcmp(r->sigs[i].digest, r->auth.d[r->sigs[i].alg], r->sigs[i].digest_len))
			r->sig_mismatch = 1;
}

static void print_digests(FILE *f, const char *label, const struct hv_digests *d, unsigned algs)
{
	char hex[2 * HV_DIGEST_MAX + 1];
	for (int a = 0; a < HV_NALGS; a++)
		if ((algs & HV_ALG_BIT(a)) && (d->mask & HV_ALG_BIT(a)))
			fprintf(f, "  %-13s %-6s %s\n", label, hv_alg_name(a), hv_hex(d->d[a], hv_alg_size(a), hex));
}

static void print_text(const struct opts *o, const struct result *r)
{
	char hex[2 * HV_DIGEST_MAX + 1];

	printf("%s\n", r->path);
	if (r->parsed) {
		const struct hv_pe *pe = &r->pe;
		printf("  %-13s %s %s %s (subsystem %u)\n", "format", hv_pe_kind_str(pe->kind), hv_pe_machine_str(pe->machine),
		       hv_pe_subsystem_str(pe->subsystem), pe->subsystem);
		printf("  %-13s 0x%" PRIx64 ", size 0x%x, entry RVA 0x%x, %u sections\n", "image base", pe->image_base,
		       pe->size_of_image, pe->entry_rva, pe->nsections);
		if (r->name[0])
			printf("  %-13s %s\n", "name", r->name);
	}
	if (r->have_auth)
		print_digests(stdout, "authenticode", &r->auth, o->algs);
	else if (r->parsed && !o->loaded)
		printf("  %-13s %s\n", "authenticode", r->pe.kind == HV_TE ? "none (TE image)" : r->auth_err);
	for (size_t i = 0; i < r->nsigs && i < HV_CAP_CERT_ENTRIES; i++) {
		const struct hv_pe_signature *s = &r->sigs[i];
		bool match = s->alg >= 0 && !memcmp(s->digest, r->auth.d[s->alg], s->digest_len);
		printf("  %-13s %-6s %s (%s)\n", i ? "" : "signed", s->alg >= 0 ? hv_alg_name(s->alg) : "other",
		       hv_hex(s->digest, s->digest_len, hex), s->alg < 0 ? "algorithm not checked" : match ? "matches" : "DIFFERS");
	}
	if (r->have_canon)
		print_digests(stdout, "canonical", &r->canon, o->algs);
	if (r->stage && !(r->have_canon && !strcmp(r->stage, "authenticode")))
		printf("  %-13s %s failed: %s\n", "error", r->stage, r->err);
}

static void json_digests(const char *key, const struct hv_digests *d, unsigned algs)
{
	char hex[2 * HV_DIGEST_MAX + 1];
	bool first = true;
	printf(",\"%s\":{", key);
	for (int a = 0; a < HV_NALGS; a++)
		if ((algs & HV_ALG_BIT(a)) && (d->mask & HV_ALG_BIT(a))) {
			printf("%s\"%s\":\"%s\"", first ? "" : ",", hv_alg_name(a), hv_hex(d->d[a], hv_alg_size(a), hex));
			first = false;
		}
	printf("}");
}

static void print_json(const struct opts *o, const struct result *r, bool first)
{
	char hex[2 * HV_DIGEST_MAX + 1];

	printf("%s{\"file\":", first ? "" : ",\n");
	hv_json_str(stdout, r->path);
	printf(",\"ok\":%s", r->stage || r->sig_mismatch ? "false" : "true");
	if (r->parsed) {
		const struct hv_pe *pe = &r->pe;
		printf(",\"format\":\"%s\",\"machine\":\"%s\",\"machine_id\":%u,\"subsystem\":\"%s\",\"subsystem_id\":%u",
		       hv_pe_kind_str(pe->kind), hv_pe_machine_str(pe->machine), pe->machine, hv_pe_subsystem_str(pe->subsystem),
		       pe->subsystem);
		printf(",\"image_base\":\"0x%" PRIx64 "\",\"size_of_image\":%u,\"entry_rva\":%u,\"sections\":%u", pe->image_base,
		       pe->size_of_image, pe->entry_rva, pe->nsections);
		printf(",\"name\":");
		hv_json_str(stdout, r->name);
	}
	if (r->have_auth)
		json_digests("authenticode", &r->auth, o->algs);
	if (r->have_canon) {
		json_digests("canonical", &r->canon, o->algs);
		printf(",\"canonical_version\":%d", HV_CANON_VERSION);
	}
	if (r->have_auth) {
		printf(",\"signatures\":[");
		for (size_t i = 0; i < r->nsigs && i < HV_CAP_CERT_ENTRIES; i++) {
			const struct hv_pe_signature *s = &r->sigs[i];
			printf("%s{\"offset\":%u,\"type\":%u,\"alg\":\"%s\",\"digest\":\"%s\",\"matches\":%s}", i ? "," : "",
			       s->offset, s->type, s->alg >= 0 ? hv_alg_name(s->alg) : "other",
			       hv_hex(s->digest, s->digest_len, hex),
			       s->alg >= 0 && !memcmp(s->digest, r->auth.d[s->alg], s->digest_len) ? "true" : "false");
		}
		printf("]");
	}
	if (r->stage) {
		printf(",\"error\":{\"stage\":\"%s\",\"message\":", r->stage);
		hv_json_str(stdout, r->err);
		printf("}");
	}
	printf("}");
}

int cmd_digest(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'}, {"alg", required_argument, NULL, 'a'},
		{"loaded", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct opts o = {.algs = HV_ALG_BIT(HV_SHA256)};
	int c, status = HV_EXIT_OK;
	char *end;

	while ((c = getopt_long(argc, argv, "ja:l:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'a':
			if (parse_algs(optarg, &o.algs)) {
				fprintf(stderr, "hvima digest: --alg '%s': expected sha1, sha256, sha384 or all\n", optarg);
				return HV_EXIT_USAGE;
			}
			break;
		case 'l':
			errno = 0;
			o.base = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "hvima digest: --loaded '%s': expected an address\n", optarg);
				return HV_EXIT_USAGE;
			}
			o.loaded = true;
			break;
		case 'h': digest_usage(stdout); return HV_EXIT_OK;
		default: digest_usage(stderr); return HV_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		digest_usage(stderr);
		return HV_EXIT_USAGE;
	}
	if (o.json)
		printf("[");
	for (int i = optind; i < argc; i++) {
		struct result *r = calloc(1, sizeof(*r));
		uint8_t *buf;
		size_t len;
		int err;

		if (!r) {
			fprintf(stderr, "hvima digest: out of memory\n");
			return HV_EXIT_INTERNAL;
		}
		r->path = argv[i];
		err = hv_read_file(argv[i], &buf, &len);
		if (err) {
			r->stage = "read";
			snprintf(r->err, sizeof(r->err), "%s", strerror(-err));
		} else {
			digest_one(&o, r, buf, len);
		}
		if (o.json)
			print_json(&o, r, i == optind);
		else
			print_text(&o, r);
		if (r->stage)
			status = HV_EXIT_INPUT;
		else if (r->sig_mismatch && status == HV_EXIT_OK)
			status = HV_EXIT_MISMATCH;
		hv_pe_free(&r->pe);
		free(buf);
		free(r);
	}
	if (o.json)
		printf("]\n");
	return status;
}
