/*
 * tcglog.c: the TCG PC Client crypto-agile event log: the append-only
 * writer, the walker for hostile logs, and the PCR replay.
 *
 * Contract. Writer: every record is assembled in one buffer and handed to
 * one write() on an O_APPEND file, kept inside one page of the file by
 * padding records (tcglog.h), so the file only ever grows by whole records
 * even when the process is killed (a failed write is cut back). Walker: every length
 * is checked against the bytes left before it is read, every count against
 * the Spec ID header and the caps of tcglog.h; an error names the record
 * (index, byte offset) and, for a cut log, the last complete record. Each
 * complete record is handed to the callback before the walk goes on, so a
 * printer shows everything up to the fault. References: TCG PC Client
 * Platform Firmware Profile 1.05, section 10 (Event Logging): 10.2.1
 * TCG_PCClientPCREvent, 10.2.2 TCG_PCR_EVENT2, 10.4.5.1 TCG_EfiSpecIdEvent.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcglog.h"

/* TCG_PCClientPCREvent (the SHA-1 format header record). */
#define HDR_PCR 0
#define HDR_TYPE 4
#define HDR_DIGEST 8
#define HDR_EVENT_SIZE 28
#define HDR_EVENT 32
/* TCG_EfiSpecIdEvent, relative to the start of the header's event data. */
#define SPEC_SIGNATURE 0
#define SPEC_PLATFORM_CLASS 16
#define SPEC_VERSION_MINOR 20
#define SPEC_VERSION_MAJOR 21
#define SPEC_ERRATA 22
#define SPEC_UINTN_SIZE 23
#define SPEC_NALGS 24
#define SPEC_ALGS 28 /* {u16 algorithmId, u16 digestSize}[n], then u8 vendorInfoSize */
#define SPEC_SIGNATURE_03 "Spec ID Event03" /* with its NUL: 16 bytes */
#define SHA1_SIZE 20

/* Digest sizes of the algorithms of the TCG Algorithm Registry a log may
 * carry. A listed id with another size is an error; an unlisted id is
 * walked with the size the header gives it. */
static const struct {
	uint16_t id;
	uint16_t size;
	const char *name;
} known_algs[] = {
	{0x0004, 20, "sha1"},	  {0x000b, 32, "sha256"},   {0x000c, 48, "sha384"},   {0x000d, 64, "sha512"},
	{0x0012, 32, "sm3_256"},  {0x0027, 32, "sha3_256"}, {0x0028, 48, "sha3_384"}, {0x0029, 64, "sha3_512"},
};

const char *hv_log_alg_name(uint16_t alg_id)
{
	for (size_t i = 0; i < sizeof(known_algs) / sizeof(known_algs[0]); i++)
		if (known_algs[i].id == alg_id)
			return known_algs[i].name;
	return NULL;
}

static int known_alg_size(uint16_t alg_id)
{
	for (size_t i = 0; i < sizeof(known_algs) / sizeof(known_algs[0]); i++)
		if (known_algs[i].id == alg_id)
			return known_algs[i].size;
	return -1;
}

/* ---- Writer ----------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Write one whole record; on failure cut the file back to the end of the
 * previous record, so that the log stays a sequence of whole records. */
static int write_record(struct hv_log_writer *w, const uint8_t *rec, size_t n, hv_why *why)
{
	int err = write_all(w->fd, rec, n);
	if (err) {
		int cut = ftruncate(w->fd, (off_t)w->bytes);
		return hv_fail(why, HV_E_RANGE, "event log: writing record %" PRIu64 " (%zu bytes) failed: %s%s", w->events,
			       n, strerror(-err), cut ? "; could not cut the partial record off" : "");
	}
	w->bytes += n;
	w->events++;
	return HV_OK;
}

static unsigned nbits(unsigned m)
{
	unsigned n = 0;
	for (; m; m &= m - 1)
		n++;
	return n;
}

/* Size of a record of banks algs without its event data. */
static size_t record_fixed(unsigned algs)
{
	size_t n = 12 + 4; /* pcrIndex, eventType, digest count; eventSize */
	for (int a = 0; a < HV_NALGS; a++)
		if (algs & HV_ALG_BIT(a))
			n += 2 + hv_alg_size(a);
	return n;
}

/* One TCG_PCR_EVENT2 of the writer's banks into rec (record_fixed() +
 * event_size bytes); d NULL for all-zero digests. */
static void put_record(const struct hv_log_writer *w, uint8_t *rec, uint32_t pcr, uint32_t type,
		       const struct hv_digests *d, const void *event, uint32_t event_size)
{
	size_t off = 12;

	hv_put_le32(rec, pcr);
	hv_put_le32(rec + 4, type);
	hv_put_le32(rec + 8, nbits(w->algs));
	for (int a = 0; a < HV_NALGS; a++) {
		if (!(w->algs & HV_ALG_BIT(a)))
			continue;
		hv_put_le16(rec + off, hv_alg_tpm_id(a));
		if (d)
			memcpy(rec + off + 2, d->d[a], hv_alg_size(a));
		else
			memset(rec + off + 2, 0, hv_alg_size(a));
		off += 2 + hv_alg_size(a);
	}
	hv_put_le32(rec + off, event_size);
	if (event_size)
		memcpy(rec + off + 4, event, event_size);
}

/* Before a record of n bytes: if it would cross a page boundary of the
 * file, fill the page with a padding record, so that the record starts a
 * page (tcglog.h explains why). Invariant: the room left in the current
 * page is 0 or enough for a padding record; records too large to keep it
 * are written as they come. */
static int pad_before(struct hv_log_writer *w, size_t n, hv_why *why)
{
	size_t fixed = record_fixed(w->algs), minpad = fixed + 8 + sizeof(HV_LOG_PAD_TEXT) - 1;
	size_t room = w->page - (size_t)(w->bytes % w->page);
	struct hv_digests d;
	struct hv_mh h;
	uint8_t *rec, *data;
	uint32_t dlen;
	int rc;

	if (n + minpad > w->page || n == room || (n < room && room - n >= minpad) || room < minpad)
		return HV_OK;
	rec = calloc(1, room);
	if (!rec)
		return hv_fail(why, HV_E_NOMEM, "event log: no memory for a padding record of %zu bytes", room);
	dlen = (uint32_t)(room - fixed);
	data = rec + fixed;
	hv_put_le32(data, HV_LOG_PAD_TAG);
	hv_put_le32(data + 4, dlen - 8);
	memcpy(data + 8, HV_LOG_PAD_TEXT, sizeof(HV_LOG_PAD_TEXT) - 1); /* the rest stays zero */
	if (hv_mh_init(&h, w->algs) || hv_mh_update(&h, data, dlen) || hv_mh_final(&h, &d)) {
		free(rec);
		return hv_fail(why, HV_E_CRYPTO, "event log: cannot digest a padding record");
	}
	put_record(w, rec, HV_LOG_PAD_PCR, EV_EVENT_TAG, &d, NULL, 0);
	hv_put_le32(rec + fixed - 4, dlen);
	rc = write_record(w, rec, room, why);
	free(rec);
	if (rc == HV_OK && w->pad_cb)
		w->pad_cb(w->pad_ctx, HV_LOG_PAD_PCR, &d);
	return rc;
}

int hv_log_is_padding(const struct hv_log_event *ev)
{
	return !ev->is_header && ev->type == EV_EVENT_TAG && ev->pcr == HV_LOG_PAD_PCR && ev->event_size >= 15 &&
	       hv_le32(ev->event) == HV_LOG_PAD_TAG && !memcmp(ev->event + 8, HV_LOG_PAD_TEXT, 7);
}

int hv_log_create(struct hv_log_writer *w, const char *path, unsigned algs, hv_why *why)
{
	uint8_t rec[HDR_EVENT + SPEC_ALGS + 4 * HV_NALGS + 1];
	char tmp[4096];
	size_t spec_size = SPEC_ALGS + 4 * (size_t)nbits(algs) + 1, off;
	int rc;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (!algs || (algs & ~HV_ALGS_ALL))
		return hv_fail(why, HV_E_UNSUPPORTED, "event log: bank mask 0x%x: expected a non-empty set of sha1, sha256, sha384",
			       algs);
	long page = sysconf(_SC_PAGESIZE);
	w->page = page >= 4096 && page <= (1l << 20) ? (uint32_t)page : 4096;
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return hv_fail(why, HV_E_RANGE, "event log: path too long: %s", path);
	w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return hv_fail(why, HV_E_RANGE, "event log: cannot create %s: %s", tmp, strerror(errno));
	w->algs = algs;

	memset(rec, 0, sizeof(rec));
	hv_put_le32(rec + HDR_PCR, 0);
	hv_put_le32(rec + HDR_TYPE, EV_NO_ACTION);
	hv_put_le32(rec + HDR_EVENT_SIZE, (uint32_t)spec_size);
	uint8_t *spec = rec + HDR_EVENT;
	memcpy(spec + SPEC_SIGNATURE, SPEC_SIGNATURE_03, 16);
	hv_put_le32(spec + SPEC_PLATFORM_CLASS, 0); /* client */
	spec[SPEC_VERSION_MINOR] = 0;
	spec[SPEC_VERSION_MAJOR] = 2;
	spec[SPEC_ERRATA] = 0;
	spec[SPEC_UINTN_SIZE] = 2; /* UINTN is 64 bits */
	hv_put_le32(spec + SPEC_NALGS, nbits(algs));
	off = SPEC_ALGS;
	for (int a = 0; a < HV_NALGS; a++) {
		if (!(algs & HV_ALG_BIT(a)))
			continue;
		hv_put_le16(spec + off, hv_alg_tpm_id(a));
		hv_put_le16(spec + off + 2, (uint16_t)hv_alg_size(a));
		off += 4;
	}
	spec[off] = 0; /* vendorInfoSize */
	rc = write_record(w, rec, HDR_EVENT + spec_size, why);
	if (!rc && rename(tmp, path) < 0)
		rc = hv_fail(why, HV_E_RANGE, "event log: cannot rename %s to %s: %s", tmp, path, strerror(errno));
	if (rc) {
		hv_log_close(w);
		unlink(tmp);
		return rc;
	}
	return HV_OK;
}

int hv_log_append(struct hv_log_writer *w, uint32_t pcr, uint32_t type, const struct hv_digests *d,
		  const void *event, uint32_t event_size, hv_why *why)
{
	size_t n = record_fixed(w->algs) + event_size;
	uint8_t *rec;
	int rc;

	if (w->fd < 0)
		return hv_fail(why, HV_E_RANGE, "event log: the writer is closed");
	if (pcr > HV_LOG_MAX_PCR)
		return hv_fail(why, HV_E_RANGE, "event log: PCR %u is not a PC Client PCR (0-%d)", pcr, HV_LOG_MAX_PCR);
	if (event_size > HV_LOG_MAX_EVENT_SIZE)
		return hv_fail(why, HV_E_CAP, "event log: event of %u bytes exceeds the limit of %u", event_size,
			       HV_LOG_MAX_EVENT_SIZE);
	if (event_size && !event)
		return hv_fail(why, HV_E_FORMAT, "event log: %u bytes of event data announced, none given", event_size);
	if (d && (d->mask & w->algs) != w->algs)
		return hv_fail(why, HV_E_FORMAT, "event log: digests 0x%x lack banks of the log (0x%x)", d->mask, w->algs);
	rec = malloc(n);
	if (!rec)
		return hv_fail(why, HV_E_NOMEM, "event log: no memory for a record of %zu bytes", n);
	put_record(w, rec, pcr, type, d, event, event_size);
	rc = pad_before(w, n, why);
	if (!rc)
		rc = write_record(w, rec, n, why);
	free(rec);
	return rc;
}

void hv_log_close(struct hv_log_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* ---- Walker ----------------------------------------------------------- */

struct walk {
	struct hv_rd in;
	uint64_t index;  /* of the record being read */
	uint64_t off;    /* where it starts */
	unsigned nalgs;  /* from the Spec ID header */
	uint16_t alg_id[8];
	uint16_t alg_size[8];
};

/* The log ends inside record w->index: name the last whole record. */
static int cut(const struct walk *w, hv_why *why, const char *what, uint64_t need, uint64_t at)
{
	uint64_t left = at <= w->in.len ? w->in.len - at : 0;
	if (w->index == 0)
		return hv_fail(why, HV_E_TRUNCATED,
			       "event 0 at offset 0x0: the log ends inside the Spec ID header (%s needs 0x%" PRIx64
			       " bytes, 0x%" PRIx64 " left); no complete record",
			       what, need, left);
	return hv_fail(why, HV_E_TRUNCATED,
		       "event %" PRIu64 " at offset 0x%" PRIx64 ": the log ends inside the record (%s needs 0x%" PRIx64
		       " bytes, 0x%" PRIx64 " left); last complete record: event %" PRIu64,
		       w->index, w->off, what, need, left, w->index - 1);
}

/* TCG_EfiSpecIdEvent in [spec, spec + n): the algorithm list. */
static int parse_spec_id(struct walk *w, const uint8_t *spec, uint32_t n, hv_why *why)
{
	struct hv_rd r = hv_rd_make(spec, n);
	uint32_t nalgs;
	uint8_t vendor;

	if (n < SPEC_ALGS)
		return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: Spec ID event of %u bytes is shorter than its %u-byte fixed part",
			       n, SPEC_ALGS);
	if (memcmp(spec + SPEC_SIGNATURE, SPEC_SIGNATURE_03, 16))
		return hv_fail(why, HV_E_FORMAT,
			       "event 0 at offset 0x0: signature is not \"Spec ID Event03\" (not a crypto-agile log)");
	if (spec[SPEC_VERSION_MAJOR] != 2 || spec[SPEC_VERSION_MINOR] != 0)
		return hv_fail(why, HV_E_UNSUPPORTED, "event 0 at offset 0x0: spec version %u.%u, expected 2.0",
			       spec[SPEC_VERSION_MAJOR], spec[SPEC_VERSION_MINOR]);
	if (spec[SPEC_UINTN_SIZE] != 1 && spec[SPEC_UINTN_SIZE] != 2)
		return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: uintnSize %u, expected 1 or 2", spec[SPEC_UINTN_SIZE]);
	nalgs = hv_le32(spec + SPEC_NALGS);
	if (nalgs == 0 || nalgs > 8)
		return hv_fail(why, nalgs ? HV_E_CAP : HV_E_FORMAT,
			       "event 0 at offset 0x0: numberOfAlgorithms %u, expected 1 to 8", nalgs);
	if (!hv_rd_has(&r, SPEC_ALGS, 4 * (uint64_t)nalgs + 1))
		return hv_fail(why, HV_E_FORMAT,
			       "event 0 at offset 0x0: %u algorithms and vendorInfoSize need %u bytes, the Spec ID event has %u",
			       nalgs, SPEC_ALGS + 4 * nalgs + 1, n);
	for (uint32_t i = 0; i < nalgs; i++) {
		uint16_t id = hv_le16(spec + SPEC_ALGS + 4 * i), size = hv_le16(spec + SPEC_ALGS + 4 * i + 2);
		int want = known_alg_size(id);
		if (want >= 0 && size != want)
			return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: algorithm 0x%04x (%s) with digest size %u, expected %d",
				       id, hv_log_alg_name(id), size, want);
		if (size == 0 || size > HV_LOG_MAX_DIGEST)
			return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: algorithm 0x%04x with digest size %u (1 to %d)", id,
				       size, HV_LOG_MAX_DIGEST);
		for (uint32_t k = 0; k < i; k++)
			if (w->alg_id[k] == id)
				return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: algorithm 0x%04x listed twice", id);
		w->alg_id[i] = id;
		w->alg_size[i] = size;
	}
	w->nalgs = nalgs;
	vendor = spec[SPEC_ALGS + 4 * nalgs];
	if (n - (SPEC_ALGS + 4 * nalgs + 1) != vendor)
		return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: vendorInfoSize %u, but %u bytes follow it", vendor,
			       n - (SPEC_ALGS + 4 * nalgs + 1));
	return HV_OK;
}

static int walk_header(struct walk *w, struct hv_log_event *ev, hv_why *why)
{
	const uint8_t *h = hv_rd_ptr(&w->in, 0, HDR_EVENT);
	uint32_t size;
	int rc;

	if (w->in.len == 0)
		return hv_fail(why, HV_E_TRUNCATED, "the log is empty: no Spec ID header");
	if (!h)
		return cut(w, why, "the SHA-1 format record", HDR_EVENT, 0);
	if (hv_le32(h + HDR_PCR) != 0 || hv_le32(h + HDR_TYPE) != EV_NO_ACTION)
		return hv_fail(why, HV_E_FORMAT,
			       "event 0 at offset 0x0: first record has PCR %u type 0x%x, expected PCR 0 EV_NO_ACTION (a Spec ID header)",
			       hv_le32(h + HDR_PCR), hv_le32(h + HDR_TYPE));
	for (int i = 0; i < SHA1_SIZE; i++)
		if (h[HDR_DIGEST + i])
			return hv_fail(why, HV_E_FORMAT, "event 0 at offset 0x0: the header's digest is not all zero");
	size = hv_le32(h + HDR_EVENT_SIZE);
	if (size > HV_LOG_MAX_EVENT_SIZE)
		return hv_fail(why, HV_E_CAP, "event 0 at offset 0x0: eventSize 0x%x exceeds the limit of 0x%x", size,
			       HV_LOG_MAX_EVENT_SIZE);
	if (!hv_rd_has(&w->in, HDR_EVENT, size))
		return cut(w, why, "the Spec ID event", size, HDR_EVENT);
	rc = parse_spec_id(w, h + HDR_EVENT, size, why);
	if (rc)
		return rc;
	memset(ev, 0, sizeof(*ev));
	ev->is_header = 1;
	ev->type = EV_NO_ACTION;
	ev->ndigests = 1;
	ev->digests[0].alg_id = 0x0004;
	ev->digests[0].size = SHA1_SIZE;
	ev->digests[0].digest = h + HDR_DIGEST;
	ev->event = h + HDR_EVENT;
	ev->event_size = size;
	return HV_OK;
}

/* One TCG_PCR_EVENT2 at w->off; on success *end is where the next starts. */
static int walk_event(struct walk *w, struct hv_log_event *ev, uint64_t *end, hv_why *why)
{
	const struct hv_rd *in = &w->in;
	uint64_t at = w->off, idx = w->index;
	uint32_t count, size;

	memset(ev, 0, sizeof(*ev));
	ev->offset = at;
	ev->index = idx;
	if (!hv_rd_u32(in, at, &ev->pcr) || !hv_rd_u32(in, at + 4, &ev->type) || !hv_rd_u32(in, at + 8, &count))
		return cut(w, why, "pcrIndex, eventType and digest count", 12, at);
	at += 12;
	if (ev->pcr > HV_LOG_MAX_PCR)
		return hv_fail(why, HV_E_RANGE, "event %" PRIu64 " at offset 0x%" PRIx64 ": pcrIndex %u beyond PCR %d", idx,
			       w->off, ev->pcr, HV_LOG_MAX_PCR);
	/* TPML_DIGEST_VALUES: one digest per algorithm of the header. */
	if (count > 8)
		return hv_fail(why, HV_E_CAP, "event %" PRIu64 " at offset 0x%" PRIx64 ": digest count %u exceeds 8", idx, w->off,
			       count);
	if (count != w->nalgs)
		return hv_fail(why, HV_E_FORMAT,
			       "event %" PRIu64 " at offset 0x%" PRIx64 ": digest count %u, the header lists %u algorithms", idx,
			       w->off, count, w->nalgs);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t id;
		unsigned k;
		if (!hv_rd_u16(in, at, &id))
			return cut(w, why, "a digest's hashAlg", 2, at);
		for (k = 0; k < w->nalgs && w->alg_id[k] != id; k++)
			;
		if (k == w->nalgs)
			return hv_fail(why, HV_E_FORMAT,
				       "event %" PRIu64 " at offset 0x%" PRIx64 ": digest %u has algorithm 0x%04x, not in the header",
				       idx, w->off, i, id);
		for (unsigned j = 0; j < i; j++)
			if (ev->digests[j].alg_id == id)
				return hv_fail(why, HV_E_FORMAT,
					       "event %" PRIu64 " at offset 0x%" PRIx64 ": algorithm 0x%04x appears twice", idx,
					       w->off, id);
		ev->digests[i].alg_id = id;
		ev->digests[i].size = w->alg_size[k];
		ev->digests[i].digest = hv_rd_ptr(in, at + 2, w->alg_size[k]);
		if (!ev->digests[i].digest)
			return cut(w, why, "a digest", w->alg_size[k], at + 2);
		at += 2 + (uint64_t)w->alg_size[k];
	}
	ev->ndigests = count;
	if (!hv_rd_u32(in, at, &size))
		return cut(w, why, "eventSize", 4, at);
	at += 4;
	if (size > HV_LOG_MAX_EVENT_SIZE)
		return hv_fail(why, HV_E_CAP,
			       "event %" PRIu64 " at offset 0x%" PRIx64 ": eventSize 0x%x exceeds the limit of 0x%x", idx, w->off,
			       size, HV_LOG_MAX_EVENT_SIZE);
	if (!hv_rd_has(in, at, size))
		return hv_fail(why, HV_E_TRUNCATED,
			       "event %" PRIu64 " at offset 0x%" PRIx64 ": eventSize 0x%x exceeds the 0x%" PRIx64
			       " bytes left; last complete record: event %" PRIu64,
			       idx, w->off, size, (uint64_t)in->len - at, idx - 1);
	ev->event = in->p + at;
	ev->event_size = size;
	*end = at + size;
	return HV_OK;
}

int hv_log_walk(const uint8_t *buf, size_t len, hv_log_cb cb, void *ctx, hv_why *why)
{
	struct walk w = {.in = hv_rd_make(buf, len)};
	struct hv_log_event ev;
	uint64_t end = 0;
	int rc;

	rc = walk_header(&w, &ev, why);
	if (rc)
		return rc;
	if (cb && (rc = cb(ctx, &ev)) != 0)
		return rc;
	w.off = HDR_EVENT + (uint64_t)ev.event_size;
	for (w.index = 1; w.off < w.in.len; w.index++) {
		if (w.index >= HV_LOG_MAX_EVENTS)
			return hv_fail(why, HV_E_CAP, "event %" PRIu64 " at offset 0x%" PRIx64 ": more than %u records", w.index,
				       w.off, HV_LOG_MAX_EVENTS);
		rc = walk_event(&w, &ev, &end, why);
		if (rc)
			return rc;
		if (cb && (rc = cb(ctx, &ev)) != 0)
			return rc;
		w.off = end;
	}
	return HV_OK;
}

/* ---- Replay ----------------------------------------------------------- */

struct replay {
	struct hv_log_replay *r;
	hv_why *why;
};

static int replay_cb(void *ctx, const struct hv_log_event *ev)
{
	struct replay *rp = ctx;
	struct hv_log_replay *r = rp->r;

	r->events++;
	if (ev->is_header) {
		/* The banks are those the Spec ID event lists (its layout was
		 * checked by the walker) that hash.h computes. */
		uint32_t nalgs = hv_le32(ev->event + SPEC_NALGS);
		for (uint32_t i = 0; i < nalgs; i++) {
			int a = hv_alg_from_tpm_id(hv_le16(ev->event + SPEC_ALGS + 4 * i));
			if (a >= 0)
				r->algs |= HV_ALG_BIT(a);
		}
		return 0;
	}
	if (ev->type == EV_NO_ACTION)
		return 0;
	for (unsigned i = 0; i < ev->ndigests; i++) {
		int a = hv_alg_from_tpm_id(ev->digests[i].alg_id);
		struct hv_digests out;
		struct hv_mh h;
		uint8_t *pcr;
		int rc;

		if (a < 0)
			continue;
		pcr = r->pcr[a][ev->pcr];
		/* PCR_new = H(PCR_old || digest) (TPM 2.0 Part 1, 17.7) */
		rc = hv_mh_init(&h, HV_ALG_BIT(a));
		if (!rc) {
			rc = hv_mh_update(&h, pcr, hv_alg_size(a));
			if (!rc)
				rc = hv_mh_update(&h, ev->digests[i].digest, ev->digests[i].size);
			if (!rc)
				rc = hv_mh_final(&h, &out);
			else
				hv_mh_abort(&h);
		}
		if (rc)
			return hv_fail(rp->why, rc, "event %" PRIu64 ": extending %s PCR %u failed", ev->index, hv_alg_name(a),
				       ev->pcr);
		memcpy(pcr, out.d[a], hv_alg_size(a));
	}
	r->pcrs_used |= 1u << ev->pcr;
	return 0;
}

int hv_log_replay(const uint8_t *buf, size_t len, struct hv_log_replay *r, hv_why *why)
{
	struct replay rp = {r, why};

	memset(r, 0, sizeof(*r));
	return hv_log_walk(buf, len, replay_cb, &rp, why);
}
