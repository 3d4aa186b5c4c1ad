/*
 * guard.c: measured code must stay what was measured.
 *
 * QEMU retranslates a block whenever the guest writes to its page, so every
 * executed modification of measured code passes through vcpu_tb_trans. Each
 * block translated inside a measured image is compared with the bytes read
 * when the image was measured; if they differ, both sides are normalized
 * with the image's loader-written sites (the canonical digest's own list,
 * relocation sites relative to each side's base) so that a runtime driver
 * relocated by SetVirtualAddressMap still compares equal. What still
 * differs is a violation: an EV_EVENT_TAG in PCR 15 naming the image, the
 * offset, the guest PC and the SHA-256 of the new bytes, once per distinct
 * (image, offset, bytes).
 *
 * Code in no image is "unattributed": the SHA-256 of its page is recorded in
 * PCR 14 once per distinct content, so a verifier can allow known
 * trampolines and flag injected code.
 *
 * Read-only parts of measured images (headers, sections without the write
 * attribute, import address tables) are re-read and compared every
 * recheck_insns guest instructions.
 */
#include <string.h>

#include "hvima.h"

#define MAX_BLOCK 8192

bool seen_before(const char *key)
{
	if (g_hash_table_contains(hvp.seen, key))
		return true;
	if (g_hash_table_size(hvp.seen) >= HVP_MAX_SEEN) {
		/* Past the limit every further event would cost memory: one note
		 * says the record is no longer complete. */
		if (!hvp.seen_full)
			record_note("event-limit reached=%u: further violations and unattributed pages are not recorded",
				    HVP_MAX_SEEN);
		hvp.seen_full = true;
		return true;
	}
	g_hash_table_add(hvp.seen, g_strdup(key));
	return false;
}

static void sha256_hex(const uint8_t *p, size_t n, char *hex)
{
	struct hv_mh h;
	struct hv_digests d;
	if (hv_mh_init(&h, HV_ALG_BIT(HV_SHA256)) || hv_mh_update(&h, p, n) || hv_mh_final(&h, &d)) {
		strcpy(hex, "digest-failure");
		return;
	}
	hv_hex(d.d[HV_SHA256], 32, hex);
}

static void violation(struct image *img, const char *kind, uint64_t base, uint64_t off, uint64_t pc,
		      const uint8_t *bytes, size_t len, const char *extra_text, const char *extra_json)
{
	char hex[65], ih[2 * HV_DIGEST_MAX + 1];
	uint8_t ev[1024];
	g_autofree char *key = NULL, *text = NULL, *json = NULL;
	g_autofree char *ename = g_strescape(img->name, NULL);
	int n;

	sha256_hex(bytes, len, hex);
	key = g_strdup_printf("v/%u/%" PRIx64 "/%s", img->id, off, hex);
	if (seen_before(key))
		return;
	hvp.n_violations++;
	img->violated = true;
	text = g_strdup_printf("kind=%s image=%s image-id=%u image-sha256=%s base=0x%" PRIx64 " offset=0x%" PRIx64
			       " pc=0x%" PRIx64 " length=%zu sha256=%s%s",
			       kind, img->name[0] ? img->name : "-", img->id, hexd(&img->canon, HV_SHA256, ih), base, off, pc,
			       len, hex, extra_text ? extra_text : "");
	json = g_strdup_printf("\"event\":\"violation\",\"kind\":\"%s\",\"image\":\"%s\",\"image_id\":%u,"
			       "\"base\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64 "\",\"pc\":\"0x%" PRIx64 "\","
			       "\"length\":%zu,\"bytes_sha256\":\"%s\",\"insns\":%" PRIu64 "%s",
			       kind, ename, img->id, base, off, pc, len, hex, guest_insns(), extra_json ? extra_json : "");
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_VIOLATION, text);
	record(HV_PCR_VIOLATIONS, EV_EVENT_TAG, NULL, ev, n > 0 ? (uint32_t)n : 0, text, json);
}

/* Is [rva, rva + len) inside the bytes the digest covers? */
static bool covered(const struct hv_pe *pe, uint64_t rva, uint64_t len)
{
	if (rva >= pe->rva_bias && rva + len <= (uint64_t)pe->rva_bias + pe->size_of_headers)
		return true;
	for (uint32_t i = 0; i < pe->nsections; i++) {
		const struct hv_pe_section *s = &pe->sections[i];
		if (rva >= s->virtual_address && rva + len <= (uint64_t)s->virtual_address + hv_pe_section_copied(s))
			return true;
	}
	return false;
}

/* Firmware that patches absolute addresses into its own code (EDK2's
 * CpuExceptionHandlerLib fills "mov rax, imm64" stubs with the address of
 * its common entry): an 8-byte field that was all zero when measured and
 * now holds an address inside the same image. Every other difference
 * counts. */
static bool only_self_fixups(const struct image *img, uint64_t base, const uint8_t *cur, const uint8_t *was,
			     const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool fixup = false;
		if (a[i] == b[i])
			continue;
		for (size_t k = i >= 7 ? i - 7 : 0; k <= i && k + 8 <= len && !fixup; k++) {
			uint64_t v = hv_le64(cur + k);
			fixup = hv_le64(was + k) == 0 && v >= base && v - base < img->span;
			if (fixup)
				i = k + 7;
		}
		if (!fixup)
			return false;
	}
	return true;
}

/* Compare cur (current bytes at base + off) with the snapshot. */
static bool same_as_measured(struct image *img, uint64_t base, uint64_t off, const uint8_t *cur, size_t len)
{
	static uint8_t a[MAX_BLOCK], b[MAX_BLOCK];
	uint32_t rva = (uint32_t)(off + img->pe.rva_bias);

	if (!memcmp(cur, img->snap + off, len))
		return true;
	if (len > MAX_BLOCK)
		return false;
	memcpy(a, cur, len);
	memcpy(b, img->snap + off, len);
	hv_canon_normalize(&img->sites, base - img->pe.rva_bias, rva, a, (uint32_t)len);
	hv_canon_normalize(&img->sites, img->va0, rva, b, (uint32_t)len);
	return !memcmp(a, b, len) || only_self_fixups(img, base, cur, img->snap + off, a, b, len);
}

void guard_block(struct page *pg, uint64_t pc, const uint8_t *bytes, size_t len)
{
	struct image *img = pg->img, *other;
	uint64_t base = pg->base, off;

	if (pc < base || pc - base >= img->span) {
		/* Images packed in a firmware volume share pages. */
		img = known(pc, &base);
		if (!img && !(img = discover(pc))) {
			unattributed_block(pg, pc);
			return;
		}
		base = img->cur_base;
	}
	if (!hvp.guard || !img->parsed || strcmp(img->status, "malformed") == 0)
		return;
	off = pc - base;
	if (len > img->span - off)
		len = img->span - off;
	if (img->missing[off / HVP_PAGE] || img->missing[(off + len - 1) / HVP_PAGE])
		return; /* not readable when measured: the event said so */
	if (covered(&img->pe, off + img->pe.rva_bias, len) && same_as_measured(img, base, off, bytes, len))
		return;
	/* A different image loaded over this one is measured, not a violation. */
	other = replaced_by(img, base, pc);
	if (other) {
		if (!strcmp(other->status, "malformed") || pc < other->cur_base)
			return;
		img = other, base = other->cur_base, off = pc - base;
		if (len > img->span - off)
			len = img->span - off;
		if (covered(&img->pe, off + img->pe.rva_bias, len) && same_as_measured(img, base, off, bytes, len))
			return;
	}
	if (!covered(&img->pe, off + img->pe.rva_bias, len)) {
		violation(img, "outside-measured-bytes", base, off, pc, bytes, len, NULL, NULL);
		return;
	}
	violation(img, "modified-code", base, off, pc, bytes, len, NULL, NULL);
}

void unattributed_block(struct page *pg, uint64_t pc)
{
	static uint8_t buf[HVP_PAGE];
	uint64_t page = pc & HVP_PAGE_MASK;
	char hex[65];
	uint8_t ev[512];
	g_autofree char *key = NULL, *text = NULL, *json = NULL;
	int n;

	if (!hvp.unattributed)
		return;
	for (uint64_t a = 0; a < HVP_PAGE; a += 512)
		if (!read_guest(page + a, buf + a, 512))
			memset(buf + a, 0, 512);
	sha256_hex(buf, sizeof(buf), hex);
	if (!strcmp(pg->content, hex))
		return;
	strcpy(pg->content, hex);
	key = g_strdup_printf("u/%s", hex);
	if (seen_before(key))
		return;
	hvp.n_unattributed++;
	text = g_strdup_printf("page=0x%" PRIx64 " pc=0x%" PRIx64 " sha256=%s", page, pc, hex);
	json = g_strdup_printf("\"event\":\"unattributed\",\"page\":\"0x%" PRIx64 "\",\"pc\":\"0x%" PRIx64
			       "\",\"page_sha256\":\"%s\",\"insns\":%" PRIu64,
			       page, pc, hex, guest_insns());
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_UNATTRIBUTED, text);
	record(HV_PCR_UNATTRIBUTED, EV_EVENT_TAG, NULL, ev, n > 0 ? (uint32_t)n : 0, text, json);
}

/* Where an address points: "IMAGE+0xOFF", or "none" (no measured image). */
static void describe_target(uint64_t v, char *out, size_t n)
{
	for (guint i = 0; i < hvp.images->len; i++) {
		const struct image *t = g_ptr_array_index(hvp.images, i);
		if (!t->gone && v >= t->cur_base && v - t->cur_base < t->span) {
			snprintf(out, n, "%s+0x%" PRIx64, t->name[0] ? t->name : "-", v - t->cur_base);
			return;
		}
	}
	snprintf(out, n, "none");
}

/* An import address table changed after binding (an IAT hook): name the
 * first changed slot, its new value and what that value points into. */
static void import_violation(struct image *img, uint64_t base, uint64_t off, const uint8_t *cur, size_t n)
{
	size_t w = img->pe.kind == HV_PE32PLUS ? 8 : 4, k = 0;
	uint64_t v;
	char where[HV_CAP_NAME + 24];
	g_autofree char *text = NULL, *json = NULL, *ewhere = NULL;

	while (k + w <= n && !memcmp(cur + k, img->snap + off + k, w))
		k += w;
	if (k + w > n)
		k = 0;
	v = w == 8 ? hv_le64(cur + k) : hv_le32(cur + k);
	describe_target(v, where, sizeof(where));
	ewhere = g_strescape(where, NULL);
	text = g_strdup_printf(" slot=0x%" PRIx64 " value=0x%" PRIx64 " target=%s", base + off + k, v, where);
	json = g_strdup_printf(",\"slot\":\"0x%" PRIx64 "\",\"value\":\"0x%" PRIx64 "\",\"target\":\"%s\"",
			       base + off + k, v, ewhere);
	violation(img, "modified-import-table", base, off, 0, cur, n, text, json);
}

/* Compare [rva, rva + len) of img at its current base; raw when raw is
 * set (import address tables: masked in the digest, fixed after binding). */
static void recheck_range(struct image *img, uint32_t rva, uint32_t len, bool raw)
{
	static uint8_t cur[MAX_BLOCK];
	uint64_t base = img->cur_base;

	for (uint32_t done = 0; done < len;) {
		uint32_t n = len - done < MAX_BLOCK ? len - done : MAX_BLOCK;
		uint64_t off = (uint64_t)rva + done - img->pe.rva_bias;
		if (off + n > img->span)
			return;
		if (!img->missing[off / HVP_PAGE] && !img->missing[(off + n - 1) / HVP_PAGE] &&
		    read_guest(base + off, cur, n)) {
			bool same = raw ? (base != img->base0 || !memcmp(cur, img->snap + off, n))
					: same_as_measured(img, base, off, cur, n);
			if (!same && raw)
				import_violation(img, base, off, cur, n);
			else if (!same)
				violation(img, "modified-measured-bytes", base, off, 0, cur, n, NULL, NULL);
		}
		done += n;
	}
}

/* True if the first section with code still holds what was measured. */
static bool code_still_there(struct image *img)
{
	static uint8_t cur[MAX_BLOCK];
	const struct hv_pe *pe = &img->pe;

	for (uint32_t s = 0; s < pe->nsections; s++) {
		const struct hv_pe_section *sec = &pe->sections[s];
		uint32_t n = hv_pe_section_copied(sec);
		uint64_t off = (uint64_t)sec->virtual_address - pe->rva_bias;
		if (!(sec->characteristics & (HV_SCN_MEM_EXECUTE | HV_SCN_CNT_CODE)) || n == 0)
			continue;
		n = n < MAX_BLOCK ? n : MAX_BLOCK;
		if (off + n > img->span || img->missing[off / HVP_PAGE])
			return false;
		return read_guest(img->cur_base + off, cur, n) && same_as_measured(img, img->cur_base, off, cur, n);
	}
	return false;
}

void recheck_all(void)
{
	for (guint i = 0; i < hvp.images->len; i++) {
		struct image *img = g_ptr_array_index(hvp.images, i);
		const struct hv_pe *pe = &img->pe;

		if (!img->parsed || img->gone || strcmp(img->status, "malformed") == 0)
			continue;
		if (!image_headers_intact(img, img->cur_base)) {
			if (!code_still_there(img)) {
				/* Unloaded, its memory reused: nothing left to guard. */
				img->gone = true;
				record_note("image-gone id=%u name=%s base=0x%" PRIx64, img->id, img->name[0] ? img->name : "-",
					    img->cur_base);
				continue;
			}
		}
		recheck_range(img, pe->rva_bias, pe->size_of_headers, false);
		/* Discardable sections (INIT, .reloc) are freed after the entry
		 * point returns and their memory reused: code run from them is
		 * still compared when it is translated. */
		for (uint32_t s = 0; s < pe->nsections; s++)
			if (!(pe->sections[s].characteristics & (HV_SCN_MEM_WRITE | HV_SCN_MEM_DISCARDABLE)))
				recheck_range(img, pe->sections[s].virtual_address, hv_pe_section_copied(&pe->sections[s]),
					      false);
		for (guint k = 0; k < img->iat->len; k++) {
			const uint32_t *r = (const uint32_t *)img->iat->data + 2 * k;
			recheck_range(img, r[0], r[1], true);
		}
	}
}

/* True if img, measured elsewhere, is now at base: headers and every
 * read-only, non-discardable section compare equal after normalization
 * (a runtime driver after SetVirtualAddressMap: its writable data has
 * changed since it was measured, so its digest differs). */
bool same_image_at(struct image *img, uint64_t base)
{
	static uint8_t cur[MAX_BLOCK];
	const struct hv_pe *pe = &img->pe;
	bool any = false;

	if (!image_headers_intact(img, base))
		return false;
	for (uint32_t s = 0; s < pe->nsections; s++) {
		const struct hv_pe_section *sec = &pe->sections[s];
		uint32_t len = hv_pe_section_copied(sec);
		if (sec->characteristics & (HV_SCN_MEM_WRITE | HV_SCN_MEM_DISCARDABLE))
			continue;
		for (uint32_t done = 0; done < len;) {
			uint32_t n = len - done < MAX_BLOCK ? len - done : MAX_BLOCK;
			uint64_t off = (uint64_t)sec->virtual_address + done - pe->rva_bias;
			if (off + n > img->span || img->missing[off / HVP_PAGE] || !read_guest(base + off, cur, n) ||
			    !same_as_measured(img, base, off, cur, n))
				return false;
			done += n, any = true;
		}
	}
	return any;
}
