/*
 * test_tcglog.c: the event log writer, walker, replay and decoder
 * (lib/tcglog.h) on logs written by hv_log_writer and on hand-made hostile
 * ones. Each test is named after the failure it catches.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "logbuild.h"
#include "tap.h"
#include "tcglog.h"

static char tmpdir[] = "/tmp/hvima-test-log.XXXXXX";
static char path[256];

/* ---- Helpers ---------------------------------------------------------- */

#define MAXREC 512
struct rec {
	uint64_t offset;
	uint32_t pcr, type;
	unsigned ndigests;
	uint16_t alg[8];
	uint8_t digest[8][64];
	uint32_t size;
	uint8_t data[1024];
	int is_header;
	int is_padding;
};
struct seen {
	struct rec r[MAXREC];
	unsigned n;
	int stop_at;  /* return 99 from this record index, or -1 */
};

static int collect(void *ctx, const struct hv_log_event *ev)
{
	struct seen *s = ctx;
	struct rec *r;

	if (s->n >= MAXREC)
		return 98;
	r = &s->r[s->n++];
	r->offset = ev->offset;
	r->pcr = ev->pcr;
	r->type = ev->type;
	r->is_header = ev->is_header;
	r->is_padding = hv_log_is_padding(ev);
	r->ndigests = ev->ndigests;
	for (unsigned i = 0; i < ev->ndigests && i < 8; i++) {
		r->alg[i] = ev->digests[i].alg_id;
		memcpy(r->digest[i], ev->digests[i].digest, ev->digests[i].size);
	}
	r->size = ev->event_size;
	memcpy(r->data, ev->event, ev->event_size < sizeof(r->data) ? ev->event_size : sizeof(r->data));
	if (s->stop_at >= 0 && ev->index == (uint64_t)s->stop_at)
		return 99;
	return 0;
}

static void fake(struct hv_digests *d, unsigned algs, unsigned seed)
{
	memset(d, 0, sizeof(*d));
	d->mask = algs;
	for (int a = 0; a < HV_NALGS; a++)
		for (size_t i = 0; i < hv_alg_size(a); i++)
			d->d[a][i] = (uint8_t)(seed * 131 + a * 17 + i * 3);
}

/* PCR_new = H(PCR_old || digest), with OpenSSL directly. */
static void hand_extend(const char *md, uint8_t *pcr, size_t n, const uint8_t *digest)
{
	uint8_t in[128];
	unsigned out;
	memcpy(in, pcr, n);
	memcpy(in + n, digest, n);
	EVP_Digest(in, 2 * n, pcr, &out, EVP_get_digestbyname(md), NULL);
}

static int read_log(uint8_t **buf, size_t *len)
{
	return logbuild_read(path, buf, len);
}

/* Little-endian byte builder for hand-made logs. */
struct bb {
	uint8_t b[8192];
	size_t n;
};
static void b8(struct bb *b, uint8_t v) { b->b[b->n++] = v; }
static void b16(struct bb *b, uint16_t v) { hv_put_le16(b->b + b->n, v), b->n += 2; }
static void b32(struct bb *b, uint32_t v) { hv_put_le32(b->b + b->n, v), b->n += 4; }
static void bfill(struct bb *b, uint8_t v, size_t n) { memset(b->b + b->n, v, n), b->n += n; }

/* A header listing n {id, size} algorithms. */
static void b_header(struct bb *b, unsigned n, const uint16_t *ids, const uint16_t *sizes)
{
	b32(b, 0);
	b32(b, EV_NO_ACTION);
	bfill(b, 0, 20);
	b32(b, 28 + 4 * n + 1);
	memcpy(b->b + b->n, "Spec ID Event03", 16);
	b->n += 16;
	b32(b, 0);
	b8(b, 0);
	b8(b, 2);
	b8(b, 0);
	b8(b, 2);
	b32(b, n);
	for (unsigned i = 0; i < n; i++) {
		b16(b, ids[i]);
		b16(b, sizes[i]);
	}
	b8(b, 0);
}

/* Walk a copy of exactly len bytes, so ASan sees any read past the end. */
static int walk_copy(const uint8_t *p, size_t len, struct seen *s, hv_why *why)
{
	uint8_t *copy = len ? malloc(len) : NULL;
	int rc;

	if (len)
		memcpy(copy, p, len);
	s->n = 0;
	s->stop_at = -1;
	rc = hv_log_walk(copy, len, collect, s, why);
	free(copy);
	return rc;
}

/* The offsets of the records of the sample log, and its length. */
static size_t sample(uint8_t **buf, uint64_t *offs, unsigned *n)
{
	static struct seen s;
	hv_why why = {{0}};
	size_t len = 0;

	*buf = NULL;
	*n = 0;
	if (logbuild_sample(path, HV_ALGS_ALL, 1, &why) < 0 || read_log(buf, &len)) {
		printf("#   sample log: %s\n", why.msg);
		return 0;
	}
	if (walk_copy(*buf, len, &s, &why) != HV_OK) {
		printf("#   sample log does not walk: %s\n", why.msg);
		return 0;
	}
	for (unsigned i = 0; i < s.n; i++)
		offs[i] = s.r[i].offset;
	offs[s.n] = len;
	*n = s.n;
	return len;
}

/* Offset of the digest count and of eventSize in a record of the sample
 * log (three banks: 12 + 2+20 + 2+32 + 2+48 = 118). */
#define SAMPLE_COUNT 8
#define SAMPLE_EVSIZE 118

/* ---- Writer and walker ------------------------------------------------ */

static struct seen rt;

static void roundtrip_loses_or_changes_records(void)
{
	static const unsigned masks[] = {HV_ALGS_ALL, HV_ALG_BIT(HV_SHA256), HV_ALG_BIT(HV_SHA1) | HV_ALG_BIT(HV_SHA384)};
	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		struct hv_log_writer w;
		struct hv_digests d;
		hv_why why = {{0}};
		uint8_t data[600], *buf;
		size_t len;
		unsigned algs = masks[m], nalgs = 0;
		const unsigned N = 60;

		for (int a = 0; a < HV_NALGS; a++)
			nalgs += !!(algs & HV_ALG_BIT(a));
		CHECKF(hv_log_create(&w, path, algs, &why) == HV_OK, "%s", why.msg);
		for (unsigned i = 0; i < N; i++) {
			uint32_t size = (i * 37) % sizeof(data), type = i % 5 == 0 ? EV_NO_ACTION : 0x80000000u + i;
			for (uint32_t k = 0; k < size; k++)
				data[k] = (uint8_t)(i + k);
			fake(&d, algs, i);
			CHECKF(hv_log_append(&w, i % 24, type, type == EV_NO_ACTION ? NULL : &d, data, size, &why) == HV_OK,
			       "%s", why.msg);
		}
		hv_log_close(&w);
		CHECK(read_log(&buf, &len) == 0);
		CHECK(len == w.bytes);
		CHECKF(walk_copy(buf, len, &rt, &why) == HV_OK, "%s", why.msg);
		CHECK(rt.n == w.events);
		CHECK(rt.r[0].is_header && rt.r[0].offset == 0 && rt.r[0].type == EV_NO_ACTION);
		for (unsigned i = 1, e = 0; i < rt.n; i++) {
			const struct rec *r = &rt.r[i];
			uint32_t size = (e * 37) % sizeof(data);
			unsigned k = 0;
			if (r->is_padding)
				continue;
			fake(&d, algs, e++);
			if (i + 1 == rt.n)
				CHECKF(e == N, "%u of %u records read back", e, N);
			CHECK(!r->is_header);
			CHECK(r->pcr == (e - 1) % 24);
			CHECK(r->size == size);
			CHECK(r->ndigests == nalgs);
			for (int a = 0; a < HV_NALGS; a++) {
				if (!(algs & HV_ALG_BIT(a)))
					continue;
				CHECK(r->alg[k] == hv_alg_tpm_id(a));
				if (r->type == EV_NO_ACTION) {
					static const uint8_t zero[64];
					CHECK(!memcmp(r->digest[k], zero, hv_alg_size(a)));
				} else {
					CHECK(!memcmp(r->digest[k], d.d[a], hv_alg_size(a)));
				}
				k++;
			}
			for (uint32_t b = 0; b < size; b++)
				if (r->data[b] != (uint8_t)(e - 1 + b)) {
					CHECKF(0, "event %u byte %u", i, b);
					break;
				}
		}
		free(buf);
	}
}

/* Each record of up to a page minus a padding record lies inside one page
 * of the file (what keeps it whole when the writer is killed). */
static void record_crosses_a_page_boundary(void)
{
	static struct seen s;
	struct hv_log_writer w;
	struct hv_digests d;
	static uint8_t data[4096];
	hv_why why = {{0}};
	unsigned pads = 0, crossing = 0;
	uint8_t *buf;
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t fixed = 12 + 2 + 20 + 2 + 32 + 2 + 48 + 4, minpad = fixed + 8 + 7; /* tag, size, "padding" */

	CHECK(hv_log_create(&w, path, HV_ALGS_ALL, &why) == HV_OK);
	fake(&d, HV_ALGS_ALL, 3);
	for (unsigned i = 0; i < 300; i++) /* sizes 0 to page - minpad, exact fits included */
		CHECK(hv_log_append(&w, 1, EV_SEPARATOR, &d, data, (uint32_t)((i * 251) % (page - minpad - fixed + 1)), &why) ==
		      HV_OK);
	hv_log_close(&w);
	CHECK(read_log(&buf, &len) == 0);
	CHECKF(walk_copy(buf, len, &s, &why) == HV_OK, "%s", why.msg);
	for (unsigned i = 1; i < s.n; i++) {
		uint64_t start = s.r[i].offset, end = i + 1 < s.n ? s.r[i + 1].offset : len;
		pads += s.r[i].is_padding;
		if (start / page != (end - 1) / page) {
			crossing++;
			printf("#   record %u [0x%llx, 0x%llx) crosses a page boundary\n", i, (unsigned long long)start,
			       (unsigned long long)end);
		}
		if (s.r[i].is_padding)
			CHECKF(end % page == 0, "padding record %u ends at 0x%llx", i, (unsigned long long)end);
	}
	CHECK(crossing == 0);
	CHECK(pads > 10 && s.n == 301 + pads);
	free(buf);
}

static const char *const md[HV_NALGS] = {"SHA1", "SHA256", "SHA384"};
static uint8_t hand[HV_NALGS][24][64];

/* Padding records are measured events: extend them by hand too, in order. */
static void hand_pad(void *ctx, uint32_t pcr, const struct hv_digests *d)
{
	*(uint32_t *)ctx |= 1u << pcr;
	for (int a = 0; a < HV_NALGS; a++)
		hand_extend(md[a], hand[a][pcr], hv_alg_size(a), d->d[a]);
}

static void replay_differs_from_hand_computation(void)
{
	struct hv_log_replay *r = calloc(1, sizeof(*r));
	struct hv_log_writer w;
	struct hv_digests d;
	hv_why why = {{0}};
	uint32_t used = 0;
	uint8_t *buf;
	size_t len;

	memset(hand, 0, sizeof(hand));
	CHECKF(hv_log_create(&w, path, HV_ALGS_ALL, &why) == HV_OK, "%s", why.msg);
	w.pad_cb = hand_pad, w.pad_ctx = &used;
	for (unsigned i = 0; i < 40; i++) {
		uint32_t pcr = (i * 7) % 24, type = i % 6 == 3 ? EV_NO_ACTION : EV_SEPARATOR;
		fake(&d, HV_ALGS_ALL, i);
		CHECK(hv_log_append(&w, pcr, type, &d, "abcd", 4, &why) == HV_OK);
		if (type == EV_NO_ACTION)
			continue; /* written with digests, but never extended */
		used |= 1u << pcr;
		for (int a = 0; a < HV_NALGS; a++)
			hand_extend(md[a], hand[a][pcr], hv_alg_size(a), d.d[a]);
	}
	hv_log_close(&w);
	CHECK(read_log(&buf, &len) == 0);
	CHECKF(hv_log_replay(buf, len, r, &why) == HV_OK, "%s", why.msg);
	CHECK(r->algs == HV_ALGS_ALL);
	CHECK(r->pcrs_used == used);
	CHECK(r->events == w.events && w.events >= 41);
	for (int a = 0; a < HV_NALGS; a++)
		for (unsigned p = 0; p < 24; p++)
			CHECKF(!memcmp(r->pcr[a][p], hand[a][p], hv_alg_size(a)), "%s PCR %u", md[a], p);
	free(buf);
	free(r);
}

static void truncated_log_claims_more_than_it_has(void)
{
	static uint64_t offs[MAXREC + 1];
	static struct seen s;
	unsigned n, whole = 0;
	uint8_t *buf;
	size_t len = sample(&buf, offs, &n);

	CHECK(len > 0 && n > 10);
	for (size_t cut = 0; cut <= len; cut++) {
		hv_why why = {{0}};
		int rc = walk_copy(buf, cut, &s, &why);
		while (whole < n && offs[whole + 1] <= cut)
			whole++; /* records 0..whole-1 lie entirely in [0, cut) */
		if (cut > 0 && cut == offs[whole]) {
			CHECKF(rc == HV_OK && s.n == whole, "cut at %zu (a record boundary): rc %d, %u records", cut, rc, s.n);
			continue;
		}
		CHECKF(rc == HV_E_TRUNCATED, "cut at %zu: rc %d (%s)", cut, rc, why.msg);
		CHECKF(s.n == whole, "cut at %zu: %u records handed out, %u whole", cut, s.n, whole);
		if (whole > 0) {
			char want[64];
			snprintf(want, sizeof(want), "last complete record: event %u", whole - 1);
			CHECKF(strstr(why.msg, want) != NULL, "cut at %zu: \"%s\" lacks \"%s\"", cut, why.msg, want);
		}
		if (tap_cur_failed)
			break; /* one report is enough */
	}
	free(buf);
}

static void digest_count_mismatch_accepted(void)
{
	static uint64_t offs[MAXREC + 1];
	static struct seen s;
	hv_why why = {{0}};
	unsigned n;
	uint8_t *buf;
	size_t len = sample(&buf, offs, &n);
	uint8_t *count = buf + offs[5] + SAMPLE_COUNT;

	CHECK(len > 0 && hv_le32(count) == 3);
	hv_put_le32(count, 2);
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "event 5 at offset") && strstr(why.msg, "digest count 2"), "%s", why.msg);
	CHECK(s.n == 5);
	hv_put_le32(count, 9);
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_CAP);
	hv_put_le32(count, 0xffffffff);
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_CAP);
	hv_put_le32(count, 3);
	/* A digest of an algorithm the header does not list, then a repeat. */
	hv_put_le16(buf + offs[5] + 12, 0x000d);
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "0x000d, not in the header"), "%s", why.msg);
	free(buf);
	/* The same algorithm twice (sha256 and sm3 have the same size). */
	static const uint16_t ids[] = {0x000b, 0x0012}, sizes[] = {32, 32};
	struct bb *b = calloc(1, sizeof(*b));
	b_header(b, 2, ids, sizes);
	b32(b, 1);
	b32(b, EV_SEPARATOR);
	b32(b, 2);
	b16(b, 0x000b);
	bfill(b, 1, 32);
	b16(b, 0x000b);
	bfill(b, 2, 32);
	b32(b, 0);
	CHECK(walk_copy(b->b, b->n, &s, &why) == HV_E_FORMAT);
	CHECKF(strstr(why.msg, "event 1 at offset 0x45: algorithm 0x000b appears twice"), "%s", why.msg);
	free(b);
}

static void oversized_event_size_accepted(void)
{
	static uint64_t offs[MAXREC + 1];
	static struct seen s;
	hv_why why = {{0}};
	unsigned n;
	uint8_t *buf;
	size_t len = sample(&buf, offs, &n);
	uint8_t *size = buf + offs[7] + SAMPLE_EVSIZE;
	char want[128];

	CHECK(len > 0);
	hv_put_le32(size, 0x80000000u);
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_CAP);
	snprintf(want, sizeof(want), "event 7 at offset 0x%llx: eventSize 0x80000000 exceeds the limit",
		 (unsigned long long)offs[7]);
	CHECKF(strstr(why.msg, want), "\"%s\" lacks \"%s\"", why.msg, want);
	CHECK(s.n == 7);
	/* Under the cap but past the end of the log: a cut log. */
	hv_put_le32(size, (uint32_t)(len - (offs[7] + SAMPLE_EVSIZE + 4) + 1));
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_TRUNCATED);
	snprintf(want, sizeof(want), "exceeds the 0x%llx bytes left; last complete record: event 6",
		 (unsigned long long)(len - (offs[7] + SAMPLE_EVSIZE + 4)));
	CHECKF(strstr(why.msg, want), "\"%s\" lacks \"%s\"", why.msg, want);
	/* The header's own eventSize. */
	free(buf);
	len = sample(&buf, offs, &n);
	hv_put_le32(buf + 28, 0xfffffff0u);
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_CAP && s.n == 0);
	free(buf);
}

static void bad_spec_id_signature_accepted(void)
{
	static uint64_t offs[MAXREC + 1];
	static struct seen s;
	hv_why why = {{0}};
	unsigned n;
	uint8_t *buf;
	size_t len = sample(&buf, offs, &n);

	CHECK(len > 0 && !memcmp(buf + 32, "Spec ID Event03", 16));
	buf[32 + 14] = '2'; /* "Spec ID Event02": a TPM 1.2 style log */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT && s.n == 0);
	CHECKF(strstr(why.msg, "signature"), "%s", why.msg);
	buf[32 + 14] = '3';
	buf[32 + 15] = ' '; /* the NUL is part of the signature */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	buf[32 + 15] = 0;
	hv_put_le32(buf + 4, EV_SEPARATOR); /* first record is not EV_NO_ACTION */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	hv_put_le32(buf + 4, EV_NO_ACTION);
	buf[8] = 1; /* its digest is not zero */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	buf[8] = 0;
	buf[32 + 21] = 1; /* specVersionMajor 1 */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_UNSUPPORTED);
	buf[32 + 21] = 2;
	hv_put_le32(buf + 32 + 24, 0); /* numberOfAlgorithms 0 */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	hv_put_le32(buf + 32 + 24, 0x40000000); /* and huge */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_CAP);
	hv_put_le32(buf + 32 + 24, 3);
	buf[32 + 28 + 12] = 5; /* vendorInfoSize past the Spec ID event */
	CHECK(walk_copy(buf, len, &s, &why) == HV_E_FORMAT);
	buf[32 + 28 + 12] = 0;
	CHECKF(walk_copy(buf, len, &s, &why) == HV_OK, "%s", why.msg);
	free(buf);
}

static void unknown_alg_in_header_breaks_the_walk(void)
{
	/* sha256, an algorithm nobody knows (0x1234, 40 bytes), sha512, sm3. */
	static const uint16_t ids[] = {0x000b, 0x1234, 0x000d, 0x0012}, sizes[] = {32, 40, 64, 32};
	static struct seen s;
	struct hv_log_replay *r = calloc(1, sizeof(*r));
	uint8_t want[32] = {0};
	struct bb *b = calloc(1, sizeof(*b));
	hv_why why = {{0}};

	b_header(b, 4, ids, sizes);
	for (unsigned e = 0; e < 3; e++) {
		b32(b, 7);
		b32(b, EV_SEPARATOR);
		b32(b, 4);
		for (unsigned i = 0; i < 4; i++) {
			b16(b, ids[3 - i]); /* any order */
			bfill(b, (uint8_t)(0x10 * e + i), sizes[3 - i]);
		}
		b32(b, 4);
		bfill(b, 0, 4);
	}
	CHECKF(walk_copy(b->b, b->n, &s, &why) == HV_OK, "%s", why.msg);
	CHECK(s.n == 4 && s.r[1].ndigests == 4 && s.r[1].alg[2] == 0x1234);
	CHECK(s.r[3].size == 4);
	CHECKF(hv_log_replay(b->b, b->n, r, &why) == HV_OK, "%s", why.msg);
	CHECK(r->algs == HV_ALG_BIT(HV_SHA256));
	CHECK(r->pcrs_used == 1u << 7);
	for (unsigned e = 0; e < 3; e++) {
		uint8_t dg[32];
		memset(dg, 0x10 * e + 3, 32); /* sha256 came last */
		hand_extend("SHA256", want, 32, dg);
	}
	CHECK(!memcmp(r->pcr[HV_SHA256][7], want, 32));

	/* A known algorithm with another size, and impossible sizes. */
	static const uint16_t bad_sizes[][4] = {{20, 40, 64, 32}, {32, 0, 64, 32}, {32, 65, 64, 32}, {32, 40, 64, 20}};
	for (size_t k = 0; k < sizeof(bad_sizes) / sizeof(bad_sizes[0]); k++) {
		b->n = 0;
		b_header(b, 4, ids, bad_sizes[k]);
		CHECKF(walk_copy(b->b, b->n, &s, &why) == HV_E_FORMAT, "sizes %zu", k);
	}
	free(b);
	free(r);
}

static void empty_log_accepted(void)
{
	static struct seen s;
	hv_why why = {{0}};
	CHECK(walk_copy(NULL, 0, &s, &why) == HV_E_TRUNCATED);
	CHECKF(strstr(why.msg, "empty"), "%s", why.msg);
	CHECK(s.n == 0);
	struct hv_log_replay *r = calloc(1, sizeof(*r));
	CHECK(hv_log_replay((const uint8_t *)"", 0, r, &why) == HV_E_TRUNCATED);
	free(r);
}

static void header_only_log_rejected(void)
{
	static struct seen s;
	struct hv_log_writer w;
	hv_why why = {{0}};
	uint8_t *buf;
	size_t len;

	CHECK(hv_log_create(&w, path, HV_ALG_BIT(HV_SHA256), &why) == HV_OK);
	hv_log_close(&w);
	CHECK(read_log(&buf, &len) == 0);
	CHECK(len == 32 + 28 + 4 + 1);
	CHECKF(walk_copy(buf, len, &s, &why) == HV_OK && s.n == 1, "%s", why.msg);
	free(buf);
}

static void callback_cannot_stop_the_walk(void)
{
	static uint64_t offs[MAXREC + 1];
	static struct seen s;
	hv_why why = {{0}};
	unsigned n;
	uint8_t *buf;
	size_t len = sample(&buf, offs, &n);

	s.n = 0;
	s.stop_at = 3;
	CHECK(hv_log_walk(buf, len, collect, &s, &why) == 99);
	CHECK(s.n == 4);
	free(buf);
}

static void writer_accepts_what_it_cannot_write(void)
{
	struct hv_log_writer w;
	struct hv_digests d;
	hv_why why = {{0}};
	static uint8_t big[HV_LOG_MAX_EVENT_SIZE + 1];

	CHECK(hv_log_create(&w, path, 0, &why) != HV_OK && w.fd == -1);
	CHECK(hv_log_create(&w, path, 1u << 7, &why) != HV_OK);
	CHECK(hv_log_create(&w, "/nonexistent/dir/log", HV_ALGS_ALL, &why) == HV_E_RANGE && w.fd == -1);
	CHECK(hv_log_create(&w, path, HV_ALGS_ALL, &why) == HV_OK);
	fake(&d, HV_ALG_BIT(HV_SHA256), 1); /* lacks sha1 and sha384 */
	CHECK(hv_log_append(&w, 0, EV_SEPARATOR, &d, "", 0, &why) == HV_E_FORMAT);
	fake(&d, HV_ALGS_ALL, 1);
	CHECK(hv_log_append(&w, 24, EV_SEPARATOR, &d, "", 0, &why) == HV_E_RANGE);
	CHECK(hv_log_append(&w, 0, EV_SEPARATOR, &d, big, sizeof(big), &why) == HV_E_CAP);
	CHECK(hv_log_append(&w, 0, EV_SEPARATOR, &d, NULL, 4, &why) == HV_E_FORMAT);
	CHECK(hv_log_append(&w, 0, EV_SEPARATOR, &d, big, HV_LOG_MAX_EVENT_SIZE, &why) == HV_OK);
	CHECK(w.events == 2);
	hv_log_close(&w);
	CHECK(hv_log_append(&w, 0, EV_SEPARATOR, &d, "", 0, &why) != HV_OK);
}

/* A process killed at a random moment must leave a log that walks without
 * error. Records of 1 to 3.8 KiB would often cross page boundaries, where
 * Linux splits a write() of a process that gets SIGKILL. */
static int count_cb(void *ctx, const struct hv_log_event *ev)
{
	(*(unsigned *)ctx)++;
	return 0;
}

static void sigkill_leaves_a_partial_record(void)
{
	unsigned bad = 0, runs = 40, total = 0;
	static struct seen s;

	srand((unsigned)time(NULL));
	for (unsigned run = 0; run < runs; run++) {
		hv_why why = {{0}};
		uint8_t *buf;
		size_t len;
		pid_t pid = fork();
		if (pid == 0) {
			static uint8_t data[4096];
			struct hv_log_writer w;
			struct hv_digests d;
			fake(&d, HV_ALGS_ALL, 5);
			if (hv_log_create(&w, path, HV_ALGS_ALL, &why))
				_exit(1);
			for (unsigned i = 0;; i++)
				if (hv_log_append(&w, i % 24, EV_SEPARATOR, &d, data, 1024 + (i * 997) % 2800, &why))
					_exit(1);
		}
		usleep(2000 + (unsigned)rand() % 20000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (read_log(&buf, &len))
			continue;
		s.n = 0;
		int rc = hv_log_walk(buf, len, count_cb, &s.n, &why);
		if (rc == HV_E_TRUNCATED) {
			bad++;
			printf("#   run %u: %s\n", run, why.msg);
		} else {
			CHECKF(rc == HV_OK, "%s", why.msg);
		}
		total += s.n;
		free(buf);
	}
	printf("#   %u runs, %u records in all, %u logs ended in a partial record\n", runs, total, bad);
	CHECK(bad == 0);
}

/* ---- Decoder ---------------------------------------------------------- */

struct kvs {
	char buf[65536];
	size_t n;
};

static void kv_join(void *ctx, const char *key, const char *value)
{
	struct kvs *k = ctx;
	int w = snprintf(k->buf + k->n, sizeof(k->buf) - k->n, "%s%s=%s", k->n ? " " : "", key, value);
	if (w > 0 && (size_t)w < sizeof(k->buf) - k->n)
		k->n += (size_t)w;
}

static int decode_all(void *ctx, const struct hv_log_event *ev)
{
	struct kvs *all = ctx;
	struct kvs one = {.n = 0};
	struct hv_log_event cut = *ev;

	hv_log_decode(ev, kv_join, &one);
	kv_join(all, "|", one.buf);
	/* Every shorter length of the data decodes without a fault (ASan). */
	for (uint32_t k = 0; k < ev->event_size; k++) {
		struct kvs scratch = {.n = 0};
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, ev->event, k);
		cut.event = copy;
		cut.event_size = k;
		hv_log_decode(&cut, kv_join, &scratch);
		free(copy);
	}
	return 0;
}

static void decoder_misreads_plugin_events(void)
{
	static uint64_t offs[MAXREC + 1];
	static struct kvs all;
	hv_why why = {{0}};
	unsigned n;
	uint8_t *buf;
	size_t len = sample(&buf, offs, &n);
	static const char *const want[] = {
		"|=signature=Spec ID Event03 platform_class=0 spec_version=2.0 errata=0 uintn_size=2 "
		"algorithms=sha1/20,sha256/32,sha384/48 |=",
		"|=version=hvima 0.1.0 |=base=0xffc00000 length=0x400000 |=",
		"|=location=0x7e000000 length=0x20000 link_address=0x0 |=",
		"|=location=0x7e100000 length=0x21000 link_address=0x0 path=\\EFI\\BOOT\\BOOTX64.EFI |=",
		"|=location=0x7e200000 length=0x22000 link_address=0x0 path=PciBus.efi |=",
		"|=note=tpm-outage since-event=7 reason=\"connection refused\" |=",
		"|=tag_id=0x40010003 tag=SIPAEVENT_LOADEDMODULE_AGGREGATION file_path=\\Windows\\System32\\ntoskrnl.exe "
		"image_size=0x1000000 hash_alg=sha256 authenticode_hash=",
		" image_base=0xfffff80000000000 |=",
		"|=tag_id=0x48560002 tag=hvima-unattributed text=rip=0xfffff80012345678 cr3=0x1aa000 size=0x40 |=",
		"|=tag_id=0x48560003 tag=hvima-malformed text=base=0x7e400000 pcr=2 reason=\"section 2 runs past SizeOfImage\" |=",
		"|=tag_id=0x48560001 tag=hvima-violation text=image=ntoskrnl.exe rva=0x1000 old=ab12 new=cd34 |=",
		"|=tag_id=0x48560004 tag=hvima-note text=tpm-back pending=3 |=",
		"|=value=00000000 |=value=00000000",
	};

	CHECK(len > 0);
	all.n = 0;
	CHECKF(hv_log_walk(buf, len, decode_all, &all, &why) == HV_OK, "%s", why.msg);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECKF(strstr(all.buf, want[i]), "decoded log lacks \"%s\"", want[i]);
	CHECKF(!strstr(all.buf, "malformed="), "a plugin event decodes as malformed");
	if (tap_cur_failed)
		printf("#   decoded: %s\n", all.buf);
	free(buf);
}

static void decoder_passes_terminal_escapes(void)
{
	uint8_t data[256];
	struct kvs k = {.n = 0};
	struct hv_log_event ev = {.type = EV_EVENT_TAG, .event = data};
	int n = hv_ev_tagged_text(data, sizeof(data), HV_TAG_VIOLATION, "a=\x1b[31mred\x7f b=\xe2\x80\xae c=\xff\xfe d=\xc3\xa9\n");

	CHECK(n > 0);
	ev.event_size = (uint32_t)n;
	hv_log_decode(&ev, kv_join, &k);
	CHECKF(!strpbrk(k.buf, "\x1b\x7f\n"), "%s", k.buf);
	CHECKF(strstr(k.buf, "a=\xef\xbf\xbd[31mred\xef\xbf\xbd b=\xef\xbf\xbd c=\xef\xbf\xbd\xef\xbf\xbd d=\xc3\xa9"), "%s",
	       k.buf);
	CHECKF(strstr(k.buf, "malformed=the text is not UTF-8"), "%s", k.buf);

	/* A device path node that claims more than the path holds. */
	n = hv_ev_image_load(data, sizeof(data), 1, 2, 3, "x.efi");
	CHECK(n > 40);
	data[32 + 2] = 0xff;
	ev.type = EV_EFI_BOOT_SERVICES_DRIVER;
	ev.event_size = (uint32_t)n;
	k.n = 0;
	hv_log_decode(&ev, kv_join, &k);
	CHECKF(strstr(k.buf, "location=0x1 length=0x2 link_address=0x3 malformed="), "%s", k.buf);
}

static void unknown_types_print_without_data(void)
{
	uint8_t data[100];
	struct kvs k = {.n = 0};
	struct hv_log_event ev = {.type = 0x1234abcd, .event = data, .event_size = sizeof(data)};

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	CHECK(hv_log_type_name(0x1234abcd) == NULL);
	CHECK(!strcmp(hv_log_type_name(EV_EFI_BOOT_SERVICES_APPLICATION), "EV_EFI_BOOT_SERVICES_APPLICATION"));
	hv_log_decode(&ev, kv_join, &k);
	CHECKF(!strncmp(k.buf, "data=000102030405", 17) && strstr(k.buf, "... (100 bytes)"), "%s", k.buf);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("not ok 1 - mkdtemp: %s\n1..1\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/eventlog.bin", tmpdir);
	RUN(roundtrip_loses_or_changes_records);
	RUN(record_crosses_a_page_boundary);
	RUN(replay_differs_from_hand_computation);
	RUN(truncated_log_claims_more_than_it_has);
	RUN(digest_count_mismatch_accepted);
	RUN(oversized_event_size_accepted);
	RUN(bad_spec_id_signature_accepted);
	RUN(unknown_alg_in_header_breaks_the_walk);
	RUN(empty_log_accepted);
	RUN(header_only_log_rejected);
	RUN(callback_cannot_stop_the_walk);
	RUN(writer_accepts_what_it_cannot_write);
	RUN(sigkill_leaves_a_partial_record);
	RUN(decoder_misreads_plugin_events);
	RUN(decoder_passes_terminal_escapes);
	RUN(unknown_types_print_without_data);
	unlink(path);
	rmdir(tmpdir);
	return tap_done();
}
