/*
 * manifest.h: one entry of a reference manifest (docs/manifest.md): what
 * hvima records about a PE32, PE32+ or TE image found in a file, a
 * directory, a disk image or a firmware volume, so that a verifier can match
 * the plugin's measurements against it. The source walkers (fv.h, disk.h)
 * hand out candidate byte spans; hv_mf_image() decides whether a span is an
 * image and computes its digests. The JSON writer lives in the tool.
 */
#ifndef HVIMA_MANIFEST_H
#define HVIMA_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "pe.h"

#define HV_MANIFEST_VERSION 1
/* A path inside a source ("p1/EFI/BOOT/BOOTX64.EFI", "FV:<guid>/<guid>/1"). */
#define HV_MF_PATH 1024

struct hv_mf_image {
	char name[HV_CAP_NAME + 1];       /* basename or firmware UI name; may be "" */
	char image_name[HV_CAP_NAME + 1]; /* export name, else PDB basename (hv_pe_best_name) */
	enum hv_pe_kind kind;
	uint16_t machine, subsystem;
	uint64_t size;          /* bytes of the file or section */
	uint32_t size_of_image;
	struct hv_digests canon;
	struct hv_digests auth; /* mask 0 for TE */
	char auth_err[200];     /* why auth is missing for a PE, else "" */
};

/* True if buf starts like an image: "MZ" (PE) or "VZ" (TE). */
bool hv_mf_looks_like_image(const uint8_t *buf, size_t len);

/*
 * Fill img for the image in [buf, buf + len) (file layout), all three
 * banks. HV_E_ABSENT if the bytes do not start with MZ/VZ (not an image);
 * another error (with why) if they do but the image cannot be parsed or
 * its canonical digest cannot be computed. A PE whose Authenticode digest
 * fails is still an image: auth.mask is 0 and auth_err says why.
 */
int hv_mf_image(const uint8_t *buf, size_t len, struct hv_mf_image *img, hv_why *why);

/* A candidate a source walker found: a file of a directory or a disk
 * partition, or an image section of a firmware file. guid is the firmware
 * file's GUID (16 bytes, EFI_GUID layout) or NULL. */
struct hv_mf_cand {
	const char *path;
	const char *name;
	const uint8_t *guid;
	const uint8_t *buf;
	size_t len;
};

/* Called per candidate; a non-zero return stops the walk and is returned. */
typedef int (*hv_mf_cb)(void *ctx, const struct hv_mf_cand *c);

/* "8-4-4-4-12" lower-case text of an EFI_GUID (little-endian first three
 * fields); out holds 37 bytes. Returns out. */
char *hv_guid_str(const uint8_t g[16], char *out);

/* Copy a name into a fixed buffer, cut at outlen - 1 bytes. */
void hv_mf_setname(char *out, size_t outlen, const char *in);

#endif
