/*
 * disk.h: images inside disk image files, read without mounting: the
 * container (raw, or qcow2 through libqcow), the partition table (MBR with
 * extended partitions, GPT; both parsed here) and each partition's file
 * system (FAT12/16/32 with long names, read here; NTFS through libfsntfs).
 * Every file of every partition is handed to the callback; the manifest
 * keeps those that are images. Everything read is hostile: table sizes,
 * cluster chains and directory sizes are checked and capped (caps.h).
 */
#ifndef HVIMA_DISK_H
#define HVIMA_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/* A random-access byte source: a raw file, a qcow2 image, or a span of
 * memory (tests, fuzzers). read returns 0 or a negative hv_status. */
struct hv_blk {
	uint64_t size;
	int (*read)(void *h, uint64_t off, void *buf, size_t n);
	void *h;
};

/* True if buf (the start of a file) is a qcow2 image or holds an MBR
 * signature or a protective MBR. */
bool hv_disk_detect(const uint8_t *buf, size_t len);

/* Open path (qcow2 or raw) and walk it; cb gets paths "p<N>/DIR/FILE"
 * (N the partition number, 1-based as in the table) or "DIR/FILE" for a
 * file system without partition table. */
int hv_disk_walk(const char *path, hv_mf_cb cb, void *ctx, hv_why *why);

/* The same walk over an open block source. */
int hv_disk_walk_blk(const struct hv_blk *b, hv_mf_cb cb, void *ctx, hv_why *why);

/* A block source over memory (for tests and fuzzers). */
struct hv_blk hv_blk_mem(const uint8_t *buf, size_t len, struct hv_rd *store);

#endif
