/*
 * fltpolicy.h: the minifilter's policy (docs/minifilter.md): what to
 * measure, the allowlist of digests allowed to run in enforce mode, and the
 * normalization of the file names it reports. Shared by the driver and the
 * host tests; freestanding (no libc, no allocation: the caller gives the
 * memory for the allowlist after a counting pass).
 *
 * Policy text (UTF-8 or ASCII, lines end in LF or CRLF, '#' starts a
 * comment line; at most HV_FPOL_TEXT_MAX bytes, HV_FPOL_LINE_MAX per line):
 *   version 1                      required, first directive
 *   mode audit|enforce             default audit
 *   ext .exe .dll .sys ...         executable extensions (replaces the
 *                                  default list: .exe .dll .sys)
 *   watch \Device\HarddiskVolume2\inetpub\wwwroot\
 *                                  measure every file under this prefix
 *   allow <64 hex digits> [text]   a SHA-256 allowed to run
 * The text is hostile input: every error names its line and column.
 */
#ifndef HVIMA_FLTPOLICY_H
#define HVIMA_FLTPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_FPOL_TEXT_MAX (16u << 20)
#define HV_FPOL_LINE_MAX 1024u
#define HV_FPOL_ALLOW_MAX 200000u
#define HV_FPOL_WATCH_MAX 32u
#define HV_FPOL_WATCH_LEN 512u
#define HV_FPOL_EXT_MAX 16u
#define HV_FPOL_EXT_LEN 15u

enum hv_fpol_mode { HV_FPOL_AUDIT = 0, HV_FPOL_ENFORCE = 1 };

struct hv_fpol {
	enum hv_fpol_mode mode;
	uint32_t n_ext, n_watch;
	char ext[HV_FPOL_EXT_MAX][HV_FPOL_EXT_LEN + 1];       /* ".exe", lower case */
	char watch[HV_FPOL_WATCH_MAX][HV_FPOL_WATCH_LEN + 1]; /* normalized prefixes */
	uint32_t n_allow;      /* allow lines (counting pass) or entries stored */
	uint8_t (*allow)[32];  /* sorted, caller's memory */
};

struct hv_fpol_err {
	uint32_t line, col; /* 1-based; 0 when not about a line */
	const char *msg;
};

/* Parse text into p. allow may be NULL: then only p->n_allow is counted
 * (the caller allocates n_allow * 32 bytes and parses again). With allow,
 * at most allow_cap entries are stored, then sorted. 0, or -1 with *err. */
int hv_fpol_parse(struct hv_fpol *p, const char *text, size_t len, uint8_t (*allow)[32], uint32_t allow_cap,
		  struct hv_fpol_err *err);

/* The defaults without a policy: audit, .exe .dll .sys, no watch, empty allowlist. */
void hv_fpol_default(struct hv_fpol *p);

bool hv_fpol_allowed(const struct hv_fpol *p, const uint8_t digest[32]);
/* The name (normalized) ends in an executable extension. */
bool hv_fpol_exe_name(const struct hv_fpol *p, const char *path);
/* The name (normalized) lies under a watched prefix (at a component boundary). */
bool hv_fpol_watched(const struct hv_fpol *p, const char *path);
/* The first bytes of a file are an MZ header. */
bool hv_fpol_is_mz(const uint8_t *head, size_t n);

/* Enforce-mode verdict for an execute or map of a measured executable:
 * true = deny. Audit mode never denies; other accesses are never denied. */
bool hv_fpol_deny(const struct hv_fpol *p, unsigned access, bool executable, const uint8_t digest[32]);

/* Normalize a Windows file name given as UTF-16LE code units: '/' becomes
 * '\', repeated separators collapse, "." components go, ".." removes the
 * previous component (never the first one, the volume), no trailing
 * separator; written as UTF-8 with a NUL into out. -1 (and *why) on an
 * unpaired surrogate, a NUL or control character, or if it does not fit. */
int hv_winpath_norm(const uint16_t *w, size_t nw, char *out, size_t cap, size_t *outlen, const char **why);

#endif
