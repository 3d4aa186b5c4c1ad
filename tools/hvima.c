/*
 * hvima.c: the hvima command, one binary with subcommands, each a thin front
 * over lib/. Subcommands: digest, log, manifest, verify, baseline, collect,
 * run.
 */
#include <stdio.h>
#include <string.h>

#include "canon.h"
#include "hvima.h"

#define HVIMA_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{"digest", cmd_digest, "Authenticode and canonical digests of PE32, PE32+ and TE files"},
	{"log", cmd_log, "print a TCG event log and the PCR values it replays to"},
	{"manifest", cmd_manifest, "reference manifest of the images in files, directories, disk images, firmware"},
	{"run", cmd_run, "boot a guest under QEMU with the hvima plugin (tools/hvima-run)"},
	{"collect", cmd_collect, "decode the minifilter channel's byte stream (isa-debugcon output)"},
	{"verify", cmd_verify, "check a run's log against the TPM, manifests, a policy and a baseline"},
	{"baseline", cmd_baseline, "record known-good runs for verify --baseline"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: hvima COMMAND [OPTION]... [ARG]...\n\n"
		   "Measured boot of Windows guests from the hypervisor.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'hvima COMMAND --help' describes a command.\n\n"
		   "Exit status (never changes meaning; docs/cli.md):\n"
		   "  0 done, everything matched      1 a check found a difference\n"
		   "  2 bad command line              3 an input is unreadable or malformed\n"
		   "  4 a needed tool/TPM is missing  5 internal error or out of memory\n"
		   "  6 a guest or helper timed out\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return HV_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return HV_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("hvima %s (canonical digest v%d)\n", HVIMA_VERSION, HV_CANON_VERSION);
		return HV_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hvima: unknown command '%s' (try hvima --help)\n", argv[1]);
	return HV_EXIT_USAGE;
}
