/*
 * tcglog.h: TCG PC Client crypto-agile event logs (TCG PC Client Platform
 * Firmware Profile, "Event Logging"): writing them append-only, and walking,
 * printing and replaying them as hostile input.
 *
 * Layout: the first record is a TCG_PCClientPCREvent in SHA-1 format (pcr 0,
 * EV_NO_ACTION, 20 zero bytes) carrying TCG_EfiSpecIDEvent ("Spec ID
 * Event03", platformClass 0, version 2.0, errata 0, uintnSize 2, the list
 * of {algorithmId, digestSize}, vendorInfoSize 0). Then TCG_PCR_EVENT2
 * records: pcr u32, type u32, TPML_DIGEST_VALUES {count u32, {alg u16,
 * digest}...}, eventSize u32, event. Little-endian, packed.
 */
#ifndef HVIMA_TCGLOG_H
#define HVIMA_TCGLOG_H

#include <stdint.h>

#include "hash.h"
#include "pe.h"

#define EV_PREBOOT_CERT 0x0
#define EV_POST_CODE 0x1
#define EV_NO_ACTION 0x3
#define EV_SEPARATOR 0x4
#define EV_ACTION 0x5
#define EV_EVENT_TAG 0x6
#define EV_S_CRTM_CONTENTS 0x7
#define EV_S_CRTM_VERSION 0x8
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003
#define EV_EFI_BOOT_SERVICES_DRIVER 0x80000004
#define EV_EFI_RUNTIME_SERVICES_DRIVER 0x80000005
#define EV_EFI_PLATFORM_FIRMWARE_BLOB 0x80000008

#define HV_LOG_MAX_EVENT_SIZE (1u << 20) /* larger events are rejected */
#define HV_LOG_MAX_EVENTS (16u << 20)

/* Writer: one record per call, assembled in memory and written with one
 * write() to an O_APPEND file, so a process killed at any moment leaves a
 * log that is a valid prefix. Not thread-safe: the caller serializes. */
struct hv_log_writer {
	int fd;
	unsigned algs; /* banks carried by every record, HV_ALG_BIT mask */
	uint64_t events; /* records written, header included */
};

/* Create (truncate) path and write the Spec ID header for banks algs. */
int hv_log_create(struct hv_log_writer *w, const char *path, unsigned algs, hv_why *why);
/* Append one TCG_PCR_EVENT2. d must hold every bank of w->algs. */
int hv_log_append(struct hv_log_writer *w, uint32_t pcr, uint32_t type, const struct hv_digests *d,
		  const void *event, uint32_t event_size, hv_why *why);
void hv_log_close(struct hv_log_writer *w);

/* One record as the walker sees it. For the header, is_header is 1 and the
 * digests are those of the SHA-1 format record. */
struct hv_log_event {
	uint64_t offset; /* of the record in the log */
	uint64_t index;  /* 0 = the Spec ID header */
	int is_header;
	uint32_t pcr, type;
	unsigned ndigests;
	struct {
		uint16_t alg_id; /* TPM_ALG_ID */
		uint16_t size;
		const uint8_t *digest;
	} digests[8];
	const uint8_t *event;
	uint32_t event_size;
};

typedef int (*hv_log_cb)(void *ctx, const struct hv_log_event *ev);

/* Walk a whole log held in memory. Checks every length before use against
 * the bytes left, the digest sizes against the Spec ID algorithm list, and
 * the caps above; errors name the record index and offset. */
int hv_log_walk(const uint8_t *buf, size_t len, hv_log_cb cb, void *ctx, hv_why *why);

/* Replay: PCR values (all start at zero, as tpm2_eventlog replays) for each
 * bank in the log; EV_NO_ACTION records are not extended. */
struct hv_log_replay {
	unsigned algs;            /* banks seen in the header */
	uint32_t pcrs_used;       /* bit i: PCR i was extended */
	uint8_t pcr[HV_NALGS][24][HV_DIGEST_MAX];
	uint64_t events;
};
int hv_log_replay(const uint8_t *buf, size_t len, struct hv_log_replay *r, hv_why *why);

#endif
