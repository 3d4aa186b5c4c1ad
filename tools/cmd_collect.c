/*
 * cmd_collect.c: `hvima collect FILE|-|RUNDIR` decodes the raw byte stream
 * of the hvima channel as the stock isa-debugcon device writes it to its
 * chardev (RUNDIR/channel.bin in an `hvima run` directory): the path the
 * minifilter's reports take to the host without the plugin, e.g. under
 * KVM. The stream is hostile: it is read in chunks (no size limit, bounded
 * memory) and decoded by lib/chanrec.c, which resynchronizes after bad
 * bytes; records, malformed stretches and sequence gaps are printed as
 * they come, as text or JSON lines (docs/channel.md).
 *
 * Exit: 0 every byte was part of a well-formed record and no sequence
 * number is missing; 1 sequence numbers are missing (records printed);
 * 3 the input is unreadable or holds malformed bytes; 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chanrec.h"
#include "hash.h"
#include "hvima.h"

#define STREAM_NAME "channel.bin" /* in a run directory */

struct out {
	bool json;
};

static void collect_usage(FILE *f)
{
	fprintf(f, "Usage: hvima collect [--json] FILE|-|RUNDIR\n\n"
		   "Decode the hvima channel's byte stream (the isa-debugcon chardev output;\n"
		   "RUNDIR/" STREAM_NAME " of an hvima run): the minifilter's file reports.\n\n"
		   "  --json   one JSON object per line: records, malformed bytes, gaps, summary\n"
		   "  --help   print this\n\n"
		   "Exit: 0 all records well formed and in sequence, 1 sequence numbers missing,\n"
		   "2 usage, 3 unreadable input or malformed bytes in it.\n");
}

static void on_event(void *ctx, const struct hv_rx_event *ev)
{
	const struct out *o = ctx;
	const struct hv_rec *r = ev->rec;
	char hex[65];

	if (ev->kind == HV_RX_MALFORMED) {
		if (o->json) {
			printf("{\"event\":\"malformed\",\"offset\":%" PRIu64 ",\"skipped\":%u,\"reason\":", ev->offset,
			       ev->skipped);
			hv_json_utf8(stdout, ev->why);
			printf("}\n");
		} else {
			printf("malformed offset=%" PRIu64 " skipped=%u reason=\"%s\"\n", ev->offset, ev->skipped, ev->why);
		}
		return;
	}
	if (ev->missing) {
		if (o->json)
			printf("{\"event\":\"gap\",\"offset\":%" PRIu64 ",\"expected\":%u,\"seq\":%u,\"missing\":%u}\n",
			       ev->offset, ev->expected, r->seq, ev->missing);
		else
			printf("gap offset=%" PRIu64 " expected=%u seq=%u missing=%u\n", ev->offset, ev->expected, r->seq,
			       ev->missing);
	}
	hv_hex(r->sha256, 32, hex);
	if (o->json) {
		printf("{\"event\":\"record\",\"offset\":%" PRIu64 ",\"seq\":%u,\"restart\":%s,\"access\":\"%s\","
		       "\"decision\":\"%s\",\"flags\":%u,\"digest\":%s,\"sha256\":\"%s\",\"size\":%" PRIu64
		       ",\"pid\":%u,\"process\":",
		       ev->offset, r->seq, ev->restart ? "true" : "false", hv_rec_access_name(r->access),
		       r->decision ? "denied" : "allowed", r->flags, (r->flags & HV_RECF_DIGEST) ? "true" : "false", hex,
		       r->size, r->pid);
		hv_json_utf8(stdout, r->proc);
		printf(",\"path\":");
		hv_json_utf8(stdout, r->path);
		printf("}\n");
	} else {
		printf("record seq=%u%s access=%s decision=%s flags=0x%x sha256=%s size=%" PRIu64
		       " pid=%u process=%s path=%s\n",
		       r->seq, ev->restart ? " restart" : "", hv_rec_access_name(r->access),
		       r->decision ? "denied" : "allowed", r->flags, (r->flags & HV_RECF_DIGEST) ? hex : "-", r->size,
		       r->pid, r->proc[0] ? r->proc : "-", r->path);
	}
}

int cmd_collect(int argc, char **argv)
{
	static const struct option lo[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	struct out o = {0};
	struct hv_rx *rx;
	uint8_t chunk[65536];
	char *path = NULL;
	const char *arg;
	struct stat st;
	FILE *f;
	size_t n;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'j') {
			o.json = true;
		} else if (c == 'h') {
			collect_usage(stdout);
			return HV_EXIT_OK;
		} else {
			collect_usage(stderr);
			return HV_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		collect_usage(stderr);
		return HV_EXIT_USAGE;
	}
	arg = argv[optind];
	if (!strcmp(arg, "-")) {
		f = stdin;
	} else {
		if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
			size_t len = strlen(arg) + sizeof(STREAM_NAME) + 2;
			path = malloc(len);
			if (!path)
				return HV_EXIT_INTERNAL;
			snprintf(path, len, "%s/%s", arg, STREAM_NAME);
			arg = path;
		}
		f = fopen(arg, "rb");
		if (!f) {
			fprintf(stderr, "hvima collect: %s: %s\n", arg, strerror(errno));
			free(path);
			return HV_EXIT_INPUT;
		}
	}
	rx = malloc(sizeof(*rx));
	if (!rx) {
		if (f != stdin)
			fclose(f);
		free(path);
		return HV_EXIT_INTERNAL;
	}
	hv_rx_init(rx);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		hv_rx_feed(rx, chunk, n, on_event, &o);
	rc = ferror(f) ? HV_EXIT_INPUT : HV_EXIT_OK;
	if (rc)
		fprintf(stderr, "hvima collect: %s: read error\n", arg);
	hv_rx_end(rx, on_event, &o);
	if (o.json)
		printf("{\"event\":\"summary\",\"bytes\":%" PRIu64 ",\"records\":%" PRIu64 ",\"malformed\":%" PRIu64
		       ",\"missing\":%" PRIu64 ",\"ok\":%s}\n",
		       rx->off, rx->records, rx->malformed, rx->missing,
		       !rc && !rx->malformed && !rx->missing ? "true" : "false");
	else
		printf("%" PRIu64 " bytes, %" PRIu64 " records, %" PRIu64 " malformed stretches, %" PRIu64
		       " records missing\n",
		       rx->off, rx->records, rx->malformed, rx->missing);
	if (!rc && rx->malformed)
		rc = HV_EXIT_INPUT;
	else if (!rc && rx->missing)
		rc = HV_EXIT_MISMATCH;
	if (f != stdin)
		fclose(f);
	free(rx);
	free(path);
	return rc;
}
