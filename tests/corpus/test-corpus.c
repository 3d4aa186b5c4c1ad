/*
 * test-corpus: checks on the images rules.mk builds with mingw-w64, where
 * we know what the linker put in: kind, machine and subsystem of each one,
 * relocations that point into the image, imports from ntoskrnl.exe, the
 * Load Config patched in by pe-setdir with its /GS cookie and CFG slots,
 * export and delay-import names, a TE image that maps every RVA to the same
 * bytes as the PE it came from, and a canonical digest that ignores what a
 * loader writes. Usage: test-corpus MINGW_DIR.
 */
#include <strings.h>

#include "corpus.h"
#include "tap.h"

static const char *dir;

struct img {
	struct cfile f;
	struct hv_pe pe;
	int ok;
};

/* Parse dir/name; a failure is a failed check of the calling test. */
static int img_open(struct img *m, const char *name)
{
	char path[4096];
	hv_why why = {""};
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(m, 0, sizeof(*m));
	if (cfile_read(path, &m->f)) {
		CHECKF(0, "%s unreadable", name);
		return -1;
	}
	int rc = hv_pe_parse(&m->pe, m->f.buf, m->f.len, HV_LAYOUT_FILE, &why);
	CHECKF(rc == HV_OK, "%s: %s: %s", name, hv_status_str(rc), why.msg);
	m->ok = rc == HV_OK;
	return m->ok ? 0 : -1;
}

static void img_close(struct img *m)
{
	if (m->ok)
		hv_pe_free(&m->pe);
	free(m->f.buf);
}

static void check_header(struct img *m, enum hv_pe_kind kind, uint16_t machine, uint16_t subsys)
{
	CHECKF(m->pe.kind == kind, "kind %s", hv_pe_kind_str(m->pe.kind));
	CHECKF(m->pe.machine == machine, "machine 0x%x", m->pe.machine);
	CHECKF(m->pe.subsystem == subsys, "subsystem %u", m->pe.subsystem);
}

/* ---- relocations ---- */

struct relocs {
	const struct hv_pe *pe;
	unsigned n[16], outside;
	uint32_t rva[4096];
	uint8_t type[4096];
	unsigned total;
};

static int reloc_cb(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct relocs *r = ctx;
	(void)arg;
	r->n[type & 15]++;
	if (r->total < 4096) {
		r->rva[r->total] = rva;
		r->type[r->total++] = (uint8_t)type;
	}
	unsigned w = hv_reloc_width(type);
	if (type != HV_REL_DIR64 && type != HV_REL_HIGHLOW)
		return 0;
	/* The site holds a VA of this image at its link-time base. */
	const uint8_t *p = hv_pe_rva(r->pe, rva, w);
	uint64_t v = !p ? 0 : w == 8 ? hv_le64(p) : hv_le32(p);
	if (!p || v < r->pe->image_base || v - r->pe->image_base >= r->pe->size_of_image)
		r->outside++;
	return 0;
}

static int walk_relocs(struct img *m, struct relocs *r)
{
	hv_why why = {""};
	memset(r, 0, sizeof(*r));
	r->pe = &m->pe;
	int rc = hv_pe_relocs(&m->pe, reloc_cb, r, &why);
	if (rc != HV_OK && rc != HV_E_ABSENT)
		CHECKF(0, "hv_pe_relocs: %s: %s", hv_status_str(rc), why.msg);
	return rc;
}

/* ---- imports ---- */

struct imports {
	unsigned n;
	struct hv_pe_import imp[16];
};

static int import_cb(void *ctx, const struct hv_pe_import *imp)
{
	struct imports *s = ctx;
	if (s->n < 16)
		s->imp[s->n++] = *imp;
	return 0;
}

static const struct hv_pe_import *find_import(struct img *m, struct imports *s, const char *dll)
{
	hv_why why = {""};
	memset(s, 0, sizeof(*s));
	int rc = hv_pe_imports(&m->pe, import_cb, s, &why);
	CHECKF(rc == HV_OK, "hv_pe_imports: %s: %s", hv_status_str(rc), why.msg);
	for (unsigned i = 0; i < s->n; i++)
		if (!strcasecmp(s->imp[i].dll, dll))
			return &s->imp[i];
	CHECKF(0, "no import from %s (%u descriptors)", dll, s->n);
	return NULL;
}

/* ---- tests ---- */

static void efi_app_is_pe32plus_efi_application_with_dir64_relocs(void)
{
	struct img m;
	struct relocs r;
	if (img_open(&m, "efi-app.efi") == 0) {
		check_header(&m, HV_PE32PLUS, HV_MACHINE_AMD64, HV_SUBSYS_EFI_APPLICATION);
		CHECK(walk_relocs(&m, &r) == HV_OK);
		CHECKF(r.n[HV_REL_DIR64] >= 4, "%u DIR64", r.n[HV_REL_DIR64]);
		CHECKF(r.outside == 0, "%u sites point outside the image", r.outside);
	}
	img_close(&m);
}

static void efi_app_has_codeview_debug_entry(void)
{
	struct img m;
	char name[HV_CAP_NAME + 1];
	hv_why why = {""};
	if (img_open(&m, "efi-app.efi") == 0) {
		CHECK(hv_pe_dir(&m.pe, HV_DIR_DEBUG) != NULL);
		/* ld's RSDS entry has an empty PDB path: present, not absent. */
		int rc = hv_pe_codeview_name(&m.pe, name, sizeof(name), &why);
		CHECKF(rc == HV_OK, "%s: %s", hv_status_str(rc), why.msg);
	}
	img_close(&m);
}

static void efi_ia32_is_pe32_with_highlow_relocs(void)
{
	struct img m;
	struct relocs r;
	if (img_open(&m, "efi-app-ia32.efi") == 0) {
		check_header(&m, HV_PE32, HV_MACHINE_I386, HV_SUBSYS_EFI_APPLICATION);
		CHECK(m.pe.image_base_width == 4);
		CHECK(walk_relocs(&m, &r) == HV_OK);
		CHECKF(r.n[HV_REL_HIGHLOW] >= 4, "%u HIGHLOW", r.n[HV_REL_HIGHLOW]);
		CHECKF(r.outside == 0, "%u sites point outside the image", r.outside);
	}
	img_close(&m);
}

static void noreloc_image_has_no_relocation_directory(void)
{
	struct img m;
	struct relocs r;
	if (img_open(&m, "noreloc.efi") == 0) {
		check_header(&m, HV_PE32PLUS, HV_MACHINE_AMD64, HV_SUBSYS_EFI_APPLICATION);
		CHECK(hv_pe_dir(&m.pe, HV_DIR_BASERELOC) == NULL);
		CHECK(walk_relocs(&m, &r) == HV_E_ABSENT);
		CHECK(m.pe.characteristics & 0x0001); /* IMAGE_FILE_RELOCS_STRIPPED */
	}
	img_close(&m);
}

static void te_image_keeps_the_fields_of_its_pe(void)
{
	struct img te, pe;
	if (img_open(&te, "efi-app.te") == 0 && img_open(&pe, "te-src.efi") == 0) {
		check_header(&te, HV_TE, HV_MACHINE_AMD64, HV_SUBSYS_EFI_APPLICATION);
		CHECK(te.pe.entry_rva == pe.pe.entry_rva);
		CHECK(te.pe.image_base == pe.pe.image_base);
		CHECK(te.pe.nsections == pe.pe.nsections);
		CHECKF(te.pe.rva_bias == pe.pe.opt_off + pe.pe.opt_size - HV_TE_HDR_SIZE, "rva_bias 0x%x",
		       te.pe.rva_bias);
	}
	img_close(&te);
	img_close(&pe);
}

static void te_image_maps_rvas_to_the_bytes_of_its_pe(void)
{
	struct img te, pe;
	struct relocs rt, rp;
	if (img_open(&te, "efi-app.te") == 0 && img_open(&pe, "te-src.efi") == 0) {
		for (unsigned i = 0; i < pe.pe.nsections; i++) {
			const struct hv_pe_section *s = &pe.pe.sections[i];
			uint32_t n = hv_pe_section_copied(s);
			const uint8_t *a = hv_pe_rva(&pe.pe, s->virtual_address, n);
			const uint8_t *b = hv_pe_rva(&te.pe, s->virtual_address, n);
			if (!n)
				continue;
			CHECKF(a && b && !memcmp(a, b, n), "section %s differs or is missing in the TE", s->name);
		}
		CHECK(walk_relocs(&te, &rt) == HV_OK);
		CHECK(walk_relocs(&pe, &rp) == HV_OK);
		CHECKF(rt.total > 0 && rt.total == rp.total && !memcmp(rt.rva, rp.rva, rt.total * 4),
		       "TE %u relocations, PE %u", rt.total, rp.total);
		CHECK(rt.outside == 0);
	}
	img_close(&te);
	img_close(&pe);
}

static void driver_is_native_with_dir64_relocs(void)
{
	struct img m;
	struct relocs r;
	if (img_open(&m, "hvcorpus.sys") == 0) {
		check_header(&m, HV_PE32PLUS, HV_MACHINE_AMD64, HV_SUBSYS_NATIVE);
		CHECK(walk_relocs(&m, &r) == HV_OK);
		CHECKF(r.n[HV_REL_DIR64] >= 5, "%u DIR64", r.n[HV_REL_DIR64]);
		CHECKF(r.outside == 0, "%u sites point outside the image", r.outside);
	}
	img_close(&m);
}

static void driver_imports_ntoskrnl_and_hal(void)
{
	struct img m;
	struct imports s;
	const struct hv_pe_import *k;
	if (img_open(&m, "hvcorpus.sys") == 0) {
		k = find_import(&m, &s, "ntoskrnl.exe");
		/* DbgPrint, RtlInitUnicodeString, ExAllocatePoolWithTag, ExFreePoolWithTag */
		CHECKF(k && k->nthunks >= 4 && k->thunk_size == 8, "ntoskrnl.exe: %u thunks", k ? k->nthunks : 0);
		k = find_import(&m, &s, "HAL.dll");
		CHECKF(k && k->nthunks >= 1, "HAL.dll: %u thunks", k ? k->nthunks : 0);
	}
	img_close(&m);
}

static uint64_t va_u64(struct img *m, uint64_t va, int *ok)
{
	const uint8_t *p = va >= m->pe.image_base ? hv_pe_rva(&m->pe, va - m->pe.image_base, 8) : NULL;
	*ok = p != NULL;
	return p ? hv_le64(p) : 0;
}

static void driver_load_config_cookie_holds_the_default(void)
{
	struct img m;
	struct hv_pe_loadcfg lc;
	hv_why why = {""};
	int ok;
	if (img_open(&m, "hvcorpus.sys") == 0) {
		int rc = hv_pe_loadcfg(&m.pe, &lc, &why);
		CHECKF(rc == HV_OK, "%s: %s", hv_status_str(rc), why.msg);
		CHECKF(lc.size == 0x140, "Size 0x%x", lc.size);
		uint64_t v = va_u64(&m, lc.security_cookie, &ok);
		CHECKF(ok && v == HV_GS_COOKIE_DEFAULT64, "cookie VA 0x%llx holds 0x%llx",
		       (unsigned long long)lc.security_cookie, (unsigned long long)v);
		CHECK(lc.guard_flags == 0x100);
	}
	img_close(&m);
}

static void driver_load_config_cfg_slots_hold_code_pointers(void)
{
	struct img m;
	struct hv_pe_loadcfg lc;
	hv_why why = {""};
	int ok;
	if (img_open(&m, "hvcorpus.sys") == 0 && hv_pe_loadcfg(&m.pe, &lc, &why) == HV_OK) {
		uint64_t slots[2] = {lc.guard_cf_check_fptr, lc.guard_cf_dispatch_fptr};
		for (int i = 0; i < 2; i++) {
			uint64_t fn = va_u64(&m, slots[i], &ok);
			const struct hv_pe_section *s =
			    ok && fn >= m.pe.image_base ? hv_pe_section_at(&m.pe, fn - m.pe.image_base) : NULL;
			CHECKF(s && (s->characteristics & HV_SCN_MEM_EXECUTE), "slot %d (VA 0x%llx) -> 0x%llx", i,
			       (unsigned long long)slots[i], (unsigned long long)fn);
		}
	}
	img_close(&m);
}

static void driver_export_directory_names_the_module(void)
{
	struct img m;
	char name[HV_CAP_NAME + 1] = "";
	hv_why why = {""};
	if (img_open(&m, "hvcorpus.sys") == 0) {
		int rc = hv_pe_export_name(&m.pe, name, sizeof(name), &why);
		CHECKF(rc == HV_OK && !strcmp(name, "hvcorpus.sys"), "%s: '%s' %s", hv_status_str(rc), name, why.msg);
		hv_pe_best_name(&m.pe, name, sizeof(name));
		CHECKF(!strcmp(name, "hvcorpus.sys"), "best name '%s'", name);
	}
	img_close(&m);
}

static void second_driver_imports_from_the_first(void)
{
	struct img m;
	struct imports s;
	const struct hv_pe_import *k;
	if (img_open(&m, "hvcorpus2.sys") == 0) {
		check_header(&m, HV_PE32PLUS, HV_MACHINE_AMD64, HV_SUBSYS_NATIVE);
		k = find_import(&m, &s, "hvcorpus.sys");
		CHECKF(k && k->nthunks == 2, "hvcorpus.sys: %u thunks", k ? k->nthunks : 0);
		CHECK(find_import(&m, &s, "ntoskrnl.exe") != NULL);
	}
	img_close(&m);
}

static void dll_is_pe32plus_dll_importing_kernel32(void)
{
	struct img m;
	struct imports s;
	char name[HV_CAP_NAME + 1] = "";
	hv_why why = {""};
	if (img_open(&m, "hvcorpus.dll") == 0) {
		check_header(&m, HV_PE32PLUS, HV_MACHINE_AMD64, HV_SUBSYS_WINDOWS_CUI);
		CHECK(m.pe.characteristics & 0x2000); /* IMAGE_FILE_DLL */
		CHECK(find_import(&m, &s, "KERNEL32.dll") != NULL);
		CHECK(hv_pe_export_name(&m.pe, name, sizeof(name), &why) == HV_OK && !strcmp(name, "hvcorpus.dll"));
	}
	img_close(&m);
}

static void dll_delay_import_names_version_dll(void)
{
	struct img m;
	if (img_open(&m, "hvcorpus.dll") == 0) {
		const struct hv_pe_dirent *d = hv_pe_dir(&m.pe, HV_DIR_DELAY_IMPORT);
		const uint8_t *desc = d ? hv_pe_rva(&m.pe, d->rva, 64) : NULL;
		static const uint8_t zero[32];
		CHECKF(desc != NULL, "no delay-import directory");
		if (desc) {
			CHECK(hv_le32(desc) == 1); /* Attributes: RVA-based */
			const uint8_t *name = hv_pe_rva(&m.pe, hv_le32(desc + 4), 12);
			CHECK(name && !memcmp(name, "version.dll", 12));
			CHECK(!memcmp(desc + 32, zero, 32)); /* the table ends */
		}
	}
	img_close(&m);
}

/* A loader writes the cookie and the IAT: the canonical digest must not
 * move, while the Authenticode digest of the same bytes does. */
static void canon_ignores_loader_writes_to_cookie_and_iat(void)
{
	struct img m;
	struct hv_pe_loadcfg lc;
	struct imports s;
	hv_why why = {""};
	uint8_t a[32], b[32];
	if (img_open(&m, "hvcorpus.sys") != 0 || hv_pe_loadcfg(&m.pe, &lc, &why) != HV_OK) {
		CHECKF(0, "setup: %s", why.msg);
		img_close(&m);
		return;
	}
	const struct hv_pe_import *k = find_import(&m, &s, "ntoskrnl.exe");
	long cookie = rva_off(&m.pe, m.f.buf, (uint32_t)(lc.security_cookie - m.pe.image_base), 8);
	long iat = k ? rva_off(&m.pe, m.f.buf, k->iat_rva, 8) : -1;
	CHECK(cookie > 0 && iat > 0);
	CHECK(canon_sha256(m.f.buf, m.f.len, a, &why) == HV_OK);
	if (cookie > 0 && iat > 0) {
		uint8_t *copy = malloc(m.f.len);
		memcpy(copy, m.f.buf, m.f.len);
		hv_put_le64(copy + cookie, 0x1122334455667788ull);
		hv_put_le64(copy + iat, 0xfffff80012345678ull);
		int rc = canon_sha256(copy, m.f.len, b, &why);
		CHECKF(rc == HV_OK && !memcmp(a, b, 32), "%s %s", hv_status_str(rc), why.msg);
		free(copy);
	}
	img_close(&m);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-corpus MINGW_DIR\n");
		return 2;
	}
	dir = argv[1];
	RUN(efi_app_is_pe32plus_efi_application_with_dir64_relocs);
	RUN(efi_app_has_codeview_debug_entry);
	RUN(efi_ia32_is_pe32_with_highlow_relocs);
	RUN(noreloc_image_has_no_relocation_directory);
	RUN(te_image_keeps_the_fields_of_its_pe);
	RUN(te_image_maps_rvas_to_the_bytes_of_its_pe);
	RUN(driver_is_native_with_dir64_relocs);
	RUN(driver_imports_ntoskrnl_and_hal);
	RUN(driver_load_config_cookie_holds_the_default);
	RUN(driver_load_config_cfg_slots_hold_code_pointers);
	RUN(driver_export_directory_names_the_module);
	RUN(second_driver_imports_from_the_first);
	RUN(dll_is_pe32plus_dll_importing_kernel32);
	RUN(dll_delay_import_names_version_dll);
	RUN(canon_ignores_loader_writes_to_cookie_and_iat);
	return tap_done();
}
