/*
 * tpm_live.c: the C side of tests/tpm/test-swtpm, against a real swtpm.
 *
 *   tpm_live ADDR fresh
 *       banks, TPM2_Startup, extends of PCR 2 and 13 (every bank) and 14
 *       (SHA-256 only) with d(N) = H("hvima tpm test pcr N") on a freshly
 *       started TPM; prints "# value PCR BANK HEX" for PCRs 2, 13, 14 as
 *       read back with hv_tpm_pcr_read, then closes the connection.
 *   tpm_live ADDR outage STOP_CMD START_CMD
 *       extend with the connection open, run STOP_CMD (the TPM goes away):
 *       the next extends fail with HV_E_RANGE within 3 s and without
 *       SIGPIPE; run START_CMD: the next extend reconnects and works, and
 *       PCR 2 holds H(0 || d(2)) again (TPM2_Startup(CLEAR) reset it).
 *
 * Speaks TAP (tests/tap.h); the script renumbers the lines.
 */
#include <signal.h>
#include <time.h>

#include "tap.h"
#include "tpm.h"

static struct hv_tpm tpm;
static const char *stop_cmd, *start_cmd;

static struct hv_digests digests_of(unsigned pcr, unsigned mask)
{
	char msg[64];
	struct hv_mh h;
	struct hv_digests d;
	memset(&d, 0, sizeof(d));
	snprintf(msg, sizeof(msg), "hvima tpm test pcr %u", pcr);
	if (hv_mh_init(&h, mask) != HV_OK || hv_mh_update(&h, msg, strlen(msg)) != HV_OK ||
	    hv_mh_final(&h, &d) != HV_OK) {
		printf("# hashing failed\n");
		exit(1);
	}
	return d;
}

/* H(0...0 || d): a PCR extended once from its reset value. */
static void extended_once(enum hv_alg a, const uint8_t *d, uint8_t *out)
{
	uint8_t buf[2 * HV_DIGEST_MAX];
	size_t n = hv_alg_size(a);
	struct hv_mh h;
	struct hv_digests r;
	memset(buf, 0, n);
	memcpy(buf + n, d, n);
	if (hv_mh_init(&h, HV_ALG_BIT(a)) != HV_OK || hv_mh_update(&h, buf, 2 * n) != HV_OK ||
	    hv_mh_final(&h, &r) != HV_OK)
		exit(1);
	memcpy(out, r.d[a], n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_value(unsigned pcr, enum hv_alg a)
{
	uint8_t v[HV_DIGEST_MAX];
	char hex[2 * HV_DIGEST_MAX + 1];
	hv_why why = {""};
	int st = hv_tpm_pcr_read(&tpm, a, pcr, v, NULL, &why);
	CHECKF(st == HV_OK, "PCR %u %s: %s", pcr, hv_alg_name(a), why.msg);
	if (st == HV_OK)
		printf("# value %u %s %s\n", pcr, hv_alg_name(a), hv_hex(v, hv_alg_size(a), hex));
}

static void test_active_banks_are_sha1_sha256_sha384(void)
{
	unsigned mask = 0;
	hv_why why = {""};
	int st = hv_tpm_active_banks(&tpm, &mask, NULL, &why);
	CHECKF(st == HV_OK, "%s", why.msg);
	CHECKF(mask == HV_ALGS_ALL, "mask 0x%x", mask);
}

static void test_startup_clear_on_started_tpm(void)
{
	uint32_t rc = 0;
	hv_why why = {""};
	CHECKF(hv_tpm_startup_clear(&tpm, &rc, &why) == HV_OK, "%s", why.msg);
	CHECKF(rc == 0x100, "rc 0x%x (swtpm --flags startup-clear sent Startup already)", rc);
}

static void test_extend_pcr_2_and_13_every_bank(void)
{
	static const unsigned pcrs[] = {2, 13};
	for (unsigned i = 0; i < 2; i++) {
		struct hv_digests d = digests_of(pcrs[i], HV_ALGS_ALL);
		hv_why why = {""};
		uint32_t rc = 0;
		int st = hv_tpm_pcr_extend(&tpm, pcrs[i], &d, &rc, &why);
		CHECKF(st == HV_OK, "PCR %u: %s", pcrs[i], why.msg);
		for (int a = 0; a < HV_NALGS; a++) {
			uint8_t v[HV_DIGEST_MAX], want[HV_DIGEST_MAX];
			extended_once(a, d.d[a], want);
			CHECK(hv_tpm_pcr_read(&tpm, a, pcrs[i], v, NULL, &why) == HV_OK);
			CHECKF(memcmp(v, want, hv_alg_size(a)) == 0, "PCR %u %s", pcrs[i], hv_alg_name(a));
		}
	}
}

static void test_extend_only_the_banks_in_the_mask(void)
{
	struct hv_digests d = digests_of(14, HV_ALG_BIT(HV_SHA256));
	uint8_t v[HV_DIGEST_MAX], zero[HV_DIGEST_MAX] = {0}, want[HV_DIGEST_MAX];
	hv_why why = {""};
	CHECKF(hv_tpm_pcr_extend(&tpm, 14, &d, NULL, &why) == HV_OK, "%s", why.msg);
	CHECK(hv_tpm_pcr_read(&tpm, HV_SHA1, 14, v, NULL, &why) == HV_OK && memcmp(v, zero, 20) == 0);
	CHECK(hv_tpm_pcr_read(&tpm, HV_SHA384, 14, v, NULL, &why) == HV_OK && memcmp(v, zero, 48) == 0);
	extended_once(HV_SHA256, d.d[HV_SHA256], want);
	CHECK(hv_tpm_pcr_read(&tpm, HV_SHA256, 14, v, NULL, &why) == HV_OK && memcmp(v, want, 32) == 0);
}

static void test_bad_pcr_is_refused_without_io(void)
{
	struct hv_digests d = digests_of(2, HV_ALGS_ALL);
	uint8_t v[HV_DIGEST_MAX];
	uint32_t rc = 0;
	/* HV_E_CAP: HV_E_RANGE would read as "TPM unreachable". */
	CHECK(hv_tpm_pcr_extend(&tpm, 24, &d, &rc, NULL) == HV_E_CAP);
	CHECK(hv_tpm_pcr_read(&tpm, HV_SHA256, 24, v, &rc, NULL) == HV_E_CAP);
	d.mask = 0;
	CHECK(hv_tpm_pcr_extend(&tpm, 2, &d, &rc, NULL) == HV_E_ABSENT);
	CHECK(tpm.fd >= 0); /* nothing was sent: the connection stays */
}

static void test_print_values_and_close(void)
{
	static const unsigned pcrs[] = {2, 13, 14};
	for (unsigned i = 0; i < 3; i++)
		for (int a = 0; a < HV_NALGS; a++)
			print_value(pcrs[i], a);
	hv_tpm_close(&tpm);
	hv_tpm_close(&tpm);
	CHECK(tpm.fd == -1);
}

static void test_outage_is_range_quickly(void)
{
	struct hv_digests d = digests_of(2, HV_ALGS_ALL);
	hv_why why = {""};
	CHECKF(hv_tpm_pcr_extend(&tpm, 2, &d, NULL, &why) == HV_OK, "%s", why.msg);
	CHECK(tpm.fd >= 0);
	int rc = system(stop_cmd);
	CHECKF(rc == 0, "%s: %d", stop_cmd, rc);
	for (int i = 0; i < 2; i++) { /* on the dead connection, then refused */
		double t0 = now_s();
		int st = hv_tpm_pcr_extend(&tpm, 2, &d, NULL, &why);
		double dt = now_s() - t0;
		CHECKF(st == HV_E_RANGE, "try %d: %d (%s)", i, st, why.msg);
		CHECKF(dt < 3.0, "try %d took %.2f s", i, dt);
		CHECK(tpm.fd == -1);
		printf("# try %d: %s after %.3f s: %s\n", i, hv_status_str(st), dt, why.msg);
	}
}

static void test_restart_reconnects_and_pcrs_are_reset(void)
{
	struct hv_digests d = digests_of(2, HV_ALGS_ALL);
	hv_why why = {""};
	int rc = system(start_cmd);
	CHECKF(rc == 0, "%s: %d", start_cmd, rc);
	int st = hv_tpm_pcr_extend(&tpm, 2, &d, NULL, &why);
	CHECKF(st == HV_OK, "%s", why.msg);
	for (int a = 0; a < HV_NALGS; a++) {
		uint8_t v[HV_DIGEST_MAX], want[HV_DIGEST_MAX];
		extended_once(a, d.d[a], want);
		CHECK(hv_tpm_pcr_read(&tpm, a, 2, v, NULL, &why) == HV_OK);
		CHECKF(memcmp(v, want, hv_alg_size(a)) == 0, "%s PCR 2 was not reset by the restart",
		       hv_alg_name(a));
	}
	hv_tpm_close(&tpm);
}

int main(int argc, char **argv)
{
	hv_why why = {""};
	signal(SIGPIPE, SIG_DFL); /* the library must not depend on SIGPIPE being ignored */
	if (argc < 3 || hv_tpm_init(&tpm, argv[1], &why) != HV_OK) {
		fprintf(stderr, "usage: tpm_live ADDR fresh|outage STOP_CMD START_CMD (%s)\n", why.msg);
		return 2;
	}
	if (strcmp(argv[2], "fresh") == 0 && argc == 3) {
		RUN(test_active_banks_are_sha1_sha256_sha384);
		RUN(test_startup_clear_on_started_tpm);
		RUN(test_extend_pcr_2_and_13_every_bank);
		RUN(test_extend_only_the_banks_in_the_mask);
		RUN(test_bad_pcr_is_refused_without_io);
		RUN(test_print_values_and_close);
	} else if (strcmp(argv[2], "outage") == 0 && argc == 5) {
		stop_cmd = argv[3];
		start_cmd = argv[4];
		RUN(test_outage_is_range_quickly);
		RUN(test_restart_reconnects_and_pcrs_are_reset);
	} else {
		fprintf(stderr, "tpm_live: unknown mode %s\n", argv[2]);
		return 2;
	}
	return tap_done();
}
