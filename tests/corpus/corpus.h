/*
 * corpus.h: helpers shared by the corpus tests: read a whole file, write a
 * modified copy to a temporary file, and locate the input offset of an RVA
 * (so a test can patch the bytes a loader would write). Small and static:
 * each test is one translation unit.
 */
#ifndef HVIMA_TESTS_CORPUS_H
#define HVIMA_TESTS_CORPUS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authenticode.h"
#include "canon.h"
#include "pe.h"

struct cfile {
	uint8_t *buf;
	size_t len;
};

/* Whole file into f; 0 or -1 with a message on stdout (a TAP comment). */
static inline int cfile_read(const char *path, struct cfile *f)
{
	FILE *fp = fopen(path, "rb");
	long n;
	f->buf = NULL;
	f->len = 0;
	if (!fp || fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || (unsigned long)n > HV_CAP_FILE_SIZE ||
	    fseek(fp, 0, SEEK_SET)) {
		printf("# %s: cannot read: %s\n", path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	f->len = (size_t)n;
	f->buf = malloc(f->len ? f->len : 1);
	if (!f->buf || fread(f->buf, 1, f->len, fp) != f->len) {
		printf("# %s: short read\n", path);
		fclose(fp);
		free(f->buf);
		f->buf = NULL;
		return -1;
	}
	fclose(fp);
	return 0;
}

/* Write buf to a new temporary file; its path goes to path (>= 32 bytes). */
static inline int cfile_write_temp(const uint8_t *buf, size_t len, char *path, size_t pathlen)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, pathlen, "%s/hvima-corpus-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

/* Input offset of [rva, rva + n) of a parsed file, or -1 if not present. */
static inline long rva_off(const struct hv_pe *pe, const uint8_t *buf, uint32_t rva, uint32_t n)
{
	const uint8_t *p = hv_pe_rva(pe, rva, n);
	return p ? (long)(p - buf) : -1;
}

static inline const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* SHA-256 canonical digest of buf as a file, or an empty string on error. */
static inline int canon_sha256(const uint8_t *buf, size_t len, uint8_t out[32], hv_why *why)
{
	struct hv_pe pe;
	struct hv_digests d;
	int rc = hv_pe_parse(&pe, buf, len, HV_LAYOUT_FILE, why);
	if (rc)
		return rc;
	rc = hv_canon_digest(&pe, 0, HV_ALG_BIT(HV_SHA256), &d, NULL, why);
	if (!rc)
		memcpy(out, d.d[HV_SHA256], 32);
	hv_pe_free(&pe);
	return rc;
}

#endif
