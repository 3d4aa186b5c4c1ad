/*
 * fuzz_quote.c: libFuzzer target for the quote reader (lib/quote.c): the
 * input is parsed as a TPMS_ATTEST and as a TPMT_SIGNATURE; a parsed quote
 * is checked against a fixed replay and nonce, and a parsed signature is
 * verified over the input with a fixed RSA key (OpenSSL must reject it, not
 * crash).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "-----BEGIN PUBLIC KEY-----\n"
			  "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANcJsxC6PnlB4kqJvRYYi8CyC2mtn8oW\n"
			  "16M4l/YLR6Ai8TYHOVyHo9j/OpOxw32mEqtSjsXXCmBGdgTKhM02yiECAwEAAQ==\n"
			  "-----END PUBLIC KEY-----\n";
static struct hv_log_replay replay;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_quote q;
	struct hv_quote_sig s;
	hv_why why;
	static const uint8_t nonce[16] = {1, 2, 3};

	replay.algs = HV_ALG_BIT(HV_SHA256) | HV_ALG_BIT(HV_SHA1);
	replay.pcrs_used = 1u << 2 | 1u << 4;
	if (!hv_quote_parse(data, size, &q, &why)) {
		(void)hv_quote_check(&q, 0x000b, nonce, sizeof(nonce), &replay, &why);
		(void)hv_quote_check(&q, 0x0004, q.nonce, q.nonce_len, &replay, &why);
	}
	if (!hv_quote_parse_sig(data, size, &s, &why))
		(void)hv_quote_verify_sig(data, size, &s, (const uint8_t *)key, sizeof(key) - 1, &why);
	return 0;
}
