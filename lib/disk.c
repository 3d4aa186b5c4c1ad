/*
 * disk.c: block sources (raw file, qcow2 through libqcow, memory) and the
 * partition tables of a disk image: a bare file system (FAT or NTFS boot
 * sector at 0), GPT (header at LBA 1 behind a protective MBR, CRC-checked,
 * entries capped) or MBR (four primary entries and the chain of extended
 * boot records, capped). Each partition goes to the FAT or NTFS walker by
 * its boot sector. Sector size 512 (GPT also at 4096). Every partition must
 * lie inside the disk: an entry past the end is an error, not a skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <libqcow.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"

#define MBR_ENTRIES 446
#define MBR_TYPE_GPT 0xee
#define GPT_HDR_MIN 92

static int mem_read(void *h, uint64_t off, void *buf, size_t n)
{
	const uint8_t *p = hv_rd_ptr(h, off, n);
	if (!p)
		return HV_E_RANGE;
	memcpy(buf, p, n);
	return HV_OK;
}

struct hv_blk hv_blk_mem(struct hv_rd *r)
{
	struct hv_blk b = {r->len, mem_read, r};
	return b;
}

static int fd_read(void *h, uint64_t off, void *buf, size_t n)
{
	int fd = *(int *)h;
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return HV_E_TRUNCATED;
		got += (size_t)k;
	}
	return HV_OK;
}

static int qcow_read(void *h, uint64_t off, void *buf, size_t n)
{
	libqcow_error_t *err = NULL;
	ssize_t k = libqcow_file_read_buffer_at_offset(h, buf, n, (off64_t)off, &err);
	if (err)
		libqcow_error_free(&err);
	return k == (ssize_t)n ? HV_OK : HV_E_FORMAT;
}

int hv_part_read(const struct hv_part *p, uint64_t off, void *buf, size_t n, hv_why *why)
{
	if (off > p->size || n > p->size - off)
		return hv_fail(why, HV_E_RANGE, "%sread of 0x%zx bytes at 0x%llx runs past the partition (0x%llx bytes)",
			       p->prefix, n, (unsigned long long)off, (unsigned long long)p->size);
	if (p->blk->read(p->blk->h, p->off + off, buf, n))
		return hv_fail(why, HV_E_TRUNCATED, "%sread of 0x%zx bytes at disk offset 0x%llx failed", p->prefix, n,
			       (unsigned long long)(p->off + off));
	return HV_OK;
}

bool hv_disk_detect(const uint8_t *buf, size_t len)
{
	if (len >= 4 && !memcmp(buf, "QFI\xfb", 4))
		return true;
	if (len < 512)
		return false;
	return hv_fat_detect(buf, len) || hv_ntfs_detect(buf, len) || (buf[510] == 0x55 && buf[511] == 0xaa);
}

struct walk {
	const struct hv_blk *b;
	unsigned flags;
	hv_mf_cb cb;
	void *ctx;
	struct hv_disk_info *info;
	hv_why *why;
};

/* One partition: check it lies in the disk, then walk its file system. */
static int partition(struct walk *w, unsigned num, uint64_t lba, uint64_t count, unsigned ss, const char *what)
{
	struct hv_part p = {w->b, lba * ss, count * ss, ""};
	uint8_t sec[512];
	int rc;

	w->info->partitions++;
	if (num)
		snprintf(p.prefix, sizeof(p.prefix), "p%u/", num);
	if (lba > w->b->size / ss || count > w->b->size / ss - lba)
		return hv_fail(w->why, HV_E_RANGE,
			       "%s partition %u: sectors [0x%llx, +0x%llx) run past the end of the disk (0x%llx bytes)", what,
			       num, (unsigned long long)lba, (unsigned long long)count, (unsigned long long)w->b->size);
	if (p.size < sizeof(sec)) {
		w->info->unknown++;
		return HV_OK;
	}
	rc = hv_part_read(&p, 0, sec, sizeof(sec), w->why);
	if (rc)
		return rc;
	if (hv_fat_detect(sec, sizeof(sec)))
		rc = hv_fat_walk(&p, w->cb, w->ctx, w->why);
	else if (hv_ntfs_detect(sec, sizeof(sec)) && !(w->flags & HV_DISK_NO_NTFS))
		rc = hv_ntfs_walk(&p, w->cb, w->ctx, w->why);
	else {
		w->info->unknown++;
		return HV_OK;
	}
	if (!rc)
		w->info->walked++;
	return rc;
}

static int gpt(struct walk *w, unsigned ss)
{
	uint8_t hdr[512], *ents;
	uint32_t hsize, n, esize, crc, ecrc;
	uint64_t elba;
	size_t total;
	int rc;

	if (w->b->read(w->b->h, ss, hdr, sizeof(hdr)))
		return hv_fail(w->why, HV_E_TRUNCATED, "GPT header at 0x%x: unreadable", ss);
	hsize = hv_le32(hdr + 12);
	if (hsize < GPT_HDR_MIN || hsize > sizeof(hdr))
		return hv_fail(w->why, HV_E_FORMAT, "GPT header at 0x%x: HeaderSize %u outside [92, 512]", ss, hsize);
	crc = hv_le32(hdr + 16);
	memset(hdr + 16, 0, 4);
	if (lzma_crc32(hdr, hsize, 0) != crc)
		return hv_fail(w->why, HV_E_FORMAT, "GPT header at 0x%x: HeaderCRC32 0x%08x does not match", ss, crc);
	elba = hv_le64(hdr + 72);
	n = hv_le32(hdr + 80);
	esize = hv_le32(hdr + 84);
	ecrc = hv_le32(hdr + 88);
	if (n > HV_CAP_GPT_ENTRIES)
		return hv_fail(w->why, HV_E_CAP, "GPT header at 0x%x: NumberOfPartitionEntries %u exceeds %u", ss, n,
			       HV_CAP_GPT_ENTRIES);
	if (esize < 128 || esize > 4096 || esize % 8)
		return hv_fail(w->why, HV_E_FORMAT, "GPT header at 0x%x: SizeOfPartitionEntry %u outside [128, 4096]", ss,
			       esize);
	total = (size_t)n * esize;
	if (elba > w->b->size / ss || total > w->b->size - elba * ss)
		return hv_fail(w->why, HV_E_RANGE,
			       "GPT header at 0x%x: %u entries of %u bytes at LBA 0x%llx run past the end of the disk (0x%llx bytes)",
			       ss, n, esize, (unsigned long long)elba, (unsigned long long)w->b->size);
	ents = malloc(total ? total : 1);
	if (!ents)
		return hv_fail(w->why, HV_E_NOMEM, "GPT entries: out of memory");
	rc = w->b->read(w->b->h, elba * ss, ents, total);
	if (rc)
		rc = hv_fail(w->why, HV_E_TRUNCATED, "GPT entries at 0x%llx: unreadable", (unsigned long long)(elba * ss));
	else if (lzma_crc32(ents, total, 0) != ecrc)
		rc = hv_fail(w->why, HV_E_FORMAT, "GPT header at 0x%x: PartitionEntryArrayCRC32 0x%08x does not match", ss,
			     ecrc);
	w->info->table = "GPT";
	for (uint32_t i = 0; i < n && !rc; i++) {
		const uint8_t *e = ents + (size_t)i * esize;
		static const uint8_t zero[16];
		uint64_t first = hv_le64(e + 32), last = hv_le64(e + 40);

		if (!memcmp(e, zero, 16))
			continue;
		if (w->info->partitions >= HV_CAP_PARTITIONS)
			rc = hv_fail(w->why, HV_E_CAP, "GPT: more than %u partitions", HV_CAP_PARTITIONS);
		else if (last < first || last == UINT64_MAX)
			rc = hv_fail(w->why, HV_E_FORMAT, "GPT partition %u: EndingLBA 0x%llx below StartingLBA 0x%llx", i + 1,
				     (unsigned long long)last, (unsigned long long)first);
		else
			rc = partition(w, i + 1, first, last - first + 1, ss, "GPT");
	}
	free(ents);
	return rc;
}

static int mbr(struct walk *w, const uint8_t *sec)
{
	uint64_t ext = 0, ebr = 0;
	unsigned num = 5;
	int rc;

	w->info->table = "MBR";
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = sec + MBR_ENTRIES + 16 * i;
		uint8_t type = e[4];
		uint32_t lba = hv_le32(e + 8), count = hv_le32(e + 12);

		if (!type || !count)
			continue;
		if (type == 0x05 || type == 0x0f || type == 0x85) {
			if (!ext)
				ext = lba;
			continue;
		}
		rc = partition(w, i + 1, lba, count, 512, "MBR");
		if (rc)
			return rc;
	}
	/* Extended boot records: entry 0 is a logical partition relative to
	 * its EBR, entry 1 the next EBR relative to the extended partition. */
	for (uint64_t at = ext; at; num++) {
		uint8_t e[512];

		if (num - 5 >= HV_CAP_PARTITIONS)
			return hv_fail(w->why, HV_E_CAP, "MBR: more than %u logical partitions (a loop?)", HV_CAP_PARTITIONS);
		if (at > w->b->size / 512 - 1 || w->b->read(w->b->h, at * 512, e, sizeof(e)))
			return hv_fail(w->why, HV_E_RANGE, "MBR: extended boot record at sector 0x%llx is past the end",
				       (unsigned long long)at);
		if (e[510] != 0x55 || e[511] != 0xaa)
			return hv_fail(w->why, HV_E_FORMAT, "MBR: extended boot record at 0x%llx has no 55AA signature",
				       (unsigned long long)(at * 512));
		if (e[MBR_ENTRIES + 4] && hv_le32(e + MBR_ENTRIES + 12)) {
			rc = partition(w, num, at + hv_le32(e + MBR_ENTRIES + 8), hv_le32(e + MBR_ENTRIES + 12), 512, "MBR");
			if (rc)
				return rc;
		}
		ebr = hv_le32(e + MBR_ENTRIES + 16 + 8);
		at = ebr && e[MBR_ENTRIES + 16 + 4] ? ext + ebr : 0;
	}
	return HV_OK;
}

int hv_disk_walk_blk(const struct hv_blk *b, unsigned flags, hv_mf_cb cb, void *ctx, struct hv_disk_info *info,
		     hv_why *why)
{
	struct hv_disk_info dummy;
	struct walk w = {b, flags, cb, ctx, info ? info : &dummy, why};
	uint8_t sec[512];

	memset(w.info, 0, sizeof(*w.info));
	w.info->table = "none";
	if (b->size < sizeof(sec) || b->read(b->h, 0, sec, sizeof(sec)))
		return hv_fail(why, HV_E_TRUNCATED, "disk of 0x%llx bytes: no first sector", (unsigned long long)b->size);
	if (hv_fat_detect(sec, sizeof(sec)) || hv_ntfs_detect(sec, sizeof(sec)))
		return partition(&w, 0, 0, b->size / 512, 512, "bare");
	if (sec[510] != 0x55 || sec[511] != 0xaa)
		return hv_fail(why, HV_E_FORMAT, "sector 0: no MBR signature (55AA at 0x1fe), no FAT or NTFS boot sector");
	for (unsigned i = 0; i < 4; i++)
		if (sec[MBR_ENTRIES + 16 * i + 4] == MBR_TYPE_GPT) {
			uint8_t sig[8];
			if (b->size >= 1024 && !b->read(b->h, 512, sig, 8) && !memcmp(sig, "EFI PART", 8))
				return gpt(&w, 512);
			if (b->size >= 8192 && !b->read(b->h, 4096, sig, 8) && !memcmp(sig, "EFI PART", 8))
				return gpt(&w, 4096);
			return hv_fail(why, HV_E_FORMAT, "protective MBR but no GPT header (\"EFI PART\") at 0x200 or 0x1000");
		}
	return mbr(&w, sec);
}

static int walk_qcow(const char *path, unsigned flags, hv_mf_cb cb, void *ctx, struct hv_disk_info *info, hv_why *why)
{
	libqcow_file_t *q = NULL;
	libqcow_error_t *err = NULL;
	size64_t size = 0;
	size_t bsize = 0;
	struct hv_blk b;
	int rc;

	if (libqcow_file_initialize(&q, &err) != 1 || libqcow_file_open(q, path, LIBQCOW_OPEN_READ, &err) != 1 ||
	    libqcow_file_get_media_size(q, &size, &err) != 1) {
		char msg[160] = "";
		if (err) {
			libqcow_error_sprint(err, msg, sizeof(msg));
			libqcow_error_free(&err);
		}
		if (q)
			libqcow_file_free(&q, NULL);
		return hv_fail(why, HV_E_FORMAT, "qcow2: libqcow cannot open it: %s", msg);
	}
	if (libqcow_file_get_utf8_backing_filename_size(q, &bsize, NULL) == 1 && bsize > 0) {
		rc = hv_fail(why, HV_E_UNSUPPORTED,
			     "qcow2: has a backing file, and hvima reads no image chains (flatten it: qemu-img convert)");
	} else if (libqcow_file_is_locked(q, NULL) != 0) {
		rc = hv_fail(why, HV_E_UNSUPPORTED, "qcow2: encrypted");
	} else {
		b = (struct hv_blk){size, qcow_read, q};
		rc = hv_disk_walk_blk(&b, flags, cb, ctx, info, why);
	}
	libqcow_file_close(q, NULL);
	libqcow_file_free(&q, NULL);
	return rc;
}

int hv_disk_walk(const char *path, unsigned flags, hv_mf_cb cb, void *ctx, struct hv_disk_info *info, hv_why *why)
{
	uint8_t magic[4];
	struct stat st;
	struct hv_blk b;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hv_fail(why, HV_E_ABSENT, "%s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hv_fail(why, HV_E_FORMAT, "not a regular file");
	}
	b = (struct hv_blk){(uint64_t)st.st_size, fd_read, &fd};
	if (b.size >= 4 && !fd_read(&fd, 0, magic, 4) && !memcmp(magic, "QFI\xfb", 4)) {
		close(fd);
		return walk_qcow(path, flags, cb, ctx, info, why);
	}
	rc = hv_disk_walk_blk(&b, flags, cb, ctx, info, why);
	close(fd);
	return rc;
}
