/*
 * events.c: builders of the event data hvima logs (events.h). Layouts:
 * UEFI_IMAGE_LOAD_EVENT and UEFI_PLATFORM_FIRMWARE_BLOB from the TCG PC
 * Client Platform Firmware Profile; the Media File Path device path node
 * (type 4, subtype 4) from the UEFI specification; the SIPA TLVs as Windows
 * writes them into PCR 13 and go-attestation parses them.
 */
#include <string.h>

#include "events.h"
#include "pe.h"

struct out {
	uint8_t *p;
	size_t cap, n;
	int err;
};

static void put(struct out *o, const void *d, size_t n)
{
	if (o->err || n > o->cap - o->n) {
		o->err = HV_E_CAP;
		return;
	}
	memcpy(o->p + o->n, d, n);
	o->n += n;
}

static void put32(struct out *o, uint32_t v)
{
	uint8_t b[4];
	hv_put_le32(b, v);
	put(o, b, 4);
}

static void put64(struct out *o, uint64_t v)
{
	uint8_t b[8];
	hv_put_le64(b, v);
	put(o, b, 8);
}

/* ASCII as UTF-16LE with a terminating NUL. */
static void put_utf16(struct out *o, const char *s)
{
	for (; *s; s++) {
		uint8_t b[2] = {(uint8_t)*s, 0};
		put(o, b, 2);
	}
	put(o, "\0", 2);
}

static int done(struct out *o)
{
	return o->err ? o->err : (int)o->n;
}

int hv_ev_image_load(uint8_t *buf, size_t cap, uint64_t location, uint64_t length, uint64_t link_address,
		     const char *name)
{
	struct out o = {buf, cap, 0, 0};
	size_t nlen = name ? strlen(name) : 0;
	uint64_t node = 4 + 2 * (nlen + 1);

	if (nlen > HV_CAP_NAME)
		return HV_E_CAP;
	put64(&o, location);
	put64(&o, length);
	put64(&o, link_address);
	put64(&o, nlen ? node + 4 : 0);
	if (nlen) {
		uint8_t h[4] = {0x04, 0x04, (uint8_t)node, (uint8_t)(node >> 8)};
		uint8_t end[4] = {0x7f, 0xff, 0x04, 0x00};
		put(&o, h, 4);
		put_utf16(&o, name);
		put(&o, end, 4);
	}
	return done(&o);
}

static uint32_t calg(enum hv_alg a)
{
	return a == HV_SHA1 ? HV_CALG_SHA1 : a == HV_SHA384 ? HV_CALG_SHA384 : HV_CALG_SHA256;
}

int hv_ev_sipa_module(uint8_t *buf, size_t cap, const char *name, uint64_t size, uint64_t base, enum hv_alg alg,
		      const uint8_t *digest)
{
	struct out o = {buf, cap, 0, 0};
	size_t nlen = strlen(name), dlen = hv_alg_size(alg);
	uint32_t inner = (uint32_t)((8 + 2 * (nlen + 1)) + (8 + 8) + (8 + 4) + (8 + dlen) + (8 + 8));

	if (nlen > HV_CAP_NAME)
		return HV_E_CAP;
	put32(&o, HV_SIPA_LOADEDMODULE_AGGREGATION);
	put32(&o, inner);
	put32(&o, HV_SIPA_FILEPATH);
	put32(&o, (uint32_t)(2 * (nlen + 1)));
	put_utf16(&o, name);
	put32(&o, HV_SIPA_IMAGESIZE);
	put32(&o, 8);
	put64(&o, size);
	put32(&o, HV_SIPA_HASHALGORITHMID);
	put32(&o, 4);
	put32(&o, calg(alg));
	put32(&o, HV_SIPA_AUTHENTICODEHASH);
	put32(&o, (uint32_t)dlen);
	put(&o, digest, dlen);
	put32(&o, HV_SIPA_IMAGEBASE);
	put32(&o, 8);
	put64(&o, base);
	return done(&o);
}

int hv_ev_tagged_text(uint8_t *buf, size_t cap, uint32_t tag, const char *text)
{
	struct out o = {buf, cap, 0, 0};
	size_t n = strlen(text);
	put32(&o, tag);
	put32(&o, (uint32_t)n);
	put(&o, text, n);
	return done(&o);
}

int hv_ev_note(uint8_t *buf, size_t cap, const char *text)
{
	struct out o = {buf, cap, 0, 0};
	put(&o, HV_NOTE_MAGIC, 8);
	put(&o, text, strlen(text));
	return done(&o);
}

int hv_ev_firmware_blob(uint8_t *buf, size_t cap, uint64_t base, uint64_t length)
{
	struct out o = {buf, cap, 0, 0};
	put64(&o, base);
	put64(&o, length);
	return done(&o);
}
