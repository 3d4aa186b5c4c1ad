/*
 * pe-setdir: set one data directory entry of a PE32/PE32+ file in place.
 *
 *   pe-setdir [-v] FILE INDEX ADDR SIZE
 *
 * ADDR is an RVA, or with -v a VA from which the header's ImageBase is
 * subtracted (as printed by nm). ld leaves the Load Config (10) and Delay
 * Import (13) entries empty even when the structures are linked in; the
 * corpus build fills them after linking. Every header field read is checked
 * against the file and the entry must lie inside SizeOfImage, so a bad
 * argument fails the build instead of producing a subtly broken image.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd.h"

static int die(const char *file, const char *msg)
{
	fprintf(stderr, "pe-setdir: %s: %s\n", file, msg);
	return 1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*v = x;
	return 0;
}

int main(int argc, char **argv)
{
	int va = argc > 1 && !strcmp(argv[1], "-v");
	uint64_t idx, addr, size;
	if (argc != 5 + va || parse_u64(argv[2 + va], &idx) || parse_u64(argv[3 + va], &addr) ||
	    parse_u64(argv[4 + va], &size) || idx >= 16 || size > UINT32_MAX) {
		fprintf(stderr, "usage: pe-setdir [-v] FILE INDEX(0-15) ADDR SIZE\n");
		return 2;
	}
	const char *file = argv[1 + va];
	FILE *f = fopen(file, "r+b");
	if (!f)
		return die(file, strerror(errno));
	static uint8_t hdr[4096];
	size_t n = fread(hdr, 1, sizeof(hdr), f);
	struct hv_rd r = hv_rd_make(hdr, n);
	uint16_t mz, magic, optsize;
	uint32_t lfanew, sig, ndirs, size_of_image;
	uint64_t base;
	if (!hv_rd_u16(&r, 0, &mz) || mz != 0x5a4d || !hv_rd_u32(&r, 0x3c, &lfanew) || !hv_rd_u32(&r, lfanew, &sig) ||
	    sig != 0x4550)
		return fclose(f), die(file, "not a PE file (MZ, e_lfanew or PE signature)");
	uint64_t opt = (uint64_t)lfanew + 24;
	if (!hv_rd_u16(&r, lfanew + 20, &optsize) || !hv_rd_u16(&r, opt, &magic) || (magic != 0x10b && magic != 0x20b))
		return fclose(f), die(file, "bad optional header magic");
	int plus = magic == 0x20b;
	uint64_t dirs = opt + (plus ? 112 : 96);
	if (!hv_rd_u32(&r, opt + 56, &size_of_image) || !hv_rd_u32(&r, dirs - 4, &ndirs) ||
	    (plus ? !hv_rd_u64(&r, opt + 24, &base) : !hv_rd_u32(&r, opt + 28, &sig)))
		return fclose(f), die(file, "optional header truncated");
	if (!plus)
		base = sig;
	if (idx >= ndirs || dirs + 8 * (idx + 1) > opt + optsize || !hv_rd_has(&r, dirs + 8 * idx, 8))
		return fclose(f), die(file, "directory entry beyond NumberOfRvaAndSizes or the optional header");
	if (va) {
		if (addr < base)
			return fclose(f), die(file, "VA below ImageBase");
		addr -= base;
	}
	if (addr == 0 || addr > size_of_image || size > size_of_image - addr)
		return fclose(f), die(file, "entry not inside SizeOfImage");
	uint8_t ent[8];
	hv_put_le32(ent, (uint32_t)addr);
	hv_put_le32(ent + 4, (uint32_t)size);
	if (fseek(f, (long)(dirs + 8 * idx), SEEK_SET) || fwrite(ent, 1, 8, f) != 8 || fclose(f))
		return die(file, "write failed");
	return 0;
}
