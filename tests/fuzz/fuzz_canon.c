/*
 * fuzz_canon.c: libFuzzer target for the canonical digest (lib/canon.c).
 * The input is an image parsed both as a file and as a loaded image; the
 * load base comes from the input's last 8 bytes, so valid PE seeds stay
 * valid. Also checks an invariant that needs no reference: the file digest
 * of an input does not depend on the base argument (ignored for FILE).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_pe pe;
	struct hv_digests a, b;
	struct hv_canon_stats st;
	hv_why why;
	uint64_t base = size >= 8 ? hv_le64(data + size - 8) : 0;
	int rc;

	memset(&a, 0, sizeof(a)), memset(&b, 0, sizeof(b));
	if (hv_pe_parse(&pe, data, size, HV_LAYOUT_FILE, &why) == HV_OK) {
		rc = hv_canon_digest(&pe, 0, HV_ALGS_ALL, &a, &st, &why);
		if (hv_canon_digest(&pe, base, HV_ALGS_ALL, &b, NULL, &why) != rc)
			abort();
		if (rc == HV_OK && memcmp(&a, &b, sizeof(a)) != 0)
			abort(); /* FILE ignores the base */
		hv_pe_free(&pe);
	}
	if (hv_pe_parse(&pe, data, size, HV_LAYOUT_LOADED, &why) == HV_OK) {
		if (hv_canon_digest(&pe, base, HV_ALG_BIT(HV_SHA256), &a, &st, &why) == HV_OK)
			sink += a.d[HV_SHA256][0] + st.relocs;
		hv_pe_free(&pe);
	}
	return 0;
}
