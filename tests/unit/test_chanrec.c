/*
 * test_chanrec.c: channel records (lib/chanrec.c): encode/decode round
 * trips, the CRC against a known vector, and the stream decoder on hostile
 * streams: junk, flipped bits, truncation, bad lengths, sequence gaps and
 * restarts, records split at every byte. Each test is named after the
 * failure it covers.
 */
#include <stdint.h>
#include <string.h>

#include "chanrec.h"
#include "tap.h"

struct seen {
	int records, malformed;
	uint32_t seqs[64], missing[64];
	bool restart[64];
	const char *why[64];
	uint32_t skipped[64];
	uint64_t off[64];
	char path[64][64];
};

static void collect(void *ctx, const struct hv_rx_event *ev)
{
	struct seen *s = ctx;
	if (ev->kind == HV_RX_RECORD && s->records < 64) {
		s->seqs[s->records] = ev->rec->seq;
		s->missing[s->records] = ev->missing;
		s->restart[s->records] = ev->restart;
		size_t k = strnlen(ev->rec->path, sizeof(s->path[0]) - 1);
		memcpy(s->path[s->records], ev->rec->path, k);
		s->path[s->records][k] = 0;
		s->records++;
	} else if (ev->kind == HV_RX_MALFORMED && s->malformed < 64) {
		s->why[s->malformed] = ev->why;
		s->skipped[s->malformed] = ev->skipped;
		s->off[s->malformed] = ev->offset;
		s->malformed++;
	}
}

static int mk(uint8_t *buf, uint32_t seq, const char *path, const char *proc)
{
	struct hv_rec r;
	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.pid = 4242;
	r.size = 0x123456789ull;
	r.access = HV_ACC_EXECUTE;
	r.decision = HV_DEC_ALLOWED;
	r.flags = HV_RECF_DIGEST | HV_RECF_MZ;
	for (int i = 0; i < 32; i++)
		r.sha256[i] = (uint8_t)(i * 7 + seq);
	r.path_len = (uint16_t)strlen(path);
	r.proc_len = (uint16_t)strlen(proc);
	memcpy(r.path, path, r.path_len);
	memcpy(r.proc, proc, r.proc_len);
	return hv_rec_encode(&r, buf, HV_REC_MAX);
}

static void test_crc32_known_vector(void)
{
	CHECK(hv_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);
}

static void test_roundtrip_keeps_every_field(void)
{
	uint8_t buf[HV_REC_MAX];
	struct hv_rec r;
	const char *why;
	int n = mk(buf, 7, "\\Device\\HarddiskVolume2\\Windows\\System32\\caf\xc3\xa9.dll", "svchost.exe");
	CHECK(n == HV_REC_MIN + 50 + 11);
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) == 0);
	CHECK(r.seq == 7 && r.pid == 4242 && r.size == 0x123456789ull);
	CHECK(r.access == HV_ACC_EXECUTE && r.flags == (HV_RECF_DIGEST | HV_RECF_MZ));
	CHECK(!strcmp(r.path, "\\Device\\HarddiskVolume2\\Windows\\System32\\caf\xc3\xa9.dll"));
	CHECK(!strcmp(r.proc, "svchost.exe"));
	CHECK(r.sha256[31] == (uint8_t)(31 * 7 + 7));
}

static void test_encode_refuses_bad_fields(void)
{
	uint8_t buf[HV_REC_MAX];
	struct hv_rec r;
	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.access = 0;
	CHECK(hv_rec_encode(&r, buf, sizeof(buf)) < 0);
	r.access = HV_ACC_MAX + 1;
	CHECK(hv_rec_encode(&r, buf, sizeof(buf)) < 0);
	r.access = 1;
	r.path_len = HV_REC_PATH_MAX + 1;
	CHECK(hv_rec_encode(&r, buf, sizeof(buf)) < 0);
	r.path_len = 3;
	memcpy(r.path, "a\nb", 3);
	CHECK(hv_rec_encode(&r, buf, sizeof(buf)) < 0);
	memcpy(r.path, "abc", 3);
	CHECK(hv_rec_encode(&r, buf, 10) < 0);
	CHECK(hv_rec_encode(&r, buf, sizeof(buf)) == HV_REC_MIN + 3);
}

static void test_decode_names_the_bad_field(void)
{
	uint8_t buf[HV_REC_MAX], bad[HV_REC_MAX];
	struct hv_rec r;
	const char *why;
	int n = mk(buf, 1, "C:\\x.exe", "p");
	struct { size_t off; uint8_t val; const char *expect; } cases[] = {
		{0, 'X', "magic"}, {4, 2, "version"}, {5, 9, "type"}, {6, 0, "length"},
		{70, 'Y', "crc32"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[cases[i].off] = cases[i].val;
		CHECK(hv_rec_decode(bad, (size_t)n, &r, &why) < 0);
		CHECKF(why && !strncmp(why, cases[i].expect, strlen(cases[i].expect)), "case %zu: %s", i, why);
	}
	CHECK(hv_rec_decode(buf, (size_t)n - 1, &r, &why) < 0);
	CHECK(hv_rec_decode(buf, 10, &r, &why) < 0);
}

/* Fields that need the CRC recomputed to reach their check. */
static void refix(uint8_t *b, int n)
{
	uint32_t c = hv_crc32(b, (size_t)n - 4);
	for (int i = 0; i < 4; i++)
		b[n - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void test_decode_rejects_valid_crc_with_bad_content(void)
{
	uint8_t buf[HV_REC_MAX];
	struct hv_rec r;
	const char *why;
	int n = mk(buf, 1, "C:\\x.exe", "p");

	buf[24] = 9; refix(buf, n); /* access */
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) < 0 && !strncmp(why, "access", 6));
	n = mk(buf, 1, "C:\\x.exe", "p");
	buf[8] = buf[9] = buf[10] = buf[11] = 0; refix(buf, n); /* seq 0 */
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) < 0 && !strncmp(why, "seq", 3));
	n = mk(buf, 1, "C:\\x.exe", "p");
	buf[27] = 0x80; refix(buf, n); /* unknown flag */
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) < 0 && !strncmp(why, "flags", 5));
	n = mk(buf, 1, "C:\\x.exe", "p");
	buf[28] = 200; refix(buf, n); /* path_len beyond the record */
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) < 0 && !strncmp(why, "path_len", 8));
	n = mk(buf, 1, "C:\\x.exe", "p");
	buf[HV_REC_HDR + 1] = (char)0xc0; refix(buf, n); /* overlong UTF-8 */
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) < 0 && !strncmp(why, "path", 4));
	n = mk(buf, 1, "C:\\x.exe", "p");
	buf[HV_REC_HDR + 2] = 0; refix(buf, n); /* NUL inside the path */
	CHECK(hv_rec_decode(buf, (size_t)n, &r, &why) < 0 && !strncmp(why, "path", 4));
}

static void test_stream_split_at_every_byte_gives_each_record_once(void)
{
	uint8_t s[3 * HV_REC_MAX];
	size_t len = 0;
	for (uint32_t q = 1; q <= 3; q++)
		len += (size_t)mk(s + len, q, "\\a\\b.exe", "x");
	for (size_t cut = 0; cut <= len; cut++) {
		struct hv_rx rx;
		struct seen sn = {0};
		hv_rx_init(&rx);
		hv_rx_feed(&rx, s, cut, collect, &sn);
		hv_rx_feed(&rx, s + cut, len - cut, collect, &sn);
		hv_rx_end(&rx, collect, &sn);
		CHECKF(sn.records == 3 && sn.malformed == 0, "cut %zu: %d records %d malformed", cut, sn.records,
		       sn.malformed);
	}
}

static void test_stream_junk_between_records_is_reported_and_skipped(void)
{
	uint8_t s[4 * HV_REC_MAX];
	size_t len = 0;
	struct hv_rx rx;
	struct seen sn = {0};
	memcpy(s, "garbage HV", 10);
	len = 10;
	len += (size_t)mk(s + len, 1, "\\a.exe", "x");
	memcpy(s + len, "HVFR\x01\x01\xff\xff", 8); /* a header with an impossible length */
	len += 8;
	len += (size_t)mk(s + len, 2, "\\b.exe", "x");
	hv_rx_init(&rx);
	hv_rx_feed(&rx, s, len, collect, &sn);
	hv_rx_end(&rx, collect, &sn);
	CHECK(sn.records == 2 && !strcmp(sn.path[0], "\\a.exe") && !strcmp(sn.path[1], "\\b.exe"));
	CHECK(sn.malformed == 2);
	CHECK(sn.skipped[0] == 10 && sn.off[0] == 0);
	CHECK(sn.skipped[1] == 8 && sn.why[1] && !strncmp(sn.why[1], "length", 6));
}

static void test_stream_flipped_bit_loses_one_record_not_the_next(void)
{
	uint8_t s[3 * HV_REC_MAX];
	size_t len = 0, first;
	struct hv_rx rx;
	struct seen sn = {0};
	len += (size_t)mk(s, 1, "\\a.exe", "x");
	first = len;
	len += (size_t)mk(s + len, 2, "\\b.exe", "x");
	len += (size_t)mk(s + len, 3, "\\c.exe", "x");
	s[first + 40] ^= 0x10;
	hv_rx_init(&rx);
	hv_rx_feed(&rx, s, len, collect, &sn);
	hv_rx_end(&rx, collect, &sn);
	CHECK(sn.records == 2 && sn.seqs[0] == 1 && sn.seqs[1] == 3);
	CHECK(sn.missing[1] == 1); /* the gap shows */
	CHECK(sn.malformed == 1 && sn.why[0] && !strncmp(sn.why[0], "crc32", 5));
}

static void test_stream_gap_and_restart_are_told_apart(void)
{
	uint8_t s[4 * HV_REC_MAX];
	size_t len = 0;
	struct hv_rx rx;
	struct seen sn = {0};
	len += (size_t)mk(s, 1, "\\a", "x");
	len += (size_t)mk(s + len, 5, "\\a", "x");
	len += (size_t)mk(s + len, 1, "\\a", "x");
	hv_rx_init(&rx);
	hv_rx_feed(&rx, s, len, collect, &sn);
	CHECK(sn.records == 3);
	CHECK(sn.missing[0] == 0 && sn.missing[1] == 3 && !sn.restart[1]);
	CHECK(sn.restart[2] && sn.missing[2] == 0);
	CHECK(rx.missing == 3);
}

static void test_stream_truncated_tail_is_reported_at_end(void)
{
	uint8_t s[HV_REC_MAX];
	int n = mk(s, 1, "\\a", "x");
	struct hv_rx rx;
	struct seen sn = {0};
	hv_rx_init(&rx);
	hv_rx_feed(&rx, s, (size_t)n - 3, collect, &sn);
	CHECK(sn.records == 0 && sn.malformed == 0);
	hv_rx_end(&rx, collect, &sn);
	CHECK(sn.malformed == 1 && sn.skipped[0] == (uint32_t)n - 3 && !strncmp(sn.why[0], "stream ends", 11));
}

static void test_stream_of_random_bytes_never_overruns(void)
{
	static uint8_t s[1 << 20];
	uint32_t x = 12345;
	struct hv_rx rx;
	struct seen sn = {0};
	for (size_t i = 0; i < sizeof(s); i++) {
		x = x * 1103515245u + 12345u;
		s[i] = (uint8_t)(x >> 16);
		if (i % 4093 == 0 && i + 4 < sizeof(s)) /* sprinkle magics */
			memcpy(s + i, "HVFR", 4), i += 3;
	}
	hv_rx_init(&rx);
	hv_rx_feed(&rx, s, sizeof(s), collect, &sn);
	hv_rx_end(&rx, collect, &sn);
	CHECK(sn.records == 0);
	CHECK(rx.malformed >= 1 && rx.n == 0);
}

int main(void)
{
	RUN(test_crc32_known_vector);
	RUN(test_roundtrip_keeps_every_field);
	RUN(test_encode_refuses_bad_fields);
	RUN(test_decode_names_the_bad_field);
	RUN(test_decode_rejects_valid_crc_with_bad_content);
	RUN(test_stream_split_at_every_byte_gives_each_record_once);
	RUN(test_stream_junk_between_records_is_reported_and_skipped);
	RUN(test_stream_flipped_bit_loses_one_record_not_the_next);
	RUN(test_stream_gap_and_restart_are_told_apart);
	RUN(test_stream_truncated_tail_is_reported_at_end);
	RUN(test_stream_of_random_bytes_never_overruns);
	return tap_done();
}
