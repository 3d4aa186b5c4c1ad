/*
 * events.h: the event data hvima puts in its TCG log (docs/measurement.md,
 * "The plugin's event log"): UEFI_IMAGE_LOAD_EVENT for UEFI images, the
 * Windows SIPA loaded-module aggregation for kernel-mode images, and
 * hvima's own tagged events (violations, unattributed code, malformed
 * images) and EV_NO_ACTION notes, whose data is one line of key=value text.
 *
 * Builders write into a caller buffer and return the size, or a negative
 * hv_status if it does not fit.
 */
#ifndef HVIMA_EVENTS_H
#define HVIMA_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* The PCRs of the hypervisor TPM (docs/measurement.md). All start at zero. */
#define HV_PCR_FIRMWARE 0     /* S-CRTM: firmware code the VM starts from */
#define HV_PCR_UEFI_DRIVERS 2 /* UEFI boot and runtime drivers */
#define HV_PCR_UEFI_APPS 4    /* UEFI applications (boot managers, loaders) */
#define HV_PCR_FILES 10       /* post-boot file measurements (minifilter) */
#define HV_PCR_KERNEL 13      /* OS kernel-mode images */
#define HV_PCR_UNATTRIBUTED 14 /* code run outside any image */
#define HV_PCR_VIOLATIONS 15  /* modified measured code: zero on a clean boot */
#define HV_PCR_NOTES 16       /* hvima's notes (TPM outages, images seen again) */

/* hvima's tagged events (EV_EVENT_TAG taggedEventID). */
#define HV_TAG_VIOLATION 0x48560001u
#define HV_TAG_UNATTRIBUTED 0x48560002u
#define HV_TAG_MALFORMED 0x48560003u
/* Notes are extended like every other event: tpm2-tools before 5.6
 * (Debian 12 has 5.4) extends EV_NO_ACTION records when it replays a log,
 * so hvima writes no EV_NO_ACTION record after the Spec ID header. */
#define HV_TAG_NOTE 0x48560004u
/* A file measurement reported over the channel (PCR 10, docs/channel.md). */
#define HV_TAG_FILE 0x48560006u
/* Windows SIPA (go-attestation, Windows "SIPA" event types). */
#define HV_SIPA_LOADEDMODULE_AGGREGATION 0x40010003u
#define HV_SIPA_FILEPATH 0x00070001u
#define HV_SIPA_IMAGESIZE 0x00070002u
#define HV_SIPA_HASHALGORITHMID 0x00070003u
#define HV_SIPA_AUTHENTICODEHASH 0x00070004u
#define HV_SIPA_IMAGEBASE 0x00070007u
#define HV_CALG_SHA1 0x8004u
#define HV_CALG_SHA256 0x800cu
#define HV_CALG_SHA384 0x800du
/* EV_NO_ACTION data written by hvima starts with these 8 bytes. */
#define HV_NOTE_MAGIC "hvima\0\0\0"

/* UEFI_IMAGE_LOAD_EVENT with a Media File Path node holding name (ASCII,
 * stored UTF-16LE) and an End node; no device path if name is empty. */
int hv_ev_image_load(uint8_t *buf, size_t cap, uint64_t location, uint64_t length, uint64_t link_address,
		     const char *name);

/* SIPAEVENT_LOADEDMODULE_AGGREGATION as an EV_EVENT_TAG body: FILEPATH,
 * IMAGESIZE, HASHALGORITHMID, AUTHENTICODEHASH (hvima: the canonical
 * digest of bank alg), IMAGEBASE. */
int hv_ev_sipa_module(uint8_t *buf, size_t cap, const char *name, uint64_t size, uint64_t base, enum hv_alg alg,
		      const uint8_t *digest);

/* EV_EVENT_TAG body {u32 tag, u32 size, text}. */
int hv_ev_tagged_text(uint8_t *buf, size_t cap, uint32_t tag, const char *text);

/* EV_NO_ACTION body: HV_NOTE_MAGIC then text. */
int hv_ev_note(uint8_t *buf, size_t cap, const char *text);

/* UEFI_PLATFORM_FIRMWARE_BLOB {u64 base, u64 length}. */
int hv_ev_firmware_blob(uint8_t *buf, size_t cap, uint64_t base, uint64_t length);

#endif
