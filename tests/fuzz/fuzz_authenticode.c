/*
 * fuzz_authenticode.c: libFuzzer target for the Authenticode digest and
 * the certificate-table walk with its bounded DER decoder
 * (lib/authenticode.c). The input is a file; both functions run on every
 * input that parses, and every digest they report must fit its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_pe pe;
	struct hv_digests d;
	struct hv_pe_signature sig[HV_CAP_CERT_ENTRIES];
	size_t n = 0;
	hv_why why;

	if (hv_pe_parse(&pe, data, size, HV_LAYOUT_FILE, &why) != HV_OK)
		return 0;
	if (hv_authenticode(&pe, HV_ALGS_ALL, &d, &why) == HV_OK)
		sink += d.d[HV_SHA256][0];
	if (hv_authenticode_signatures(&pe, sig, HV_CAP_CERT_ENTRIES, &n, &why) == HV_OK) {
		for (size_t i = 0; i < n && i < HV_CAP_CERT_ENTRIES; i++) {
			if (sig[i].digest_len > HV_DIGEST_MAX)
				abort();
			if (sig[i].digest_len)
				sink += sig[i].digest[sig[i].digest_len - 1];
		}
	}
	/* A short output array must not be overrun. */
	if (hv_authenticode_signatures(&pe, sig, 1, &n, &why) == HV_OK)
		sink += (unsigned)n;
	sink += (unsigned)strlen(why.msg);
	hv_pe_free(&pe);
	return 0;
}
