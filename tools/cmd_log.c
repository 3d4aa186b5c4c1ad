/*
 * cmd_log.c: `hvima log PATH` prints a TCG PC Client crypto-agile event log
 * (the plugin's, or firmware's): one line per record with its decoded data,
 * then the PCR values it replays to, per bank. PATH is a run directory
 * (PATH/eventlog.bin) or a log file. A printer callback over hv_log_walk();
 * decoding is hv_log_decode(), replay hv_log_replay().
 *
 * Exit: 0 the whole log is well formed, 3 it is unreadable, malformed or
 * truncated (the records before the fault are still printed, then the
 * error), 5 out of memory or digest library failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hvima.h"
#include "tcglog.h"

#define LOG_NAME "eventlog.bin" /* in a run directory */

struct opts {
	bool json;
	bool pcrs_only;
};

struct printer {
	const struct opts *o;
	bool first_kv;
	/* JSON: keys of the current event's data, to number repeats. */
	char keys[32][32];
	unsigned nkeys;
};

static void log_usage(FILE *f)
{
	fprintf(f, "Usage: hvima log [--json] [--pcrs-only] PATH\n\n"
		   "Print a TCG event log and the PCR values it replays to. PATH is a run\n"
		   "directory (its " LOG_NAME ") or a log file.\n\n"
		   "  --json        one JSON object {\"events\": [...], \"pcrs\": {...}} (docs/cli.md)\n"
		   "  --pcrs-only   print only the replayed PCRs\n"
		   "  --help        print this\n\n"
		   "Exit: 0 ok, 2 usage, 3 the log is unreadable, malformed or truncated\n"
		   "(what was parsed is printed, then the error), 5 internal error.\n");
}

/* Text, for people: key=value, the value in quotes (a quote in it as \")
 * when it is empty or holds a space or a quote. Backslashes stay as they
 * are, so that Windows paths read as paths; --json is the exact form. */
static void text_kv(void *ctx, const char *key, const char *value)
{
	struct printer *pr = ctx;
	bool quote = !*value || strpbrk(value, " \"") != NULL;

	printf("%s%s=", pr->first_kv ? "" : " ", key);
	pr->first_kv = false;
	if (!quote) {
		fputs(value, stdout);
		return;
	}
	putchar('"');
	for (const char *p = value; *p; p++) {
		if (*p == '"')
			putchar('\\');
		putchar(*p);
	}
	putchar('"');
}

static void json_kv(void *ctx, const char *key, const char *value)
{
	struct printer *pr = ctx;
	unsigned seen = 0;
	char k[40];

	for (unsigned i = 0; i < pr->nkeys; i++)
		if (!strcmp(pr->keys[i], key))
			seen++;
	if (pr->nkeys < sizeof(pr->keys) / sizeof(pr->keys[0]))
		snprintf(pr->keys[pr->nkeys++], sizeof(pr->keys[0]), "%s", key);
	if (seen)
		snprintf(k, sizeof(k), "%s_%u", key, seen + 1);
	else
		snprintf(k, sizeof(k), "%s", key);
	printf("%s", pr->first_kv ? "" : ",");
	pr->first_kv = false;
	hv_json_utf8(stdout, k);
	putchar(':');
	hv_json_utf8(stdout, value);
}

static const char *alg_label(uint16_t id, char *buf, size_t n)
{
	const char *name = hv_log_alg_name(id);
	if (name)
		return name;
	snprintf(buf, n, "0x%04x", id);
	return buf;
}

static void print_hex(const uint8_t *p, size_t n)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		putchar(x[p[i] >> 4]);
		putchar(x[p[i] & 15]);
	}
}

static int print_event(void *ctx, const struct hv_log_event *ev)
{
	struct printer *pr = ctx;
	const char *type = hv_log_type_name(ev->type);
	char alg[8];

	if (pr->o->pcrs_only)
		return 0;
	if (pr->o->json) {
		printf("%s\n{\"index\":%" PRIu64 ",\"offset\":%" PRIu64 ",\"pcr\":%u,\"type\":", ev->index ? "," : "",
		       ev->index, ev->offset, ev->pcr);
		if (type)
			printf("\"%s\"", type);
		else
			printf("\"0x%08x\"", ev->type);
		printf(",\"type_id\":%u,\"digests\":{", ev->type);
		for (unsigned i = 0; i < ev->ndigests; i++) {
			printf("%s\"%s\":\"", i ? "," : "", alg_label(ev->digests[i].alg_id, alg, sizeof(alg)));
			print_hex(ev->digests[i].digest, ev->digests[i].size);
			putchar('"');
		}
		printf("},\"event_size\":%u,\"event\":\"", ev->event_size);
		print_hex(ev->event, ev->event_size);
		printf("\",\"data\":{");
		pr->first_kv = true;
		pr->nkeys = 0;
		hv_log_decode(ev, json_kv, pr);
		printf("}}");
		return 0;
	}

	/* Text: the SHA-256 digest when the log has that bank, else the first. */
	unsigned shown = 0;
	for (unsigned i = 0; i < ev->ndigests; i++)
		if (ev->digests[i].alg_id == hv_alg_tpm_id(HV_SHA256))
			shown = i;
	printf("%4" PRIu64 "  pcr %2u  ", ev->index, ev->pcr);
	if (type)
		printf("%-32s  ", type);
	else
		printf("0x%08x%22s  ", ev->type, "");
	printf("%s:", alg_label(ev->digests[shown].alg_id, alg, sizeof(alg)));
	print_hex(ev->digests[shown].digest, ev->digests[shown].size);
	printf("  ");
	pr->first_kv = true;
	hv_log_decode(ev, text_kv, pr);
	putchar('\n');
	return 0;
}

static void print_pcrs(const struct opts *o, const struct hv_log_replay *r)
{
	bool first_bank = true;

	if (o->json)
		printf("\"pcrs\":{");
	for (int a = 0; a < HV_NALGS; a++) {
		bool first = true;
		if (!(r->algs & HV_ALG_BIT(a)))
			continue;
		if (o->json)
			printf("%s\"%s\":{", first_bank ? "" : ",", hv_alg_name(a));
		first_bank = false;
		for (unsigned i = 0; i <= HV_LOG_MAX_PCR; i++) {
			if (!(r->pcrs_used & (1u << i)))
				continue;
			if (o->json) {
				printf("%s\"%u\":\"", first ? "" : ",", i);
				print_hex(r->pcr[a][i], hv_alg_size(a));
				putchar('"');
			} else {
				printf("%-6s pcr %2u = ", hv_alg_name(a), i);
				print_hex(r->pcr[a][i], hv_alg_size(a));
				putchar('\n');
			}
			first = false;
		}
		if (o->json)
			putchar('}');
	}
	if (o->json)
		putchar('}');
}

/* The log file of PATH: PATH itself, or PATH/eventlog.bin for a directory. */
static char *log_path(const char *path)
{
	struct stat st;
	char *p;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t n = strlen(path) + sizeof(LOG_NAME) + 1;
		p = malloc(n);
		if (p)
			snprintf(p, n, "%s/%s", path, LOG_NAME);
		return p;
	}
	return strdup(path);
}

int cmd_log(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pcrs-only", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	struct printer pr = {.o = &o};
	struct hv_log_replay *r = NULL;
	hv_why why = {{0}};
	uint8_t *buf = NULL;
	size_t len;
	char *file;
	int c, rc, err, status = HV_EXIT_OK;

	while ((c = getopt_long(argc, argv, "jph", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'p': o.pcrs_only = true; break;
		case 'h': log_usage(stdout); return HV_EXIT_OK;
		default: log_usage(stderr); return HV_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		log_usage(stderr);
		return HV_EXIT_USAGE;
	}
	file = log_path(argv[optind]);
	r = malloc(sizeof(*r));
	if (!file || !r) {
		fprintf(stderr, "hvima log: out of memory\n");
		free(file);
		free(r);
		return HV_EXIT_INTERNAL;
	}
	err = hv_read_file(file, &buf, &len);
	if (err) {
		snprintf(why.msg, sizeof(why.msg), "cannot read %s: %s", file, strerror(-err));
		rc = err == -ENOMEM ? HV_E_NOMEM : HV_E_RANGE;
		goto report;
	}

	if (o.json) {
		printf("{\"file\":");
		hv_json_str(stdout, file);
		if (!o.pcrs_only)
			printf(",\"events\":[");
	}
	rc = hv_log_walk(buf, len, print_event, &pr, &why);
	if (o.json && !o.pcrs_only)
		printf("\n]");
	if (rc == HV_OK)
		rc = hv_log_replay(buf, len, r, &why);
	if (rc == HV_OK) {
		if (o.json) {
			putchar(',');
			print_pcrs(&o, r);
			printf(",\"ok\":true}\n");
		} else {
			if (!o.pcrs_only)
				putchar('\n');
			print_pcrs(&o, r);
		}
	}

report:
	if (rc != HV_OK) {
		status = rc == HV_E_NOMEM || rc == HV_E_CRYPTO ? HV_EXIT_INTERNAL : HV_EXIT_INPUT;
		if (o.json) {
			if (err) {
				printf("{\"file\":");
				hv_json_str(stdout, file);
			}
			printf(",\"ok\":false,\"error\":{\"status\":\"%s\",\"message\":", hv_status_str(rc));
			hv_json_str(stdout, why.msg);
			printf("}}\n");
		} else {
			printf("error: %s: %s\n", hv_status_str(rc), why.msg);
		}
	}
	free(buf);
	free(r);
	free(file);
	return status;
}
