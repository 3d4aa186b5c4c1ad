/*
 * pe2te: convert a PE32/PE32+ image into a TE image (EDK2 PI spec,
 * EFI_TE_IMAGE_HEADER), as firmware build tools do for PEI modules.
 *
 *   pe2te IN.efi OUT.te
 *
 * The TE file is a 40-byte TE header followed by the input from its section
 * table on: StrippedSize is the offset of the section table, and a section's
 * data sits at PointerToRawData - StrippedSize + 40. Only the base
 * relocation and debug directory entries survive. The corpus needs TE
 * images to test the TE paths of the parser and the canonical digest, and
 * no packaged tool writes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd.h"

#define TE_HDR 40
#define MAX_IN (64u << 20)

static int die(const char *msg)
{
	fprintf(stderr, "pe2te: %s\n", msg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pe2te IN OUT\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f)
		return die("cannot open input");
	uint8_t *buf = malloc(MAX_IN);
	size_t n = buf ? fread(buf, 1, MAX_IN, f) : 0;
	int full = !feof(f) ? 0 : 1;
	fclose(f);
	if (!buf || !full)
		return free(buf), die("input unreadable or larger than 64 MiB");
	struct hv_rd r = hv_rd_make(buf, n);
	uint16_t mz, machine, nsec, optsize, magic, subsys;
	uint32_t lfanew, sig, entry, base_of_code, ndirs;
	uint64_t base;
	if (!hv_rd_u16(&r, 0, &mz) || mz != 0x5a4d || !hv_rd_u32(&r, 0x3c, &lfanew) || !hv_rd_u32(&r, lfanew, &sig) ||
	    sig != 0x4550 || !hv_rd_u16(&r, lfanew + 4, &machine) || !hv_rd_u16(&r, lfanew + 6, &nsec) ||
	    !hv_rd_u16(&r, lfanew + 20, &optsize))
		return free(buf), die("not a PE file");
	uint64_t opt = (uint64_t)lfanew + 24, sect = opt + optsize;
	if (!hv_rd_u16(&r, opt, &magic) || (magic != 0x10b && magic != 0x20b))
		return free(buf), die("bad optional header magic");
	int plus = magic == 0x20b;
	uint64_t dirs = opt + (plus ? 112 : 96);
	uint32_t b32 = 0;
	if (!hv_rd_u32(&r, opt + 16, &entry) || !hv_rd_u32(&r, opt + 20, &base_of_code) ||
	    !hv_rd_u16(&r, opt + 68, &subsys) || !hv_rd_u32(&r, dirs - 4, &ndirs) ||
	    (plus ? !hv_rd_u64(&r, opt + 24, &base) : !hv_rd_u32(&r, opt + 28, &b32)))
		return free(buf), die("optional header truncated");
	if (!plus)
		base = b32;
	/* TE keeps NumberOfSections and Subsystem in one byte, StrippedSize in
	 * two, and the remaining bytes must hold the section table. */
	if (nsec > 255 || subsys > 255 || sect > 0xffff || sect < TE_HDR || !hv_rd_has(&r, sect, 40ull * nsec))
		return free(buf), die("headers do not fit the TE format");
	uint8_t te[TE_HDR] = {'V', 'Z'};
	hv_put_le16(te + 2, machine);
	te[4] = (uint8_t)nsec;
	te[5] = (uint8_t)subsys;
	hv_put_le16(te + 6, (uint16_t)sect);
	hv_put_le32(te + 8, entry);
	hv_put_le32(te + 12, base_of_code);
	hv_put_le64(te + 16, base);
	for (unsigned i = 0; i < 2; i++) { /* basereloc (5), debug (6) */
		const uint8_t *d = ndirs > 5 + i ? hv_rd_ptr(&r, dirs + 8 * (5 + i), 8) : NULL;
		if (d && dirs + 8 * (6 + i) <= sect)
			memcpy(te + 24 + 8 * i, d, 8);
	}
	FILE *o = fopen(argv[2], "wb");
	if (!o)
		return free(buf), die("cannot create output");
	int bad = fwrite(te, 1, TE_HDR, o) != TE_HDR || fwrite(buf + sect, 1, n - sect, o) != n - sect;
	bad |= fclose(o) != 0;
	free(buf);
	return bad ? die("write failed") : 0;
}
