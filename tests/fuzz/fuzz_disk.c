/*
 * fuzz_disk.c: libFuzzer target for the disk reader (lib/disk.c, fat.c):
 * the input is a disk image in memory; hv_disk_walk_blk reads its
 * partition table (bare file system, MBR with extended partitions, GPT)
 * and walks every FAT partition. NTFS partitions are left out
 * (HV_DISK_NO_NTFS): libfsntfs is the field's library, not hvima's code.
 * The callback reads every byte it is handed and checks that the path is
 * terminated.
 */
#include <stdint.h>
#include <string.h>

#include "disk.h"

static volatile unsigned sink;

static int on_cand(void *ctx, const struct hv_mf_cand *c)
{
	sink += (unsigned)strlen(c->path) + (unsigned)strlen(c->name);
	for (size_t i = 0; i < c->len; i++)
		sink += c->buf[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_rd r = hv_rd_make(data, size);
	struct hv_blk b = hv_blk_mem(&r);
	struct hv_disk_info info;
	hv_why why;

	sink += hv_disk_detect(data, size);
	if (hv_disk_walk_blk(&b, HV_DISK_NO_NTFS, on_cand, NULL, &info, &why) != HV_OK)
		sink += (unsigned)strlen(why.msg);
	else
		sink += info.partitions + info.walked;
	return 0;
}
