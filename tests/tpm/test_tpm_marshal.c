/*
 * test_tpm_marshal.c: lib/tpm.c without a TPM. Command bytes for known
 * inputs (TPM 2.0 Library Part 3), hostile responses to every parser, TPM
 * addresses, and the transport against fake TPMs (forked children on
 * loopback or Unix sockets): refused, silent, closing and lying peers.
 *
 * `test_tpm_marshal --seeds DIR` writes the well-formed responses used here
 * into DIR as seeds for fuzz_tpm_response, and exits.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "tpm.h"

static size_t hexbytes(const char *hex, uint8_t *out)
{
	size_t n = 0;
	for (const char *p = hex; p[0] && p[1];) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		sscanf(p, "%2x", &v);
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return n;
}

static void put_be(uint8_t *b, uint32_t v, int w)
{
	for (int i = 0; i < w; i++)
		b[i] = (uint8_t)(v >> (8 * (w - 1 - i)));
}

/* A well-formed PCR_Read response: one PCR of bank alg with value 0xA5... */
static size_t pcr_read_resp(uint8_t *b, enum hv_alg alg, unsigned pcr)
{
	size_t n = 0, ds = hv_alg_size(alg);
	put_be(b, 0x8001, 2);
	put_be(b + 6, 0, 4);
	n = 10;
	put_be(b + n, 42, 4), n += 4;     /* pcrUpdateCounter */
	put_be(b + n, 1, 4), n += 4;      /* pcrSelectionOut.count */
	put_be(b + n, hv_alg_tpm_id(alg), 2), n += 2;
	b[n++] = 3;
	for (unsigned i = 0; i < 3; i++)
		b[n++] = i == pcr / 8 ? (uint8_t)(1u << (pcr % 8)) : 0;
	put_be(b + n, 1, 4), n += 4;      /* pcrValues.count */
	put_be(b + n, (uint32_t)ds, 2), n += 2;
	memset(b + n, 0xa5, ds), n += ds;
	put_be(b + 2, (uint32_t)n, 4);
	return n;
}

/* A GetCapability(TPM_CAP_PCRS) response as swtpm gives it: sha1, sha256,
 * sha384 with all 24 PCRs, sha512 with none. */
static size_t banks_resp(uint8_t *b)
{
	static const uint16_t ids[4] = {0x0004, 0x000b, 0x000c, 0x000d};
	size_t n = 10;
	put_be(b, 0x8001, 2);
	put_be(b + 6, 0, 4);
	b[n++] = 0;                      /* moreData */
	put_be(b + n, 5, 4), n += 4;     /* TPM_CAP_PCRS */
	put_be(b + n, 4, 4), n += 4;
	for (int i = 0; i < 4; i++) {
		put_be(b + n, ids[i], 2), n += 2;
		b[n++] = 3;
		memset(b + n, i < 3 ? 0xff : 0, 3), n += 3;
	}
	put_be(b + 2, (uint32_t)n, 4);
	return n;
}

static size_t header_resp(uint8_t *b, uint16_t tag, uint32_t rc)
{
	put_be(b, tag, 2);
	put_be(b + 2, 10, 4);
	put_be(b + 6, rc, 4);
	return 10;
}

static void fix_size(uint8_t *b, size_t n) { put_be(b + 2, (uint32_t)n, 4); }

/* ---- Command bytes ---------------------------------------------------- */

static void test_build_extend_sha256_bytes(void)
{
	struct hv_digests d = {.mask = HV_ALG_BIT(HV_SHA256)};
	for (int i = 0; i < 32; i++)
		d.d[HV_SHA256][i] = (uint8_t)i;
	uint8_t want[128], got[256];
	size_t wn = hexbytes("8002 00000041 00000182 0000000d"   /* header, pcrHandle 13 */
			     " 00000009 40000009 0000 00 0000"    /* one empty password session */
			     " 00000001 000b"                     /* TPML_DIGEST_VALUES, sha256 */
			     " 000102030405060708090a0b0c0d0e0f"
			     " 101112131415161718191a1b1c1d1e1f",
			     want);
	int n = hv_tpm_build_extend(got, sizeof(got), 13, &d);
	CHECKF(n == (int)wn, "%d != %zu", n, wn);
	CHECK(n > 0 && memcmp(got, want, wn) == 0);
}

static void test_build_extend_all_banks_in_id_order(void)
{
	struct hv_digests d = {.mask = HV_ALGS_ALL};
	memset(d.d[HV_SHA1], 0x11, 20);
	memset(d.d[HV_SHA256], 0x22, 32);
	memset(d.d[HV_SHA384], 0x33, 48);
	uint8_t got[256];
	int n = hv_tpm_build_extend(got, sizeof(got), 2, &d);
	CHECKF(n == 10 + 4 + 4 + 9 + 4 + 22 + 34 + 50, "%d", n);
	if (n != 137)
		return;
	CHECK(got[27] == 0 && got[28] == 0 && got[29] == 0 && got[30] == 3); /* count */
	CHECK(got[31] == 0 && got[32] == 4 && got[33] == 0x11 && got[52] == 0x11);
	CHECK(got[53] == 0 && got[54] == 0x0b && got[55] == 0x22 && got[86] == 0x22);
	CHECK(got[87] == 0 && got[88] == 0x0c && got[89] == 0x33 && got[136] == 0x33);
}

static void test_build_extend_rejects_pcr_mask_and_small_buffer(void)
{
	struct hv_digests d = {.mask = HV_ALG_BIT(HV_SHA1)};
	uint8_t buf[256];
	CHECK(hv_tpm_build_extend(buf, sizeof(buf), HV_TPM_NPCRS, &d) == HV_E_RANGE);
	CHECK(hv_tpm_build_extend(buf, sizeof(buf), 0xffffffffu, &d) == HV_E_RANGE);
	d.mask = 0;
	CHECK(hv_tpm_build_extend(buf, sizeof(buf), 2, &d) == HV_E_ABSENT);
	d.mask = 1u << 7; /* unknown bank bits only */
	CHECK(hv_tpm_build_extend(buf, sizeof(buf), 2, &d) == HV_E_ABSENT);
	/* Every buffer shorter than the command fails without writing past it
	 * (exact-size heap buffers: ASan catches an overflow). */
	d.mask = HV_ALGS_ALL;
	for (size_t cap = 0; cap < 137; cap++) {
		uint8_t *b = malloc(cap ? cap : 1);
		CHECKF(hv_tpm_build_extend(b, cap, 2, &d) == HV_E_RANGE, "cap %zu", cap);
		free(b);
	}
	uint8_t *b = malloc(137);
	CHECK(hv_tpm_build_extend(b, 137, 2, &d) == 137);
	free(b);
}

static void test_build_pcr_read_startup_getcap_bytes(void)
{
	uint8_t want[64], got[64];
	size_t wn = hexbytes("8001 00000014 0000017e 00000001 000c 03 002000", want);
	int n = hv_tpm_build_pcr_read(got, sizeof(got), HV_SHA384, 13);
	CHECK(n == (int)wn && memcmp(got, want, wn) == 0);
	wn = hexbytes("8001 00000014 0000017e 00000001 0004 03 000080", want);
	n = hv_tpm_build_pcr_read(got, sizeof(got), HV_SHA1, 23);
	CHECK(n == (int)wn && memcmp(got, want, wn) == 0);
	CHECK(hv_tpm_build_pcr_read(got, sizeof(got), HV_SHA1, 24) == HV_E_RANGE);
	CHECK(hv_tpm_build_pcr_read(got, sizeof(got), HV_NALGS, 1) == HV_E_UNSUPPORTED);
	CHECK(hv_tpm_build_pcr_read(got, 19, HV_SHA1, 1) == HV_E_RANGE);
	wn = hexbytes("8001 0000000c 00000144 0000", want);
	n = hv_tpm_build_startup_clear(got, sizeof(got));
	CHECK(n == (int)wn && memcmp(got, want, wn) == 0);
	wn = hexbytes("8001 00000016 0000017a 00000005 00000000 00000010", want);
	n = hv_tpm_build_get_pcrs(got, sizeof(got));
	CHECK(n == (int)wn && memcmp(got, want, wn) == 0);
}

/* ---- Response header -------------------------------------------------- */

static void test_check_response_rejects_short(void)
{
	uint8_t b[10];
	header_resp(b, 0x8001, 0);
	for (size_t len = 0; len < 10; len++) {
		uint8_t *p = malloc(len ? len : 1);
		memcpy(p, b, len);
		hv_why why = {""};
		CHECKF(hv_tpm_check_response(p, len, NULL, &why) == HV_E_FORMAT, "len %zu", len);
		CHECK(why.msg[0] != 0);
		free(p);
	}
	CHECK(hv_tpm_check_response(b, 10, NULL, NULL) == HV_OK);
}

static void test_check_response_rejects_size_mismatch_and_oversize(void)
{
	static uint8_t b[HV_TPM_MAX_RESPONSE + 16];
	uint32_t rc = 7;
	header_resp(b, 0x8001, 0);
	put_be(b + 2, 11, 4); /* says 11, 10 received */
	CHECK(hv_tpm_check_response(b, 10, &rc, NULL) == HV_E_FORMAT && rc == 0);
	put_be(b + 2, 10, 4); /* says 10, 12 received */
	CHECK(hv_tpm_check_response(b, 12, NULL, NULL) == HV_E_FORMAT);
	put_be(b + 2, 0xffffffffu, 4);
	CHECK(hv_tpm_check_response(b, 10, NULL, NULL) == HV_E_FORMAT);
	put_be(b + 2, HV_TPM_MAX_RESPONSE + 1, 4);
	CHECK(hv_tpm_check_response(b, HV_TPM_MAX_RESPONSE + 1, NULL, NULL) == HV_E_FORMAT);
	put_be(b + 2, HV_TPM_MAX_RESPONSE, 4);
	CHECK(hv_tpm_check_response(b, HV_TPM_MAX_RESPONSE, NULL, NULL) == HV_OK);
}

static void test_check_response_tag_and_rc(void)
{
	uint8_t b[10];
	uint32_t rc = 0;
	header_resp(b, 0x00c4, 0); /* TPM 1.2 TPM_TAG_RSP_COMMAND */
	CHECK(hv_tpm_check_response(b, 10, &rc, NULL) == HV_E_FORMAT);
	header_resp(b, 0x8002, 0);
	CHECK(hv_tpm_check_response(b, 10, &rc, NULL) == HV_OK && rc == 0);
	hv_why why = {""};
	header_resp(b, 0x8001, 0x100);
	CHECK(hv_tpm_check_response(b, 10, &rc, &why) == HV_E_UNSUPPORTED && rc == 0x100);
	CHECKF(strstr(why.msg, "TPM_RC_INITIALIZE") != NULL, "%s", why.msg);
	header_resp(b, 0x8001, 0x1c4); /* TPM_RC_VALUE, parameter 1 */
	CHECK(hv_tpm_check_response(b, 10, &rc, &why) == HV_E_UNSUPPORTED && rc == 0x1c4);
	CHECKF(strstr(why.msg, "TPM_RC_VALUE") != NULL, "%s", why.msg);
}

/* ---- PCR_Read responses ----------------------------------------------- */

static void test_parse_pcr_read_ok(void)
{
	uint8_t b[128], out[48];
	for (int a = 0; a < HV_NALGS; a++) {
		size_t n = pcr_read_resp(b, a, 13);
		memset(out, 0, sizeof(out));
		CHECK(hv_tpm_parse_pcr_read(b, n, a, out, NULL) == HV_OK);
		CHECK(out[0] == 0xa5 && out[hv_alg_size(a) - 1] == 0xa5);
		CHECK(hv_alg_size(a) == 48 || out[hv_alg_size(a)] == 0);
	}
}

static void test_parse_pcr_read_rejects_every_truncation(void)
{
	uint8_t b[128], out[48];
	size_t n = pcr_read_resp(b, HV_SHA384, 2);
	for (size_t len = 0; len < n; len++) {
		uint8_t *p = malloc(len ? len : 1);
		memcpy(p, b, len);
		if (len >= 6)
			fix_size(p, len);
		int st = hv_tpm_parse_pcr_read(p, len, HV_SHA384, out, NULL);
		CHECKF(st == HV_E_FORMAT, "len %zu: %d", len, st);
		free(p);
	}
}

static void test_parse_pcr_read_rejects_hostile_fields(void)
{
	uint8_t b[400], out[48];
	size_t n;
	hv_why why;

	n = pcr_read_resp(b, HV_SHA256, 2);
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA1, out, NULL) == HV_E_FORMAT); /* other bank */

	n = pcr_read_resp(b, HV_SHA256, 2);
	put_be(b + 14, 2, 4); /* two selections */
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);

	n = pcr_read_resp(b, HV_SHA256, 2);
	b[21] |= 0x80; /* a second PCR selected */
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);

	n = pcr_read_resp(b, HV_SHA256, 2);
	b[20] = 0xff; /* sizeofSelect 255 */
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);

	n = pcr_read_resp(b, HV_SHA256, 2);
	put_be(b + 24, 0xffffffffu, 4); /* digest count */
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);

	n = pcr_read_resp(b, HV_SHA256, 2);
	put_be(b + 28, 48, 2); /* digest size of the wrong bank */
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);
	put_be(b + 28, 0xffff, 2);
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);

	n = pcr_read_resp(b, HV_SHA256, 2);
	b[n] = 0; /* a trailing byte */
	fix_size(b, n + 1);
	CHECK(hv_tpm_parse_pcr_read(b, n + 1, HV_SHA256, out, NULL) == HV_E_FORMAT);

	n = pcr_read_resp(b, HV_SHA256, 2);
	put_be(b, 0x8002, 2); /* sessions tag on a command without sessions */
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_FORMAT);

	/* Bank not allocated: the TPM selects nothing and returns no digest. */
	n = pcr_read_resp(b, HV_SHA256, 2);
	memset(b + 21, 0, 3);
	put_be(b + 24, 0, 4);
	fix_size(b, 28);
	why.msg[0] = 0;
	CHECK(hv_tpm_parse_pcr_read(b, 28, HV_SHA256, out, &why) == HV_E_ABSENT);
	CHECK(why.msg[0] != 0);

	n = header_resp(b, 0x8001, 0x1c4);
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_SHA256, out, NULL) == HV_E_UNSUPPORTED);
	CHECK(hv_tpm_parse_pcr_read(b, n, HV_NALGS, out, NULL) == HV_E_UNSUPPORTED);
}

/* ---- GetCapability(TPM_CAP_PCRS) responses ---------------------------- */

static void test_parse_banks_swtpm_like(void)
{
	uint8_t b[128];
	unsigned mask = 0;
	size_t n = banks_resp(b);
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_OK && mask == HV_ALGS_ALL);
	/* sha1 deallocated (empty bitmap): left out. */
	memset(b + 22, 0, 3);
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_OK && mask == (HV_ALGS_ALL & ~HV_ALG_BIT(HV_SHA1)));
	/* An unknown bank (SM3_256 0x0012) with PCRs: ignored. */
	n = banks_resp(b);
	put_be(b + 37, 0x0012, 2);
	memset(b + 40, 0xff, 3);
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_OK && mask == HV_ALGS_ALL);
}

static void test_parse_banks_rejects_hostile(void)
{
	uint8_t b[128];
	unsigned mask = 12345;
	size_t n = banks_resp(b);
	for (size_t len = 0; len < n; len++) {
		uint8_t *p = malloc(len ? len : 1);
		memcpy(p, b, len);
		if (len >= 6)
			fix_size(p, len);
		CHECKF(hv_tpm_parse_banks(p, len, &mask, NULL) == HV_E_FORMAT, "len %zu", len);
		free(p);
	}
	CHECK(mask == 12345); /* untouched on failure */

	n = banks_resp(b);
	put_be(b + 15, 0xffffffffu, 4); /* bank count */
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_E_FORMAT);
	n = banks_resp(b);
	b[21] = 200; /* sizeofSelect */
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_E_FORMAT);
	n = banks_resp(b);
	put_be(b + 11, 6, 4); /* TPM_CAP_PCR_PROPERTIES instead */
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_E_FORMAT);
	n = banks_resp(b);
	b[10] = 2; /* moreData not a TPMI_YES_NO */
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_E_FORMAT);
	n = banks_resp(b);
	b[n] = 0;
	fix_size(b, n + 1);
	CHECK(hv_tpm_parse_banks(b, n + 1, &mask, NULL) == HV_E_FORMAT);
	n = header_resp(b, 0x8001, 0x101);
	CHECK(hv_tpm_parse_banks(b, n, &mask, NULL) == HV_E_UNSUPPORTED);
}

/* ---- Addresses -------------------------------------------------------- */

static void test_init_addresses(void)
{
	struct hv_tpm t;
	static const char *good[] = {"tcp:127.0.0.1:2321", "tcp:localhost:1", "tcp:[::1]:65535",
				     "unix:/run/hvtpm.sock"};
	static const char *bad[] = {"", "tcp:", "tcp:127.0.0.1", "tcp::2321", "tcp:h:0", "tcp:h:65536",
				    "tcp:h:12x", "tcp:h:-1", "tcp:h: 1", "tcp:[::1:2", "udp:h:1", "unix:",
				    "127.0.0.1:2321"};
	hv_why why;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECKF(hv_tpm_init(&t, good[i], &why) == HV_OK, "%s", good[i]);
		CHECK(t.fd == -1 && t.timeout_ms == 2000 && strcmp(t.addr, good[i]) == 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why.msg[0] = 0;
		CHECKF(hv_tpm_init(&t, bad[i], &why) == HV_E_FORMAT, "%s", bad[i]);
		CHECK(why.msg[0] != 0 && t.fd == -1);
	}
	char longp[300] = "unix:/";
	memset(longp + 6, 'a', 200);
	longp[206] = 0;
	CHECK(hv_tpm_init(&t, longp, NULL) == HV_E_FORMAT); /* past sun_path */
	memset(longp + 6, 'a', 290);
	longp[296] = 0;
	CHECK(hv_tpm_init(&t, longp, NULL) == HV_E_FORMAT); /* past addr[] */
	CHECK(hv_tpm_init(&t, NULL, NULL) == HV_E_FORMAT);
	hv_tpm_close(&t);
	hv_tpm_close(&t); /* idempotent */
	CHECK(t.fd == -1);
}

/* ---- Transport against fake TPMs --------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listen_tcp(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &l) < 0) {
		perror("listen_tcp");
		exit(1);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read one command from fd; 0 or -1 at EOF. */
static int read_command(int fd)
{
	uint8_t b[4096];
	if (read_full(fd, b, 10) < 0)
		return -1;
	uint32_t size = (uint32_t)b[2] << 24 | b[3] << 16 | b[4] << 8 | b[5];
	if (size < 10 || size > sizeof(b))
		return -1;
	return read_full(fd, b + 10, size - 10);
}

/* What a fake TPM does with each command of one connection. */
enum act { ANSWER, CLOSE, OVERSIZE, HANG };
struct step {
	enum act act;
	uint8_t resp[128];
	size_t len;
};

/* Fork a child that accepts one connection on lfd and plays steps; the
 * parent closes its copy of lfd. Returns the child's pid. */
static pid_t fake_tpm(int lfd, const struct step *steps, int nsteps)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	alarm(10);
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	for (int i = 0; i < nsteps; i++) {
		if (read_command(c) < 0)
			_exit(2);
		switch (steps[i].act) {
		case ANSWER:
			if (write(c, steps[i].resp, steps[i].len) != (ssize_t)steps[i].len)
				_exit(3);
			break;
		case CLOSE:
			_exit(0);
		case OVERSIZE: {
			uint8_t h[10] = {0x80, 0x01, 0x00, 0x00, 0x14, 0x00, 0, 0, 0, 0}; /* 5120 bytes */
			if (write(c, h, 10) != 10)
				_exit(3);
			pause();
			break;
		}
		case HANG:
			pause();
		}
	}
	_exit(0);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static struct hv_digests some_digests(void)
{
	struct hv_digests d = {.mask = HV_ALGS_ALL};
	memset(d.d, 0x5a, sizeof(d.d));
	return d;
}

static void test_io_refused_is_range_and_quick(void)
{
	int port, lfd = listen_tcp(&port);
	close(lfd); /* nothing listens there now */
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	struct hv_tpm t;
	struct hv_digests d = some_digests();
	hv_why why = {""};
	CHECK(hv_tpm_init(&t, addr, NULL) == HV_OK);
	double t0 = now_s();
	CHECK(hv_tpm_pcr_extend(&t, 2, &d, NULL, &why) == HV_E_RANGE);
	CHECK(now_s() - t0 < 1.0);
	CHECKF(strstr(why.msg, "refused") != NULL, "%s", why.msg);
	CHECK(t.fd == -1);
}

static void test_io_silent_tpm_times_out(void)
{
	int port, lfd = listen_tcp(&port);
	struct step s[] = {{HANG, {0}, 0}};
	pid_t pid = fake_tpm(lfd, s, 1);
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	struct hv_tpm t;
	struct hv_digests d = some_digests();
	hv_why why = {""};
	CHECK(hv_tpm_init(&t, addr, NULL) == HV_OK);
	t.timeout_ms = 300;
	double t0 = now_s();
	CHECK(hv_tpm_pcr_extend(&t, 2, &d, NULL, &why) == HV_E_RANGE);
	double dt = now_s() - t0;
	CHECKF(dt >= 0.25 && dt < 1.5, "%.3f s", dt);
	CHECKF(strstr(why.msg, "timed out") != NULL, "%s", why.msg);
	CHECK(t.fd == -1);
	reap(pid);
}

static void test_io_oversize_response_is_format(void)
{
	int port, lfd = listen_tcp(&port);
	struct step s[] = {{OVERSIZE, {0}, 0}};
	pid_t pid = fake_tpm(lfd, s, 1);
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	struct hv_tpm t;
	uint8_t out[48];
	CHECK(hv_tpm_init(&t, addr, NULL) == HV_OK);
	CHECK(hv_tpm_pcr_read(&t, HV_SHA256, 2, out, NULL, NULL) == HV_E_FORMAT);
	CHECK(t.fd == -1);
	reap(pid);
}

static void test_io_closed_mid_command_no_sigpipe(void)
{
	/* SIGPIPE stays at its default (terminate): a send without
	 * MSG_NOSIGNAL on the reset connection would kill this test. */
	signal(SIGPIPE, SIG_DFL);
	int port, lfd = listen_tcp(&port);
	uint8_t ok[10];
	struct step s[] = {{ANSWER, {0}, 0}};
	s[0].len = header_resp(s[0].resp, 0x8002, 0);
	memcpy(ok, s[0].resp, 10);
	pid_t pid = fake_tpm(lfd, s, 1); /* answers once, then exits */
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	struct hv_tpm t;
	struct hv_digests d = some_digests();
	hv_why why = {""};
	CHECK(hv_tpm_init(&t, addr, NULL) == HV_OK);
	CHECK(hv_tpm_pcr_extend(&t, 2, &d, NULL, &why) == HV_OK);
	CHECK(t.fd >= 0);
	waitpid(pid, NULL, 0);
	/* Provoke the peer's RST, so that the next send fails with EPIPE. */
	send(t.fd, "x", 1, MSG_NOSIGNAL);
	usleep(100000);
	double t0 = now_s();
	int st = hv_tpm_pcr_extend(&t, 2, &d, NULL, &why);
	CHECKF(st == HV_E_RANGE, "%d %s", st, why.msg);
	CHECK(now_s() - t0 < 1.0);
	CHECK(t.fd == -1);
	/* The next call reconnects and is refused. */
	CHECK(hv_tpm_pcr_extend(&t, 2, &d, NULL, &why) == HV_E_RANGE && t.fd == -1);
}

static void test_io_peer_closes_without_answer(void)
{
	int port, lfd = listen_tcp(&port);
	struct step s[] = {{CLOSE, {0}, 0}};
	pid_t pid = fake_tpm(lfd, s, 1);
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	struct hv_tpm t;
	hv_why why = {""};
	uint32_t rc = 1;
	CHECK(hv_tpm_init(&t, addr, NULL) == HV_OK);
	CHECK(hv_tpm_startup_clear(&t, &rc, &why) == HV_E_RANGE);
	CHECKF(strstr(why.msg, "closed") != NULL, "%s", why.msg);
	CHECK(t.fd == -1);
	reap(pid);
}

static void test_io_unix_socket_retry_and_rc(void)
{
	char dir[] = "/tmp/hvtpm-test-XXXXXX", path[128];
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/tpm.sock", dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		CHECK(0);
		return;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 4) < 0) {
		perror("unix listen");
		CHECK(0);
		return;
	}
	struct step s[5];
	memset(s, 0, sizeof(s));
	s[0].len = header_resp(s[0].resp, 0x8001, 0x100);   /* startup: already started */
	s[1].len = header_resp(s[1].resp, 0x8001, 0x922);   /* extend: TPM_RC_RETRY */
	s[2].len = header_resp(s[2].resp, 0x8002, 0);       /* extend: done */
	s[3].len = header_resp(s[3].resp, 0x8001, 0x98b);   /* extend: TPM_RC_HANDLE */
	s[4].len = pcr_read_resp(s[4].resp, HV_SHA256, 13); /* read: a different PCR */
	pid_t pid = fake_tpm(lfd, s, 5);
	char addr[160];
	snprintf(addr, sizeof(addr), "unix:%s", path);
	struct hv_tpm t;
	struct hv_digests d = some_digests();
	uint32_t rc = 0;
	uint8_t out[48];
	hv_why why = {""};
	CHECK(hv_tpm_init(&t, addr, &why) == HV_OK);
	CHECK(hv_tpm_startup_clear(&t, &rc, &why) == HV_OK && rc == 0x100);
	CHECK(hv_tpm_pcr_extend(&t, 2, &d, &rc, &why) == HV_OK && rc == 0);
	CHECK(hv_tpm_pcr_extend(&t, 2, &d, &rc, &why) == HV_E_UNSUPPORTED && rc == 0x98b);
	CHECKF(strstr(why.msg, "TPM_RC_HANDLE") != NULL, "%s", why.msg);
	CHECK(t.fd >= 0); /* a TPM error leaves the stream usable */
	CHECK(hv_tpm_pcr_read(&t, HV_SHA256, 2, out, &rc, &why) == HV_E_FORMAT); /* answered PCR 13 */
	CHECKF(strstr(why.msg, "PCR 13") != NULL, "%s", why.msg);
	CHECK(t.fd == -1); /* a format error closes the stream */
	reap(pid);
	unlink(path);
	rmdir(dir);
}

/* ---- Seeds for the fuzzer --------------------------------------------- */

static int write_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return 1;
	size_t w = fwrite(b, 1, n, f);
	return (fclose(f) != 0 || w != n) ? 1 : 0;
}

static int write_seeds(const char *dir)
{
	uint8_t b[256];
	int err = 0;
	char name[64];
	mkdir(dir, 0755);
	for (int a = 0; a < HV_NALGS; a++) {
		snprintf(name, sizeof(name), "pcr_read_%s", hv_alg_name(a));
		err |= write_file(dir, name, b, pcr_read_resp(b, a, 13));
	}
	err |= write_file(dir, "banks", b, banks_resp(b));
	err |= write_file(dir, "rc_initialize", b, header_resp(b, 0x8001, 0x100));
	err |= write_file(dir, "extend_ok", b, header_resp(b, 0x8002, 0));
	return err;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	RUN(test_build_extend_sha256_bytes);
	RUN(test_build_extend_all_banks_in_id_order);
	RUN(test_build_extend_rejects_pcr_mask_and_small_buffer);
	RUN(test_build_pcr_read_startup_getcap_bytes);
	RUN(test_check_response_rejects_short);
	RUN(test_check_response_rejects_size_mismatch_and_oversize);
	RUN(test_check_response_tag_and_rc);
	RUN(test_parse_pcr_read_ok);
	RUN(test_parse_pcr_read_rejects_every_truncation);
	RUN(test_parse_pcr_read_rejects_hostile_fields);
	RUN(test_parse_banks_swtpm_like);
	RUN(test_parse_banks_rejects_hostile);
	RUN(test_init_addresses);
	RUN(test_io_refused_is_range_and_quick);
	RUN(test_io_silent_tpm_times_out);
	RUN(test_io_oversize_response_is_format);
	RUN(test_io_closed_mid_command_no_sigpipe);
	RUN(test_io_peer_closes_without_answer);
	RUN(test_io_unix_socket_retry_and_rc);
	return tap_done();
}
