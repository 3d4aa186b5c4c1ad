/*
 * test-canon: properties of the canonical digest over every corpus file
 * (paths on stdin, as printed by tests/corpus/list). For each image:
 * it parses and its relocation, import, load config and debug directories
 * walk without error; the canonical digest is the same when computed twice;
 * it changes when one byte of code (at the entry point, else the start of
 * the first code section) changes, the copy being written to and read back
 * from a temporary file; and it does not
 * change when the file is rebased (ImageBase and every DIR64/HIGHLOW site
 * moved by the same delta), which is what a loader does to it in memory.
 */
#include "corpus.h"
#include "tap.h"

static char label[4096];

static void result(int ok, const char *what)
{
	char line[4400];
	snprintf(line, sizeof(line), "%s: %s", label, what);
	tap_result(ok, "%s", line);
}

struct rebase {
	const struct hv_pe *pe;
	const uint8_t *orig;
	uint8_t *copy;
	uint64_t delta;
	unsigned sites, unsupported;
};

static int rebase_cb(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct rebase *r = ctx;
	(void)arg;
	if (type == HV_REL_ABSOLUTE)
		return 0;
	if (type != HV_REL_DIR64 && type != HV_REL_HIGHLOW) {
		r->unsupported++;
		return 0;
	}
	unsigned w = type == HV_REL_DIR64 ? 8 : 4;
	long off = rva_off(r->pe, r->orig, rva, w);
	if (off < 0)
		return 0; /* in the zero-filled tail of a section: nothing in the file */
	if (w == 8)
		hv_put_le64(r->copy + off, hv_le64(r->copy + off) + r->delta);
	else
		hv_put_le32(r->copy + off, (uint32_t)(hv_le32(r->copy + off) + r->delta));
	r->sites++;
	return 0;
}

static int count_import(void *ctx, const struct hv_pe_import *imp)
{
	(void)imp;
	++*(unsigned *)ctx;
	return 0;
}

static int count_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	(void)rva, (void)type, (void)arg;
	++*(unsigned *)ctx;
	return 0;
}

static int count_debug(void *ctx, const struct hv_pe_debug *d)
{
	(void)d;
	++*(unsigned *)ctx;
	return 0;
}

static int walks_ok(const struct hv_pe *pe)
{
	hv_why why = {""};
	unsigned n = 0;
	struct hv_pe_loadcfg lc;
	int rc[4] = {hv_pe_relocs(pe, count_reloc, &n, &why), 0, 0, 0};
	const char *what[4] = {"relocs", "imports", "loadcfg", "debug"};
	if (rc[0] == HV_OK || rc[0] == HV_E_ABSENT)
		rc[1] = hv_pe_imports(pe, count_import, &n, &why);
	if (rc[1] == HV_OK || rc[1] == HV_E_ABSENT)
		rc[2] = hv_pe_loadcfg(pe, &lc, &why);
	if (rc[2] == HV_OK || rc[2] == HV_E_ABSENT)
		rc[3] = hv_pe_debug_entries(pe, count_debug, &n, &why);
	for (int i = 0; i < 4; i++)
		if (rc[i] != HV_OK && rc[i] != HV_E_ABSENT) {
			printf("#   %s: %s: %s\n", what[i], hv_status_str(rc[i]), why.msg);
			return 0;
		}
	return 1;
}

static void check_file(const char *path)
{
	struct cfile f;
	struct hv_pe pe;
	hv_why why = {""};
	uint8_t a[32], b[32], c[32];
	const char *s = strrchr(path, '/');
	const char *p = s ? s : path;
	while (p > path && p[-1] != '/')
		p--;
	snprintf(label, sizeof(label), "%s", p);

	if (cfile_read(path, &f) || hv_pe_parse(&pe, f.buf, f.len, HV_LAYOUT_FILE, &why)) {
		printf("#   %s\n", why.msg);
		result(0, "parses as a PE/TE file");
		free(f.buf);
		return;
	}
	result(walks_ok(&pe), "parses; relocation, import, load config and debug directories walk");

	int r1 = canon_sha256(f.buf, f.len, a, &why), r2 = canon_sha256(f.buf, f.len, b, &why);
	if (r1 || r2)
		printf("#   hv_canon_digest: %s: %s\n", hv_status_str(r1 ? r1 : r2), why.msg);
	result(!r1 && !r2 && !memcmp(a, b, 32), "canonical digest is the same when computed twice");

	/* One byte of code at the entry point (or, for DLLs without one, at the
	 * start of the first code section), through a file on disk. */
	uint32_t code = pe.entry_rva;
	for (unsigned i = 0; !code && i < pe.nsections; i++)
		if ((pe.sections[i].characteristics & HV_SCN_MEM_EXECUTE) && hv_pe_section_copied(&pe.sections[i]))
			code = pe.sections[i].virtual_address;
	long off = code ? rva_off(&pe, f.buf, code, 1) : -1;
	uint8_t *copy = malloc(f.len);
	int ok = 0;
	if (off > 0 && copy) {
		char tmp[4096];
		struct cfile g = {0};
		memcpy(copy, f.buf, f.len);
		copy[off] ^= 0x01;
		if (!cfile_write_temp(copy, f.len, tmp, sizeof(tmp))) {
			ok = !cfile_read(tmp, &g) && canon_sha256(g.buf, g.len, c, &why) == HV_OK && memcmp(a, c, 32);
			unlink(tmp);
		}
		free(g.buf);
		result(ok, "canonical digest changes when one byte of code changes");
	} else {
		printf("# %s: no code in the file to change\n", label);
	}

	/* Rebase by 16 MiB, as a loader would. */
	const struct hv_pe_dirent *rel = hv_pe_dir(&pe, HV_DIR_BASERELOC);
	if (rel && copy && pe.image_base_off) {
		struct rebase rb = {&pe, f.buf, copy, 0x1000000, 0, 0};
		memcpy(copy, f.buf, f.len);
		int rc = hv_pe_relocs(&pe, rebase_cb, &rb, &why);
		uint64_t nb = pe.image_base + rb.delta;
		if (pe.image_base_width == 8)
			hv_put_le64(copy + pe.image_base_off, nb);
		else
			hv_put_le32(copy + pe.image_base_off, (uint32_t)nb);
		if (rb.unsupported || (pe.image_base_width == 4 && nb > UINT32_MAX)) {
			printf("# %s: not rebased: relocation types other than DIR64/HIGHLOW or a base too high\n",
			       label);
		} else {
			ok = rc == HV_OK && canon_sha256(copy, f.len, c, &why) == HV_OK && !memcmp(a, c, 32);
			if (!ok)
				printf("#   %u sites moved; %s\n", rb.sites, why.msg);
			result(ok, "canonical digest does not change when the file is rebased");
		}
	}
	free(copy);
	hv_pe_free(&pe);
	free(f.buf);
}

int main(void)
{
	char line[4096];
	unsigned n = 0;
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (*line) {
			check_file(line);
			n++;
		}
	}
	tap_result(n >= 8, "the corpus list holds the mingw-built images%s", "");
	return tap_done();
}
