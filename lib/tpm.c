/*
 * tpm.c: TPM 2.0 commands for the hypervisor's swtpm, marshalled by hand.
 *
 * References are to the TPM 2.0 Library specification: Part 2 (structures)
 * and Part 3 (commands). Everything on the wire is big-endian. A command or
 * response starts with a 10-byte header: tag u16, size u32 (the whole
 * buffer), then the command code or the response code u32.
 *
 * Transport: the swtpm data channel, a stream socket that carries raw
 * command and response buffers ("tcp:HOST:PORT" or "unix:PATH"). Connect,
 * send and receive are non-blocking, bounded by t->timeout_ms each, and use
 * MSG_NOSIGNAL: a TPM that goes away never raises SIGPIPE in QEMU. After any
 * I/O error or a response whose framing cannot be trusted the socket is
 * closed, so the next call reconnects on a clean stream.
 *
 * Responses are hostile: the header size must equal the bytes received,
 * every field is read through bounds checks, and a parse consumes the whole
 * response or fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tpm.h"

/* Part 2: TPM_ST, TPM_CC, TPM_RC, TPM_SU, TPM_CAP, TPM_RH. */
#define TPM_ST_NO_SESSIONS 0x8001
#define TPM_ST_SESSIONS 0x8002
#define TPM_CC_STARTUP 0x00000144
#define TPM_CC_PCR_EXTEND 0x00000182
#define TPM_CC_PCR_READ 0x0000017e
#define TPM_CC_GET_CAPABILITY 0x0000017a
#define TPM_SU_CLEAR 0x0000
#define TPM_RC_INITIALIZE 0x100
#define TPM_RC_YIELDED 0x908
#define TPM_RC_TESTING 0x90a
#define TPM_RC_RETRY 0x922
#define TPM_RS_PW 0x40000009
#define TPM_CAP_PCRS 0x00000005

#define HDR_SIZE 10
/* TPML_PCR_SELECTION: at most HASH_COUNT entries; we accept a generous 16.
 * sizeofSelect is PCR_SELECT_MAX (3 for 24 PCRs); accept up to 32 (256
 * PCRs) from TPMs with more PCRs. */
#define MAX_BANKS 16
#define MAX_SELECT 32
#define RETRIES 3

#define DEFAULT_TIMEOUT_MS 2000

/* ---- Big-endian writer and reader ------------------------------------- */

struct wr {
	uint8_t *p;
	size_t cap, n;
	bool over;
};

static void put(struct wr *w, uint64_t v, unsigned width)
{
	if (w->over || width > w->cap - w->n) {
		w->over = true;
		return;
	}
	for (unsigned i = 0; i < width; i++)
		w->p[w->n + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	w->n += width;
}

static void put_bytes(struct wr *w, const uint8_t *b, size_t len)
{
	if (w->over || len > w->cap - w->n) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->n, b, len);
	w->n += len;
}

static void header(struct wr *w, uint16_t tag, uint32_t cc)
{
	put(w, tag, 2);
	put(w, 0, 4); /* size, filled by finish() */
	put(w, cc, 4);
}

/* Fill in the size field; the command size or HV_E_RANGE if it did not fit. */
static int finish(struct wr *w)
{
	if (w->over || w->n > INT32_MAX)
		return HV_E_RANGE;
	for (unsigned i = 0; i < 4; i++)
		w->p[2 + i] = (uint8_t)(w->n >> (8 * (3 - i)));
	return (int)w->n;
}

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static bool get(struct rd *r, unsigned width, uint32_t *v)
{
	if (width > r->len - r->off)
		return false;
	uint32_t x = 0;
	for (unsigned i = 0; i < width; i++)
		x = x << 8 | r->p[r->off + i];
	r->off += width;
	*v = x;
	return true;
}

static const uint8_t *get_bytes(struct rd *r, size_t n)
{
	if (n > r->len - r->off)
		return NULL;
	const uint8_t *b = r->p + r->off;
	r->off += n;
	return b;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* ---- Marshalling ------------------------------------------------------ */

int hv_tpm_build_extend(uint8_t *buf, size_t cap, uint32_t pcr, const struct hv_digests *d)
{
	unsigned mask = d->mask & HV_ALGS_ALL;
	uint32_t count = 0;
	if (pcr >= HV_TPM_NPCRS)
		return HV_E_RANGE;
	for (int a = 0; a < HV_NALGS; a++)
		count += (mask >> a) & 1;
	if (count == 0)
		return HV_E_ABSENT;

	/* Part 3, 22.3 TPM2_PCR_Extend: @pcrHandle (auth role USER) with one
	 * password session carrying an empty password (Part 1, 19.8.4). */
	struct wr w = {buf, cap, 0, false};
	header(&w, TPM_ST_SESSIONS, TPM_CC_PCR_EXTEND);
	put(&w, pcr, 4);
	put(&w, 9, 4);          /* authorizationSize: one TPMS_AUTH_COMMAND */
	put(&w, TPM_RS_PW, 4);  /* sessionHandle */
	put(&w, 0, 2);          /* nonce: TPM2B, empty */
	put(&w, 0, 1);          /* sessionAttributes */
	put(&w, 0, 2);          /* hmac (the password): empty */
	put(&w, count, 4);      /* TPML_DIGEST_VALUES.count */
	for (int a = 0; a < HV_NALGS; a++) {
		if (!(mask & HV_ALG_BIT(a)))
			continue;
		put(&w, hv_alg_tpm_id(a), 2);
		put_bytes(&w, d->d[a], hv_alg_size(a));
	}
	return finish(&w);
}

int hv_tpm_build_pcr_read(uint8_t *buf, size_t cap, enum hv_alg alg, uint32_t pcr)
{
	if ((unsigned)alg >= HV_NALGS)
		return HV_E_UNSUPPORTED;
	if (pcr >= HV_TPM_NPCRS)
		return HV_E_RANGE;
	/* Part 3, 22.4 TPM2_PCR_Read: one TPMS_PCR_SELECTION, 3-byte bitmap. */
	struct wr w = {buf, cap, 0, false};
	header(&w, TPM_ST_NO_SESSIONS, TPM_CC_PCR_READ);
	put(&w, 1, 4);
	put(&w, hv_alg_tpm_id(alg), 2);
	put(&w, 3, 1);
	for (unsigned i = 0; i < 3; i++)
		put(&w, i == pcr / 8 ? 1u << (pcr % 8) : 0, 1);
	return finish(&w);
}

int hv_tpm_build_startup_clear(uint8_t *buf, size_t cap)
{
	/* Part 3, 9.3 TPM2_Startup. */
	struct wr w = {buf, cap, 0, false};
	header(&w, TPM_ST_NO_SESSIONS, TPM_CC_STARTUP);
	put(&w, TPM_SU_CLEAR, 2);
	return finish(&w);
}

int hv_tpm_build_get_pcrs(uint8_t *buf, size_t cap)
{
	/* Part 3, 30.2 TPM2_GetCapability(TPM_CAP_PCRS): property and count
	 * are not used for this capability; the TPM returns every bank. */
	struct wr w = {buf, cap, 0, false};
	header(&w, TPM_ST_NO_SESSIONS, TPM_CC_GET_CAPABILITY);
	put(&w, TPM_CAP_PCRS, 4);
	put(&w, 0, 4);
	put(&w, MAX_BANKS, 4);
	return finish(&w);
}

static const char *rc_name(uint32_t rc)
{
	if (rc & 0x80) { /* format one: error number plus parameter/handle/session */
		switch (rc & 0xbf) {
		case 0x82: return "TPM_RC_HASH";
		case 0x84: return "TPM_RC_VALUE";
		case 0x8b: return "TPM_RC_HANDLE";
		case 0x95: return "TPM_RC_SIZE";
		case 0xa2: return "TPM_RC_BAD_AUTH";
		case 0x8e: return "TPM_RC_AUTH_FAIL";
		default: return "format-one error";
		}
	}
	switch (rc) {
	case TPM_RC_INITIALIZE: return "TPM_RC_INITIALIZE";
	case 0x101: return "TPM_RC_FAILURE";
	case 0x143: return "TPM_RC_COMMAND_CODE";
	case 0x149: return "TPM_RC_AUTH_MISSING";
	case 0x907: return "TPM_RC_LOCALITY";
	case TPM_RC_YIELDED: return "TPM_RC_YIELDED";
	case 0x909: return "TPM_RC_CANCELED";
	case TPM_RC_TESTING: return "TPM_RC_TESTING";
	case TPM_RC_RETRY: return "TPM_RC_RETRY";
	default: return "TPM error";
	}
}

int hv_tpm_check_response(const uint8_t *buf, size_t len, uint32_t *rc_out, hv_why *why)
{
	if (rc_out)
		*rc_out = 0;
	if (len < HDR_SIZE)
		return hv_fail(why, HV_E_FORMAT, "TPM response of %zu bytes is shorter than its header", len);
	if (len > HV_TPM_MAX_RESPONSE)
		return hv_fail(why, HV_E_FORMAT, "TPM response of %zu bytes, more than %u", len, HV_TPM_MAX_RESPONSE);
	uint16_t tag = (uint16_t)(buf[0] << 8 | buf[1]);
	uint32_t size = be32(buf + 2), rc = be32(buf + 6);
	if (size != len)
		return hv_fail(why, HV_E_FORMAT, "TPM response size field %u but %zu bytes received", size, len);
	if (tag != TPM_ST_NO_SESSIONS && tag != TPM_ST_SESSIONS)
		return hv_fail(why, HV_E_FORMAT, "TPM response tag 0x%04x is not a TPM 2.0 tag", tag);
	if (rc != 0) {
		if (rc_out)
			*rc_out = rc;
		return hv_fail(why, HV_E_UNSUPPORTED, "TPM response code 0x%03x (%s)", rc, rc_name(rc));
	}
	return HV_OK;
}

/* The response after a successful header check; tag must be want_tag. */
static int body(const uint8_t *buf, size_t len, uint16_t want_tag, struct rd *r, hv_why *why)
{
	int st = hv_tpm_check_response(buf, len, NULL, why);
	if (st != HV_OK)
		return st;
	if ((uint16_t)(buf[0] << 8 | buf[1]) != want_tag)
		return hv_fail(why, HV_E_FORMAT, "TPM response tag 0x%02x%02x, expected 0x%04x", buf[0], buf[1], want_tag);
	r->p = buf;
	r->len = len;
	r->off = HDR_SIZE;
	return HV_OK;
}

/* pcr < 0: accept any single selected PCR. */
static int parse_pcr_read(const uint8_t *buf, size_t len, enum hv_alg alg, int pcr, uint8_t *out, hv_why *why)
{
	struct rd r;
	uint32_t counter, nsel, id, sz, ndig, dsz;
	if ((unsigned)alg >= HV_NALGS)
		return hv_fail(why, HV_E_UNSUPPORTED, "unknown hash algorithm %d", (int)alg);
	int st = body(buf, len, TPM_ST_NO_SESSIONS, &r, why);
	if (st != HV_OK)
		return st;
	/* Part 3, 22.4.2: pcrUpdateCounter, pcrSelectionOut, pcrValues. */
	if (!get(&r, 4, &counter) || !get(&r, 4, &nsel))
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response truncated in its header");
	if (nsel != 1)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response selects %u banks, asked for 1", nsel);
	if (!get(&r, 2, &id) || !get(&r, 1, &sz))
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response truncated in its selection");
	if (id != hv_alg_tpm_id(alg))
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response bank 0x%04x, asked for 0x%04x", id,
			       hv_alg_tpm_id(alg));
	if (sz > MAX_SELECT)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response sizeofSelect %u over %u", sz, MAX_SELECT);
	const uint8_t *bits = get_bytes(&r, sz);
	if (!bits)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response truncated in its selection bitmap");
	unsigned nset = 0, which = 0;
	for (unsigned i = 0; i < sz * 8; i++)
		if (bits[i / 8] >> (i % 8) & 1) {
			nset++;
			which = i;
		}
	if (!get(&r, 4, &ndig))
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response truncated before its digest list");
	if (nset == 0 && ndig == 0)
		return hv_fail(why, HV_E_ABSENT, "the TPM returned no %s PCR value (bank not allocated?)",
			       hv_alg_name(alg));
	if (nset != 1 || ndig != 1)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response with %u PCRs selected and %u digests", nset, ndig);
	if (pcr >= 0 && which != (unsigned)pcr)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response for PCR %u, asked for %d", which, pcr);
	if (!get(&r, 2, &dsz))
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response truncated in its digest size");
	if (dsz != hv_alg_size(alg))
		return hv_fail(why, HV_E_FORMAT, "PCR_Read %s digest of %u bytes", hv_alg_name(alg), dsz);
	const uint8_t *dig = get_bytes(&r, dsz);
	if (!dig)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response truncated in its digest");
	if (r.off != r.len)
		return hv_fail(why, HV_E_FORMAT, "PCR_Read response has %zu trailing bytes", r.len - r.off);
	memcpy(out, dig, dsz);
	return HV_OK;
}

int hv_tpm_parse_pcr_read(const uint8_t *buf, size_t len, enum hv_alg alg, uint8_t *out, hv_why *why)
{
	return parse_pcr_read(buf, len, alg, -1, out, why);
}

int hv_tpm_parse_banks(const uint8_t *buf, size_t len, unsigned *mask, hv_why *why)
{
	struct rd r;
	uint32_t more, cap, n;
	int st = body(buf, len, TPM_ST_NO_SESSIONS, &r, why);
	if (st != HV_OK)
		return st;
	/* Part 3, 30.2.2: moreData, then TPMS_CAPABILITY_DATA. */
	if (!get(&r, 1, &more) || !get(&r, 4, &cap) || !get(&r, 4, &n))
		return hv_fail(why, HV_E_FORMAT, "GetCapability response truncated in its header");
	if (more > 1)
		return hv_fail(why, HV_E_FORMAT, "GetCapability moreData %u is not a TPMI_YES_NO", more);
	if (cap != TPM_CAP_PCRS)
		return hv_fail(why, HV_E_FORMAT, "GetCapability answered capability %u, asked for TPM_CAP_PCRS", cap);
	if (n > MAX_BANKS)
		return hv_fail(why, HV_E_FORMAT, "GetCapability lists %u banks, more than %u", n, MAX_BANKS);
	unsigned m = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id, sz;
		if (!get(&r, 2, &id) || !get(&r, 1, &sz))
			return hv_fail(why, HV_E_FORMAT, "GetCapability bank %u truncated", i);
		if (sz > MAX_SELECT)
			return hv_fail(why, HV_E_FORMAT, "GetCapability bank %u sizeofSelect %u over %u", i, sz,
				       MAX_SELECT);
		const uint8_t *bits = get_bytes(&r, sz);
		if (!bits)
			return hv_fail(why, HV_E_FORMAT, "GetCapability bank %u bitmap truncated", i);
		bool any = false;
		for (uint32_t b = 0; b < sz; b++)
			any |= bits[b] != 0;
		int a = hv_alg_from_tpm_id((uint16_t)id);
		if (any && a >= 0) /* banks hvima does not know (SM3, SHA-512) are left out */
			m |= HV_ALG_BIT(a);
	}
	if (r.off != r.len)
		return hv_fail(why, HV_E_FORMAT, "GetCapability response has %zu trailing bytes", r.len - r.off);
	*mask = m;
	return HV_OK;
}

/* ---- Transport -------------------------------------------------------- */

/* Split "tcp:HOST:PORT" or "unix:PATH". host/port/path get NUL-terminated
 * copies. "[::1]" brackets are removed from an IPv6 host. */
struct addr {
	bool is_unix;
	char host[256];
	char port[8];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int parse_addr(const char *s, struct addr *a, hv_why *why)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "unix:", 5) == 0) {
		const char *p = s + 5;
		if (!*p || strlen(p) >= sizeof(a->path))
			return hv_fail(why, HV_E_FORMAT, "TPM address \"%.100s\": empty or too long socket path", s);
		a->is_unix = true;
		memcpy(a->path, p, strlen(p) + 1);
		return HV_OK;
	}
	if (strncmp(s, "tcp:", 4) != 0)
		return hv_fail(why, HV_E_FORMAT, "TPM address \"%.100s\" is neither tcp:HOST:PORT nor unix:PATH", s);
	const char *h = s + 4, *colon = strrchr(h, ':');
	if (!colon || colon == h)
		return hv_fail(why, HV_E_FORMAT, "TPM address \"%.100s\": expected tcp:HOST:PORT", s);
	size_t hl = (size_t)(colon - h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(a->host) || memchr(h, '[', hl) || memchr(h, ']', hl))
		return hv_fail(why, HV_E_FORMAT, "TPM address \"%.100s\": bad host", s);
	memcpy(a->host, h, hl);
	a->host[hl] = 0;
	const char *p = colon + 1;
	char *end;
	errno = 0;
	unsigned long port = strtoul(p, &end, 10);
	if (*p < '0' || *p > '9' || *end || errno || port == 0 || port > 65535)
		return hv_fail(why, HV_E_FORMAT, "TPM address \"%.100s\": port must be 1-65535", s);
	snprintf(a->port, sizeof(a->port), "%lu", port);
	return HV_OK;
}

int hv_tpm_init(struct hv_tpm *t, const char *addr, hv_why *why)
{
	struct addr a;
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!addr)
		return hv_fail(why, HV_E_FORMAT, "no TPM address");
	if (strlen(addr) >= sizeof(t->addr))
		return hv_fail(why, HV_E_FORMAT, "TPM address longer than %zu bytes", sizeof(t->addr) - 1);
	int st = parse_addr(addr, &a, why);
	if (st != HV_OK)
		return st;
	memcpy(t->addr, addr, strlen(addr) + 1);
	return HV_OK;
}

void hv_tpm_close(struct hv_tpm *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int timeout_of(const struct hv_tpm *t)
{
	return t->timeout_ms > 0 ? t->timeout_ms : DEFAULT_TIMEOUT_MS;
}

/* Wait for events on fd until deadline. 0, or an errno value (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		struct pollfd p = {fd, events, 0};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0; /* ready, or an error the next call reports */
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
}

static int connect_one(int family, const struct sockaddr *sa, socklen_t salen, int tmo, int *fd_out)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int err = 0;
	if (connect(fd, sa, salen) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			socklen_t l = sizeof(err);
			err = wait_fd(fd, POLLOUT, now_ms() + tmo);
			if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
				err = errno;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	if (family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	*fd_out = fd;
	return 0;
}

int hv_tpm_open(struct hv_tpm *t, hv_why *why)
{
	struct addr a;
	if (t->fd >= 0)
		return HV_OK;
	int st = parse_addr(t->addr, &a, why);
	if (st != HV_OK)
		return st;
	int tmo = timeout_of(t), err;
	if (a.is_unix) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		memcpy(sun.sun_path, a.path, strlen(a.path) + 1);
		err = connect_one(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), tmo, &t->fd);
		if (err)
			return hv_fail(why, HV_E_RANGE, "TPM %s: connect: %s", t->addr, strerror(err));
		return HV_OK;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(a.host, a.port, &hints, &res);
	if (gai)
		return hv_fail(why, HV_E_RANGE, "TPM %s: %s", t->addr, gai_strerror(gai));
	err = ENOENT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		err = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, tmo, &t->fd);
		if (!err)
			break;
	}
	freeaddrinfo(res);
	if (err)
		return hv_fail(why, HV_E_RANGE, "TPM %s: connect: %s", t->addr, strerror(err));
	return HV_OK;
}

static int io_fail(struct hv_tpm *t, int err, const char *what, hv_why *why)
{
	hv_tpm_close(t);
	return hv_fail(why, HV_E_RANGE, "TPM %s: %s: %s", t->addr, what, err ? strerror(err) : "connection closed by the TPM");
}

static int send_all(struct hv_tpm *t, const uint8_t *p, size_t n, hv_why *why)
{
	int64_t deadline = now_ms() + timeout_of(t);
	while (n) {
		ssize_t k = send(t->fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		int err = k < 0 ? errno : EPIPE;
		if (err == EINTR)
			continue;
		if (err != EAGAIN && err != EWOULDBLOCK)
			return io_fail(t, err, "send", why);
		err = wait_fd(t->fd, POLLOUT, deadline);
		if (err)
			return io_fail(t, err, "send", why);
	}
	return HV_OK;
}

static int recv_all(struct hv_tpm *t, uint8_t *p, size_t n, int64_t deadline, hv_why *why)
{
	while (n) {
		ssize_t k = recv(t->fd, p, n, 0);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0)
			return io_fail(t, 0, "receive", why);
		int err = errno;
		if (err == EINTR)
			continue;
		if (err != EAGAIN && err != EWOULDBLOCK)
			return io_fail(t, err, "receive", why);
		err = wait_fd(t->fd, POLLIN, deadline);
		if (err)
			return io_fail(t, err, "receive", why);
	}
	return HV_OK;
}

int hv_tpm_transact(struct hv_tpm *t, const uint8_t *cmd, size_t len, uint8_t *resp, size_t cap, size_t *resp_len,
		    hv_why *why)
{
	*resp_len = 0;
	if (cap < HDR_SIZE)
		return hv_fail(why, HV_E_RANGE, "TPM response buffer of %zu bytes", cap);
	int st = hv_tpm_open(t, why);
	if (st != HV_OK)
		return st;
	st = send_all(t, cmd, len, why);
	if (st != HV_OK)
		return st;
	int64_t deadline = now_ms() + timeout_of(t);
	st = recv_all(t, resp, HDR_SIZE, deadline, why);
	if (st != HV_OK)
		return st;
	uint32_t size = be32(resp + 2);
	if (size < HDR_SIZE || size > HV_TPM_MAX_RESPONSE || size > cap) {
		/* The stream cannot be resynchronized: start over next time. */
		hv_tpm_close(t);
		return hv_fail(why, HV_E_FORMAT, "TPM %s: response size %u outside [10, %zu]", t->addr, size,
			       cap < HV_TPM_MAX_RESPONSE ? cap : (size_t)HV_TPM_MAX_RESPONSE);
	}
	st = recv_all(t, resp + HDR_SIZE, size - HDR_SIZE, deadline, why);
	if (st != HV_OK)
		return st;
	*resp_len = size;
	return HV_OK;
}

/* Send cmd, check the response header; retried while the TPM asks to. */
static int command(struct hv_tpm *t, const uint8_t *cmd, int len, uint8_t *resp, size_t *rlen, uint32_t *rc_out,
		   hv_why *why)
{
	uint32_t rc = 0;
	int st;
	if (rc_out)
		*rc_out = 0;
	if (len < 0)
		return hv_fail(why, len, "TPM command could not be built (%s)", hv_status_str(len));
	for (int i = 0; i < RETRIES; i++) {
		st = hv_tpm_transact(t, cmd, (size_t)len, resp, HV_TPM_MAX_RESPONSE, rlen, why);
		if (st != HV_OK)
			return st;
		st = hv_tpm_check_response(resp, *rlen, &rc, why);
		if (st == HV_E_FORMAT)
			hv_tpm_close(t);
		if (rc != TPM_RC_RETRY && rc != TPM_RC_YIELDED && rc != TPM_RC_TESTING)
			break;
	}
	if (rc_out)
		*rc_out = rc;
	return st;
}

int hv_tpm_startup_clear(struct hv_tpm *t, uint32_t *rc_out, hv_why *why)
{
	uint8_t cmd[16], resp[HV_TPM_MAX_RESPONSE];
	size_t rlen;
	uint32_t rc = 0;
	int st = command(t, cmd, hv_tpm_build_startup_clear(cmd, sizeof(cmd)), resp, &rlen, &rc, why);
	if (rc_out)
		*rc_out = rc;
	if (st == HV_E_UNSUPPORTED && rc == TPM_RC_INITIALIZE)
		return HV_OK; /* started already (swtpm --flags startup-clear) */
	return st;
}

int hv_tpm_pcr_extend(struct hv_tpm *t, uint32_t pcr, const struct hv_digests *d, uint32_t *rc_out, hv_why *why)
{
	uint8_t cmd[64 + HV_NALGS * (2 + HV_DIGEST_MAX)], resp[HV_TPM_MAX_RESPONSE];
	size_t rlen;
	/* HV_E_CAP, not HV_E_RANGE: callers read HV_E_RANGE as "TPM unreachable". */
	if (pcr >= HV_TPM_NPCRS)
		return hv_fail(why, HV_E_CAP, "PCR %u out of range (0-%u)", pcr, HV_TPM_NPCRS - 1);
	int len = hv_tpm_build_extend(cmd, sizeof(cmd), pcr, d);
	if (len == HV_E_ABSENT)
		return hv_fail(why, HV_E_ABSENT, "no digest to extend PCR %u with", pcr);
	int st = command(t, cmd, len, resp, &rlen, rc_out, why);
	if (st != HV_OK)
		return st;
	/* Part 3, 22.3.2: no response parameters, one TPMS_AUTH_RESPONSE. */
	if (resp[0] != (TPM_ST_SESSIONS >> 8) || resp[1] != (TPM_ST_SESSIONS & 0xff)) {
		hv_tpm_close(t);
		return hv_fail(why, HV_E_FORMAT, "PCR_Extend response without its session area");
	}
	return HV_OK;
}

int hv_tpm_pcr_read(struct hv_tpm *t, enum hv_alg alg, uint32_t pcr, uint8_t *out, uint32_t *rc_out, hv_why *why)
{
	uint8_t cmd[32], resp[HV_TPM_MAX_RESPONSE];
	size_t rlen;
	if (pcr >= HV_TPM_NPCRS)
		return hv_fail(why, HV_E_CAP, "PCR %u out of range (0-%u)", pcr, HV_TPM_NPCRS - 1);
	int len = hv_tpm_build_pcr_read(cmd, sizeof(cmd), alg, pcr);
	if (len < 0)
		return hv_fail(why, len, "cannot read PCR %u of bank %d", pcr, (int)alg);
	int st = command(t, cmd, len, resp, &rlen, rc_out, why);
	if (st != HV_OK)
		return st;
	st = parse_pcr_read(resp, rlen, alg, (int)pcr, out, why);
	if (st == HV_E_FORMAT)
		hv_tpm_close(t);
	return st;
}

int hv_tpm_active_banks(struct hv_tpm *t, unsigned *mask, uint32_t *rc_out, hv_why *why)
{
	uint8_t cmd[32], resp[HV_TPM_MAX_RESPONSE];
	size_t rlen;
	int st = command(t, cmd, hv_tpm_build_get_pcrs(cmd, sizeof(cmd)), resp, &rlen, rc_out, why);
	if (st != HV_OK)
		return st;
	st = hv_tpm_parse_banks(resp, rlen, mask, why);
	if (st == HV_E_FORMAT)
		hv_tpm_close(t);
	return st;
}
