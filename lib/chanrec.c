/*
 * chanrec.c: encoding and decoding of hvima channel records (chanrec.h,
 * docs/channel.md), and the stream decoder that finds them in the raw byte
 * stream of the channel port. Freestanding: no libc, no allocation; the
 * decoder's only memory is its fixed buffer of HV_REC_MAX bytes.
 */
#include "chanrec.h"

static const uint8_t magic[4] = {'H', 'V', 'F', 'R'};

/* Little-endian field offsets (chanrec.h). */
enum {
	O_MAGIC = 0, O_VERSION = 4, O_TYPE = 5, O_LENGTH = 6, O_SEQ = 8, O_PID = 12, O_SIZE = 16,
	O_ACCESS = 24, O_DECISION = 25, O_FLAGS = 26, O_PATH_LEN = 28, O_PROC_LEN = 30, O_SHA = 32
};

static uint16_t g16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t g32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void p16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void p32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static void copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
}

uint32_t hv_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* Well-formed UTF-8 (no overlong form, surrogate or code point past
 * U+10FFFF) without C0 controls, DEL or NUL. */
static bool text_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp, need, min;
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (need > n - i - 1)
			return false;
		for (uint32_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

int hv_rec_encode(const struct hv_rec *r, uint8_t *buf, size_t cap)
{
	size_t len;

	if (r->path_len > HV_REC_PATH_MAX || r->proc_len > HV_REC_PROC_MAX)
		return -1;
	if (r->access < 1 || r->access > HV_ACC_MAX || r->decision > HV_DEC_DENIED || (r->flags & ~HV_RECF_KNOWN))
		return -1;
	if (!text_ok((const uint8_t *)r->path, r->path_len) || !text_ok((const uint8_t *)r->proc, r->proc_len))
		return -1;
	len = HV_REC_MIN + (size_t)r->path_len + r->proc_len;
	if (len > cap)
		return -1;
	copy(buf + O_MAGIC, magic, 4);
	buf[O_VERSION] = HV_REC_VERSION;
	buf[O_TYPE] = HV_REC_TYPE_FILE;
	p16(buf + O_LENGTH, (uint16_t)len);
	p32(buf + O_SEQ, r->seq);
	p32(buf + O_PID, r->pid);
	p32(buf + O_SIZE, (uint32_t)r->size);
	p32(buf + O_SIZE + 4, (uint32_t)(r->size >> 32));
	buf[O_ACCESS] = r->access;
	buf[O_DECISION] = r->decision;
	p16(buf + O_FLAGS, r->flags);
	p16(buf + O_PATH_LEN, r->path_len);
	p16(buf + O_PROC_LEN, r->proc_len);
	copy(buf + O_SHA, r->sha256, 32);
	copy(buf + HV_REC_HDR, r->path, r->path_len);
	copy(buf + HV_REC_HDR + r->path_len, r->proc, r->proc_len);
	p32(buf + len - 4, hv_crc32(buf, len - 4));
	return (int)len;
}

/* The checks that need only the first 8 bytes. */
static const char *check_head(const uint8_t *b)
{
	uint16_t len = g16(b + O_LENGTH);
	if (b[O_VERSION] != HV_REC_VERSION)
		return "version: not 1";
	if (b[O_TYPE] != HV_REC_TYPE_FILE)
		return "type: not 1 (file access)";
	if (len < HV_REC_MIN || len > HV_REC_MAX)
		return "length: outside 68..2628";
	return 0;
}

int hv_rec_decode(const uint8_t *b, size_t len, struct hv_rec *r, const char **why)
{
	uint32_t pl, ql;

	*why = 0;
	if (len < HV_REC_MIN)
		*why = "record shorter than 68 bytes";
	else if (b[0] != magic[0] || b[1] != magic[1] || b[2] != magic[2] || b[3] != magic[3])
		*why = "magic: not HVFR";
	else if ((*why = check_head(b)))
		;
	else if (g16(b + O_LENGTH) != len)
		*why = "length: not the record's size";
	else if (g32(b + len - 4) != hv_crc32(b, len - 4))
		*why = "crc32: mismatch";
	if (*why)
		return -1;
	pl = g16(b + O_PATH_LEN);
	ql = g16(b + O_PROC_LEN);
	if (pl > HV_REC_PATH_MAX || ql > HV_REC_PROC_MAX || pl + ql != len - HV_REC_MIN) {
		*why = "path_len/proc_len: do not add up to the record's length";
		return -1;
	}
	r->seq = g32(b + O_SEQ);
	r->pid = g32(b + O_PID);
	r->size = g32(b + O_SIZE) | (uint64_t)g32(b + O_SIZE + 4) << 32;
	r->access = b[O_ACCESS];
	r->decision = b[O_DECISION];
	r->flags = g16(b + O_FLAGS);
	if (r->seq == 0)
		*why = "seq: 0 (sequence numbers start at 1)";
	else if (r->access < 1 || r->access > HV_ACC_MAX)
		*why = "access: unknown value";
	else if (r->decision > HV_DEC_DENIED)
		*why = "decision: unknown value";
	else if (r->flags & ~HV_RECF_KNOWN)
		*why = "flags: unknown bits set";
	else if (!text_ok(b + HV_REC_HDR, pl))
		*why = "path: not UTF-8 text without control characters";
	else if (!text_ok(b + HV_REC_HDR + pl, ql))
		*why = "process name: not UTF-8 text without control characters";
	if (*why)
		return -1;
	copy(r->sha256, b + O_SHA, 32);
	r->path_len = (uint16_t)pl;
	r->proc_len = (uint16_t)ql;
	copy(r->path, b + HV_REC_HDR, pl);
	r->path[pl] = 0;
	copy(r->proc, b + HV_REC_HDR + pl, ql);
	r->proc[ql] = 0;
	return 0;
}

const char *hv_rec_access_name(unsigned a)
{
	static const char *const names[] = {"?", "execute", "map", "read", "write", "rename", "delete"};
	return a <= HV_ACC_MAX ? names[a] : "?";
}

/* ---- the stream decoder ------------------------------------------------- */

void hv_rx_init(struct hv_rx *rx)
{
	uint8_t *p = (uint8_t *)rx;
	for (size_t i = 0; i < sizeof(*rx); i++)
		p[i] = 0;
}

static void flush_junk(struct hv_rx *rx, hv_rx_cb cb, void *ctx)
{
	struct hv_rx_event ev = {0};
	if (!rx->junk)
		return;
	ev.kind = HV_RX_MALFORMED;
	ev.offset = rx->junk_off;
	ev.why = rx->junk_why;
	ev.skipped = rx->junk;
	rx->malformed++;
	rx->junk = 0;
	cb(ctx, &ev);
}

/* buf[0] is not the start of a record: drop it and rescan from buf[1]. */
static void drop1(struct hv_rx *rx, const char *why, hv_rx_cb cb, void *ctx)
{
	if (!rx->junk) {
		rx->junk_off = rx->off;
		rx->junk_why = why;
	}
	rx->junk++;
	rx->off++;
	rx->n--;
	for (uint32_t i = 0; i < rx->n; i++)
		rx->buf[i] = rx->buf[i + 1];
	if (rx->junk >= HV_REC_MAX) /* a long run of junk is reported as it goes */
		flush_junk(rx, cb, ctx);
}

static void emit(struct hv_rx *rx, uint32_t len, hv_rx_cb cb, void *ctx)
{
	struct hv_rx_event ev = {0};

	flush_junk(rx, cb, ctx);
	ev.kind = HV_RX_RECORD;
	ev.offset = rx->off;
	ev.rec = &rx->rec;
	ev.expected = rx->last_seq + 1;
	if (rx->rec.seq == 1 && rx->last_seq)
		ev.restart = true, ev.expected = 1;
	else if (rx->rec.seq > ev.expected)
		ev.missing = rx->rec.seq - ev.expected;
	rx->missing += ev.missing;
	rx->last_seq = rx->rec.seq;
	rx->records++;
	cb(ctx, &ev);
	rx->off += len;
	rx->n -= len;
	for (uint32_t i = 0; i < rx->n; i++)
		rx->buf[i] = rx->buf[i + len];
}

/* Consume what the buffer holds; leaves at most an unfinished record. */
static void process(struct hv_rx *rx, hv_rx_cb cb, void *ctx)
{
	const char *why;

	while (rx->n) {
		uint32_t k = rx->n < 4 ? rx->n : 4, len;
		bool m = true;
		for (uint32_t i = 0; i < k; i++)
			m = m && rx->buf[i] == magic[i];
		if (!m) {
			drop1(rx, "bytes outside any record (no HVFR magic)", cb, ctx);
			continue;
		}
		if (rx->n < 8)
			return;
		if ((why = check_head(rx->buf))) {
			drop1(rx, why, cb, ctx);
			continue;
		}
		len = g16(rx->buf + O_LENGTH);
		if (rx->n < len)
			return;
		if (hv_rec_decode(rx->buf, len, &rx->rec, &why)) {
			drop1(rx, why, cb, ctx);
			continue;
		}
		emit(rx, len, cb, ctx);
	}
}

void hv_rx_feed(struct hv_rx *rx, const uint8_t *p, size_t n, hv_rx_cb cb, void *ctx)
{
	/* After process() the buffer holds less than one record: room for a byte. */
	for (size_t i = 0; i < n; i++) {
		rx->buf[rx->n++] = p[i];
		process(rx, cb, ctx);
	}
}

void hv_rx_end(struct hv_rx *rx, hv_rx_cb cb, void *ctx)
{
	if (rx->n) {
		if (!rx->junk) {
			rx->junk_off = rx->off;
			rx->junk_why = "stream ends inside a record (truncated)";
		}
		rx->junk += rx->n;
		rx->off += rx->n;
		rx->n = 0;
	}
	flush_junk(rx, cb, ctx);
}
