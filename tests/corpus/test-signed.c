/*
 * test-signed: for each signed PE file of the corpus (Debian's shim, GRUB
 * and fwupd, and mingw images signed with a throw-away key), the Authenticode
 * SHA-256 from lib must equal the digest inside every signature entry and
 * the digest osslsigncode computes. osslsigncode refuses tables with two
 * entries (shim), so each entry is also checked alone in a copy whose table
 * holds only that entry (the hashed bytes do not change). For the self-signed
 * files the digest of the unsigned original, zero-padded to 8 bytes as
 * osslsigncode pads before signing, must equal the signed digest: this checks
 * unsigned files against an independent implementation.
 * Usage: test-signed CORPUS_DIR (BUILD/corpus).
 */
#include <ctype.h>

#include "corpus.h"
#include "tap.h"

static char name[4096];

static void result(int ok, const char *what)
{
	char line[4400];
	snprintf(line, sizeof(line), "%s: %s", name, what);
	tap_result(ok, "%s", line);
}

static int authenticode256(const uint8_t *buf, size_t len, uint8_t out[32], hv_why *why)
{
	struct hv_pe pe;
	struct hv_digests d;
	int rc = hv_pe_parse(&pe, buf, len, HV_LAYOUT_FILE, why);
	if (rc)
		return rc;
	rc = hv_authenticode(&pe, HV_ALG_BIT(HV_SHA256), &d, why);
	hv_pe_free(&pe);
	if (!rc)
		memcpy(out, d.d[HV_SHA256], 32);
	return rc;
}

/* Run osslsigncode verify on path; every "Current/Calculated message
 * digest" line must equal want. Returns the number of lines seen, or -1 on
 * a mismatch. */
static int ossl_matches(const char *path, const char *want)
{
	char cmd[4200], line[512];
	int seen = 0, bad = 0;
	if (strchr(path, '\''))
		return -1;
	snprintf(cmd, sizeof(cmd), "osslsigncode verify -in '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (strncmp(line, "Current message digest", 22) && strncmp(line, "Calculated message digest", 25))
			continue;
		char *c = strchr(line, ':'), hex[65];
		size_t i = 0;
		for (c = c ? c + 1 : line; *c == ' '; c++)
			;
		for (; i < 64 && isxdigit((unsigned char)c[i]); i++)
			hex[i] = (char)tolower((unsigned char)c[i]);
		hex[i] = 0;
		seen++;
		if (strcmp(hex, want)) {
			printf("#   osslsigncode: %s", line);
			bad = 1;
		}
	}
	pclose(p);
	return bad ? -1 : seen;
}

/* A copy of f whose certificate table holds only sig (padded to 8). */
static uint8_t *single_entry_copy(const struct cfile *f, const struct hv_pe *pe, const struct hv_pe_signature *sig,
				  size_t *len)
{
	const struct hv_pe_dirent *cert = hv_pe_dir(pe, HV_DIR_SECURITY);
	size_t l8 = ((size_t)sig->length + 7) & ~(size_t)7;
	if (!cert || (size_t)cert->rva + cert->size != f->len || sig->length > f->len - sig->offset)
		return NULL; /* the table is not at the end: cannot cut it */
	uint8_t *c = calloc(1, cert->rva + l8);
	if (!c)
		return NULL;
	memcpy(c, f->buf, cert->rva);
	memcpy(c + cert->rva, f->buf + sig->offset, sig->length);
	hv_put_le32(c + pe->dirs_off + 8 * HV_DIR_SECURITY + 4, (uint32_t)l8);
	*len = cert->rva + l8;
	return c;
}

static void check_signed(const char *path, const char *orig)
{
	struct cfile f;
	struct hv_pe pe;
	struct hv_pe_signature sigs[HV_CAP_CERT_ENTRIES];
	size_t n = 0;
	uint8_t ours[32];
	char hex[65], msg[128];
	hv_why why = {""};

	snprintf(name, sizeof(name), "%s", base_name(path));
	if (cfile_read(path, &f) || hv_pe_parse(&pe, f.buf, f.len, HV_LAYOUT_FILE, &why)) {
		printf("#   %s\n", why.msg);
		result(0, "parses as a PE file");
		free(f.buf);
		return;
	}
	int rc = authenticode256(f.buf, f.len, ours, &why);
	if (rc)
		printf("#   hv_authenticode: %s: %s\n", hv_status_str(rc), why.msg);
	hv_hex(ours, 32, hex);
	int src = hv_authenticode_signatures(&pe, sigs, HV_CAP_CERT_ENTRIES, &n, &why);
	if (src)
		printf("#   hv_authenticode_signatures: %s: %s\n", hv_status_str(src), why.msg);
	int all = !rc && !src && n > 0;
	for (size_t i = 0; all && i < n; i++)
		all = sigs[i].alg == HV_SHA256 && sigs[i].digest_len == 32 && !memcmp(sigs[i].digest, ours, 32);
	snprintf(msg, sizeof(msg), "Authenticode sha256 equals the digest of all %zu signature entries", n);
	result(all, msg);

	/* osslsigncode on the file itself, and on one copy per entry. */
	int ok = !rc && (n > 1 || ossl_matches(path, hex) > 0);
	for (size_t i = 0; ok && n > 1 && i < n; i++) {
		size_t clen;
		char tmp[4096];
		uint8_t *c = single_entry_copy(&f, &pe, &sigs[i], &clen);
		ok = c && !cfile_write_temp(c, clen, tmp, sizeof(tmp));
		ok = ok && ossl_matches(tmp, hex) > 0;
		if (c)
			unlink(tmp);
		free(c);
	}
	result(ok, "Authenticode sha256 equals osslsigncode's digest for every entry");

	if (orig) {
		struct cfile o;
		uint8_t od[32];
		ok = 0;
		if (!cfile_read(orig, &o)) {
			size_t plen = (o.len + 7) & ~(size_t)7;
			uint8_t *p = calloc(1, plen);
			if (p) {
				memcpy(p, o.buf, o.len);
				ok = authenticode256(p, plen, od, &why) == HV_OK && n > 0 &&
				     !memcmp(od, sigs[0].digest, 32);
				free(p);
			}
			free(o.buf);
		}
		result(ok, "unsigned original (padded to 8) has the digest its signature carries");
	}
	hv_pe_free(&pe);
	free(f.buf);
}

int main(int argc, char **argv)
{
	char path[4096], orig[4096], line[4096];
	static const char *self[][2] = {
	    {"signed/efi-app.signed.efi", "mingw/efi-app.efi"},
	    {"signed/efi-app-ia32.signed.efi", "mingw/efi-app-ia32.efi"},
	    {"signed/hvcorpus.signed.sys", "mingw/hvcorpus.sys"},
	};
	if (argc != 2) {
		fprintf(stderr, "usage: test-signed CORPUS_DIR\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(self) / sizeof(self[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], self[i][0]);
		snprintf(orig, sizeof(orig), "%s/%s", argv[1], self[i][1]);
		check_signed(path, orig);
	}

	snprintf(path, sizeof(path), "%s/deb/.stamp", argv[1]);
	FILE *stamp = fopen(path, "r");
	snprintf(path, sizeof(path), "%s/deb/files.txt", argv[1]);
	FILE *list = stamp ? fopen(path, "r") : NULL;
	if (!list) {
		char err[256] = "fetch-debian did not run";
		snprintf(path, sizeof(path), "%s/deb/ERROR", argv[1]);
		FILE *e = fopen(path, "r");
		if (e && fgets(err, sizeof(err), e))
			err[strcspn(err, "\n")] = 0;
		if (e)
			fclose(e);
		const char *ci = getenv("CI");
		if (ci && !strcmp(ci, "true"))
			tap_result(0, "Debian signed EFI files present (%s)", err);
		else
			tap_skip("Debian signed EFI files", err);
	} else {
		unsigned found = 0;
		while (fgets(line, sizeof(line), list)) {
			line[strcspn(line, "\n")] = 0;
			size_t l = strlen(line);
			if (l > 11 && !strcmp(line + l - 11, ".efi.signed")) {
				found++;
				check_signed(line, NULL);
			}
		}
		fclose(list);
		tap_result(found >= 5, "Debian packages gave shim, GRUB and fwupd signed binaries%s", "");
	}
	if (stamp)
		fclose(stamp);
	return tap_done();
}
