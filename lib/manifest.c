/*
 * manifest.c: a manifest entry from the bytes of one candidate image: the
 * format, machine and subsystem from the headers (pe.c), the canonical
 * digest (canon.c, what the plugin measures) and the Authenticode digest
 * (authenticode.c, what firmware measures and signatures sign), each in
 * every bank hvima fills. Nothing here allocates beyond what pe.c does.
 */
#include <stdio.h>
#include <string.h>

#include "authenticode.h"
#include "canon.h"
#include "manifest.h"

bool hv_mf_looks_like_image(const uint8_t *buf, size_t len)
{
	return len >= 2 && ((buf[0] == 'M' && buf[1] == 'Z') || (buf[0] == 'V' && buf[1] == 'Z'));
}

void hv_mf_setname(char *out, size_t outlen, const char *in)
{
	size_t n = strnlen(in, outlen - 1);
	memcpy(out, in, n);
	out[n] = '\0';
}

int hv_mf_image(const uint8_t *buf, size_t len, struct hv_mf_image *img, hv_why *why)
{
	struct hv_pe pe;
	hv_why aw;
	int rc;

	memset(img, 0, sizeof(*img));
	if (!hv_mf_looks_like_image(buf, len))
		return hv_fail(why, HV_E_ABSENT, "not an image (no MZ or VZ signature)");
	rc = hv_pe_parse(&pe, buf, len, HV_LAYOUT_FILE, why);
	if (rc)
		return rc;
	img->kind = pe.kind;
	img->machine = pe.machine;
	img->subsystem = pe.subsystem;
	img->size = len;
	img->size_of_image = pe.size_of_image;
	hv_pe_best_name(&pe, img->image_name, sizeof(img->image_name));
	rc = hv_canon_digest(&pe, 0, HV_ALGS_ALL, &img->canon, NULL, why);
	if (rc)
		goto out;
	if (pe.kind != HV_TE) {
		int arc = hv_authenticode(&pe, HV_ALGS_ALL, &img->auth, &aw);
		if (arc) {
			img->auth.mask = 0;
			snprintf(img->auth_err, sizeof(img->auth_err), "%s: %s", hv_status_str(arc), aw.msg);
		}
	}
out:
	hv_pe_free(&pe);
	return rc;
}

char *hv_guid_str(const uint8_t g[16], char *out)
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", hv_le32(g), hv_le16(g + 4), hv_le16(g + 6),
		 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
	return out;
}
