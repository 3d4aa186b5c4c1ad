/*
 * cmd_manifest.c: `hvima manifest SOURCE...` writes a reference manifest
 * (docs/manifest.md, format v1): every PE32, PE32+ and TE image found in the
 * sources with its canonical and Authenticode digests. A source is a file,
 * a directory (walked here, without following symbolic links), a firmware
 * file (lib/fv.c) or a disk image (lib/disk.c); its kind is recognized by
 * content unless forced. The manifest is built in memory and written only
 * if every source was read whole: a source that is unreadable or malformed
 * gives exit 3 and no manifest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canon.h"
#include "disk.h"
#include "fv.h"
#include "hvima.h"
#include "manifest.h"

enum src_kind { SRC_AUTO, SRC_FILE, SRC_DIR, SRC_DISK, SRC_FIRMWARE };
static const char *const kind_names[] = {"auto", "file", "dir", "disk", "firmware"};

struct src {
	const char *path;
	enum src_kind kind;
};

struct mctx {
	FILE *f;
	unsigned source;
	const char *srcpath;
	unsigned nimages;
	unsigned skipped;
	unsigned entries; /* directory entries seen in this source */
};

static void manifest_usage(FILE *f)
{
	fprintf(f, "Usage: hvima manifest [-o OUT] [--firmware F] [--disk D] [--files P] [SOURCE]...\n\n"
		   "Write a reference manifest (JSON, docs/manifest.md) of every PE32, PE32+ and TE\n"
		   "image in the sources: canonical digest (what the hvima plugin measures) and\n"
		   "Authenticode digest (what firmware measures), in the sha1, sha256, sha384 banks.\n\n"
		   "A SOURCE is recognized by its content: a directory (walked, symbolic links not\n"
		   "followed), a firmware file (UEFI firmware volumes, e.g. OVMF_CODE_4M.fd), a disk\n"
		   "image (qcow2 or raw with an MBR or GPT partition table; FAT and NTFS partitions),\n"
		   "or a single file.\n\n"
		   "  -o, --output OUT  write the manifest to OUT instead of standard output\n"
		   "  --firmware F      read F as a firmware file\n"
		   "  --disk D          read D as a disk image\n"
		   "  --files P         read P as a file or directory\n"
		   "  --help            print this\n\n"
		   "Files that are not images are skipped (counted in \"skipped\"); one that starts\n"
		   "like an image but does not parse is named on standard error.\n\n"
		   "Exit: 0 manifest written, 2 usage, 3 a source is unreadable or malformed (the\n"
		   "error names the source and offset; no manifest is written), 5 internal error.\n");
}

/* A JSON string: valid UTF-8 as is, control characters escaped, a byte that
 * is not part of a valid UTF-8 sequence as U+FFFD. */
static void json_utf8(FILE *f, const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	fputc('"', f);
	while (*p) {
		unsigned n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 : (*p & 0xf0) == 0xe0 ? 3
			     : (*p & 0xf8) == 0xf0 && *p <= 0xf4                  ? 4
										  : 0;
		unsigned k = 1;

		while (k < n && (p[k] & 0xc0) == 0x80)
			k++;
		/* no overlong forms, no surrogates, nothing past U+10FFFF */
		if (k >= 2 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
			       (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
			k = 1;
		if (n == 1 && (*p == '"' || *p == '\\'))
			fprintf(f, "\\%c", *p);
		else if (n == 1 && (*p < 0x20 || *p == 0x7f))
			fprintf(f, "\\u%04x", *p);
		else if (n && k == n)
			fwrite(p, 1, n, f);
		else {
			fputs("\\ufffd", f);
			n = k;
		}
		p += n ? n : 1;
	}
	fputc('"', f);
}

static void json_digests(FILE *f, const char *key, const struct hv_digests *d)
{
	char hex[2 * HV_DIGEST_MAX + 1];
	bool first = true;

	fprintf(f, ",\"%s\":{", key);
	for (int a = 0; a < HV_NALGS; a++)
		if (d->mask & HV_ALG_BIT(a)) {
			fprintf(f, "%s\"%s\":\"%s\"", first ? "" : ",", hv_alg_name(a), hv_hex(d->d[a], hv_alg_size(a), hex));
			first = false;
		}
	fputc('}', f);
}

static int on_cand(void *ctx, const struct hv_mf_cand *c)
{
	struct mctx *m = ctx;
	struct hv_mf_image img;
	hv_why why = {{0}};
	char g[37];
	int rc;

	rc = hv_mf_image(c->buf, c->len, &img, &why);
	if (rc == HV_E_ABSENT) {
		m->skipped++;
		return 0;
	}
	if (rc) {
		m->skipped++;
		fprintf(stderr, "hvima manifest: %s: %s: skipped, not a valid image: %s: %s\n", m->srcpath, c->path,
			hv_status_str(rc), why.msg);
		return 0;
	}
	if (m->nimages >= HV_CAP_MF_IMAGES) {
		fprintf(stderr, "hvima manifest: %s: more than %u images\n", m->srcpath, HV_CAP_MF_IMAGES);
		return HV_E_CAP;
	}
	if (img.kind != HV_TE && !img.auth.mask)
		fprintf(stderr, "hvima manifest: %s: %s: no Authenticode digest: %s\n", m->srcpath, c->path, img.auth_err);
	fprintf(m->f, "%s\n    {\"source\":%u,\"path\":", m->nimages ? "," : "", m->source);
	json_utf8(m->f, c->path);
	fprintf(m->f, ",\"name\":");
	json_utf8(m->f, c->name ? c->name : "");
	fprintf(m->f, ",\"image_name\":");
	json_utf8(m->f, img.image_name);
	fprintf(m->f, ",\"format\":\"%s\",\"machine_id\":%u,\"subsystem_id\":%u,\"size\":%llu,\"size_of_image\":%u",
		hv_pe_kind_str(img.kind), img.machine, img.subsystem, (unsigned long long)img.size, img.size_of_image);
	json_digests(m->f, "canonical", &img.canon);
	if (img.auth.mask)
		json_digests(m->f, "authenticode", &img.auth);
	if (c->guid)
		fprintf(m->f, ",\"file_guid\":\"%s\"", hv_guid_str(c->guid, g));
	fputc('}', m->f);
	m->nimages++;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int candidate_file(struct mctx *m, const char *full, const char *rel)
{
	struct hv_mf_cand c = {.path = rel, .name = base_name(rel)};
	uint8_t head[2], *buf;
	size_t len;
	ssize_t n;
	int fd, err;

	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n < 0)
		return -errno;
	if (!hv_mf_looks_like_image(head, (size_t)n)) {
		m->skipped++;
		return 0;
	}
	err = hv_read_file(full, &buf, &len);
	if (err)
		return err;
	c.buf = buf;
	c.len = len;
	err = on_cand(m, &c);
	free(buf);
	return err ? -EFBIG : 0;
}

/* Walk dir (full path) whose path inside the source is rel ("" at the top),
 * entries in byte order of their names. */
static int walk_dir(struct mctx *m, const char *full, const char *rel, unsigned depth)
{
	struct dirent **ents = NULL;
	int n, err = 0;

	if (depth > HV_CAP_DIR_DEPTH) {
		fprintf(stderr, "hvima manifest: %s: %s: directories nested deeper than %u\n", m->srcpath, rel,
			HV_CAP_DIR_DEPTH);
		return -ELOOP;
	}
	n = scandir(full, &ents, NULL, alphasort);
	if (n < 0) {
		err = -errno;
		fprintf(stderr, "hvima manifest: %s: error: %s: %s\n", m->srcpath, *rel ? rel : ".", strerror(errno));
		return err;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		char fsub[4096], rsub[HV_MF_PATH];
		struct stat st;

		if (err || !strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (++m->entries > HV_CAP_DIR_ENTRIES) {
			fprintf(stderr, "hvima manifest: %s: more than %u entries\n", m->srcpath, HV_CAP_DIR_ENTRIES);
			err = -EFBIG;
			continue;
		}
		if ((size_t)snprintf(fsub, sizeof(fsub), "%s/%s", full, nm) >= sizeof(fsub) ||
		    (size_t)snprintf(rsub, sizeof(rsub), "%s%s%s", rel, *rel ? "/" : "", nm) >= sizeof(rsub)) {
			fprintf(stderr, "hvima manifest: %s: %s/%s: path too long\n", m->srcpath, rel, nm);
			err = -ENAMETOOLONG;
			continue;
		}
		if (lstat(fsub, &st) < 0) {
			err = -errno;
			fprintf(stderr, "hvima manifest: %s: error: %s: %s\n", m->srcpath, rsub, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			err = walk_dir(m, fsub, rsub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			err = candidate_file(m, fsub, rsub);
			if (err)
				fprintf(stderr, "hvima manifest: %s: error: %s: %s\n", m->srcpath, rsub, strerror(-err));
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return err;
}

/* What a file holds, from its first bytes. */
static enum src_kind detect(const char *path)
{
	static uint8_t head[1 << 20];
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return SRC_DIR;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SRC_FILE; /* reported when read */
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n <= 0)
		return SRC_FILE;
	if (hv_mf_looks_like_image(head, (size_t)n))
		return SRC_FILE;
	if (hv_disk_detect(head, (size_t)n))
		return SRC_DISK;
	if (hv_fv_detect(head, (size_t)n))
		return SRC_FIRMWARE;
	return SRC_FILE;
}

static int read_source(struct mctx *m, const struct src *s)
{
	struct stat st;
	hv_why why = {{0}};
	uint8_t *buf;
	size_t len;
	int rc;

	switch (s->kind) {
	case SRC_DIR:
		return walk_dir(m, s->path, "", 0) ? -1 : 0;
	case SRC_DISK: {
		struct hv_disk_info info;
		rc = hv_disk_walk(s->path, 0, on_cand, m, &info, &why);
		if (!rc)
			fprintf(stderr, "hvima manifest: %s: partition table %s, %u partitions, %u file systems read, %u without FAT or NTFS\n",
				s->path, info.table, info.partitions, info.walked, info.unknown);
		break;
	}
	case SRC_FIRMWARE:
	case SRC_FILE:
		if (stat(s->path, &st) == 0 && S_ISDIR(st.st_mode))
			return walk_dir(m, s->path, "", 0) ? -1 : 0;
		rc = hv_read_file(s->path, &buf, &len);
		if (rc) {
			fprintf(stderr, "hvima manifest: %s: error: %s\n", s->path, strerror(-rc));
			return -1;
		}
		if (s->kind == SRC_FIRMWARE) {
			rc = hv_fv_walk(buf, len, on_cand, m, &why);
		} else {
			struct hv_mf_cand c = {.path = base_name(s->path), .name = base_name(s->path), .buf = buf, .len = len};
			rc = on_cand(m, &c);
		}
		free(buf);
		break;
	default:
		return -1;
	}
	if (rc) {
		fprintf(stderr, "hvima manifest: %s: error: %s: %s\n", s->path, hv_status_str(rc), why.msg);
		return -1;
	}
	return 0;
}

/* Settle each source's kind and write everything before the images. */
static void write_head(FILE *f, struct src *srcs, size_t ns)
{
	fprintf(f, "{\n  \"hvima_manifest\": %d,\n  \"canonical_version\": %d,\n  \"generator\": \"hvima %s\",\n"
		   "  \"sources\": [",
		HV_MANIFEST_VERSION, HV_CANON_VERSION, HVIMA_VERSION);
	for (size_t i = 0; i < ns; i++) {
		struct stat st;

		if (srcs[i].kind == SRC_AUTO)
			srcs[i].kind = detect(srcs[i].path);
		if (srcs[i].kind == SRC_FILE && stat(srcs[i].path, &st) == 0 && S_ISDIR(st.st_mode))
			srcs[i].kind = SRC_DIR;
		fprintf(f, "%s\n    {\"kind\":\"%s\",\"path\":", i ? "," : "", kind_names[srcs[i].kind]);
		json_utf8(f, srcs[i].path);
		fputc('}', f);
	}
	fprintf(f, "\n  ],\n  \"images\": [");
}

static int write_out(const char *out, const char *text, size_t len)
{
	char tmp[4096];
	FILE *f;

	if (!out)
		return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0 || rename(tmp, out) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cmd_manifest(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"output", required_argument, NULL, 'o'}, {"firmware", required_argument, NULL, 'F'},
		{"disk", required_argument, NULL, 'D'},   {"files", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct src *srcs;
	struct mctx m = {0};
	const char *out = NULL;
	char *text = NULL;
	size_t textlen = 0, ns = 0;
	int c, status = HV_EXIT_OK;

	srcs = calloc((size_t)argc + 1, sizeof(*srcs));
	if (!srcs)
		return HV_EXIT_INTERNAL;
	while ((c = getopt_long(argc, argv, "o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'F': srcs[ns++] = (struct src){optarg, SRC_FIRMWARE}; break;
		case 'D': srcs[ns++] = (struct src){optarg, SRC_DISK}; break;
		case 'P': srcs[ns++] = (struct src){optarg, SRC_FILE}; break;
		case 'h': manifest_usage(stdout); free(srcs); return HV_EXIT_OK;
		default: manifest_usage(stderr); free(srcs); return HV_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		srcs[ns++] = (struct src){argv[i], SRC_AUTO};
	if (!ns) {
		manifest_usage(stderr);
		free(srcs);
		return HV_EXIT_USAGE;
	}
	m.f = open_memstream(&text, &textlen);
	if (!m.f) {
		free(srcs);
		return HV_EXIT_INTERNAL;
	}
	write_head(m.f, srcs, ns);
	for (size_t i = 0; i < ns; i++) {
		m.source = (unsigned)i;
		m.srcpath = srcs[i].path;
		m.entries = 0;
		if (read_source(&m, &srcs[i]))
			status = HV_EXIT_INPUT;
	}
	fprintf(m.f, "\n  ],\n  \"skipped\": %u\n}\n", m.skipped);
	if (fclose(m.f) != 0) {
		status = HV_EXIT_INTERNAL;
	} else if (status == HV_EXIT_OK && write_out(out, text, textlen)) {
		fprintf(stderr, "hvima manifest: cannot write %s: %s\n", out ? out : "standard output", strerror(errno));
		status = HV_EXIT_INTERNAL;
	}
	if (status == HV_EXIT_OK)
		fprintf(stderr, "hvima manifest: %u images, %u files skipped\n", m.nimages, m.skipped);
	free(text);
	free(srcs);
	return status;
}
