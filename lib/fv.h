/*
 * fv.h: images inside UEFI firmware files (PI specification volume 3):
 * firmware volumes (EFI_FIRMWARE_VOLUME_HEADER, "_FVH"), their FFS files,
 * and the files' sections: PE32, TE, UI names, and the encapsulations that
 * hold more sections (GUID-defined LZMA sections, compression sections
 * without compression, FV image sections holding nested volumes).
 * Everything is hostile: lengths are checked against their container,
 * nesting depth, counts and decompressed bytes are capped (caps.h).
 */
#ifndef HVIMA_FV_H
#define HVIMA_FV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/* True if the buffer (the start of a file) holds a firmware volume header
 * at an 8-byte aligned offset. */
bool hv_fv_detect(const uint8_t *buf, size_t len);

/*
 * Walk every firmware volume of the firmware file [buf, buf + len) (volumes
 * are found at 8-byte aligned offsets and skipped whole), and call cb for
 * each PE32 and TE section, with path "FV:<fv-guid>/<file-guid>" ("/<n>"
 * appended, n from 1, when a file holds several image sections), name the
 * file's UI name and guid the file's GUID. HV_OK, a cb's non-zero return,
 * or an error naming the offset in the firmware file (or in a decompressed
 * section) at fault.
 */
int hv_fv_walk(const uint8_t *buf, size_t len, hv_mf_cb cb, void *ctx, hv_why *why);

#endif
