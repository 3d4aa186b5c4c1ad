/*
 * fuzz_loaded.c: a differential libFuzzer target. Any input that parses as
 * a file and has a canonical digest is loaded by the reference loader
 * (tests/loader/refload.c, EDK2 or Windows rules, at a base taken from the
 * input's last 8 bytes); the digest of the loaded image must then equal
 * the file's. A mismatch aborts: either canon.c or the loader disagrees
 * with the other on what a loader may write.
 *
 * Inputs whose Load Config pointers a relocation does not move (no DIR64
 * site on them) are skipped when the image moves: the file digest finds the
 * slots at VA - ImageBase, the loaded one at VA - base, so they differ by
 * construction. Likewise when an import without OriginalFirstThunk has its
 * slots counted differently in the file and in memory (the IAT is counted
 * on its own values, which relocation and binding change). Both are known
 * limits of canon.c; see tests/fuzz/regress/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "refload.h"

/* Do the Load Config pointers name the same RVAs in the file and loaded? */
static int loadcfg_moved(const uint8_t *data, size_t size, const struct hv_pe *lp, uint64_t base)
{
	struct hv_pe pe;
	struct hv_pe_loadcfg a, b;
	hv_why why;
	int same = 1;

	if (hv_pe_parse(&pe, data, size, HV_LAYOUT_FILE, &why) != HV_OK)
		return 0;
	if (hv_pe_loadcfg(&pe, &a, &why) == HV_OK && hv_pe_loadcfg(lp, &b, &why) == HV_OK) {
		uint64_t va[] = {a.security_cookie, a.guard_cf_check_fptr, a.guard_cf_dispatch_fptr,
				 a.guard_xfg_check_fptr, a.guard_xfg_dispatch_fptr, a.guard_xfg_table_dispatch_fptr,
				 a.guard_rf_failure_fptr, a.guard_rf_verify_sp_fptr, a.guard_memcpy_fptr};
		uint64_t vb[] = {b.security_cookie, b.guard_cf_check_fptr, b.guard_cf_dispatch_fptr,
				 b.guard_xfg_check_fptr, b.guard_xfg_dispatch_fptr, b.guard_xfg_table_dispatch_fptr,
				 b.guard_rf_failure_fptr, b.guard_rf_verify_sp_fptr, b.guard_memcpy_fptr};
		for (unsigned i = 0; i < sizeof(va) / sizeof(va[0]); i++)
			if ((va[i] || vb[i]) && va[i] - pe.image_base != vb[i] - (base - pe.rva_bias))
				same = 0;
	}
	hv_pe_free(&pe);
	return same;
}

struct counts {
	uint32_t n, sum;
};

static int count_imp(void *ctx, const struct hv_pe_import *imp)
{
	struct counts *c = ctx;
	c->n++;
	c->sum = c->sum * 31 + imp->nthunks;
	return 0;
}

/* Do the file and the loaded image count the same import slots? */
static int imports_same(const uint8_t *data, size_t size, const struct hv_pe *lp)
{
	struct hv_pe pe;
	struct counts a = {0, 0}, b = {0, 0};
	hv_why why;
	int ra, rb;

	if (hv_pe_parse(&pe, data, size, HV_LAYOUT_FILE, &why) != HV_OK)
		return 0;
	ra = hv_pe_imports(&pe, count_imp, &a, &why);
	rb = hv_pe_imports(lp, count_imp, &b, &why);
	hv_pe_free(&pe);
	return ra == rb && a.n == b.n && a.sum == b.sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_pe pe, lp;
	struct hv_digests want, got;
	struct rl_image img;
	hv_why why;
	uint64_t tail = size >= 8 ? hv_le64(data + size - 8) : 0;
	enum rl_mode mode = tail & 1 ? RL_WINDOWS : RL_EDK2;
	uint64_t base;
	int rc;

	if (hv_pe_parse(&pe, data, size, HV_LAYOUT_FILE, &why) != HV_OK)
		return 0;
	rc = hv_canon_digest(&pe, 0, HV_ALG_BIT(HV_SHA256), &want, NULL, &why);
	/* Page-aligned RVA 0 at or away from the link-time base. */
	base = (tail & 2 ? pe.image_base : (tail & ~0xfffull)) + pe.rva_bias;
	if (pe.image_base_width == 4)
		base &= 0xffffffffu;
	hv_pe_free(&pe);
	if (rc != HV_OK || rl_load(data, size, base, mode, (uint32_t)tail, &img, &why) != HV_OK)
		return 0;
	if (hv_pe_parse(&lp, img.buf, img.len, HV_LAYOUT_LOADED, &why) != HV_OK) {
		fprintf(stderr, "loaded image does not parse: %s\n", why.msg);
		abort();
	}
	if (hv_canon_digest(&lp, base, HV_ALG_BIT(HV_SHA256), &got, NULL, &why) != HV_OK) {
		fprintf(stderr, "loaded image has no digest: %s\n", why.msg);
		abort();
	}
	if (memcmp(want.d[HV_SHA256], got.d[HV_SHA256], 32) != 0 && loadcfg_moved(data, size, &lp, base) &&
	    imports_same(data, size, &lp)) {
		fprintf(stderr, "%s load at 0x%llx: digest differs from the file's\n", rl_mode_str(mode),
			(unsigned long long)base);
		abort();
	}
	hv_pe_free(&lp);
	rl_free(&img);
	return 0;
}
