/*
 * fuzz_tpm_response.c: libFuzzer target over what a hostile or broken TPM
 * can send hvima: each input is one response buffer, given to the header
 * check and to every response parser (PCR_Read of each bank,
 * GetCapability(TPM_CAP_PCRS)). The same bytes, cut at the first NUL, are
 * also tried as a TPM address (hv_tpm_init, no connection).
 */
#include <stdint.h>
#include <string.h>

#include "tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hv_why why;
	uint32_t rc;
	unsigned mask;
	uint8_t out[HV_DIGEST_MAX];

	hv_tpm_check_response(data, size, &rc, &why);
	for (int a = 0; a < HV_NALGS; a++)
		hv_tpm_parse_pcr_read(data, size, a, out, &why);
	hv_tpm_parse_banks(data, size, &mask, &why);

	char addr[300];
	size_t n = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
	memcpy(addr, data, n);
	addr[n] = 0;
	struct hv_tpm t;
	if (hv_tpm_init(&t, addr, &why) == HV_OK)
		hv_tpm_close(&t);
	return 0;
}
