/*
 * chanrec.h: the hvima channel record, version 1 (docs/channel.md): what the
 * minifilter (or any measured in-guest sender) reports to the hypervisor
 * about one file access, and the stream decoder that the plugin and
 * `hvima collect` run over the bytes a guest wrote to the channel port.
 *
 * Portable and freestanding: only <stdint.h>, <stddef.h>, <stdbool.h>, no
 * libc call, no allocation, so the same file builds into the Windows driver,
 * guest test programs, the plugin, the host tools and the fuzzers.
 *
 * Wire layout, little-endian, packed (offsets in bytes):
 *    0 magic "HVFR"          4 version u8 (1)     5 type u8 (1: file access)
 *    6 length u16 (whole record, header to CRC)   8 seq u32 (1, 2, ...)
 *   12 pid u32              16 file size u64
 *   24 access u8            25 decision u8       26 flags u16
 *   28 path_len u16         30 proc_len u16      32 sha256[32]
 *   64 path (UTF-8), then the process image name (UTF-8)
 *   length-4: CRC-32 (IEEE 802.3) of bytes [0, length-4)
 * The decoder treats every byte as hostile: each field is range-checked,
 * text must be UTF-8 without control characters, and after a bad record it
 * resynchronizes on the next magic; nothing it is fed can make it read or
 * write outside its fixed buffer.
 */
#ifndef HVIMA_CHANREC_H
#define HVIMA_CHANREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_REC_MAGIC0 0x48 /* 'H' 'V' 'F' 'R' */
#define HV_REC_VERSION 1
#define HV_REC_TYPE_FILE 1
#define HV_REC_HDR 64
#define HV_REC_MIN (HV_REC_HDR + 4)
#define HV_REC_PATH_MAX 2048 /* bytes of UTF-8, without terminator */
#define HV_REC_PROC_MAX 512
#define HV_REC_MAX (HV_REC_MIN + HV_REC_PATH_MAX + HV_REC_PROC_MAX)

enum hv_rec_access {
	HV_ACC_EXECUTE = 1, /* opened for execution (FILE_EXECUTE) */
	HV_ACC_MAP = 2,     /* mapped as an image section (SEC_IMAGE / PAGE_EXECUTE) */
	HV_ACC_READ = 3,    /* a watched file read */
	HV_ACC_WRITE = 4,   /* written: its measurement is dropped */
	HV_ACC_RENAME = 5,
	HV_ACC_DELETE = 6,
	HV_ACC_MAX = 6
};

enum hv_rec_decision { HV_DEC_ALLOWED = 0, HV_DEC_DENIED = 1 };

#define HV_RECF_DIRECTORY 0x0001
#define HV_RECF_DIGEST 0x0002    /* sha256 holds the file's digest */
#define HV_RECF_ENFORCE 0x0004   /* the driver was in enforce mode */
#define HV_RECF_MZ 0x0008        /* the file starts with "MZ" */
#define HV_RECF_NOT_ALLOWED 0x0010 /* digest not in the allowlist (audit: allowed anyway) */
#define HV_RECF_KNOWN 0x001f

struct hv_rec {
	uint32_t seq, pid;
	uint64_t size;
	uint8_t access, decision;
	uint16_t flags;
	uint8_t sha256[32];
	uint16_t path_len, proc_len;
	char path[HV_REC_PATH_MAX + 1]; /* NUL-terminated copies */
	char proc[HV_REC_PROC_MAX + 1];
};

/* Encode r into buf; r->path/proc hold path_len/proc_len bytes (the NULs
 * are not needed). Returns the record length, or -1 if a field is out of
 * range (text too long or not valid, access/decision unknown) or cap is too
 * small. */
int hv_rec_encode(const struct hv_rec *r, uint8_t *buf, size_t cap);

/* Decode one complete record of len bytes. Returns 0, or -1 with *why set
 * to a static reason naming the field. */
int hv_rec_decode(const uint8_t *buf, size_t len, struct hv_rec *r, const char **why);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t hv_crc32(const uint8_t *p, size_t n);

/* Stream decoder over the channel's byte stream. */
enum hv_rx_kind {
	HV_RX_RECORD,    /* rec holds a well-formed record; gap set when seq jumped */
	HV_RX_MALFORMED, /* bytes that are no record: why, offset, skipped */
};

struct hv_rx_event {
	enum hv_rx_kind kind;
	uint64_t offset;        /* stream offset of the record or of the bad bytes */
	const struct hv_rec *rec;
	uint32_t expected;      /* HV_RX_RECORD: the seq that was due */
	uint32_t missing;       /* records missing before this one (0: none) */
	bool restart;           /* seq went back to 1: the sender restarted */
	const char *why;        /* HV_RX_MALFORMED */
	uint32_t skipped;       /* HV_RX_MALFORMED: bytes dropped */
};

typedef void (*hv_rx_cb)(void *ctx, const struct hv_rx_event *ev);

struct hv_rx {
	uint8_t buf[HV_REC_MAX];
	uint32_t n;          /* bytes buffered */
	uint64_t off;        /* stream offset of buf[0] */
	uint32_t junk;       /* bytes dropped since the last event */
	uint64_t junk_off;
	const char *junk_why;
	uint32_t last_seq;   /* 0: none yet */
	uint64_t records, malformed, missing;
	struct hv_rec rec;   /* the record handed to the callback */
};

void hv_rx_init(struct hv_rx *rx);
void hv_rx_feed(struct hv_rx *rx, const uint8_t *p, size_t n, hv_rx_cb cb, void *ctx);
/* End of stream: buffered bytes of an unfinished record are reported. */
void hv_rx_end(struct hv_rx *rx, hv_rx_cb cb, void *ctx);

const char *hv_rec_access_name(unsigned a); /* "execute", ..., "?" */

#endif
