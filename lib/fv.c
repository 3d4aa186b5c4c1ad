/*
 * fv.c: the images of a UEFI firmware file (PI specification, volume 3:
 * firmware volumes, FFS files, file sections). A walker descends from each
 * volume into its files and from each file into its sections, through
 * GUID-defined sections (LZMA, EDK2's ee4e5898-3914-4259-9d6e-dc7bd79403cf,
 * decoded with liblzma; sections that need no processing, e.g. CRC32, read
 * in place), compression sections of type "not compressed", and FV image
 * sections (nested volumes). For each file it collects the UI name and the
 * PE32 and TE sections, then hands each image section to the callback.
 *
 * Every length comes from the file and is checked against its container by
 * subtraction (rd.h). Caps (caps.h): nesting depth over volumes and
 * encapsulations, files per volume, sections per file, and bytes decoded per
 * firmware file in all, with the LZMA decoder's own memory limit. An error
 * names where it is: the offset in the firmware file, or for bytes inside
 * a decoded section, that section's offset and the offset after decoding.
 */
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv.h"

#define FVH_FVLENGTH 32
#define FVH_SIGNATURE 40
#define FVH_ATTRIBUTES 44
#define FVH_HEADERLENGTH 48
#define FVH_EXTHEADEROFFSET 52
#define FVH_MIN 56
#define FVB2_ERASE_POLARITY 0x800u

#define FFS_HDR 24
#define FFS_HDR2 32
#define FFS_ATTRIB_LARGE_FILE 0x01
#define FFS_TYPE_RAW 0x01
#define FFS_TYPE_PAD 0xf0
#define FFS_STATE_DATA_VALID 0x04
#define FFS_STATE_DELETED 0x10

#define SEC_COMPRESSION 0x01
#define SEC_GUID_DEFINED 0x02
#define SEC_DISPOSABLE 0x03
#define SEC_PE32 0x10
#define SEC_TE 0x12
#define SEC_UI 0x15
#define SEC_FV_IMAGE 0x17
#define GUIDED_PROCESSING_REQUIRED 0x01

#define MAX_IMAGES_PER_FILE 64

static const uint8_t lzma_guid[16] = {0x98, 0x58, 0x4e, 0xee, 0x14, 0x39, 0x59, 0x42,
				      0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf};

/* The walk's state over one firmware file. */
struct fvw {
	hv_mf_cb cb;
	void *ctx;
	hv_why *why;
	uint64_t decoded; /* bytes decoded so far (HV_CAP_FV_DECOMPRESSED) */
};

/* Where a span lives, for messages: "" for the firmware file itself, else
 * "in LZMA section at 0x..., " prefixes. */
struct loc {
	char s[160];
};

/* One FFS file being collected. */
struct ffile {
	const uint8_t *guid;
	char fvguid[37];
	char ui[HV_CAP_NAME + 1];
	struct hv_rd img[MAX_IMAGES_PER_FILE];
	unsigned nimg;
	unsigned nsections;
	void *bufs[HV_CAP_FV_DEPTH * 4]; /* decoded buffers, freed with the file */
	unsigned nbufs;
};

static int walk_fv(struct fvw *w, struct hv_rd fv, uint64_t base, const struct loc *where, unsigned depth);

static bool fv_header_ok(const struct hv_rd *r, uint64_t off)
{
	uint16_t hl, sum = 0;
	uint64_t fvlen;
	uint32_t sig;

	if (!hv_rd_u32(r, off + FVH_SIGNATURE, &sig) || sig != 0x4856465f /* "_FVH" */)
		return false;
	if (!hv_rd_u16(r, off + FVH_HEADERLENGTH, &hl) || !hv_rd_u64(r, off + FVH_FVLENGTH, &fvlen))
		return false;
	if (hl < FVH_MIN || (hl & 1) || !hv_rd_has(r, off, hl) || fvlen < hl)
		return false;
	for (uint32_t i = 0; i < hl; i += 2)
		sum = (uint16_t)(sum + hv_le16(r->p + off + i));
	return sum == 0;
}

bool hv_fv_detect(const uint8_t *buf, size_t len)
{
	struct hv_rd r = hv_rd_make(buf, len);
	for (uint64_t off = 0; off + FVH_MIN <= len; off += 8)
		if (fv_header_ok(&r, off))
			return true;
	return false;
}

static void ui_name(const struct hv_rd *s, char *out, size_t outlen)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < s->len && n + 1 < outlen; i += 2) {
		uint16_t c = hv_le16(s->p + i);
		if (!c)
			break;
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

/* Decode the LZMA ("alone" format, EDK2 LzmaCompress) data of a section. */
static int lzma_decode(struct fvw *w, const struct hv_rd *in, uint64_t off, const struct loc *where, uint8_t **out,
		       size_t *outlen)
{
	lzma_stream st = LZMA_STREAM_INIT;
	uint64_t size;
	lzma_ret ret;
	uint8_t *buf;

	if (!hv_rd_u64(in, 5, &size))
		return hv_fail(w->why, HV_E_TRUNCATED, "%sLZMA section at 0x%llx: %zu bytes, shorter than its header",
			       where->s, (unsigned long long)off, in->len);
	if (size == UINT64_MAX || size > HV_CAP_FV_DECOMPRESSED - w->decoded)
		return hv_fail(w->why, HV_E_CAP,
			       "%sLZMA section at 0x%llx: uncompressed size 0x%llx exceeds the 0x%llx bytes left to decode",
			       where->s, (unsigned long long)off, (unsigned long long)size,
			       (unsigned long long)(HV_CAP_FV_DECOMPRESSED - w->decoded));
	buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return hv_fail(w->why, HV_E_NOMEM, "LZMA section at 0x%llx: out of memory", (unsigned long long)off);
	if (lzma_alone_decoder(&st, HV_CAP_LZMA_MEMLIMIT) != LZMA_OK) {
		free(buf);
		return hv_fail(w->why, HV_E_NOMEM, "LZMA decoder setup failed");
	}
	st.next_in = in->p;
	st.avail_in = in->len;
	st.next_out = buf;
	st.avail_out = (size_t)size;
	ret = lzma_code(&st, LZMA_FINISH);
	lzma_end(&st);
	if (ret != LZMA_STREAM_END || st.total_out != size) {
		free(buf);
		return hv_fail(w->why, ret == LZMA_MEMLIMIT_ERROR ? HV_E_CAP : HV_E_FORMAT,
			       "%sLZMA section at 0x%llx: %s after 0x%llx of 0x%llx bytes", where->s,
			       (unsigned long long)off,
			       ret == LZMA_MEMLIMIT_ERROR ? "decoder needs more memory than the limit"
			       : ret == LZMA_OK || ret == LZMA_BUF_ERROR ? "data ends early"
									 : "corrupt data",
			       (unsigned long long)st.total_out, (unsigned long long)size);
	}
	w->decoded += size;
	*out = buf;
	*outlen = (size_t)size;
	return HV_OK;
}

static int walk_sections(struct fvw *w, struct ffile *f, struct hv_rd r, uint64_t base, const struct loc *where,
			 unsigned depth);

/* A GUID-defined section: decode it (LZMA), or read its data in place when
 * it needs no processing. */
static int guided(struct fvw *w, struct ffile *f, const struct hv_rd *s, uint32_t hsz, uint64_t off,
		  const struct loc *where, unsigned depth)
{
	uint16_t data_off, attr;
	const uint8_t *g = hv_rd_ptr(s, hsz, 16);
	struct hv_rd data;
	char gs[37];

	if (!g || !hv_rd_u16(s, hsz + 16, &data_off) || !hv_rd_u16(s, hsz + 18, &attr))
		return hv_fail(w->why, HV_E_TRUNCATED, "%sGUID-defined section at 0x%llx: header truncated", where->s,
			       (unsigned long long)off);
	if (data_off < hsz + 20 || !hv_rd_sub(s, data_off, s->len - data_off, &data))
		return hv_fail(w->why, HV_E_RANGE, "%sGUID-defined section at 0x%llx: DataOffset 0x%x outside [0x%x, 0x%zx]",
			       where->s, (unsigned long long)off, data_off, hsz + 20, s->len);
	if (!memcmp(g, lzma_guid, 16)) {
		struct loc in;
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc;

		if (f->nbufs >= sizeof(f->bufs) / sizeof(f->bufs[0]))
			return hv_fail(w->why, HV_E_CAP, "%sLZMA section at 0x%llx: too many decoded sections in one file",
				       where->s, (unsigned long long)off);
		rc = lzma_decode(w, &data, off, where, &buf, &len);
		if (rc)
			return rc;
		f->bufs[f->nbufs++] = buf;
		snprintf(in.s, sizeof(in.s), "%.100sin LZMA section at 0x%llx, ", where->s, (unsigned long long)off);
		return walk_sections(w, f, hv_rd_make(buf, len), 0, &in, depth + 1);
	}
	if (!(attr & GUIDED_PROCESSING_REQUIRED))
		return walk_sections(w, f, data, off + data_off, where, depth + 1);
	return hv_fail(w->why, HV_E_UNSUPPORTED, "%sGUID-defined section at 0x%llx: encoding %s is not supported",
		       where->s, (unsigned long long)off, hv_guid_str(g, gs));
}

static int one_section(struct fvw *w, struct ffile *f, uint8_t type, const struct hv_rd *s, uint32_t hsz,
		       uint64_t off, const struct loc *where, unsigned depth)
{
	struct hv_rd data;

	hv_rd_sub(s, hsz, s->len - hsz, &data);
	switch (type) {
	case SEC_PE32:
	case SEC_TE:
		if (f->nimg >= MAX_IMAGES_PER_FILE)
			return hv_fail(w->why, HV_E_CAP, "%ssection at 0x%llx: more than %u image sections in one file",
				       where->s, (unsigned long long)off, MAX_IMAGES_PER_FILE);
		f->img[f->nimg++] = data;
		return HV_OK;
	case SEC_UI:
		if (!f->ui[0])
			ui_name(&data, f->ui, sizeof(f->ui));
		return HV_OK;
	case SEC_GUID_DEFINED:
		return guided(w, f, s, hsz, off, where, depth);
	case SEC_COMPRESSION: {
		uint8_t ctype;
		if (!hv_rd_u8(&data, 4, &ctype))
			return hv_fail(w->why, HV_E_TRUNCATED, "%scompression section at 0x%llx: header truncated", where->s,
				       (unsigned long long)off);
		if (ctype != 0)
			return hv_fail(w->why, HV_E_UNSUPPORTED,
				       "%scompression section at 0x%llx: compression type %u is not supported", where->s,
				       (unsigned long long)off, ctype);
		hv_rd_sub(&data, 5, data.len - 5, &data);
		return walk_sections(w, f, data, off + hsz + 5, where, depth + 1);
	}
	case SEC_DISPOSABLE:
		return walk_sections(w, f, data, off + hsz, where, depth + 1);
	case SEC_FV_IMAGE:
		return walk_fv(w, data, off + hsz, where, depth + 1);
	default:
		return HV_OK;
	}
}

/* The sections of [r] (a file's data or an encapsulation's), 4-byte aligned;
 * base is the offset of r's first byte in its buffer. */
static int walk_sections(struct fvw *w, struct ffile *f, struct hv_rd r, uint64_t base, const struct loc *where,
			 unsigned depth)
{
	uint64_t i = 0;

	if (depth > HV_CAP_FV_DEPTH)
		return hv_fail(w->why, HV_E_CAP, "%ssections at 0x%llx: nested deeper than %u", where->s,
			       (unsigned long long)base, HV_CAP_FV_DEPTH);
	while (i + 4 <= r.len) {
		uint32_t size = hv_le32(r.p + i) & 0xffffff, hsz = 4, ext;
		uint8_t type = r.p[i + 3];
		struct hv_rd s;
		int rc;

		if (size == 0xffffff) {
			if (!hv_rd_u32(&r, i + 4, &ext))
				return hv_fail(w->why, HV_E_TRUNCATED, "%ssection at 0x%llx: extended header truncated",
					       where->s, (unsigned long long)(base + i));
			size = ext;
			hsz = 8;
		}
		if (size < hsz || !hv_rd_sub(&r, i, size, &s))
			return hv_fail(w->why, HV_E_RANGE,
				       "%ssection at 0x%llx: size 0x%x is below its header or runs past its container (0x%llx bytes left)",
				       where->s, (unsigned long long)(base + i), size, (unsigned long long)(r.len - i));
		if (++f->nsections > HV_CAP_FV_SECTIONS)
			return hv_fail(w->why, HV_E_CAP, "%ssection at 0x%llx: more than %u sections in one file", where->s,
				       (unsigned long long)(base + i), HV_CAP_FV_SECTIONS);
		rc = one_section(w, f, type, &s, hsz, base + i, where, depth);
		if (rc)
			return rc;
		i += ((uint64_t)size + 3) & ~3ull;
	}
	return HV_OK;
}

static int emit_file(struct fvw *w, struct ffile *f)
{
	char path[HV_MF_PATH], fg[37];
	int rc = HV_OK;

	for (unsigned k = 0; k < f->nimg && !rc; k++) {
		struct hv_mf_cand c = {.path = path, .name = f->ui, .guid = f->guid, .buf = f->img[k].p, .len = f->img[k].len};
		if (f->nimg > 1)
			snprintf(path, sizeof(path), "FV:%s/%s/%u", f->fvguid, hv_guid_str(f->guid, fg), k + 1);
		else
			snprintf(path, sizeof(path), "FV:%s/%s", f->fvguid, hv_guid_str(f->guid, fg));
		rc = w->cb(w->ctx, &c);
	}
	return rc;
}

static int walk_file(struct fvw *w, const struct hv_rd *file, uint32_t hsz, uint8_t type, const char *fvguid,
		     uint64_t off, const struct loc *where, unsigned depth)
{
	struct ffile *f;
	struct hv_rd data;
	int rc;

	if (type == FFS_TYPE_RAW || type == FFS_TYPE_PAD || type >= 0xc0)
		return HV_OK;
	f = calloc(1, sizeof(*f));
	if (!f)
		return hv_fail(w->why, HV_E_NOMEM, "out of memory");
	f->guid = file->p;
	memcpy(f->fvguid, fvguid, sizeof(f->fvguid));
	hv_rd_sub(file, hsz, file->len - hsz, &data);
	rc = walk_sections(w, f, data, off + hsz, where, depth + 1);
	if (!rc)
		rc = emit_file(w, f);
	for (unsigned k = 0; k < f->nbufs; k++)
		free(f->bufs[k]);
	free(f);
	return rc;
}

/* The files of the volume fv (checked header), 8-byte aligned. */
static int walk_fv(struct fvw *w, struct hv_rd fv, uint64_t base, const struct loc *where, unsigned depth)
{
	uint16_t hl = 0, ext_off = 0;
	uint32_t attr = 0, ext_size = 0, nfiles = 0;
	uint64_t fvlen = 0, i;
	uint8_t erase;
	char fvguid[37];

	if (depth > HV_CAP_FV_DEPTH)
		return hv_fail(w->why, HV_E_CAP, "%sfirmware volume at 0x%llx: nested deeper than %u", where->s,
			       (unsigned long long)base, HV_CAP_FV_DEPTH);
	if (!fv_header_ok(&fv, 0))
		return hv_fail(w->why, HV_E_FORMAT, "%sfirmware volume at 0x%llx: no valid volume header", where->s,
			       (unsigned long long)base);
	hv_rd_u64(&fv, FVH_FVLENGTH, &fvlen);
	hv_rd_u16(&fv, FVH_HEADERLENGTH, &hl);
	hv_rd_u32(&fv, FVH_ATTRIBUTES, &attr);
	hv_rd_u16(&fv, FVH_EXTHEADEROFFSET, &ext_off);
	if (fvlen > fv.len)
		return hv_fail(w->why, HV_E_TRUNCATED, "%sfirmware volume at 0x%llx: FvLength 0x%llx exceeds the 0x%zx bytes left",
			       where->s, (unsigned long long)base, (unsigned long long)fvlen, fv.len);
	fv.len = (size_t)fvlen;
	erase = attr & FVB2_ERASE_POLARITY ? 0xff : 0;
	hv_guid_str(fv.p + 16, fvguid); /* FileSystemGuid, unless the volume has a name */
	i = hl;
	if (ext_off) {
		if (ext_off < hl || !hv_rd_u32(&fv, (uint64_t)ext_off + 16, &ext_size) || ext_size < 20 ||
		    !hv_rd_has(&fv, ext_off, ext_size))
			return hv_fail(w->why, HV_E_RANGE, "%sfirmware volume at 0x%llx: extended header at 0x%x is malformed",
				       where->s, (unsigned long long)base, ext_off);
		hv_guid_str(fv.p + ext_off, fvguid);
		i = (uint64_t)ext_off + ext_size;
	}
	for (i = (i + 7) & ~7ull; i + FFS_HDR <= fv.len; i = (i + 7) & ~7ull) {
		uint32_t size = hv_le32(fv.p + i + 20) & 0xffffff, hsz = FFS_HDR;
		uint8_t type = fv.p[i + 18], fattr = fv.p[i + 19], state = fv.p[i + 23] ^ erase;
		struct hv_rd file;
		uint64_t fsize = size;
		bool blank = true;
		int rc;

		for (unsigned k = 0; k < FFS_HDR && blank; k++)
			blank = fv.p[i + k] == erase;
		if (blank)
			break; /* free space */
		if (fattr & FFS_ATTRIB_LARGE_FILE) {
			if (!hv_rd_u64(&fv, i + FFS_HDR, &fsize))
				return hv_fail(w->why, HV_E_TRUNCATED, "%sfile at 0x%llx: extended header truncated", where->s,
					       (unsigned long long)(base + i));
			hsz = FFS_HDR2;
		}
		if (fsize < hsz || !hv_rd_sub(&fv, i, fsize, &file))
			return hv_fail(w->why, HV_E_RANGE,
				       "%sfile at 0x%llx: size 0x%llx is below its header or runs past the volume (0x%llx bytes left)",
				       where->s, (unsigned long long)(base + i), (unsigned long long)fsize,
				       (unsigned long long)(fv.len - i));
		if (++nfiles > HV_CAP_FV_FILES)
			return hv_fail(w->why, HV_E_CAP, "%sfirmware volume at 0x%llx: more than %u files", where->s,
				       (unsigned long long)base, HV_CAP_FV_FILES);
		if ((state & FFS_STATE_DATA_VALID) && !(state & FFS_STATE_DELETED)) {
			rc = walk_file(w, &file, hsz, type, fvguid, base + i, where, depth);
			if (rc)
				return rc;
		}
		i += fsize;
	}
	return HV_OK;
}

int hv_fv_walk(const uint8_t *buf, size_t len, hv_mf_cb cb, void *ctx, hv_why *why)
{
	struct fvw w = {cb, ctx, why, 0};
	struct hv_rd r = hv_rd_make(buf, len);
	struct loc top = {""};
	unsigned nfv = 0;

	for (uint64_t off = 0; off + FVH_MIN <= len;) {
		struct hv_rd fv;
		int rc;

		if (!fv_header_ok(&r, off)) {
			off += 8;
			continue;
		}
		hv_rd_sub(&r, off, len - off, &fv);
		rc = walk_fv(&w, fv, off, &top, 0);
		if (rc)
			return rc;
		nfv++;
		off += (hv_le64(r.p + off + FVH_FVLENGTH) + 7) & ~7ull;
	}
	if (!nfv)
		return hv_fail(why, HV_E_FORMAT, "no firmware volume (\"_FVH\" header with a valid checksum) in 0x%zx bytes",
			       len);
	return HV_OK;
}
