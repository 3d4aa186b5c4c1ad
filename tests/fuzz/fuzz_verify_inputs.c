/*
 * fuzz_verify_inputs.c: libFuzzer target for the verifier's text inputs: the
 * bounded JSON parser (lib/json.c) and, on the same bytes, the manifest
 * reader (lib/mfread.c, then the digest index and a lookup), the policy
 * reader, the baseline reader and the tpm2_pcrread YAML reader
 * (lib/verify_input.c, lib/baseline.c). Each must return an error or a
 * result, never crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "baseline.h"
#include "json.h"
#include "mfread.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hv_baseline bl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hv_why why;
	struct hv_json doc;
	struct hv_mr_set s;
	struct hv_vf_policy p;
	struct hv_vf_pcrs pcrs;
	uint8_t zero[32] = {0};

	if (!hv_json_parse(&doc, data, size, &why))
		hv_json_free(&doc);
	memset(&s, 0, sizeof(s));
	if (!hv_mr_load(&s, "fuzz", data, size, &why) && !hv_mr_index(&s, &why))
		(void)hv_mr_lookup(&s, s.nimages ? s.images[0].canon[HV_SHA256] : zero);
	/* a second load into the same set exercises the merge and the undo */
	(void)hv_mr_load(&s, "fuzz2", data, size, &why);
	hv_mr_free(&s);
	if (!hv_vf_policy_load(&p, "fuzz", data, size, &why))
		hv_vf_policy_free(&p);
	if (!hv_bl_load(&bl, "fuzz", data, size, &why))
		(void)hv_bl_find(&bl, 2, HV_BL_IMAGE, zero), hv_bl_free(&bl);
	(void)hv_vf_pcrs_parse_yaml(&pcrs, data, size, &why);
	return 0;
}
