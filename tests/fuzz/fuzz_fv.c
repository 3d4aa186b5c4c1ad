/*
 * fuzz_fv.c: libFuzzer target for the firmware volume walker (lib/fv.c):
 * hv_fv_detect and hv_fv_walk on the input, through volumes, FFS files,
 * sections, LZMA-encoded and nested volumes. The callback reads every byte
 * of each image section it is handed (so ASan sees a span that is not
 * inside the input or a decoded buffer), checks that the name and path
 * are terminated, and parses the span as an image the way the manifest
 * does (hv_mf_image: PE/TE parse, canonical and Authenticode digests).
 */
#include <stdint.h>
#include <string.h>

#include "fv.h"

static volatile unsigned sink;

static int on_cand(void *ctx, const struct hv_mf_cand *c)
{
	struct hv_mf_image img;
	hv_why why;

	sink += (unsigned)strlen(c->path) + (unsigned)strlen(c->name) + (c->guid ? c->guid[15] : 0);
	for (size_t i = 0; i < c->len; i++)
		sink += c->buf[i];
	if (hv_mf_image(c->buf, c->len, &img, &why) == HV_OK)
		sink += img.canon.d[HV_SHA256][0] + (unsigned)strlen(img.image_name);
	else
		sink += (unsigned)strlen(why.msg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hv_why why;

	sink += hv_fv_detect(data, size);
	if (hv_fv_walk(data, size, on_cand, NULL, &why) != HV_OK)
		sink += (unsigned)strlen(why.msg);
	return 0;
}
