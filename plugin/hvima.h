/*
 * hvima.h: the state of libhvima.so, shared by its files.
 *
 *   hvima.c    QEMU glue: arguments, callbacks, install
 *   record.c   the measurement list: event log, TPM extends, text and JSON
 *   image.c    finding images behind translated blocks, measuring them
 *   guard.c    comparing retranslated code and read-only data with what was
 *              measured; unattributed code
 *   channel.c  the minifilter's channel: port writes, trusted senders, PCR 10
 *
 * Locking rule: every field of struct hvp below `lock` is read and written
 * with `lock` held. Callbacks take it once at their start; nothing else in
 * the plugin locks. Log order is extend order because both happen in
 * record() under the lock.
 */
#ifndef HVIMA_PLUGIN_H
#define HVIMA_PLUGIN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <qemu-plugin.h>

#include "canon.h"
#include "events.h"
#include "hash.h"
#include "pe.h"
#include "tcglog.h"
#include "tpm.h"

#define HVP_PAGE UINT64_C(4096)
#define HVP_PAGE_MASK (~(HVP_PAGE - 1))
/* What a guest can make the plugin keep: images, bytes of their snapshots,
 * distinct violation and unattributed-code events. */
#define HVP_MAX_IMAGES 65536u
#define HVP_SNAP_BUDGET (UINT64_C(2) << 30)
#define HVP_MAX_SEEN (1u << 18)

enum page_kind { PAGE_IMAGE, PAGE_NONE, PAGE_FIRMWARE };

struct image {
	uint32_t id;
	uint64_t base0;      /* address of its first byte when measured */
	uint64_t cur_base;   /* where it was last seen (runtime drivers move) */
	uint32_t span;       /* bytes from base: SizeOfImage less the TE bias */
	uint8_t *snap;       /* the span as read when measured */
	uint8_t *missing;    /* per page: 1 if unreadable when measured */
	struct hv_pe pe;     /* parsed over snap (loaded layout) */
	bool parsed;
	struct hv_canon_sites sites;
	uint64_t va0;        /* RVA 0 when measured */
	struct hv_digests canon;
	char name[HV_CAP_NAME + 1];
	const char *cls;
	uint32_t pcr;
	const char *status;  /* "measured", "incomplete", "malformed" */
	bool gone;           /* unloaded: its memory now holds something else */
	char reason[200];
	GArray *iat;         /* struct {uint32_t rva, len} of import address tables */
	bool violated;       /* a violation was recorded for it (channel.c trusts it no more) */
};

struct page {
	enum page_kind kind;
	struct image *img;
	uint64_t base;   /* image base in this mapping */
	uint64_t haddr;  /* host address of the page, 0 = not known yet */
	char content[65]; /* PAGE_NONE: sha256 (hex) of the content last recorded */
};

struct hvp {
	/* configuration, fixed after install */
	char *outdir;
	char *tpm_addr;
	unsigned banks;
	bool guard;
	bool unattributed;
	bool count_insns;       /* count guest instructions (inline, per block) */
	uint64_t recheck_insns; /* with count_insns: recheck every N instructions */
	uint32_t recheck_ms;    /* without: recheck on vCPU idle, every N ms at most */
	uint32_t scan_pages;
	uint64_t firmware_max;
	uint32_t chan_port;     /* the channel's I/O port, 0: off (channel.c) */
	GPtrArray *senders;     /* sha256 hex of the trusted senders' canonical digests */

	struct qemu_plugin_scoreboard *sb; /* per vCPU: struct vcpu_counts */
	qemu_plugin_u64 since_check; /* instructions since the last recheck */

	GMutex lock;
	struct hv_log_writer log;
	bool log_ok;
	FILE *list, *jsonl;
	struct hv_tpm tpm;
	bool tpm_down;
	GArray *pending; /* struct pending: extends not yet done */
	int64_t last_retry_us;
	int64_t last_recheck_us;
	uint64_t seq;

	GHashTable *pages;     /* uint64_t page address -> struct page */
	GPtrArray *images;     /* struct image, in measurement order */
	GHashTable *by_digest; /* sha256 hex -> struct image */
	GHashTable *seen;      /* dedup keys of violation/unattributed events */
	GByteArray *rbuf;
	bool scrtm_done;
	uint64_t fw_lo, fw_hi; /* firmware range measured as S-CRTM */
	uint64_t snap_bytes; /* bytes of image snapshots kept */
	bool seen_full;      /* HVP_MAX_SEEN reached: noted once */
	uint64_t insns_done; /* instructions counted before the last rechecks */
	uint64_t n_images, n_malformed, n_violations, n_unattributed, n_again;
	uint64_t n_files; /* channel records accepted */
};

struct vcpu_counts {
	uint64_t since_check;
};

extern struct hvp hvp;

/* record.c */
int record_open(char **err);
void record_close(void);
/* One event: log, extend, text line, JSON object (without braces; seq,
 * pcr and type are added). d NULL: the digest of data. hvima writes no
 * EV_NO_ACTION record (events.h). */
void record(uint32_t pcr, uint32_t type, const struct hv_digests *d, const void *data, uint32_t size,
	    const char *text, const char *json);
void record_note(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void record_tpm_retry(bool force);
uint64_t guest_insns(void);
const char *hexd(const struct hv_digests *d, enum hv_alg a, char *buf);

/* image.c */
void scrtm_measure(void);
struct page *page_lookup(uint64_t pc, uint64_t hpage);
struct image *known(uint64_t pc, uint64_t *base);
bool image_headers_intact(struct image *img, uint64_t base);
struct image *discover(uint64_t pc);
/* The image now at base/pc if img was replaced there by another (which is
 * then measured); NULL if img is still there. */
struct image *replaced_by(struct image *img, uint64_t base, uint64_t pc);
bool read_guest(uint64_t addr, void *dst, size_t len);

/* guard.c */
void guard_block(struct page *pg, uint64_t pc, const uint8_t *bytes, size_t len);
void unattributed_block(struct page *pg, uint64_t pc);
void recheck_all(void);
bool same_image_at(struct image *img, uint64_t base);
/* Dedup of violation-like events (true: recorded before, or past the cap). */
bool seen_before(const char *key);

/* channel.c */
void channel_vcpu_init(unsigned int vcpu);
void channel_tb_trans(struct qemu_plugin_tb *tb);
void channel_exit(void);

#endif
