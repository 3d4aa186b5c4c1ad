/*
 * rd.h: the one bounded reader for untrusted bytes.
 *
 * A reader is a span [p, p + len). Every access names an offset and a width
 * and fails (returns false, leaves *v alone) unless the whole access lies in
 * the span. Checks subtract from the length; they never add an untrusted
 * offset to a pointer first. Values are little-endian, as in PE/COFF and the
 * TCG logs.
 */
#ifndef HVIMA_RD_H
#define HVIMA_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_rd {
	const uint8_t *p;
	size_t len;
};

static inline struct hv_rd hv_rd_make(const void *p, size_t len)
{
	struct hv_rd r = {(const uint8_t *)p, p ? len : 0};
	return r;
}

/* True if [off, off + n) lies within the span. */
static inline bool hv_rd_has(const struct hv_rd *r, uint64_t off, uint64_t n)
{
	return off <= r->len && n <= r->len - off;
}

/* Pointer to [off, off + n), or NULL if it does not fit. */
static inline const uint8_t *hv_rd_ptr(const struct hv_rd *r, uint64_t off, uint64_t n)
{
	return hv_rd_has(r, off, n) ? r->p + off : NULL;
}

/* The sub-span [off, off + n); false if it does not fit. */
static inline bool hv_rd_sub(const struct hv_rd *r, uint64_t off, uint64_t n, struct hv_rd *out)
{
	if (!hv_rd_has(r, off, n))
		return false;
	out->p = r->p + off;
	out->len = (size_t)n;
	return true;
}

static inline uint16_t hv_le16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static inline uint32_t hv_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t hv_le64(const uint8_t *b) { return hv_le32(b) | (uint64_t)hv_le32(b + 4) << 32; }

static inline void hv_put_le16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static inline void hv_put_le32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline void hv_put_le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline bool hv_rd_u8(const struct hv_rd *r, uint64_t off, uint8_t *v)
{
	const uint8_t *b = hv_rd_ptr(r, off, 1);
	return b ? (*v = b[0], true) : false;
}
static inline bool hv_rd_u16(const struct hv_rd *r, uint64_t off, uint16_t *v)
{
	const uint8_t *b = hv_rd_ptr(r, off, 2);
	return b ? (*v = hv_le16(b), true) : false;
}
static inline bool hv_rd_u32(const struct hv_rd *r, uint64_t off, uint32_t *v)
{
	const uint8_t *b = hv_rd_ptr(r, off, 4);
	return b ? (*v = hv_le32(b), true) : false;
}
static inline bool hv_rd_u64(const struct hv_rd *r, uint64_t off, uint64_t *v)
{
	const uint8_t *b = hv_rd_ptr(r, off, 8);
	return b ? (*v = hv_le64(b), true) : false;
}

#endif
