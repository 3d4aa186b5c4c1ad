/*
 * disk.h: images inside disk image files, read without mounting and
 * without root: the container (raw, or qcow2 through libqcow), the
 * partition table (MBR with its extended partitions, GPT; parsed here),
 * and each partition's file system (FAT12/16/32 with long names, read here
 * by fat.c; NTFS through libfsntfs, ntfs.c). Every regular file of every
 * partition is offered to the callback, which keeps the images. Everything
 * read is hostile: table sizes, cluster chains and directory sizes are
 * checked against the disk and capped (caps.h), and an error names the
 * partition, the structure and the byte offset in the disk.
 */
#ifndef HVIMA_DISK_H
#define HVIMA_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/* A random-access byte source: a raw file, a qcow2 image, a span of
 * memory. read fills exactly n bytes or returns a negative hv_status;
 * callers check off and n against size first. */
struct hv_blk {
	uint64_t size;
	int (*read)(void *h, uint64_t off, void *buf, size_t n);
	void *h;
};

/* A window [off, off + size) of a block source: one partition. */
struct hv_part {
	const struct hv_blk *blk;
	uint64_t off, size;
	char prefix[16]; /* "p3/" or "" (no partition table) */
};

/* Read n bytes at off of the partition; HV_E_RANGE if they fall outside. */
int hv_part_read(const struct hv_part *p, uint64_t off, void *buf, size_t n, hv_why *why);

enum { HV_DISK_NO_NTFS = 1 }; /* flags: leave NTFS partitions out (fuzzers) */

struct hv_disk_info {
	const char *table;    /* "GPT", "MBR" or "none" */
	unsigned partitions;  /* non-empty entries found */
	unsigned walked;      /* file systems walked */
	unsigned unknown;     /* partitions with no FAT or NTFS file system */
};

/* True if buf (the start of a file) is a qcow2 image, an MBR or a FAT or
 * NTFS boot sector. */
bool hv_disk_detect(const uint8_t *buf, size_t len);

/* Open path (qcow2 or raw) and walk it: cb gets paths "p<N>/DIR/FILE" (N
 * the partition's number: GPT entry index + 1, MBR 1-4, logical 5...) or
 * "DIR/FILE" for a bare file system. info may be NULL. */
int hv_disk_walk(const char *path, unsigned flags, hv_mf_cb cb, void *ctx, struct hv_disk_info *info, hv_why *why);

/* The same walk over an open block source. */
int hv_disk_walk_blk(const struct hv_blk *b, unsigned flags, hv_mf_cb cb, void *ctx, struct hv_disk_info *info,
		     hv_why *why);

/* A block source over memory (tests, fuzzers); r must outlive it. */
struct hv_blk hv_blk_mem(struct hv_rd *r);

/* File system walkers (fat.c, ntfs.c). */
bool hv_fat_detect(const uint8_t *sector, size_t len);
bool hv_ntfs_detect(const uint8_t *sector, size_t len);
int hv_fat_walk(const struct hv_part *p, hv_mf_cb cb, void *ctx, hv_why *why);
int hv_ntfs_walk(const struct hv_part *p, hv_mf_cb cb, void *ctx, hv_why *why);

#endif
