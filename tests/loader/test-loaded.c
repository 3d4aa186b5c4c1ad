/*
 * test-loaded.c: the canonical digest of an image as a loader left it in
 * memory equals the digest of its file, at any base, for EDK2 and Windows
 * loaders (refload.c); one changed code byte changes it; a changed byte a
 * loader leaves stale (gap, tail, raw padding, zero fill) does not.
 *
 * Usage: test-loaded [FILE...]; without arguments, paths are read from
 * stdin, one a line (tests/corpus/list BUILD | test-loaded). The synthetic
 * images of synth.c are always tested too; an empty corpus list fails.
 * One TAP line per file, mode and base.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "canon.h"
#include "refload.h"
#include "synth.h"

#define LOW_BASE 0x7F450000ull
#define HIGH_BASE64 0xFFFFF80312340000ull
#define HIGH_BASE32 0x80A30000ull

struct file {
	const char *name;
	const uint8_t *buf;
	size_t len;
	struct hv_pe pe;
	struct hv_digests want;
};

static int same(const struct hv_digests *a, const struct hv_digests *b)
{
	for (int i = 0; i < HV_NALGS; i++)
		if ((a->mask & HV_ALG_BIT(i)) != (b->mask & HV_ALG_BIT(i)) ||
		    ((a->mask & HV_ALG_BIT(i)) && memcmp(a->d[i], b->d[i], hv_alg_size((enum hv_alg)i))))
			return 0;
	return 1;
}

static const char *hex256(const struct hv_digests *d, char *out)
{
	return hv_hex(d->d[HV_SHA256], 32, out);
}

/* Digest of the loaded buffer as it is now; 0 or a status. */
static int digest_loaded(const struct hv_pe *lp, uint64_t base, struct hv_digests *out, struct hv_canon_stats *st)
{
	hv_why why = {""};
	int rc = hv_canon_digest(lp, base, HV_ALGS_ALL, out, st, &why);
	if (rc)
		printf("#   canon(loaded): %s: %s\n", hv_status_str(rc), why.msg);
	return rc;
}

/* Offset of a code byte the loader copied and left alone, or -1: the
 * entry point, else the first such byte of a code section, else of any. */
static long code_byte(const struct file *f, const struct rl_image *img)
{
	const struct hv_pe_section *s = hv_pe_section_at(&f->pe, f->pe.entry_rva);
	for (int pass = 0; pass < 3; pass++) {
		for (uint32_t i = 0; i < f->pe.nsections; i++) {
			const struct hv_pe_section *t = &f->pe.sections[i];
			uint64_t from = t->virtual_address;
			if (pass == 0 && t != s)
				continue;
			if (pass == 0 && f->pe.entry_rva)
				from = f->pe.entry_rva;
			if (pass == 1 && !(t->characteristics & (HV_SCN_CNT_CODE | HV_SCN_MEM_EXECUTE)))
				continue;
			for (uint64_t r = from; r < (uint64_t)t->virtual_address + hv_pe_section_copied(t); r++)
				if (r >= img->rva_bias && r - img->rva_bias < img->len && img->map[r - img->rva_bias] == RL_COPIED)
					return (long)(r - img->rva_bias);
		}
	}
	return -1;
}

/* Flip buf[off]; the digest must (want_change) or must not change. */
static int flip_check(const struct hv_pe *lp, struct rl_image *img, uint64_t base, long off,
		      const struct hv_digests *ref, int want_change, const char *what)
{
	struct hv_digests d;
	int ok;

	img->buf[off] ^= 0x5a;
	ok = digest_loaded(lp, base, &d, NULL) == 0 && (!same(&d, ref)) == want_change;
	img->buf[off] ^= 0x5a;
	if (!ok)
		printf("#   %s byte at offset 0x%lx (map %u): digest %s\n", what, off, img->map[off],
		       want_change ? "did not change" : "changed");
	return ok;
}

/* Uncovered bytes: the first stale and zero-fill ones, and the last. */
static int stale_checks(const struct hv_pe *lp, struct rl_image *img, uint64_t base, const struct hv_digests *ref)
{
	int ok = 1, seen_stale = 0, seen_zero = 0;
	for (size_t i = 0; i < img->len; i++) {
		if (img->map[i] == RL_STALE && !seen_stale) {
			seen_stale = 1;
			ok &= flip_check(lp, img, base, (long)i, ref, 0, "stale");
		} else if (img->map[i] == RL_ZERO && !seen_zero) {
			seen_zero = 1;
			ok &= flip_check(lp, img, base, (long)i, ref, 0, "zero-fill");
		}
	}
	if (img->map[img->len - 1] == RL_STALE) /* the tail up to SizeOfImage */
		ok &= flip_check(lp, img, base, (long)img->len - 1, ref, 0, "last");
	return ok;
}

static int check_one(struct file *f, enum rl_mode mode, uint64_t base, uint32_t seed)
{
	struct rl_image img;
	struct hv_pe lp;
	struct hv_digests got;
	struct hv_canon_stats st;
	hv_why why = {""};
	char h1[65], h2[65];
	long code;
	int ok = 0, rc;

	rc = rl_load(f->buf, f->len, base, mode, seed, &img, &why);
	if (rc) {
		printf("#   load: %s: %s\n", hv_status_str(rc), why.msg);
		return 0;
	}
	rc = hv_pe_parse(&lp, img.buf, img.len, HV_LAYOUT_LOADED, &why);
	if (rc) {
		printf("#   parse(loaded): %s: %s\n", hv_status_str(rc), why.msg);
		goto out_img;
	}
	if (digest_loaded(&lp, base, &got, &st))
		goto out_pe;
	if (!same(&got, &f->want)) {
		printf("#   digest %s != file %s (loader: %u relocs, %u slots, %u fields; canon: %u relocs, %u masked)\n",
		       hex256(&got, h1), hex256(&f->want, h2), img.relocs, img.slots, img.fields, st.relocs, st.masked);
		goto out_pe;
	}
	ok = 1;
	code = code_byte(f, &img);
	if (code < 0)
		printf("#   no code byte to change\n");
	else
		ok &= flip_check(&lp, &img, base, code, &f->want, 1, "code");
	ok &= stale_checks(&lp, &img, base, &f->want);
out_pe:
	hv_pe_free(&lp);
out_img:
	rl_free(&img);
	return ok;
}

static int count_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	(*(unsigned *)ctx)++;
	return 0;
}

/* Test one file: parse, digest, then every mode and base. */
static void test_file(struct file *f, unsigned idx)
{
	uint64_t bases[3];
	unsigned nbases = 0, nrel = 0;
	hv_why why = {""};
	char name[160];
	int rc;

	rc = hv_pe_parse(&f->pe, f->buf, f->len, HV_LAYOUT_FILE, &why);
	if (rc == 0 && (rc = hv_canon_digest(&f->pe, 0, HV_ALGS_ALL, &f->want, NULL, &why)) != 0)
		hv_pe_free(&f->pe);
	if (rc) {
		printf("#   %s: %s\n", hv_status_str(rc), why.msg);
		tap_result(0, "%s: file parses and digests", f->name);
		return;
	}
	bases[nbases++] = rl_own_base(&f->pe);
	rc = hv_pe_relocs(&f->pe, count_reloc, &nrel, &why);
	if (rc == 0 && !(f->pe.kind != HV_TE && (f->pe.characteristics & 1))) {
		uint64_t hi = f->pe.image_base_width == 4 ? HIGH_BASE32 : HIGH_BASE64;
		if (bases[0] != LOW_BASE)
			bases[nbases++] = LOW_BASE;
		if (bases[0] != hi)
			bases[nbases++] = hi;
	} else if (rc != HV_E_ABSENT) {
		printf("#   relocations: %s: %s\n", hv_status_str(rc), why.msg);
	}
	for (int m = RL_EDK2; m <= RL_WINDOWS; m++) {
		if (m == RL_WINDOWS && f->pe.kind == HV_TE)
			continue;
		for (unsigned b = 0; b < nbases; b++) {
			snprintf(name, sizeof(name), "%s %s base=0x%" PRIx64, f->name, rl_mode_str((enum rl_mode)m),
				 bases[b]);
			tap_result(check_one(f, (enum rl_mode)m, bases[b], idx * 7919u + (unsigned)m * 31u + b), "%s", name);
		}
	}
	hv_pe_free(&f->pe);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && (unsigned long)n <= HV_CAP_FILE_SIZE &&
	    fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	*len = buf ? (size_t)n : 0;
	fclose(fp);
	return buf;
}

static void test_path(const char *path, unsigned idx)
{
	char *dup = strdup(path);
	struct file f = {.name = basename(dup)};
	uint8_t *buf = read_file(path, &f.len);

	if (!buf) {
		tap_result(0, "%s: readable", path);
	} else {
		f.buf = buf;
		test_file(&f, idx);
	}
	free(buf);
	free(dup);
}

static void test_synth(void)
{
	static const struct {
		enum synth_kind kind;
		const char *name;
	} k[] = {{SYNTH_PE64, "synthetic-pe64"}, {SYNTH_PE64_XIP, "synthetic-pe64-xip"}, {SYNTH_TE, "synthetic-te"}};
	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct file f = {.name = k[i].name};
		uint8_t *buf = synth_build(k[i].kind, &f.len);
		f.buf = buf;
		test_file(&f, 1000 + i);
		free(buf);
	}
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;

	test_synth();
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			test_path(argv[i], n++);
	} else {
		while ((got = getline(&line, &cap, stdin)) > 0) {
			line[strcspn(line, "\r\n")] = 0;
			if (line[0] && line[0] != '#')
				test_path(line, n++);
		}
		free(line);
	}
	tap_result(n > 0, "%s", "the corpus list names at least one file");
	return tap_done();
}
