/*
 * mklog.c: `mklog FILE [BANKS [notes|no-notes]]` writes the sample log of
 * logbuild.c to FILE in the banks BANKS (comma-separated, default
 * sha1,sha256,sha384), with or without its EV_NO_ACTION notes, and prints
 * what hv_log_replay() makes of it, one "BANK PCR HEX" line per extended
 * PCR, then "noaction PCR" for each PCR that holds an EV_NO_ACTION record
 * and "padding N", the number of the writer's padding records, for
 * test-eventlog to compare with tpm2_eventlog.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logbuild.h"

static unsigned padding;

static int print_noaction(void *ctx, const struct hv_log_event *ev)
{
	static uint32_t seen;
	padding += hv_log_is_padding(ev) ? 1 : 0;
	if (!ev->is_header && ev->type == EV_NO_ACTION && !(seen & (1u << ev->pcr))) {
		seen |= 1u << ev->pcr;
		printf("noaction %u\n", ev->pcr);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char banks[64] = "sha1,sha256,sha384", *save = NULL, hex[2 * HV_DIGEST_MAX + 1];
	struct hv_log_replay *r = malloc(sizeof(*r));
	unsigned algs = 0;
	hv_why why = {{0}};
	uint8_t *buf;
	size_t len;
	int rc;

	int notes = argc < 4 || strcmp(argv[3], "no-notes");

	if (argc < 2 || argc > 4 || !r || (argc >= 3 && strlen(argv[2]) >= sizeof(banks))) {
		fprintf(stderr, "usage: mklog FILE [BANKS [notes|no-notes]]\n");
		return 2;
	}
	if (argc >= 3)
		strcpy(banks, argv[2]);
	for (char *t = strtok_r(banks, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int a = hv_alg_from_name(t);
		if (a < 0) {
			fprintf(stderr, "mklog: unknown bank %s\n", t);
			return 2;
		}
		algs |= HV_ALG_BIT(a);
	}
	rc = logbuild_sample(argv[1], algs, notes, &why);
	if (rc < 0) {
		fprintf(stderr, "mklog: %s: %s\n", hv_status_str(rc), why.msg);
		return 1;
	}
	if (logbuild_read(argv[1], &buf, &len)) {
		fprintf(stderr, "mklog: cannot read %s back\n", argv[1]);
		return 1;
	}
	rc = hv_log_replay(buf, len, r, &why);
	if (rc) {
		fprintf(stderr, "mklog: replay: %s: %s\n", hv_status_str(rc), why.msg);
		return 1;
	}
	for (int a = 0; a < HV_NALGS; a++)
		for (unsigned i = 0; i < 24; i++)
			if ((r->algs & HV_ALG_BIT(a)) && (r->pcrs_used & (1u << i)))
				printf("%s %u %s\n", hv_alg_name(a), i, hv_hex(r->pcr[a][i], hv_alg_size(a), hex));
	if (hv_log_walk(buf, len, print_noaction, NULL, &why))
		return 1;
	printf("padding %u\n", padding);
	free(buf);
	free(r);
	return 0;
}
