/*
 * mfread.h: reading reference manifests (format v1, docs/manifest.md), the lists
 * of images with their canonical digests that `hvima manifest` writes from
 * files, disks and firmware, read back by a verifier as hostile input.
 *
 * Several manifests load into one set; the set then indexes every image by
 * its canonical SHA-256 (open addressing, so 100k lookups in 100k entries
 * cost milliseconds). Every field is checked for its type and size; an
 * error names the file and the JSON path (images[12].canonical.sha256).
 * Unknown keys are ignored, so producers may add keys.
 */
#ifndef HVIMA_MFREAD_H
#define HVIMA_MFREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "pe.h"

#define HV_MR_NONE UINT32_MAX

struct hv_mr_source {
	char *kind; /* "file", "dir", "disk", "firmware" (others kept as given) */
	char *path;
	uint32_t manifest;
};

struct hv_mr_image {
	uint32_t manifest, source; /* source: index into hv_mr_set.sources */
	char *path, *name, *image_name;
	char format[8];
	uint32_t machine_id, subsystem_id;
	uint64_t size, size_of_image;
	unsigned canon_mask;
	uint8_t canon[HV_NALGS][HV_DIGEST_MAX];
	uint32_t next_same; /* next image with the same canonical SHA-256 */
	bool firmware;      /* from a firmware source */
};

struct hv_mr_set {
	char **files;
	uint32_t nfiles;
	struct hv_mr_source *sources;
	uint32_t nsources;
	struct hv_mr_image *images;
	uint32_t nimages, cap;
	uint32_t *table; /* image index per slot, HV_MR_NONE when empty */
	uint32_t tmask;
};

/* Add the manifest text buf (named label in errors) to s. On failure s is
 * left as it was before the call. */
int hv_mr_load(struct hv_mr_set *s, const char *label, const uint8_t *buf, size_t len, hv_why *why);
/* Build the digest index; call after the last load. */
int hv_mr_index(struct hv_mr_set *s, hv_why *why);
/* First image whose canonical SHA-256 is d, or HV_MR_NONE; then follow
 * next_same for the others. */
uint32_t hv_mr_lookup(const struct hv_mr_set *s, const uint8_t *d);
void hv_mr_free(struct hv_mr_set *s);

/* Hex string of exactly n bytes into out; false otherwise (shared with the
 * baseline and policy readers). */
bool hv_unhex(const char *s, uint8_t *out, size_t n);

#endif
