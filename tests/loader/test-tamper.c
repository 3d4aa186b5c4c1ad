/*
 * test-tamper.c: a loader that writes what no loader may write must be
 * caught. The synthetic driver of synth.c is loaded (refload.c), its digest
 * checked equal to the file's, then one forbidden change at a time is made
 * to the loaded bytes (a relocated pointer's neighbour, a pointer relocated
 * wrongly, a DLL name, an import descriptor, the lookup table, an IAT
 * terminator, a header field next to ImageBase...) and the canonical digest
 * must differ. Changes a loader may make (IAT slots, cookie, guard slots,
 * ImageBase, debug AddressOfRawData, stale gaps) must leave it alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "canon.h"
#include "refload.h"
#include "synth.h"

#define OPT 0x98u  /* optional header offset in synth.c */
#define SECT 0x188u /* section table */

enum op { XOR_BYTE, ADD64, ADD32 };

struct tamper {
	const char *what;
	uint32_t rva;
	enum op op;
	uint64_t v;
	int allowed; /* 1: a loader may do this, the digest must not change */
	int pe_only; /* the field does not exist in the TE twin */
	const char *known; /* a known hole of the digest: a SKIP, not a failure */
};

static const struct tamper tampers[] = {
	{"byte after a DIR64 site", SYNTH_DIR64_SITE + 8, XOR_BYTE, 0x01, 0, 0, NULL},
	{"byte before a DIR64 site", SYNTH_DIR64_SITE - 1, XOR_BYTE, 0x80, 0, 0, NULL},
	{"DIR64 site relocated one page off", SYNTH_DIR64_SITE, ADD64, 0x1000, 0, 0, NULL},
	{"DIR64 site high half changed", SYNTH_DIR64_SITE + 4, ADD32, 1, 0, 0, NULL},
	{"HIGHLOW site relocated off by one", SYNTH_HIGHLOW_SITE, ADD32, 1, 0, 0, NULL},
	{"byte after a HIGHADJ site", SYNTH_HIGHADJ_SITE + 2, XOR_BYTE, 0x10, 0, 0, NULL},
	{"data pointer relocated off by 8", SYNTH_DATA_PTR, ADD64, 8, 0, 0, NULL},
	{"DLL name", SYNTH_DLL0_NAME, XOR_BYTE, 0x20, 0, 1, NULL},
	{"import descriptor Name RVA", SYNTH_IMPORT_DESC + 12, XOR_BYTE, 0x01, 0, 1, NULL},
	{"import descriptor FirstThunk", SYNTH_IMPORT_DESC + 16, ADD32, 8, 0, 1, NULL},
	{"import lookup table entry", SYNTH_ILT0, XOR_BYTE, 0x04, 0, 1, NULL},
	{"IAT terminator (counted on the lookup table)", SYNTH_IAT0 + 24, XOR_BYTE, 0x01, 0, 1, NULL},
	{"IAT terminator (no lookup table)", SYNTH_IAT1 + 8, XOR_BYTE, 0x01, 0, 1, NULL},
	{"byte before the /GS cookie", SYNTH_COOKIE - 1, XOR_BYTE, 0x01, 0, 1, NULL},
	{"byte between guard slots and data", SYNTH_DATA_PTR - 8, XOR_BYTE, 0x01, 0, 1, NULL},
	{"Load Config SecurityCookie VA", SYNTH_LOADCFG + 88, ADD64, 8, 0, 1, NULL},
	{"Load Config GuardFlags", SYNTH_LOADCFG + 144, XOR_BYTE, 0x01, 0, 1, NULL},
	{"section header Characteristics", SECT + 36, XOR_BYTE, 0x20, 0, 0, NULL},
	{"AddressOfEntryPoint", OPT + 16, ADD32, 1, 0, 1, NULL},
	{"SectionAlignment, next to ImageBase", OPT + 32, XOR_BYTE, 0x01, 0, 1, NULL},
	{"debug entry PointerToRawData", SYNTH_DEBUG_DIR + 24, ADD32, 4, 0, 0, NULL},
	{"debug entry Type", SYNTH_DEBUG_DIR + 12, XOR_BYTE, 0x01, 0, 0, NULL},
	/* Allowed: the fields a loader writes. */
	{"IAT slot rebound", SYNTH_IAT0 + 8, ADD64, 0x1230, 1, 1, NULL},
	{"IAT slot without lookup table rebound", SYNTH_IAT1, ADD64, 0x40, 1, 1, NULL},
	{"/GS cookie changed", SYNTH_COOKIE, ADD64, 0x777, 1, 1, NULL},
	{"CFG check slot changed", SYNTH_CFG_CHECK, ADD64, 0x10, 1, 1, NULL},
	{"memcpy guard slot changed", SYNTH_CFG_CHECK + 56, ADD64, 0x10, 1, 1, NULL},
	{"ImageBase changed", OPT + 24, ADD64, 0x10000, 1, 1, NULL},
	{"debug AddressOfRawData changed", SYNTH_DEBUG_DIR + 20, ADD32, 0x100, 1, 0, NULL},
	{"HIGH site changed", SYNTH_HIGH_SITE, XOR_BYTE, 0x01, 1, 0, NULL},
	{"stale byte after .text's VirtualSize", 0x1180, XOR_BYTE, 0x01, 1, 0, NULL},
	{"zero fill of .bss", 0x4010, XOR_BYTE, 0x01, 1, 0, NULL},
};

static int digest(const uint8_t *buf, size_t len, enum hv_layout layout, uint64_t base, struct hv_digests *out)
{
	struct hv_pe pe;
	hv_why why = {""};
	int rc = hv_pe_parse(&pe, buf, len, layout, &why);
	if (rc == 0) {
		rc = hv_canon_digest(&pe, base, HV_ALGS_ALL, out, NULL, &why);
		hv_pe_free(&pe);
	}
	if (rc)
		printf("#   %s: %s\n", hv_status_str(rc), why.msg);
	return rc;
}

static int same(const struct hv_digests *a, const struct hv_digests *b)
{
	return a->mask == b->mask && !memcmp(a->d, b->d, sizeof(a->d));
}

static void apply(uint8_t *p, const struct tamper *t)
{
	if (t->op == XOR_BYTE)
		p[0] ^= (uint8_t)t->v;
	else if (t->op == ADD64)
		hv_put_le64(p, hv_le64(p) + t->v);
	else
		hv_put_le32(p, hv_le32(p) + (uint32_t)t->v);
}

static void run(const char *label, enum synth_kind kind, enum rl_mode mode, uint64_t base)
{
	size_t flen;
	uint8_t *file = synth_build(kind, &flen), *copy = NULL;
	struct hv_digests want, got;
	struct rl_image img = {0};
	hv_why why = {""};
	int rc;
	char name[200];

	rc = file ? digest(file, flen, HV_LAYOUT_FILE, 0, &want) : HV_E_NOMEM;
	if (rc == 0 && (rc = rl_load(file, flen, base, mode, 42, &img, &why)) != 0)
		printf("#   load: %s\n", why.msg);
	if (rc == 0)
		rc = digest(img.buf, img.len, HV_LAYOUT_LOADED, base, &got);
	snprintf(name, sizeof(name), "%s %s: untouched load matches the file", label, rl_mode_str(mode));
	tap_result(rc == 0 && same(&want, &got), "%s", name);
	if (rc)
		goto out;
	snprintf(name, sizeof(name), "%s %s: a wrong base changes the digest", label, rl_mode_str(mode));
	tap_result(digest(img.buf, img.len, HV_LAYOUT_LOADED, base + 0x10000, &got) == 0 && !same(&want, &got),
		   "%s", name);
	copy = malloc(img.len);
	for (size_t i = 0; copy && i < sizeof(tampers) / sizeof(tampers[0]); i++) {
		const struct tamper *t = &tampers[i];
		if (t->pe_only && kind == SYNTH_TE)
			continue;
		memcpy(copy, img.buf, img.len);
		apply(copy + (t->rva - img.rva_bias), t);
		rc = digest(copy, img.len, HV_LAYOUT_LOADED, base, &got);
		snprintf(name, sizeof(name), "%s %s: %s %s the digest", label, rl_mode_str(mode), t->what,
			 t->allowed ? "keeps" : "changes");
		if (rc == 0 && same(&want, &got) != t->allowed && t->known)
			tap_skip(name, t->known);
		else
			tap_result(rc == 0 && same(&want, &got) == t->allowed, "%s", name);
	}
out:
	free(copy);
	rl_free(&img);
	free(file);
}

int main(void)
{
	run("pe64", SYNTH_PE64, RL_WINDOWS, 0xFFFFF80312340000ull);
	run("pe64", SYNTH_PE64, RL_EDK2, 0x7F450000ull);
	run("te", SYNTH_TE, RL_EDK2, 0x820000ull);
	return tap_done();
}
