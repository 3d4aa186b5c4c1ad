/*
 * ntfs.c: the files of an NTFS partition, read with libyal's libfsntfs
 * (read-only, made for image files; docs/manifest.md says why). The
 * partition reaches libfsntfs through a libbfio handle whose callbacks read
 * the window of the block source (raw file or qcow2), so nothing is copied
 * or mounted. Directories are walked from the root, names in UTF-8; NTFS
 * metadata files ($MFT, $Boot...) at the root and alternate data streams
 * are left out. Depth and entry counts are capped as for FAT; a file is read
 * whole only when its first bytes look like an image.
 */
#include <libbfio.h>
#include <libfsntfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"

struct io {
	const struct hv_part *p;
	uint64_t pos;
};

static int io_free(intptr_t **h, libbfio_error_t **e)
{
	free(*h);
	*h = NULL;
	return 1;
}

static int io_clone(intptr_t **dst, intptr_t *src, libbfio_error_t **e)
{
	struct io *c = malloc(sizeof(*c));
	if (!c)
		return -1;
	*c = *(struct io *)src;
	*dst = (intptr_t *)c;
	return 1;
}

static int io_open(intptr_t *h, int flags, libbfio_error_t **e) { return flags == LIBBFIO_OPEN_READ ? 1 : -1; }
static int io_close(intptr_t *h, libbfio_error_t **e) { return 0; }
static int io_exists(intptr_t *h, libbfio_error_t **e) { return 1; }
static int io_is_open(intptr_t *h, libbfio_error_t **e) { return 1; }

static ssize_t io_read(intptr_t *h, uint8_t *buf, size_t n, libbfio_error_t **e)
{
	struct io *io = (struct io *)h;
	hv_why why;

	if (io->pos >= io->p->size)
		return 0;
	if (n > io->p->size - io->pos)
		n = (size_t)(io->p->size - io->pos);
	if (hv_part_read(io->p, io->pos, buf, n, &why))
		return -1;
	io->pos += n;
	return (ssize_t)n;
}

static ssize_t io_write(intptr_t *h, const uint8_t *buf, size_t n, libbfio_error_t **e) { return -1; }

static off64_t io_seek(intptr_t *h, off64_t off, int whence, libbfio_error_t **e)
{
	struct io *io = (struct io *)h;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)io->pos : (int64_t)io->p->size;

	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return -1;
	if ((off < 0 && -off > base) || (off > 0 && off > INT64_MAX - base))
		return -1;
	io->pos = (uint64_t)(base + off);
	return (off64_t)io->pos;
}

static int io_size(intptr_t *h, size64_t *size, libbfio_error_t **e)
{
	*size = ((struct io *)h)->p->size;
	return 1;
}

struct nt {
	const struct hv_part *p;
	hv_mf_cb cb;
	void *ctx;
	hv_why *why;
	uint64_t entries_seen;
};

static int nt_fail(struct nt *n, libfsntfs_error_t **err, const char *what, const char *path)
{
	char msg[120] = "";
	if (err && *err) {
		libfsntfs_error_sprint(*err, msg, sizeof(msg));
		libfsntfs_error_free(err);
		for (char *c = msg; *c; c++)
			if (*c == '\n')
				*c = ' ';
	}
	return hv_fail(n->why, HV_E_FORMAT, "%sNTFS: %s%s%s: libfsntfs: %s", n->p->prefix, path, *path ? ": " : "", what,
		       msg);
}

static int nt_file(struct nt *n, libfsntfs_file_entry_t *fe, const char *path, const char *name)
{
	libfsntfs_error_t *err = NULL;
	struct hv_mf_cand c = {.name = name};
	char full[HV_MF_PATH + 16];
	size64_t size = 0;
	uint8_t head[2];
	uint8_t *buf;
	ssize_t got;
	int rc;

	if (libfsntfs_file_entry_has_default_data_stream(fe, &err) != 1) {
		if (err)
			libfsntfs_error_free(&err);
		return HV_OK;
	}
	if (libfsntfs_file_entry_get_size(fe, &size, &err) != 1)
		return nt_fail(n, &err, "size", path);
	if (!size)
		return HV_OK;
	snprintf(full, sizeof(full), "%s%s", n->p->prefix, path);
	c.path = full;
	got = libfsntfs_file_entry_read_buffer_at_offset(fe, head, size < 2 ? 1 : 2, 0, &err);
	if (got < 0)
		return nt_fail(n, &err, "read", path);
	if (!hv_mf_looks_like_image(head, (size_t)got)) {
		c.buf = head;
		c.len = (size_t)got;
		return n->cb(n->ctx, &c);
	}
	if (size > HV_CAP_DISK_FILE)
		return hv_fail(n->why, HV_E_CAP, "%sNTFS: %s: size 0x%llx exceeds 0x%x", n->p->prefix, path,
			       (unsigned long long)size, HV_CAP_DISK_FILE);
	buf = malloc((size_t)size);
	if (!buf)
		return hv_fail(n->why, HV_E_NOMEM, "%sNTFS: %s: out of memory", n->p->prefix, path);
	got = libfsntfs_file_entry_read_buffer_at_offset(fe, buf, (size_t)size, 0, &err);
	if (got != (ssize_t)size) {
		free(buf);
		return nt_fail(n, &err, "short read", path);
	}
	c.buf = buf;
	c.len = (size_t)size;
	rc = n->cb(n->ctx, &c);
	free(buf);
	return rc;
}

static int nt_dir(struct nt *n, libfsntfs_file_entry_t *dir, const char *rel, unsigned depth)
{
	libfsntfs_error_t *err = NULL;
	int count = 0, rc = HV_OK;

	if (depth > HV_CAP_DIR_DEPTH)
		return hv_fail(n->why, HV_E_CAP, "%sNTFS: directories nested deeper than %u at %s", n->p->prefix,
			       HV_CAP_DIR_DEPTH, rel);
	if (libfsntfs_file_entry_get_number_of_sub_file_entries(dir, &count, &err) != 1)
		return nt_fail(n, &err, "directory", rel);
	for (int i = 0; i < count && !rc; i++) {
		libfsntfs_file_entry_t *fe = NULL;
		char name[HV_CAP_NAME + 1], path[HV_MF_PATH];
		size_t nlen = 0;
		int isdir;

		if (++n->entries_seen > HV_CAP_DIR_ENTRIES)
			return hv_fail(n->why, HV_E_CAP, "%sNTFS: more than %u directory entries", n->p->prefix,
				       HV_CAP_DIR_ENTRIES);
		if (libfsntfs_file_entry_get_sub_file_entry_by_index(dir, i, &fe, &err) != 1)
			return nt_fail(n, &err, "directory entry", rel);
		if (libfsntfs_file_entry_get_utf8_name_size(fe, &nlen, &err) != 1 || nlen > sizeof(name) ||
		    libfsntfs_file_entry_get_utf8_name(fe, (uint8_t *)name, sizeof(name), &err) != 1) {
			rc = nt_fail(n, &err, "entry name too long or unreadable", rel);
		} else if (!*rel && name[0] == '$') {
			/* NTFS metadata file */
		} else if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", name) >= sizeof(path)) {
			rc = hv_fail(n->why, HV_E_CAP, "%sNTFS: %s/%s: path too long", n->p->prefix, rel, name);
		} else if ((isdir = libfsntfs_file_entry_has_directory_entries_index(fe, &err)) < 0) {
			rc = nt_fail(n, &err, "directory index", path);
		} else if (isdir) {
			rc = nt_dir(n, fe, path, depth + 1);
		} else {
			rc = nt_file(n, fe, path, name);
		}
		libfsntfs_file_entry_free(&fe, NULL);
	}
	return rc;
}

bool hv_ntfs_detect(const uint8_t *s, size_t len)
{
	return len >= 512 && !memcmp(s + 3, "NTFS    ", 8);
}

int hv_ntfs_walk(const struct hv_part *p, hv_mf_cb cb, void *ctx, hv_why *why)
{
	struct nt n = {p, cb, ctx, why, 0};
	libbfio_handle_t *bh = NULL;
	libfsntfs_volume_t *vol = NULL;
	libfsntfs_file_entry_t *root = NULL;
	libfsntfs_error_t *err = NULL;
	struct io *io;
	int rc;

	io = calloc(1, sizeof(*io));
	if (!io)
		return hv_fail(why, HV_E_NOMEM, "NTFS: out of memory");
	io->p = p;
	if (libbfio_handle_initialize(&bh, (intptr_t *)io, io_free, io_clone, io_open, io_close, io_read, io_write, io_seek,
				      io_exists, io_is_open, io_size, LIBBFIO_FLAG_IO_HANDLE_MANAGED, NULL) != 1) {
		free(io);
		return hv_fail(why, HV_E_NOMEM, "%sNTFS: libbfio handle setup failed", p->prefix);
	}
	if (libfsntfs_volume_initialize(&vol, &err) != 1 ||
	    libfsntfs_volume_open_file_io_handle(vol, bh, LIBFSNTFS_OPEN_READ, &err) != 1) {
		rc = nt_fail(&n, &err, "open volume", "");
		goto out;
	}
	if (libfsntfs_volume_get_root_directory(vol, &root, &err) != 1) {
		rc = nt_fail(&n, &err, "root directory", "");
		goto close;
	}
	rc = nt_dir(&n, root, "", 0);
	libfsntfs_file_entry_free(&root, NULL);
close:
	libfsntfs_volume_close(vol, NULL);
out:
	if (vol)
		libfsntfs_volume_free(&vol, NULL);
	libbfio_handle_free(&bh, NULL);
	return rc;
}
