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
 * log that is a valid prefix. Not thread-safe: the caller serializes.
 *
 * Linux copies a write() into the page cache page by page and gives up
 * between two pages when the writer gets SIGKILL, so one write() is whole
 * only while it stays inside one page of the file. A record that would
 * cross a page boundary is therefore preceded by a padding record up to
 * that boundary: EV_EVENT_TAG on PCR HV_LOG_PAD_PCR whose data is the tag
 * HV_LOG_PAD_TAG, its size, "padding" and zeros, with the digests of that
 * data. It is an ordinary measured event, not EV_NO_ACTION, because
 * tpm2-tools before 5.6 (Debian 12 has 5.4) extends EV_NO_ACTION records
 * when it replays: the writer hands each padding record's digests to
 * pad_cb so that the caller extends them into its TPM in log order, and
 * every replay then agrees with the TPM. Records longer than a page minus a
 * padding record (about 3.9 KiB with three banks) are not protected. */
#define HV_LOG_PAD_PCR 16           /* hvima's notes PCR (events.h) */
#define HV_LOG_PAD_TAG 0x48560005u  /* an hvima tagged event */
#define HV_LOG_PAD_TEXT "padding"
struct hv_log_writer {
	int fd;
	unsigned algs; /* banks carried by every record, HV_ALG_BIT mask */
	uint64_t events; /* records written, header and padding included */
	uint64_t bytes;  /* size of the log: the end of the last whole record */
	uint32_t page;   /* the kernel's page size */
	/* Called after each padding record is written, with its PCR and
	 * digests; NULL when there is no TPM to extend. */
	void (*pad_cb)(void *ctx, uint32_t pcr, const struct hv_digests *d);
	void *pad_ctx;
};


/* Create (replace) path with the Spec ID header for banks algs. The header
 * is written to path.new, which is then renamed to path: path never holds
 * an empty or partial header. */
int hv_log_create(struct hv_log_writer *w, const char *path, unsigned algs, hv_why *why);
/* Append one TCG_PCR_EVENT2. d must hold every bank of w->algs; d NULL
 * writes all-zero digests (for EV_NO_ACTION, which is never extended). On a
 * failed write the file is cut back to its last whole record. */
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

/* True if ev is a padding record of the writer (see above). */
int hv_log_is_padding(const struct hv_log_event *ev);

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

/* ---- Names and decoding (tcglog_event.c) ------------------------------
 * The event data hvima writes is built by events.h; this reads any log's
 * event data back for people and verifiers. */

#define HV_LOG_MAX_PCR 23        /* PC Client PCRs are 0-23 */
#define HV_LOG_MAX_DIGEST 64     /* largest TPMU_HA member (SHA-512) */

/* "EV_SEPARATOR", ... or NULL for a type hvima has no name for. */
const char *hv_log_type_name(uint32_t type);
/* "sha1", "sha256", "sha384", "sha512", "sm3_256", ... or NULL. */
const char *hv_log_alg_name(uint16_t alg_id);

/* Decode an event's data into key/value pairs, in a fixed order per kind.
 * Values are valid UTF-8 without control characters (each replaced by
 * U+FFFD) and at most HV_LOG_MAX_VALUE bytes (longer ones end in "...").
 * Never fails: data of a type hvima does not decode gives "data" (hex,
 * first 64 bytes), and data that breaks its own format gives "malformed"
 * saying where. Keys are listed in docs/cli.md. */
#define HV_LOG_MAX_VALUE 1024
typedef void (*hv_log_kv_cb)(void *ctx, const char *key, const char *value);
void hv_log_decode(const struct hv_log_event *ev, hv_log_kv_cb cb, void *ctx);

#endif
