/*
 * fuzz_tcglog.c: libFuzzer target for the event log reader (lib/tcglog.h).
 * The input is walked as a whole log (every record decoded) and replayed;
 * then it is decoded as the data of each event type hvima decodes, so the
 * decoder also sees data that no valid header precedes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tcglog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const char *key, const char *value)
{
	size_t *n = ctx;
	*n += strlen(key) + strlen(value);
}

static int decode_cb(void *ctx, const struct hv_log_event *ev)
{
	hv_log_decode(ev, sink, ctx);
	return 0;
}

static struct hv_log_replay replay;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = {
		EV_NO_ACTION, EV_SEPARATOR, EV_ACTION, EV_EVENT_TAG, EV_S_CRTM_VERSION, EV_EFI_BOOT_SERVICES_APPLICATION,
		EV_EFI_BOOT_SERVICES_DRIVER, EV_EFI_RUNTIME_SERVICES_DRIVER, EV_EFI_PLATFORM_FIRMWARE_BLOB, 0x12345678,
	};
	hv_why why;
	size_t n = 0;

	hv_log_walk(data, size, decode_cb, &n, &why);
	hv_log_replay(data, size, &replay, &why);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct hv_log_event ev = {.type = types[i], .event = data, .event_size = (uint32_t)size};
		hv_log_decode(&ev, sink, &n);
	}
	struct hv_log_event hdr = {.is_header = 1, .type = EV_NO_ACTION, .event = data, .event_size = (uint32_t)size};
	hv_log_decode(&hdr, sink, &n);
	return 0;
}
