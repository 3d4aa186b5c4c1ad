/*
 * hvima.h: what the subcommands of the hvima command share: the frozen exit
 * codes, the subcommand entry points, file reading and JSON output helpers.
 */
#ifndef HVIMA_TOOL_H
#define HVIMA_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes: documented in docs/cli.md; a code never changes meaning. */
enum hv_exit {
	HV_EXIT_OK = 0,       /* done; for checks: everything matched */
	HV_EXIT_MISMATCH = 1, /* a check ran and found a difference */
	HV_EXIT_USAGE = 2,    /* bad command line */
	HV_EXIT_INPUT = 3,    /* an input could not be read or is malformed */
	HV_EXIT_ENV = 4,      /* something hvima needs is missing or unreachable */
	HV_EXIT_INTERNAL = 5, /* out of memory or a bug */
	HV_EXIT_TIMEOUT = 6,  /* a guest or helper did not finish in time */
};

int cmd_digest(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_manifest(int argc, char **argv);

#ifndef HVIMA_VERSION
#define HVIMA_VERSION "0.1.0"
#endif

/* Read a whole file (at most HV_CAP_FILE_SIZE bytes). 0 or -errno; on
 * failure *buf is NULL. */
int hv_read_file(const char *path, uint8_t **buf, size_t *len);

/* JSON string with quotes; bytes outside printable ASCII as \u00XX. */
void hv_json_str(FILE *f, const char *s);

/* JSON string of text already checked to be UTF-8 (decoded values): bytes
 * >= 0x80 pass through; quotes, backslashes and controls are escaped. */
void hv_json_utf8(FILE *f, const char *s);

#endif
