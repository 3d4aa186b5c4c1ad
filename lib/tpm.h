/*
 * tpm.h: the few TPM 2.0 commands hvima sends to the hypervisor's swtpm
 * (TPM2_Startup, TPM2_PCR_Extend, TPM2_PCR_Read, TPM2_GetCapability for the
 * active PCR banks), marshalled by hand (TPM 2.0 Library, Part 3; big-endian
 * on the wire), over the swtpm data channel: a TCP or Unix stream socket
 * carrying raw command and response buffers.
 *
 * A connection is opened per operation batch and closed after it, so that a
 * verifier (tpm2-tools with the swtpm TCTI) can use the same swtpm between
 * two of our operations: swtpm serves one client connection at a time.
 * Every response is hostile input: its size and tag are checked before any
 * field is read. Sockets use MSG_NOSIGNAL: a TPM that goes away never
 * raises SIGPIPE. A struct hv_tpm is not thread-safe: callers serialize.
 */
#ifndef HVIMA_TPM_H
#define HVIMA_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "pe.h"

#define HV_TPM_MAX_RESPONSE 4096
#define HV_TPM_NPCRS 24 /* PCR handles 0-23 (PC Client platform TPM) */

struct hv_tpm {
	char addr[256]; /* "tcp:HOST:PORT" or "unix:PATH" */
	int fd;         /* -1 when closed */
	int timeout_ms; /* bounds each connect, each command's send and each
			 * response's receive; default 2000 */
};

/* Parse addr; no connection yet. HV_E_FORMAT for a bad address. */
int hv_tpm_init(struct hv_tpm *t, const char *addr, hv_why *why);
int hv_tpm_open(struct hv_tpm *t, hv_why *why);
void hv_tpm_close(struct hv_tpm *t);

/* Return codes: HV_OK; HV_E_UNSUPPORTED (the TPM answered with a non-zero
 * response code, given in *rc_out when not NULL); HV_E_FORMAT (a malformed
 * response); HV_E_RANGE (I/O error, timeout, connection refused: the TPM is
 * unreachable). Each call opens the connection if it is closed.
 * HV_E_FORMAT and HV_E_RANGE close the connection. hv_tpm_pcr_read returns
 * HV_E_ABSENT when the TPM has no such bank allocated; hv_tpm_pcr_extend
 * and hv_tpm_pcr_read return HV_E_CAP for a PCR >= HV_TPM_NPCRS (without
 * I/O), and hv_tpm_pcr_extend HV_E_ABSENT when d->mask selects no bank. TPM_RC_RETRY, TPM_RC_YIELDED and
 * TPM_RC_TESTING are retried (3 tries in all). */
int hv_tpm_startup_clear(struct hv_tpm *t, uint32_t *rc_out, hv_why *why); /* TPM_RC_INITIALIZE counts as ok (*rc_out = 0x100) */
int hv_tpm_pcr_extend(struct hv_tpm *t, uint32_t pcr, const struct hv_digests *d, uint32_t *rc_out, hv_why *why);
int hv_tpm_pcr_read(struct hv_tpm *t, enum hv_alg alg, uint32_t pcr, uint8_t *out, uint32_t *rc_out, hv_why *why);
/* Banks with at least one PCR allocated (TPM2_GetCapability TPM_CAP_PCRS),
 * as an HV_ALG_BIT mask of the banks hvima knows. */
int hv_tpm_active_banks(struct hv_tpm *t, unsigned *mask, uint32_t *rc_out, hv_why *why);

/* One raw command: send cmd, receive one whole response (header size
 * checked against HV_TPM_MAX_RESPONSE and cap, else HV_E_FORMAT) into resp.
 * The response code is not looked at. */
int hv_tpm_transact(struct hv_tpm *t, const uint8_t *cmd, size_t len, uint8_t *resp, size_t cap, size_t *resp_len,
		    hv_why *why);

/* Marshalling, exposed for tests and fuzzing. Return the command size or a
 * negative hv_status (HV_E_RANGE: PCR out of range or buffer too small;
 * HV_E_ABSENT: no digest selected; HV_E_UNSUPPORTED: unknown bank). Only the
 * banks in d->mask are extended. */
int hv_tpm_build_extend(uint8_t *buf, size_t cap, uint32_t pcr, const struct hv_digests *d);
int hv_tpm_build_pcr_read(uint8_t *buf, size_t cap, enum hv_alg alg, uint32_t pcr);
int hv_tpm_build_startup_clear(uint8_t *buf, size_t cap);
int hv_tpm_build_get_pcrs(uint8_t *buf, size_t cap); /* GetCapability(TPM_CAP_PCRS) */
/* Check a response header: size field equals len, tag, response code. */
int hv_tpm_check_response(const uint8_t *buf, size_t len, uint32_t *rc_out, hv_why *why);
/* A PCR_Read response selecting exactly one PCR of bank alg; the digest
 * (hv_alg_size(alg) bytes) goes to out. HV_E_ABSENT if the TPM selected
 * nothing (bank not allocated). */
int hv_tpm_parse_pcr_read(const uint8_t *buf, size_t len, enum hv_alg alg, uint8_t *out, hv_why *why);
/* A GetCapability(TPM_CAP_PCRS) response: the HV_ALG_BIT mask of known
 * banks with at least one PCR allocated. */
int hv_tpm_parse_banks(const uint8_t *buf, size_t len, unsigned *mask, hv_why *why);

#endif
