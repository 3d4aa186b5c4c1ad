/* placeholder, replaced below */
#include <string.h>
#include "disk.h"
bool hv_disk_detect(const uint8_t *buf, size_t len)
{
	return (len >= 4 && !memcmp(buf, "QFI\xfb", 4)) || (len >= 512 && buf[510] == 0x55 && buf[511] == 0xaa);
}
int hv_disk_walk(const char *path, hv_mf_cb cb, void *ctx, hv_why *why)
{
	return hv_fail(why, HV_E_UNSUPPORTED, "disk images: not yet");
}
