/*
 * test_fltpolicy.c: the minifilter policy (lib/fltpolicy.c): parsing good
 * and hostile policy texts (errors name line and column), the sorted
 * allowlist, measure and deny decisions, and Windows name normalization
 * from UTF-16 (surrogates, controls, "." and "..", overflow).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fltpolicy.h"
#include "tap.h"

static struct hv_fpol pol;
static struct hv_fpol_err err;
static uint8_t (*allow)[32];

/* Two passes, as the driver does: count, allocate, parse. */
static int parse(const char *text)
{
	int rc;
	free(allow);
	allow = NULL;
	rc = hv_fpol_parse(&pol, text, strlen(text), NULL, 0, &err);
	if (rc)
		return rc;
	allow = calloc(pol.n_allow ? pol.n_allow : 1, 32);
	return hv_fpol_parse(&pol, text, strlen(text), allow, pol.n_allow, &err);
}

static void hexd(const char *hex, uint8_t *d)
{
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		d[i] = (uint8_t)v;
	}
}

#define D1 "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
#define D2 "0000000000000000000000000000000000000000000000000000000000000001"
#define D3 "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"

static void test_full_policy_parses_and_decides(void)
{
	uint8_t d[32];
	CHECK(parse("# IIS\r\nversion 1\r\nmode enforce\r\next .exe .DLL .sys .ps1\r\n"
		    "watch \\Device\\HarddiskVolume2\\inetpub\\\r\n"
		    "watch C:/Windows/System32/inetsrv/config\r\n"
		    "allow " D1 " w3wp.exe\r\nallow " D3 "\r\n  allow " D2 "\r\n") == 0);
	CHECK(pol.mode == HV_FPOL_ENFORCE && pol.n_ext == 4 && pol.n_watch == 2 && pol.n_allow == 3);
	CHECK(!strcmp(pol.watch[0], "\\Device\\HarddiskVolume2\\inetpub"));
	CHECK(!strcmp(pol.watch[1], "C:\\Windows\\System32\\inetsrv\\config"));
	hexd(D1, d);
	CHECK(hv_fpol_allowed(&pol, d));
	hexd(D3, d);
	CHECK(hv_fpol_allowed(&pol, d));
	CHECK(!hv_fpol_deny(&pol, 1, true, d));
	d[5] ^= 1;
	CHECK(!hv_fpol_allowed(&pol, d));
	CHECK(hv_fpol_deny(&pol, 1, true, d));  /* execute */
	CHECK(hv_fpol_deny(&pol, 2, true, d));  /* map */
	CHECK(!hv_fpol_deny(&pol, 3, true, d)); /* read is never denied */
	CHECK(!hv_fpol_deny(&pol, 1, false, d)); /* not an executable */
	CHECK(hv_fpol_exe_name(&pol, "\\x\\Y.Dll") && hv_fpol_exe_name(&pol, "a.ps1"));
	CHECK(!hv_fpol_exe_name(&pol, "a.txt") && !hv_fpol_exe_name(&pol, "dll"));
	CHECK(hv_fpol_watched(&pol, "\\device\\harddiskvolume2\\INETPUB\\wwwroot\\web.config"));
	CHECK(hv_fpol_watched(&pol, "\\Device\\HarddiskVolume2\\inetpub"));
	CHECK(!hv_fpol_watched(&pol, "\\Device\\HarddiskVolume2\\inetpubX\\a"));
	CHECK(!hv_fpol_watched(&pol, "\\Device\\HarddiskVolume2"));
}

static void test_audit_mode_never_denies(void)
{
	uint8_t d[32] = {0};
	CHECK(parse("version 1\nmode audit\n") == 0);
	CHECK(!hv_fpol_deny(&pol, 1, true, d));
	CHECK(pol.n_ext == 3 && hv_fpol_exe_name(&pol, "a.SYS"));
}

static void test_default_policy_is_audit_with_three_extensions(void)
{
	hv_fpol_default(&pol);
	CHECK(pol.mode == HV_FPOL_AUDIT && pol.n_ext == 3 && pol.n_watch == 0 && pol.n_allow == 0);
	CHECK(!hv_fpol_allowed(&pol, (const uint8_t[32]){0}));
}

static void test_mz_detection(void)
{
	CHECK(hv_fpol_is_mz((const uint8_t *)"MZ\x90", 3));
	CHECK(!hv_fpol_is_mz((const uint8_t *)"M", 1));
	CHECK(!hv_fpol_is_mz((const uint8_t *)"ZM", 2));
}

static void test_hostile_policies_name_line_and_column(void)
{
	static const struct { const char *text; uint32_t line, col; const char *msg; } cases[] = {
		{"", 1, 1, "no 'version 1'"},
		{"mode enforce\n", 1, 1, "the first directive"},
		{"version 2\n", 1, 9, "version: only"},
		{"version 1\nmode strict\n", 2, 6, "mode:"},
		{"version 1\nmode\n", 2, 5, "mode:"},
		{"version 1\nmode audit now\n", 2, 12, "trailing"},
		{"version 1\nallow 12\n", 2, 7, "allow: the digest"},
		{"version 1\nallow " D1 "0\n", 2, 7, "allow: the digest"},
		{"version 1\nallow 5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6eg\n", 2, 70, "allow: not a hex"},
		{"version 1\next exe\n", 2, 5, "ext:"},
		{"version 1\next .\n", 2, 5, "ext:"},
		{"version 1\next .e\xc3\xa9\n", 2, 7, "ext:"},
		{"version 1\next\n", 2, 4, "ext: needs"},
		{"version 1\nwatch\n", 2, 6, "watch: needs"},
		{"version 1\nwatch \\\\\\\n", 2, 7, "watch: the prefix is empty"},
		{"version 1\nwatch a\tb\x01\n", 2, 8, "watch: control"},
		{"version 1\nfrobnicate\n", 2, 1, "unknown directive"},
		{"version 1\nmode audit\x00\n", 2, 11, "NUL byte"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		if (strstr(cases[i].text, "audit") && i == sizeof(cases) / sizeof(cases[0]) - 1)
			len = 23; /* the case with the NUL inside */
		int rc = hv_fpol_parse(&pol, cases[i].text, len, NULL, 0, &err);
		CHECKF(rc < 0 && err.msg && !strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) &&
			       err.line == cases[i].line && err.col == cases[i].col,
		       "case %zu: rc %d line %u col %u %s", i, rc, err.line, err.col, err.msg ? err.msg : "(none)");
	}
}

static void test_overlong_line_and_too_many_entries_stop_at_their_cap(void)
{
	uint8_t one[1][32];
	size_t n = 20 + HV_FPOL_LINE_MAX + 10;
	char *t = malloc(n + 1);
	memcpy(t, "version 1\nwatch ", 16);
	memset(t + 16, 'a', n - 16);
	t[n] = 0;
	CHECK(parse(t) < 0 && err.line == 2 && !strncmp(err.msg, "line longer", 11));
	free(t);
	/* 33 watch lines */
	t = malloc(33 * 12 + 16);
	strcpy(t, "version 1\n");
	for (int i = 0; i < 33; i++)
		sprintf(t + strlen(t), "watch \\w%02d\n", i);
	CHECK(parse(t) < 0 && err.line == 34 && !strncmp(err.msg, "watch: more than 32", 19));
	free(t);
	/* 17 extensions */
	CHECK(parse("version 1\next .a .b .c .d .e .f .g .h .i .j .k .l .m .n .o .p .q\n") < 0 &&
	      !strncmp(err.msg, "ext: more than 16", 17));
	/* more allow lines than the counting pass saw */
	CHECK(hv_fpol_parse(&pol, "version 1\nallow " D1 "\n", strlen("version 1\nallow " D1 "\n"), one, 0, &err) < 0 &&
	      !strncmp(err.msg, "allow: more digests than", 24));
}

static void test_large_allowlist_is_sorted_and_searchable(void)
{
	size_t cnt = 5000, off;
	char *t = malloc(cnt * 72 + 16);
	uint8_t d[32];
	off = (size_t)sprintf(t, "version 1\n");
	for (size_t i = 0; i < cnt; i++) {
		uint32_t x = (uint32_t)(i * 2654435761u);
		off += (size_t)sprintf(t + off, "allow %08x%056x\n", x, 0);
	}
	CHECK(parse(t) == 0 && pol.n_allow == cnt);
	for (size_t i = 1; i < cnt; i++)
		CHECK(memcmp(allow[i - 1], allow[i], 32) <= 0);
	for (size_t i = 0; i < cnt; i += 97) {
		uint32_t x = (uint32_t)(i * 2654435761u);
		memset(d, 0, 32);
		d[0] = (uint8_t)(x >> 24), d[1] = (uint8_t)(x >> 16), d[2] = (uint8_t)(x >> 8), d[3] = (uint8_t)x;
		CHECK(hv_fpol_allowed(&pol, d));
	}
	memset(d, 0xab, 32);
	CHECK(!hv_fpol_allowed(&pol, d));
	free(t);
}

static int norm(const char *ascii, char *out, size_t cap, const char **why)
{
	uint16_t w[256];
	size_t n = strlen(ascii), olen;
	for (size_t i = 0; i < n; i++)
		w[i] = (uint8_t)ascii[i];
	return hv_winpath_norm(w, n, out, cap, &olen, why);
}

static void test_path_normalization(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{"\\Device\\HarddiskVolume2\\Windows\\System32\\ntdll.dll", "\\Device\\HarddiskVolume2\\Windows\\System32\\ntdll.dll"},
		{"C:/Windows//System32/./drivers/../ntdll.dll", "C:\\Windows\\System32\\ntdll.dll"},
		{"\\a\\..\\..\\..\\b", "\\a\\b"},
		{"\\a\\b\\", "\\a\\b"},
		{"\\\\\\", "\\"},
		{"", ""},
		{"x\\.\\.\\y", "x\\y"},
	};
	char out[256];
	const char *why;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECKF(norm(cases[i].in, out, sizeof(out), &why) == 0 && !strcmp(out, cases[i].out), "case %zu: '%s'",
		       i, out);
	}
	CHECK(norm("\\abc", out, 4, &why) < 0 && !strcmp(why, "name too long"));
	CHECK(norm("\\abc", out, 5, &why) == 0);
	CHECK(norm("\\a\tb", out, sizeof(out), &why) < 0 && !strncmp(why, "NUL or control", 14));
}

static void test_path_utf16_surrogates(void)
{
	const uint16_t ok[] = {'\\', 0xd83d, 0xde00, 0xe9};         /* U+1F600, U+00E9 */
	const uint16_t lone_hi[] = {'\\', 0xd83d, 'a'};
	const uint16_t lone_lo[] = {'\\', 0xde00};
	const uint16_t hi_end[] = {'\\', 0xd83d};
	const uint16_t nul[] = {'\\', 0, 'a'};
	char out[32];
	size_t n;
	const char *why;
	CHECK(hv_winpath_norm(ok, 4, out, sizeof(out), &n, &why) == 0 && n == 7 &&
	      !memcmp(out, "\\\xf0\x9f\x98\x80\xc3\xa9", 8));
	CHECK(hv_winpath_norm(lone_hi, 3, out, sizeof(out), &n, &why) < 0 && !strncmp(why, "unpaired high", 13));
	CHECK(hv_winpath_norm(lone_lo, 2, out, sizeof(out), &n, &why) < 0 && !strncmp(why, "unpaired low", 12));
	CHECK(hv_winpath_norm(hi_end, 2, out, sizeof(out), &n, &why) < 0);
	CHECK(hv_winpath_norm(nul, 3, out, sizeof(out), &n, &why) < 0);
	CHECK(hv_winpath_norm(ok, 4, out, 0, &n, &why) < 0);
	CHECK(hv_winpath_norm(ok, 4, out, 7, &n, &why) < 0);
}

int main(void)
{
	RUN(test_full_policy_parses_and_decides);
	RUN(test_audit_mode_never_denies);
	RUN(test_default_policy_is_audit_with_three_extensions);
	RUN(test_mz_detection);
	RUN(test_hostile_policies_name_line_and_column);
	RUN(test_overlong_line_and_too_many_entries_stop_at_their_cap);
	RUN(test_large_allowlist_is_sorted_and_searchable);
	RUN(test_path_normalization);
	RUN(test_path_utf16_surrogates);
	free(allow);
	return tap_done();
}
