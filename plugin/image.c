/*
 * image.c: from a translated block to the image it belongs to, and the
 * measurement of that image.
 *
 * Pages are attributed once and cached by guest virtual page; the host
 * address of the page (qemu_plugin_insn_haddr) tells when a virtual page
 * now maps other memory, and the entry is then dropped. For an unknown page
 * the image header is searched for backwards, page by page, at most
 * scan_pages pages: an "MZ" (PE) or "VZ" (TE) at any 4-byte aligned offset
 * (EDK2 and Windows place loaded images at page starts, but images run in
 * place from firmware volumes sit wherever their FFS section starts). The nearest header below the block decides: if its
 * image does not cover the block, the page belongs to no image.
 *
 * Measuring reads the whole image from guest memory at that moment (page by
 * page; unreadable pages are recorded), computes the canonical digest at the
 * address it was found at, classifies it and records one event. The same
 * image seen again elsewhere (a runtime driver after SetVirtualAddressMap,
 * a second load) has the same canonical digest: it is attributed to the
 * first measurement and noted, not extended again.
 */
#include <string.h>

#include "hvima.h"

#define SCRTM_TOP UINT64_C(0x100000000)
#define FV_SIG_OFF 40
#define FV_LEN_OFF 32
#define FV_GUID_OFF 16
/* EFI_SYSTEM_NV_DATA_FV_GUID fff12b8d-7696-4c8b-a985-2747075b4f50: the
 * variable store, which changes at run time and is not code. */
static const uint8_t nvdata_guid[16] = {0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
					0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50};

bool read_guest(uint64_t addr, void *dst, size_t len)
{
	if (len == 0)
		return true;
	g_byte_array_set_size(hvp.rbuf, 0);
	if (!qemu_plugin_read_memory_vaddr(addr, hvp.rbuf, len) || hvp.rbuf->len < len)
		return false;
	memcpy(dst, hvp.rbuf->data, len);
	return true;
}

/* Hash [lo, hi) of guest memory in 64 KiB reads. */
static bool hash_guest(uint64_t lo, uint64_t hi, struct hv_digests *d)
{
	static uint8_t chunk[65536];
	struct hv_mh h;

	if (hv_mh_init(&h, hvp.banks))
		return false;
	for (uint64_t a = lo; a < hi; a += sizeof(chunk)) {
		size_t n = hi - a < sizeof(chunk) ? hi - a : sizeof(chunk);
		if (!read_guest(a, chunk, n)) {
			hv_mh_abort(&h);
			return false;
		}
		hv_mh_update(&h, chunk, n);
	}
	return hv_mh_final(&h, d) == 0;
}

/*
 * S-CRTM: the firmware code the VM starts from. At the first block (the
 * reset vector), walk the firmware volumes that end at 4 GiB downwards (each
 * FV header: "_FVH" at 40, FvLength at 32) and stop at the variable store;
 * measure that range. Without firmware volumes, the top 64 KiB.
 */
void scrtm_measure(void)
{
	uint64_t lo = SCRTM_TOP;
	uint8_t h[48];
	struct hv_digests d;
	uint8_t ev[16];
	g_autofree char *text = NULL, *json = NULL;
	int n;

	hvp.scrtm_done = true;
	for (uint64_t p = SCRTM_TOP - HVP_PAGE; p + hvp.firmware_max >= SCRTM_TOP && p >= HVP_PAGE; p -= HVP_PAGE) {
		if (!read_guest(p, h, sizeof(h)) || memcmp(h + FV_SIG_OFF, "_FVH", 4))
			continue;
		if (hv_le64(h + FV_LEN_OFF) != lo - p)
			continue;
		if (!memcmp(h + FV_GUID_OFF, nvdata_guid, 16))
			break;
		lo = p;
	}
	if (lo == SCRTM_TOP)
		lo = SCRTM_TOP - 0x10000;
	hvp.fw_lo = lo, hvp.fw_hi = SCRTM_TOP;
	n = hv_ev_firmware_blob(ev, sizeof(ev), lo, SCRTM_TOP - lo);
	if (!hash_guest(lo, SCRTM_TOP, &d)) {
		record_note("scrtm-unreadable base=0x%" PRIx64 " length=0x%" PRIx64, lo, SCRTM_TOP - lo);
		return;
	}
	text = g_strdup_printf("firmware base=0x%" PRIx64 " length=0x%" PRIx64, lo, SCRTM_TOP - lo);
	json = g_strdup_printf("\"event\":\"firmware\",\"base\":\"0x%" PRIx64 "\",\"length\":%" PRIu64
			       ",\"insns\":%" PRIu64,
			       lo, SCRTM_TOP - lo, guest_insns());
	record(HV_PCR_FIRMWARE, EV_EFI_PLATFORM_FIRMWARE_BLOB, &d, ev, (uint32_t)n, text, json);
}

static struct page *page_put(uint64_t page, enum page_kind kind, struct image *img, uint64_t base)
{
	struct page *pg = g_new0(struct page, 1);
	uint64_t *key = g_new(uint64_t, 1);
	*key = page;
	pg->kind = kind, pg->img = img, pg->base = base;
	g_hash_table_replace(hvp.pages, key, pg);
	return pg;
}

static void attribute(struct image *img, uint64_t base)
{
	uint64_t last = (base + img->span - 1) & HVP_PAGE_MASK;
	for (uint64_t p = base & HVP_PAGE_MASK; p <= last; p += HVP_PAGE)
		page_put(p, PAGE_IMAGE, img, base);
	img->cur_base = base;
}

static void classify(struct image *img, uint64_t base, uint32_t *type)
{
	uint16_t ss = img->pe.subsystem;

	if (ss == HV_SUBSYS_EFI_APPLICATION) {
		img->cls = "uefi-application", img->pcr = HV_PCR_UEFI_APPS, *type = EV_EFI_BOOT_SERVICES_APPLICATION;
	} else if (ss == HV_SUBSYS_EFI_RUNTIME_DRIVER) {
		img->cls = "uefi-runtime-driver", img->pcr = HV_PCR_UEFI_DRIVERS, *type = EV_EFI_RUNTIME_SERVICES_DRIVER;
	} else if (ss == HV_SUBSYS_EFI_BOOT_SERVICE_DRIVER || ss == HV_SUBSYS_EFI_ROM) {
		img->cls = "uefi-driver", img->pcr = HV_PCR_UEFI_DRIVERS, *type = EV_EFI_BOOT_SERVICES_DRIVER;
	} else {
		img->cls = (ss == HV_SUBSYS_NATIVE || base >= 0xffff800000000000ull) ? "kernel-image" : "other-image";
		img->pcr = HV_PCR_KERNEL, *type = EV_EVENT_TAG;
	}
}

static void record_image(struct image *img, uint32_t type)
{
	uint8_t ev[1024];
	char hex[2 * HV_DIGEST_MAX + 1];
	g_autofree char *text = NULL, *json = NULL;
	g_autofree char *ename = g_strescape(img->name, NULL);
	g_autofree char *ereason = g_strescape(img->reason, NULL);
	int n;

	text = g_strdup_printf("%s base=0x%" PRIx64 " size=0x%x class=%s status=%s%s%s", img->name[0] ? img->name : "-",
			       img->base0, img->span, img->cls, img->status, img->reason[0] ? " reason=" : "",
			       img->reason);
	json = g_strdup_printf("\"event\":\"image\",\"id\":%u,\"name\":\"%s\",\"class\":\"%s\",\"status\":\"%s\","
			       "\"format\":\"%s\",\"machine\":\"%s\",\"subsystem\":%u,\"base\":\"0x%" PRIx64 "\","
			       "\"size\":%u,\"entry\":\"0x%" PRIx64 "\",\"insns\":%" PRIu64 ",\"canonical\":{\"sha256\":\"%s\"}"
			       "%s%s%s",
			       img->id, ename, img->cls, img->status, hv_pe_kind_str(img->pe.kind),
			       hv_pe_machine_str(img->pe.machine), img->pe.subsystem, img->base0, img->span,
			       img->base0 - img->pe.rva_bias + img->pe.entry_rva, guest_insns(),
			       hexd(&img->canon, HV_SHA256, hex), img->reason[0] ? ",\"reason\":\"" : "",
			       ereason, img->reason[0] ? "\"" : "");
	if (strcmp(img->status, "malformed") == 0) {
		g_autofree char *t = g_strdup_printf("base=0x%" PRIx64 " reason=\"%s\"", img->base0, img->reason);
		n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_MALFORMED, t);
		record(img->pcr, EV_EVENT_TAG, NULL, ev, n > 0 ? (uint32_t)n : 0, text, json);
		return;
	}
	if (type == EV_EVENT_TAG)
		n = hv_ev_sipa_module(ev, sizeof(ev), img->name[0] ? img->name : "unknown", img->span, img->base0,
				      HV_SHA256, img->canon.d[HV_SHA256]);
	else
		n = hv_ev_image_load(ev, sizeof(ev), img->base0, img->span, img->pe.image_base, img->name);
	record(img->pcr, type, &img->canon, ev, n > 0 ? (uint32_t)n : 0, text, json);
}

/* Read the image's span page by page; unreadable pages stay zero. */
static uint32_t snapshot(struct image *img)
{
	uint32_t npages = (uint32_t)((img->span + HVP_PAGE - 1) / HVP_PAGE), bad = 0;

	for (uint32_t i = 0; i < npages; i++) {
		uint64_t off = (uint64_t)i * HVP_PAGE;
		size_t len = img->span - off < HVP_PAGE ? img->span - off : HVP_PAGE;
		if (!read_guest(img->base0 + off, img->snap + off, len)) {
			img->missing[i] = 1;
			bad++;
		}
	}
	return bad;
}

/* True if a missing page holds bytes the digest covers. */
static bool missing_covered(const struct image *img, uint32_t *first)
{
	const struct hv_pe *pe = &img->pe;
	for (uint64_t off = 0; off < img->span; off += HVP_PAGE) {
		uint64_t rva = off + pe->rva_bias;
		if (!img->missing[off / HVP_PAGE])
			continue;
		if (rva < (uint64_t)pe->rva_bias + pe->size_of_headers)
			goto yes;
		for (uint32_t i = 0; i < pe->nsections; i++) {
			const struct hv_pe_section *s = &pe->sections[i];
			uint64_t lo = s->virtual_address, hi = lo + hv_pe_section_copied(s);
			if (rva < hi && rva + HVP_PAGE > lo)
				goto yes;
		}
		continue;
yes:
		*first = (uint32_t)rva;
		return true;
	}
	return false;
}

static int on_iat(void *ctx, const struct hv_pe_import *imp)
{
	struct image *img = ctx;
	uint32_t r[2] = {imp->iat_rva, imp->nthunks * imp->thunk_size};
	g_array_append_val(img->iat, r);
	return 0;
}

/* A measured image that is the same as img (same size and headers, same
 * read-only sections), found at another address. */
static struct image *moved_image(const struct image *img, uint64_t base)
{
	for (guint i = 0; i + 1 < hvp.images->len; i++) {
		struct image *x = g_ptr_array_index(hvp.images, i);
		if (x->gone || !x->parsed || x->cur_base == base || x->span != img->span || x->pe.kind != img->pe.kind ||
		    x->pe.size_of_headers != img->pe.size_of_headers || strcmp(x->status, "measured"))
			continue;
		if (same_image_at(x, base))
			return x;
	}
	return NULL;
}

/* RVA where the trailing run of discardable sections (INIT, .reloc)
 * starts; SizeOfImage when there is none. */
static uint64_t discardable_tail(const struct image *x)
{
	uint64_t tail = x->pe.size_of_image;
	for (uint32_t s = x->pe.nsections; s-- > 0;) {
		if (!(x->pe.sections[s].characteristics & HV_SCN_MEM_DISCARDABLE))
			break;
		tail = x->pe.sections[s].virtual_address;
	}
	return tail;
}

/* A new image placed in the freed discardable tail of a measured one (a
 * Windows kernel reuses a driver's INIT and .reloc pages after its
 * DriverEntry): the older image ends where the new one starts. */
static void truncate_overlapped(const struct image *img, uint64_t base)
{
	for (guint i = 0; i < hvp.images->len; i++) {
		struct image *x = g_ptr_array_index(hvp.images, i);
		uint64_t b = x->cur_base;
		if (x == img || x->gone || !x->parsed || base <= b || base - b >= x->span)
			continue;
		if (base - b + x->pe.rva_bias < discardable_tail(x))
			continue; /* not in a discardable tail: left to the guard */
		record_note("image-truncated id=%u name=%s base=0x%" PRIx64 " size=0x%" PRIx64 " by-id=%u", x->id,
			    x->name[0] ? x->name : "-", b, base - b, img->id);
		x->span = (uint32_t)(base - b);
	}
}

static struct image *measure(uint64_t base, const struct hv_pe *hdr)
{
	struct image *img = g_new0(struct image, 1);
	hv_why why = {{0}};
	uint32_t type = EV_EVENT_TAG, first;
	struct image *prev;
	char hex[2 * HV_DIGEST_MAX + 1];

	img->id = hvp.images->len;
	img->base0 = base;
	img->span = hdr->size_of_image - hdr->rva_bias;
	img->status = "measured";
	img->iat = g_array_new(FALSE, FALSE, sizeof(uint32_t[2]));
	g_ptr_array_add(hvp.images, img);
	img->pe = *hdr;
	img->pe.sections = NULL;
	classify(img, base, &type);
	/* A guest can forge headers at will: bound what it can make us keep. */
	if (hvp.snap_bytes + img->span > HVP_SNAP_BUDGET || hvp.images->len > HVP_MAX_IMAGES) {
		img->status = "malformed";
		snprintf(img->reason, sizeof(img->reason), "over the plugin's budget (%u images, 0x%" PRIx64 " bytes kept)",
			 hvp.images->len, hvp.snap_bytes);
		img->span = img->span < HVP_PAGE ? img->span : (uint32_t)HVP_PAGE; /* attribute one page only */
		goto out;
	}
	img->snap = g_try_malloc0(img->span);
	img->missing = g_try_malloc0((img->span + HVP_PAGE - 1) / HVP_PAGE);
	if (!img->snap || !img->missing) {
		img->status = "malformed";
		snprintf(img->reason, sizeof(img->reason), "no memory for an image of 0x%x bytes", img->span);
		img->span = img->span < HVP_PAGE ? img->span : (uint32_t)HVP_PAGE;
		goto out;
	}
	hvp.snap_bytes += img->span;
	snapshot(img);
	if (hv_pe_parse(&img->pe, img->snap, img->span, HV_LAYOUT_LOADED, &why)) {
		img->pe = *hdr;
		img->pe.sections = NULL;
		img->status = "malformed";
		snprintf(img->reason, sizeof(img->reason), "%s", why.msg);
		goto out;
	}
	img->parsed = true;
	hv_pe_best_name(&img->pe, img->name, sizeof(img->name));
	if (hv_canon_sites(&img->pe, base, &img->sites, &why) ||
	    hv_canon_digest(&img->pe, base, hvp.banks, &img->canon, NULL, &why)) {
		img->status = "malformed";
		snprintf(img->reason, sizeof(img->reason), "%s", why.msg);
		goto out;
	}
	img->va0 = hv_canon_va0(&img->pe, base);
	if (img->pe.kind != HV_TE)
		hv_pe_imports(&img->pe, on_iat, img, NULL);
	if (missing_covered(img, &first)) {
		img->status = "incomplete";
		snprintf(img->reason, sizeof(img->reason), "page at RVA 0x%x not readable at first execution", first);
	}
	prev = g_hash_table_lookup(hvp.by_digest, hexd(&img->canon, HV_SHA256, hex));
	if (!prev && !strcmp(img->status, "measured") && (prev = moved_image(img, base))) {
		/* A measured image at another address, its writable data changed
		 * since (SetVirtualAddressMap moves runtime drivers): the same
		 * image, not a new one. */
		hvp.n_again++;
		record_note("image-moved id=%u name=%s first-base=0x%" PRIx64 " base=0x%" PRIx64, prev->id,
			    prev->name[0] ? prev->name : "-", prev->base0, base);
		goto forget;
	}
	if (prev && !strcmp(img->status, "measured")) {
		/* Seen before: same bytes, possibly another base. Attribute to the
		 * first measurement; note it without extending again. */
		hvp.n_again++;
		record_note("image-again id=%u name=%s first-base=0x%" PRIx64 " base=0x%" PRIx64, prev->id, prev->name,
			    prev->base0, base);
forget:
		g_ptr_array_remove_index(hvp.images, hvp.images->len - 1);
		hvp.snap_bytes -= img->span;
		hv_canon_sites_free(&img->sites);
		hv_pe_free(&img->pe);
		g_free(img->snap);
		g_free(img->missing);
		g_array_free(img->iat, TRUE);
		g_free(img);
		attribute(prev, base);
		return prev;
	}
	if (!prev)
		g_hash_table_insert(hvp.by_digest, g_strdup(hex), img);
out:
	if (strcmp(img->status, "measured"))
		hvp.n_malformed++;
	hvp.n_images++;
	record_image(img, type);
	truncate_overlapped(img, base);
	attribute(img, base);
	return img;
}

/* Parse the header of a candidate image at addr; true if it is one and
 * covers pc. */
static bool try_header(uint64_t addr, uint64_t pc, struct hv_pe *pe)
{
	static uint8_t hdr[HV_CAP_HEADERS_SIZE];
	size_t len = HVP_PAGE - (addr & ~HVP_PAGE_MASK);
	hv_why why;
	int rc;

	if (!read_guest(addr, hdr, len))
		return false;
	rc = hv_pe_parse(pe, hdr, len, HV_LAYOUT_LOADED, &why);
	if (rc == HV_E_TRUNCATED && len >= 0x40) {
		/* Headers longer than the rest of the page: read what they say. */
		uint32_t want = 0;
		struct hv_rd r = {hdr, len};
		if (hdr[0] == 'M') {
			uint32_t lfanew = hv_le32(hdr + 0x3c);
			/* SizeOfHeaders: optional header offset 60, after the 24-byte
			 * signature and COFF header; read only if this page has it. */
			if (!hv_rd_u32(&r, (uint64_t)lfanew + 24 + 60, &want))
				return false;
		} else {
			want = HV_TE_HDR_SIZE + (uint32_t)hdr[4] * HV_SECTION_HDR_SIZE;
		}
		if (want <= len || want > sizeof(hdr) || !read_guest(addr, hdr, want))
			return false;
		rc = hv_pe_parse(pe, hdr, want, HV_LAYOUT_LOADED, &why);
	}
	if (rc)
		return false;
	/* Plausibility against chance "MZ"/"VZ" bytes in code or data. */
	if (pe->machine != HV_MACHINE_AMD64 && pe->machine != HV_MACHINE_I386) {
		hv_pe_free(pe);
		return false;
	}
	if (pc < addr || pc - addr >= pe->size_of_image - pe->rva_bias) {
		hv_pe_free(pe);
		return false;
	}
	return true;
}

/* The nearest image header below pc whose image covers pc, searched
 * backwards from its page; its address in *addr and headers in *pe. */
static bool find_header(uint64_t pc, uint64_t *addr, struct hv_pe *pe)
{
	static uint8_t buf[HVP_PAGE];
	uint64_t page = pc & HVP_PAGE_MASK;
	bool in_fw = pc >= hvp.fw_lo && pc < hvp.fw_hi;

	for (uint32_t k = 0; k < hvp.scan_pages && page >= (uint64_t)k * HVP_PAGE; k++) {
		uint64_t p = page - (uint64_t)k * HVP_PAGE;
		size_t top = k == 0 ? (size_t)(pc - p) : HVP_PAGE - 2;
		if (in_fw && p < hvp.fw_lo)
			break; /* firmware images do not straddle the flash */
		if (!read_guest(p, buf, HVP_PAGE))
			continue;
		for (size_t j = top & ~(size_t)3;; j -= 4) {
			bool mz = buf[j] == 'M' && buf[j + 1] == 'Z';
			bool vz = buf[j] == 'V' && buf[j + 1] == 'Z';
			if ((mz || vz) && try_header(p + j, pc, pe)) {
				*addr = p + j;
				return true;
			}
			if (j == 0)
				break;
		}
	}
	return false;
}

struct image *discover(uint64_t pc)
{
	struct hv_pe pe;
	struct image *img;
	uint64_t addr;

	if (!find_header(pc, &addr, &pe))
		return NULL;
	img = measure(addr, &pe);
	hv_pe_free(&pe);
	return img;
}

/* True if the headers at base, normalized, are those img was measured with. */
bool image_headers_intact(struct image *img, uint64_t base)
{
	static uint8_t cur[HV_CAP_HEADERS_SIZE], was[HV_CAP_HEADERS_SIZE];
	uint32_t soh = img->pe.size_of_headers, bias = img->pe.rva_bias;

	if (!img->parsed || soh > img->span || !read_guest(base, cur, soh))
		return false;
	memcpy(was, img->snap, soh);
	hv_canon_normalize(&img->sites, base - bias, bias, cur, soh);
	hv_canon_normalize(&img->sites, img->va0, bias, was, soh);
	return !memcmp(cur, was, soh);
}

struct image *replaced_by(struct image *img, uint64_t base, uint64_t pc)
{
	struct hv_pe pe;
	uint64_t addr;
	struct image *n;

	if (!find_header(pc, &addr, &pe))
		return NULL; /* no header: still img, headers wiped */
	if (addr == base && image_headers_intact(img, base)) {
		hv_pe_free(&pe);
		return NULL;
	}
	n = measure(addr, &pe);
	hv_pe_free(&pe);
	return n;
}

/* A known image whose span at its current base holds pc, unless another
 * image has replaced it there: its headers, normalized, must still be those
 * measured, or be no valid header at all (a driver that wiped its own
 * headers keeps its attribution; the recheck reports the wipe). */
struct image *known(uint64_t pc, uint64_t *base)
{
	for (guint i = 0; i < hvp.images->len; i++) {
		struct image *img = g_ptr_array_index(hvp.images, i);
		uint64_t b = img->cur_base;
		struct hv_pe other;

		if (img->gone || pc < b || pc - b >= img->span)
			continue;
		*base = b;
		if (image_headers_intact(img, b) || !try_header(b, pc, &other))
			return img;
		hv_pe_free(&other);
		return NULL; /* reused for another image: discover it */
	}
	return NULL;
}

struct page *page_lookup(uint64_t pc, uint64_t hpage)
{
	uint64_t page = pc & HVP_PAGE_MASK, base;
	struct page *pg = g_hash_table_lookup(hvp.pages, &page);
	struct image *img;

	if (pg && hpage && pg->haddr && pg->haddr != hpage) {
		g_hash_table_remove(hvp.pages, &page); /* the page maps other memory now */
		pg = NULL;
	}
	if (!pg) {
		if ((img = known(pc, &base))) {
			pg = page_put(page, PAGE_IMAGE, img, base);
		} else if (discover(pc) && (pg = g_hash_table_lookup(hvp.pages, &page))) {
			/* attributed by the measurement */
		} else {
			bool fw = pc >= hvp.fw_lo && pc < hvp.fw_hi;
			pg = page_put(page, fw ? PAGE_FIRMWARE : PAGE_NONE, NULL, 0);
		}
	}
	if (pg && hpage && !pg->haddr)
		pg->haddr = hpage;
	return pg;
}
