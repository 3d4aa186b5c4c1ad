/*
 * fuzz_chanrec.c: libFuzzer target for the channel record decoder
 * (lib/chanrec.c). The input is fed to the stream decoder as it is, in
 * pieces of varying size, and then once more as a single record whose
 * magic, length and CRC-32 the harness makes right, so that the fuzzer
 * reaches the field checks behind the CRC. Every decoded record is
 * re-encoded and must decode to the same fields.
 */
#include <stdint.h>
#include <string.h>

#include "chanrec.h"

static volatile unsigned sink;

static void check_roundtrip(const struct hv_rec *r)
{
	static uint8_t buf[HV_REC_MAX];
	static struct hv_rec back;
	const char *why;
	int n = hv_rec_encode(r, buf, sizeof(buf));
	if (n < 0 || hv_rec_decode(buf, (size_t)n, &back, &why) || back.seq != r->seq || back.size != r->size ||
	    strcmp(back.path, r->path) || strcmp(back.proc, r->proc) || memcmp(back.sha256, r->sha256, 32))
		__builtin_trap();
}

static void on_event(void *ctx, const struct hv_rx_event *ev)
{
	(void)ctx;
	if (ev->kind == HV_RX_RECORD) {
		sink += (unsigned)strlen(ev->rec->path) + (unsigned)strlen(ev->rec->proc) + ev->missing;
		check_roundtrip(ev->rec);
	} else {
		sink += (unsigned)strlen(ev->why) + ev->skipped;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_rx rx;
	static uint8_t rec[HV_REC_MAX];
	static struct hv_rec r;
	size_t off = 0, step = size ? (data[0] % 17) + 1 : 1;
	const char *why;
	uint32_t crc;

	hv_rx_init(&rx);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		hv_rx_feed(&rx, data + off, n, on_event, NULL);
		off += n;
	}
	hv_rx_end(&rx, on_event, NULL);

	if (size + 4 >= HV_REC_MIN && size + 4 <= HV_REC_MAX) {
		memcpy(rec, data, size);
		memcpy(rec, "HVFR", 4);
		rec[6] = (uint8_t)(size + 4);
		rec[7] = (uint8_t)((size + 4) >> 8);
		crc = hv_crc32(rec, size);
		for (int i = 0; i < 4; i++)
			rec[size + i] = (uint8_t)(crc >> (8 * i));
		if (hv_rec_decode(rec, size + 4, &r, &why) == 0)
			check_roundtrip(&r);
		else
			sink += (unsigned)strlen(why);
	}
	return 0;
}
