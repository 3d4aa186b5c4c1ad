/*
 * pe-scnflags: OR flags into the Characteristics of a named section of a
 * PE file, in place.
 *
 *   pe-scnflags FILE NAME FLAGS      e.g. pe-scnflags drv.sys INIT 0x02000000
 *
 * ld gives an INIT code section no IMAGE_SCN_MEM_DISCARDABLE; Windows
 * drivers have it, and the ntboot kernel frees such sections after
 * DriverEntry. Every header field read is checked against the file; a
 * missing section fails the build.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd.h"

static int die(const char *file, const char *msg)
{
	fprintf(stderr, "pe-scnflags: %s: %s\n", file, msg);
	return 1;
}

int main(int argc, char **argv)
{
	static uint8_t hdr[4096];
	char *end;
	unsigned long flags;
	uint16_t mz, nsec, optsize;
	uint32_t lfanew, sig, ch;
	size_t n, want;
	FILE *f;

	if (argc != 4 || strlen(argv[2]) > 8) {
		fprintf(stderr, "usage: pe-scnflags FILE NAME(max 8) FLAGS\n");
		return 2;
	}
	errno = 0;
	flags = strtoul(argv[3], &end, 0);
	if (errno || end == argv[3] || *end || flags > UINT32_MAX)
		return die(argv[3], "not a 32-bit number");
	f = fopen(argv[1], "r+b");
	if (!f)
		return die(argv[1], strerror(errno));
	n = fread(hdr, 1, sizeof(hdr), f);
	struct hv_rd r = hv_rd_make(hdr, n);
	if (!hv_rd_u16(&r, 0, &mz) || mz != 0x5a4d || !hv_rd_u32(&r, 0x3c, &lfanew) || !hv_rd_u32(&r, lfanew, &sig) ||
	    sig != 0x4550 || !hv_rd_u16(&r, (uint64_t)lfanew + 6, &nsec) || !hv_rd_u16(&r, (uint64_t)lfanew + 20, &optsize))
		return fclose(f), die(argv[1], "not a PE file");
	want = strlen(argv[2]);
	for (uint32_t i = 0; i < nsec; i++) {
		uint64_t s = (uint64_t)lfanew + 24 + optsize + 40u * i;
		if (!hv_rd_has(&r, s, 40))
			break;
		if (memcmp(hdr + s, argv[2], want) || (want < 8 && hdr[s + want]))
			continue;
		hv_rd_u32(&r, s + 36, &ch);
		hv_put_le32(hdr + s + 36, ch | (uint32_t)flags);
		if (fseek(f, (long)(s + 36), SEEK_SET) || fwrite(hdr + s + 36, 1, 4, f) != 4 || fclose(f))
			return die(argv[1], "write failed");
		return 0;
	}
	fclose(f);
	return die(argv[1], "no such section in the section table");
}
