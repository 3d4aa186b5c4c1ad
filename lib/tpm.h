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
 * field is read.
 */
#ifndef HVIMA_TPM_H
#define HVIMA_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "pe.h"

#define HV_TPM_MAX_RESPONSE 4096

struct hv_tpm {
	char addr[256]; /* "tcp:HOST:PORT" or "unix:PATH" */
	int fd;         /* -1 when closed */
	int timeout_ms; /* per read/write, default 2000 */
};

/* Parse addr; no connection yet. HV_E_FORMAT for a bad address. */
int hv_tpm_init(struct hv_tpm *t, const char *addr, hv_why *why);
int hv_tpm_open(struct hv_tpm *t, hv_why *why);
void hv_tpm_close(struct hv_tpm *t);

/* Return codes: HV_OK; HV_E_UNSUPPORTED (the TPM answered with a non-zero
 * response code, given in *rc_out when not NULL); HV_E_FORMAT (a malformed
 * response); HV_E_RANGE (I/O error, timeout, connection refused: the TPM is
 * unreachable). Each call opens the connection if it is closed. */
int hv_tpm_startup_clear(struct hv_tpm *t, uint32_t *rc_out, hv_why *why); /* TPM_RC_INITIALIZE counts as ok */
int hv_tpm_pcr_extend(struct hv_tpm *t, uint32_t pcr, const struct hv_digests *d, uint32_t *rc_out, hv_why *why);
int hv_tpm_pcr_read(struct hv_tpm *t, enum hv_alg alg, uint32_t pcr, uint8_t *out, uint32_t *rc_out, hv_why *why);
/* Banks with at least one PCR allocated (TPM2_GetCapability TPM_CAP_PCRS),
 * as an HV_ALG_BIT mask of the banks hvima knows. */
int hv_tpm_active_banks(struct hv_tpm *t, unsigned *mask, uint32_t *rc_out, hv_why *why);

/* Marshalling, exposed for tests and fuzzing. Return the command size or a
 * negative hv_status. */
int hv_tpm_build_extend(uint8_t *buf, size_t cap, uint32_t pcr, const struct hv_digests *d);
int hv_tpm_build_pcr_read(uint8_t *buf, size_t cap, enum hv_alg alg, uint32_t pcr);
/* Check a response header: size field equals len, tag, response code. */
int hv_tpm_check_response(const uint8_t *buf, size_t len, uint32_t *rc_out, hv_why *why);
int hv_tpm_parse_pcr_read(const uint8_t *buf, size_t len, enum hv_alg alg, uint8_t *out, hv_why *why);
int hv_tpm_parse_banks(const uint8_t *buf, size_t len, unsigned *mask, hv_why *why);

#endif
