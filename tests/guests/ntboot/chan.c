/*
 * chan.c: chan.sys, ntboot's stand-in for the minifilter on the hvima
 * channel (docs/channel.md). In DriverEntry it reports each driver file the
 * kernel holds for loading after boot, as the minifilter reports an image
 * about to be mapped: SHA-256 of the file, its path, access "map", with
 * the same record code (lib/chanrec.c) and sender (lib/chansend.c) the
 * minifilter uses, compiled into this measured image. Then, as an attacker
 * would, it copies the sender's machine code into fresh pool memory and
 * sends one more record from there: the plugin must call that a forged
 * report and keep it out of PCR 10.
 */
#include "chanrec.h"
#include "chansend.h"
#include "drv.h"
#include "sha256.h"

DRV_LOAD_CONFIG;

#define NAME "chan.sys"
#define PATH_PREFIX "\\Device\\HarddiskVolume1\\ntboot\\"
#define SENDER_COPY 256 /* bytes of hv_chan_send copied: its loop and more */

__declspec(dllexport) uint32_t ChanId(void);
__declspec(dllexport) uint32_t ChanId(void)
{
	return 0xC4A7u;
}

static struct hv_rec rec;
static uint8_t buf[HV_REC_MAX];
static uint32_t seq;

/* Encode a report about late file i into buf; its length, 0 if none. */
static int encode(uint32_t i)
{
	const struct nt_late *f = KeLateFile(i);
	uint32_t n = 0, k = 0;
	int len;

	if (!f)
		return 0;
	memset(&rec, 0, sizeof(rec));
	rec.seq = ++seq;
	rec.pid = 4;
	rec.size = f->len;
	rec.access = HV_ACC_MAP;
	rec.decision = HV_DEC_ALLOWED;
	rec.flags = HV_RECF_DIGEST;
	if (f->len >= 2 && ((const uint8_t *)(uintptr_t)f->buf)[0] == 'M' && ((const uint8_t *)(uintptr_t)f->buf)[1] == 'Z')
		rec.flags |= HV_RECF_MZ;
	nt_sha256((const uint8_t *)(uintptr_t)f->buf, f->len, rec.sha256);
	for (const char *p = PATH_PREFIX; *p; p++)
		rec.path[n++] = *p;
	while (f->name[k] && k < NT_NAME)
		rec.path[n++] = f->name[k++];
	rec.path_len = (uint16_t)n;
	memcpy(rec.proc, "System", 6);
	rec.proc_len = 6;
	len = hv_rec_encode(&rec, buf, sizeof(buf));
	return len > 0 ? len : 0;
}

long DriverEntry(struct nt_driver *self, void *reserved);

INIT_CODE long DriverEntry(struct nt_driver *self, void *reserved)
{
	void (*copy)(uint16_t, const void *, size_t);
	uint8_t *pool;
	uint32_t i;
	int n;

	(void)self, (void)reserved;
	for (i = 0; (n = encode(i)) > 0; i++)
		hv_chan_send(HV_CHAN_PORT_DEFAULT, buf, (size_t)n);
	DRV_SAY(NAME, "reported ");
	KePrintHex(i);
	KePrint(" files from its own code\r\n");

	pool = KeAllocatePool(4096);
	n = pool ? encode(0) : 0;
	if (!n) {
		DRV_SAY(NAME, "error: nothing to forge\r\n");
		return -1;
	}
	memcpy(pool, (const void *)(uintptr_t)hv_chan_send, SENDER_COPY);
	copy = (void (*)(uint16_t, const void *, size_t))(uintptr_t)pool;
	DRV_SAY(NAME, "sending a report from a copy of the sender at ");
	KePrintHex((uint64_t)(uintptr_t)pool);
	KePrint("\r\n");
	copy(HV_CHAN_PORT_DEFAULT, buf, (size_t)n);
	return 0;
}
