/*
 * tcglog_event.c: names of event types and algorithms, and the decoder of
 * event data for people (hvima log) and verifiers. The data hvima writes is
 * built by events.c; this reads it (and firmware's) back.
 *
 * Contract: the decoder reads the data of any record, hostile or not,
 * through the bounded reader, and turns it into key/value pairs whose values
 * are valid UTF-8 with no control characters, so a printer may put them on
 * one terminal line or in a JSON string as they are. It never fails: what it
 * cannot read it reports as a "malformed" pair. References: TCG PC Client
 * Platform Firmware Profile 1.05, 10.2 (UEFI_IMAGE_LOAD_EVENT,
 * UEFI_PLATFORM_FIRMWARE_BLOB, TCG_PCClientTaggedEvent); UEFI 2.10, 10.3
 * (device path nodes: Media File Path 4/4, End 0x7f/0xff); Windows SIPA
 * event ids (wbcl.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "tcglog.h"

/* UEFI_IMAGE_LOAD_EVENT */
#define IMG_LOCATION 0
#define IMG_LENGTH 8
#define IMG_LINK 16
#define IMG_DP_LENGTH 24
#define IMG_DP 32
/* EFI_DEVICE_PATH_PROTOCOL node header: type u8, subtype u8, length u16. */
#define DP_HDR 4
#define DP_TYPE_MEDIA 4
#define DP_SUB_FILE_PATH 4
#define DP_TYPE_END 0x7f
#define DP_SUB_END_ENTIRE 0xff
/* TCG_PCClientTaggedEvent and the SIPA items inside it: id u32, size u32. */
#define TAG_HDR 8
#define STARTUP_LOCALITY "StartupLocality" /* with its NUL: 16 bytes, then u8 */

#define NOTE_MAGIC_LEN 8 /* HV_NOTE_MAGIC without the string's NUL */
#define HEX_MAX 64 /* bytes shown of data hvima does not decode */

static const struct {
	uint32_t type;
	const char *name;
} type_names[] = {
	{0x0, "EV_PREBOOT_CERT"},
	{0x1, "EV_POST_CODE"},
	{0x2, "EV_UNUSED"},
	{0x3, "EV_NO_ACTION"},
	{0x4, "EV_SEPARATOR"},
	{0x5, "EV_ACTION"},
	{0x6, "EV_EVENT_TAG"},
	{0x7, "EV_S_CRTM_CONTENTS"},
	{0x8, "EV_S_CRTM_VERSION"},
	{0x9, "EV_CPU_MICROCODE"},
	{0xa, "EV_PLATFORM_CONFIG_FLAGS"},
	{0xb, "EV_TABLE_OF_DEVICES"},
	{0xc, "EV_COMPACT_HASH"},
	{0xd, "EV_IPL"},
	{0xe, "EV_IPL_PARTITION_DATA"},
	{0xf, "EV_NONHOST_CODE"},
	{0x10, "EV_NONHOST_CONFIG"},
	{0x11, "EV_NONHOST_INFO"},
	{0x12, "EV_OMIT_BOOT_DEVICE_EVENTS"},
	{0x80000000, "EV_EFI_EVENT_BASE"},
	{0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
	{0x80000002, "EV_EFI_VARIABLE_BOOT"},
	{0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
	{0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"},
	{0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
	{0x80000006, "EV_EFI_GPT_EVENT"},
	{0x80000007, "EV_EFI_ACTION"},
	{0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
	{0x80000009, "EV_EFI_HANDOFF_TABLES"},
	{0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
	{0x8000000b, "EV_EFI_HANDOFF_TABLES2"},
	{0x8000000c, "EV_EFI_VARIABLE_BOOT2"},
	{0x80000010, "EV_EFI_HCRTM_EVENT"},
	{0x800000e0, "EV_EFI_VARIABLE_AUTHORITY"},
	{0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB"},
	{0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
};

const char *hv_log_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

/* ---- Text: UTF-8 and UTF-16LE ------------------------------------------ */

/* Code points a terminal or a reader could be fooled by: C0 and C1
 * controls, DEL, bidirectional overrides and isolates, surrogates. */
static bool cp_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	       (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff;
}

static size_t utf8_put(uint8_t *b, uint32_t c)
{
	if (c < 0x80) {
		b[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | c >> 18);
	b[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
	b[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
	b[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

/* One code point of UTF-8 at p (n > 0 bytes); *len gets its length. A
 * malformed sequence (overlong, surrogate, past U+10FFFF, cut) is one byte
 * long and yields 0xfffd; callers tell it from a real U+FFFD by *ok. */
static uint32_t utf8_get(const uint8_t *p, size_t n, size_t *len, bool *ok)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t c = p[0];
	size_t k;

	*len = 1;
	*ok = true;
	if (c < 0x80)
		return c;
	k = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
	if (k == 0 || k > n)
		goto bad;
	c &= 0x7f >> k;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*len = k;
	return c;
bad:
	*ok = false;
	return 0xfffd;
}

/* A value being built: UTF-8, NUL-terminated, at most HV_LOG_MAX_VALUE
 * bytes; past that it ends in "..." and takes no more. */
struct val {
	char s[HV_LOG_MAX_VALUE + 1];
	size_t n;
	bool full;
};

static void v_reset(struct val *v)
{
	v->n = 0;
	v->full = false;
	v->s[0] = 0;
}

static void v_cp(struct val *v, uint32_t c)
{
	uint8_t b[4];
	size_t k;

	if (v->full)
		return;
	if (cp_unsafe(c))
		c = 0xfffd;
	k = utf8_put(b, c);
	if (v->n + k > HV_LOG_MAX_VALUE - 3) {
		memcpy(v->s + v->n, "...", 4);
		v->n += 3;
		v->full = true;
		return;
	}
	memcpy(v->s + v->n, b, k);
	v->n += k;
	v->s[v->n] = 0;
}

static void v_fmt(struct val *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void v_fmt(struct val *v, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	for (const char *p = tmp; *p; p++)
		v_cp(v, (unsigned char)*p);
}

static void v_hex(struct val *v, const uint8_t *p, size_t n, size_t max)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n && i < max; i++) {
		v_cp(v, (unsigned char)x[p[i] >> 4]);
		v_cp(v, (unsigned char)x[p[i] & 15]);
	}
	if (n > max)
		v_fmt(v, "... (%zu bytes)", n);
}

/* UTF-16LE up to a NUL or the end. Returns false if the data is not
 * UTF-16LE (odd length before the NUL, an unpaired surrogate). */
static bool v_utf16(struct val *v, const uint8_t *p, size_t n, bool *nul)
{
	bool good = true;
	size_t i;

	*nul = false;
	for (i = 0; i + 1 < n; i += 2) {
		uint32_t c = hv_le16(p + i);
		if (c == 0) {
			*nul = true;
			return good;
		}
		if (c >= 0xd800 && c <= 0xdbff && i + 3 < n) {
			uint32_t lo = hv_le16(p + i + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			}
		}
		if (c >= 0xd800 && c <= 0xdfff)
			good = false;
		v_cp(v, c);
	}
	return good && i == n;
}

/* UTF-8 up to a NUL or the end, without trailing line ends. */
static bool v_utf8(struct val *v, const uint8_t *p, size_t n)
{
	bool good = true, ok;
	size_t k = 0;

	for (size_t i = 0; i < n && p[i]; i++)
		if (p[i] != '\n' && p[i] != '\r')
			k = i + 1;
	for (size_t i = 0; i < k;) {
		size_t len;
		uint32_t c = utf8_get(p + i, k - i, &len, &ok);
		good &= ok;
		v_cp(v, c);
		i += len;
	}
	return good;
}

/* ---- Decoder ---------------------------------------------------------- */

struct dec {
	hv_log_kv_cb cb;
	void *ctx;
	struct val v;
};

static void kv(struct dec *d, const char *key) { d->cb(d->ctx, key, d->v.s); }

static void kv_fmt(struct dec *d, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv_fmt(struct dec *d, const char *key, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	v_reset(&d->v);
	v_fmt(&d->v, "%s", tmp);
	kv(d, key);
}

static void kv_hex(struct dec *d, const char *key, const uint8_t *p, size_t n, size_t max)
{
	v_reset(&d->v);
	v_hex(&d->v, p, n, max);
	kv(d, key);
}

static void dec_spec_id(struct dec *d, const struct hv_rd *r)
{
	uint32_t nalgs, cls;
	uint8_t minor, major, errata, uintn;

	if (!hv_rd_has(r, 0, 28) || !hv_rd_u32(r, 16, &cls) || !hv_rd_u8(r, 20, &minor) || !hv_rd_u8(r, 21, &major) ||
	    !hv_rd_u8(r, 22, &errata) || !hv_rd_u8(r, 23, &uintn) || !hv_rd_u32(r, 24, &nalgs)) {
		kv_fmt(d, "malformed", "Spec ID event of %zu bytes is too short", r->len);
		return;
	}
	v_reset(&d->v);
	v_utf8(&d->v, r->p, 16);
	kv(d, "signature");
	kv_fmt(d, "platform_class", "%u", cls);
	kv_fmt(d, "spec_version", "%u.%u", major, minor);
	kv_fmt(d, "errata", "%u", errata);
	kv_fmt(d, "uintn_size", "%u", uintn);
	v_reset(&d->v);
	for (uint32_t i = 0; i < nalgs && i < 8; i++) {
		uint16_t id, size;
		const char *name;
		if (!hv_rd_u16(r, 28 + 4 * (uint64_t)i, &id) || !hv_rd_u16(r, 30 + 4 * (uint64_t)i, &size))
			break;
		name = hv_log_alg_name(id);
		if (i)
			v_cp(&d->v, ',');
		if (name)
			v_fmt(&d->v, "%s/%u", name, size);
		else
			v_fmt(&d->v, "0x%04x/%u", id, size);
	}
	kv(d, "algorithms");
}

/* EFI_DEVICE_PATH_PROTOCOL nodes: the names of File Path nodes make "path";
 * other nodes are listed as type/subtype in "device_path_nodes". */
static void dec_device_path(struct dec *d, const struct hv_rd *dp)
{
	struct val other;
	uint64_t off = 0;
	bool any_path = false, end = false, good = true;
	const char *err = NULL;

	v_reset(&d->v);
	v_reset(&other);
	while (off < dp->len && !end) {
		uint8_t type, sub;
		uint16_t len;
		if (!hv_rd_u8(dp, off, &type) || !hv_rd_u8(dp, off + 1, &sub) || !hv_rd_u16(dp, off + 2, &len)) {
			err = "a device path node header runs past LengthOfDevicePath";
			break;
		}
		if (len < DP_HDR || !hv_rd_has(dp, off, len)) {
			err = "a device path node length is below 4 or runs past LengthOfDevicePath";
			break;
		}
		if (type == DP_TYPE_END && sub == DP_SUB_END_ENTIRE) {
			end = true;
		} else if (type == DP_TYPE_MEDIA && sub == DP_SUB_FILE_PATH) {
			bool nul;
			good &= v_utf16(&d->v, dp->p + off + DP_HDR, len - DP_HDR, &nul);
			any_path = true;
		} else if (!(type == DP_TYPE_END)) {
			if (other.n)
				v_cp(&other, ',');
			v_fmt(&other, "%u/%u", type, sub);
		}
		off += len;
	}
	if (any_path)
		kv(d, "path");
	if (other.n) {
		memcpy(&d->v, &other, sizeof(other));
		kv(d, "device_path_nodes");
	}
	if (err)
		kv_fmt(d, "malformed", "%s (at byte 0x%" PRIx64 ")", err, off);
	else if (dp->len && !end)
		kv_fmt(d, "malformed", "the device path has no End node");
	else if (off != dp->len)
		kv_fmt(d, "malformed", "0x%" PRIx64 " bytes after the End node", (uint64_t)dp->len - off);
	else if (!good)
		kv_fmt(d, "malformed", "a file path is not UTF-16LE");
}

static void dec_image_load(struct dec *d, const struct hv_rd *r)
{
	uint64_t loc, len, link, dplen;
	struct hv_rd dp;

	if (!hv_rd_u64(r, IMG_LOCATION, &loc) || !hv_rd_u64(r, IMG_LENGTH, &len) || !hv_rd_u64(r, IMG_LINK, &link) ||
	    !hv_rd_u64(r, IMG_DP_LENGTH, &dplen)) {
		kv_fmt(d, "malformed", "UEFI_IMAGE_LOAD_EVENT of %zu bytes is shorter than 32", r->len);
		return;
	}
	kv_fmt(d, "location", "0x%" PRIx64, loc);
	kv_fmt(d, "length", "0x%" PRIx64, len);
	kv_fmt(d, "link_address", "0x%" PRIx64, link);
	if (!hv_rd_sub(r, IMG_DP, dplen, &dp)) {
		kv_fmt(d, "malformed", "LengthOfDevicePath 0x%" PRIx64 " exceeds the 0x%zx bytes left", dplen, r->len - IMG_DP);
		return;
	}
	dec_device_path(d, &dp);
	if (r->len - IMG_DP != dplen)
		kv_fmt(d, "malformed", "0x%" PRIx64 " bytes after the device path", (uint64_t)(r->len - IMG_DP) - dplen);
}

static const char *calg_name(uint32_t calg)
{
	switch (calg) {
	case HV_CALG_SHA1: return "sha1";
	case HV_CALG_SHA256: return "sha256";
	case HV_CALG_SHA384: return "sha384";
	case 0x800e: return "sha512"; /* CALG_SHA_512 */
	default: return NULL;
	}
}

/* The items of a SIPAEVENT_LOADEDMODULE_AGGREGATION: {u32 type, u32 size,
 * data} one after the other. */
static void dec_sipa_module(struct dec *d, const struct hv_rd *r)
{
	uint64_t off = 0;

	while (off < r->len) {
		uint32_t type, size;
		uint64_t u64;
		uint32_t u32;
		struct hv_rd item;
		bool nul;
		char key[32];

		if (!hv_rd_u32(r, off, &type) || !hv_rd_u32(r, off + 4, &size) || !hv_rd_sub(r, off + TAG_HDR, size, &item)) {
			kv_fmt(d, "malformed", "SIPA item at byte 0x%" PRIx64 " runs past the aggregation (0x%zx bytes)", off,
			       r->len);
			return;
		}
		switch (type) {
		case HV_SIPA_FILEPATH:
			v_reset(&d->v);
			v_utf16(&d->v, item.p, item.len, &nul);
			kv(d, "file_path");
			break;
		case HV_SIPA_IMAGESIZE:
		case HV_SIPA_IMAGEBASE:
			if (item.len == 8 && hv_rd_u64(&item, 0, &u64))
				kv_fmt(d, type == HV_SIPA_IMAGESIZE ? "image_size" : "image_base", "0x%" PRIx64, u64);
			else
				kv_fmt(d, "malformed", "SIPA item 0x%x has %u bytes, expected 8", type, size);
			break;
		case HV_SIPA_HASHALGORITHMID:
			if (item.len == 4 && hv_rd_u32(&item, 0, &u32) && calg_name(u32))
				kv_fmt(d, "hash_alg", "%s", calg_name(u32));
			else if (item.len == 4)
				kv_fmt(d, "hash_alg", "0x%x", hv_le32(item.p));
			else
				kv_fmt(d, "malformed", "SIPA item 0x%x has %u bytes, expected 4", type, size);
			break;
		case HV_SIPA_AUTHENTICODEHASH:
			kv_hex(d, "authenticode_hash", item.p, item.len, HV_LOG_MAX_DIGEST);
			break;
		default:
			snprintf(key, sizeof(key), "item_0x%x", type);
			kv_hex(d, key, item.p, item.len, HEX_MAX);
			break;
		}
		off += TAG_HDR + (uint64_t)size;
	}
}

static const char *tag_name(uint32_t id)
{
	switch (id) {
	case HV_SIPA_LOADEDMODULE_AGGREGATION: return "SIPAEVENT_LOADEDMODULE_AGGREGATION";
	case HV_TAG_VIOLATION: return "hvima-violation";
	case HV_TAG_UNATTRIBUTED: return "hvima-unattributed";
	case HV_TAG_MALFORMED: return "hvima-malformed";
	case HV_TAG_NOTE: return "hvima-note";
	case HV_LOG_PAD_TAG: return "hvima-padding";
	case HV_TAG_FILE: return "hvima-file";
	default: return NULL;
	}
}

/* hvima's file event (docs/channel.md): three IMA-ng style fields, each a
 * u32 length and its bytes: "sha256:\0" + digest, the path and the context,
 * both NUL-terminated. */
static void dec_file(struct dec *d, const struct hv_rd *r)
{
	static const char *const keys[] = {"file_sha256", "path", "context"};
	uint64_t off = 0;

	for (int i = 0; i < 3; i++) {
		uint32_t len;
		const uint8_t *p;
		if (!hv_rd_u32(r, off, &len) || !(p = hv_rd_ptr(r, off + 4, len))) {
			kv_fmt(d, "malformed", "file event field %d at 0x%" PRIx64 " runs past the data", i + 1, off);
			return;
		}
		if (i == 0) {
			if (len != 40 || memcmp(p, "sha256:", 8)) {
				kv_fmt(d, "malformed", "file event digest field is not sha256: and 32 bytes");
				return;
			}
			kv_hex(d, keys[0], p + 8, 32, 32);
		} else {
			if (len == 0 || p[len - 1] != 0) {
				kv_fmt(d, "malformed", "file event %s is not NUL-terminated", keys[i]);
				return;
			}
			v_reset(&d->v);
			if (!v_utf8(&d->v, p, len - 1)) {
				kv_fmt(d, "malformed", "file event %s is not UTF-8", keys[i]);
				return;
			}
			kv(d, keys[i]);
		}
		off += 4 + (uint64_t)len;
	}
	if (off != r->len)
		kv_fmt(d, "malformed", "0x%" PRIx64 " bytes after the file event fields", (uint64_t)r->len - off);
}

static void dec_tagged(struct dec *d, const struct hv_rd *r)
{
	bool good;
	uint32_t id, size;
	struct hv_rd data;

	if (!hv_rd_u32(r, 0, &id) || !hv_rd_u32(r, 4, &size)) {
		kv_fmt(d, "malformed", "tagged event of %zu bytes is shorter than 8", r->len);
		return;
	}
	kv_fmt(d, "tag_id", "0x%08x", id);
	if (tag_name(id))
		kv_fmt(d, "tag", "%s", tag_name(id));
	if (!hv_rd_sub(r, TAG_HDR, size, &data)) {
		kv_fmt(d, "malformed", "taggedEventDataSize 0x%x exceeds the 0x%zx bytes left", size, r->len - TAG_HDR);
		return;
	}
	switch (id) {
	case HV_SIPA_LOADEDMODULE_AGGREGATION:
		dec_sipa_module(d, &data);
		break;
	case HV_TAG_FILE:
		dec_file(d, &data);
		break;
	case HV_TAG_VIOLATION:
	case HV_TAG_UNATTRIBUTED:
	case HV_TAG_MALFORMED:
	case HV_TAG_NOTE:
		v_reset(&d->v);
		good = v_utf8(&d->v, data.p, data.len);
		kv(d, "text");
		if (!good)
			kv_fmt(d, "malformed", "the text is not UTF-8");
		break;
	case HV_LOG_PAD_TAG: /* "padding" and zeros up to the page end */
		v_reset(&d->v);
		good = v_utf8(&d->v, data.p, strnlen((const char *)data.p, data.len));
		kv(d, "text");
		if (!good)
			kv_fmt(d, "malformed", "the text is not UTF-8");
		break;
	default:
		kv_hex(d, "data", data.p, data.len, HEX_MAX);
		break;
	}
	if (r->len - TAG_HDR > size)
		kv_fmt(d, "trailing", "0x%zx bytes after the tagged event", r->len - TAG_HDR - size);
}

static void dec_no_action(struct dec *d, const struct hv_rd *r)
{
	uint8_t locality;

	if (r->len >= NOTE_MAGIC_LEN && !memcmp(r->p, HV_NOTE_MAGIC, NOTE_MAGIC_LEN)) {
		bool good;
		v_reset(&d->v);
		good = v_utf8(&d->v, r->p + NOTE_MAGIC_LEN, r->len - NOTE_MAGIC_LEN);
		kv(d, "note");
		if (!good)
			kv_fmt(d, "malformed", "the note is not UTF-8");
	} else if (r->len == 17 && !memcmp(r->p, STARTUP_LOCALITY, 16) && hv_rd_u8(r, 16, &locality)) {
		kv_fmt(d, "startup_locality", "%u", locality);
	} else {
		kv_hex(d, "data", r->p, r->len, HEX_MAX);
	}
}

void hv_log_decode(const struct hv_log_event *ev, hv_log_kv_cb cb, void *ctx)
{
	static struct dec zero;
	struct dec d = zero;
	struct hv_rd r = hv_rd_make(ev->event, ev->event_size);
	uint64_t u64;
	bool nul;

	d.cb = cb;
	d.ctx = ctx;
	if (ev->is_header) {
		dec_spec_id(&d, &r);
		return;
	}
	switch (ev->type) {
	case EV_NO_ACTION:
		dec_no_action(&d, &r);
		break;
	case EV_SEPARATOR:
		kv_hex(&d, "value", r.p, r.len, HEX_MAX);
		break;
	case EV_S_CRTM_VERSION:
		v_reset(&d.v);
		if (v_utf16(&d.v, r.p, r.len, &nul) && nul)
			kv(&d, "version");
		else
			kv_hex(&d, "data", r.p, r.len, HEX_MAX);
		break;
	case EV_EFI_PLATFORM_FIRMWARE_BLOB:
		if (r.len == 16 && hv_rd_u64(&r, 0, &u64)) {
			kv_fmt(&d, "base", "0x%" PRIx64, u64);
			kv_fmt(&d, "length", "0x%" PRIx64, hv_le64(r.p + 8));
		} else {
			kv_fmt(&d, "malformed", "UEFI_PLATFORM_FIRMWARE_BLOB of %zu bytes, expected 16", r.len);
		}
		break;
	case EV_EFI_BOOT_SERVICES_APPLICATION:
	case EV_EFI_BOOT_SERVICES_DRIVER:
	case EV_EFI_RUNTIME_SERVICES_DRIVER:
		dec_image_load(&d, &r);
		break;
	case EV_EVENT_TAG:
		dec_tagged(&d, &r);
		break;
	case EV_ACTION:
	case 0x80000007: /* EV_EFI_ACTION */
		v_reset(&d.v);
		v_utf8(&d.v, r.p, r.len);
		kv(&d, "action");
		break;
	default:
		kv_hex(&d, "data", r.p, r.len, HEX_MAX);
		break;
	}
}
