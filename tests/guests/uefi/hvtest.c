/*
 * hvtest.c: the UEFI test guest (BOOTX64.EFI) of hvima's boot tests.
 *
 * It proves what the firmware measured and gives the plugin something to
 * catch:
 *   1. prints "hvtest: start" on ConOut (OVMF mirrors it to the serial port);
 *   2. asks EFI_TCG2_PROTOCOL for the firmware's own event log (the guest's
 *      vTPM, TCG 2.0 crypto-agile format) and writes it to
 *      \hvima\guestlog.bin on the ESP it was loaded from;
 *   3. reads \hvima\mode.txt: "clean" (the default, also when the file is
 *      missing) or "tamper": overwrite the first bytes of probe(), a measured
 *      function of this image, with other valid code, and call it;
 *      or "channel": send channel records (lib/chanrec.h) to the hvima
 *      channel port with the portable sender (lib/chansend.c) compiled into
 *      this image: records 1 and 2, six bytes of junk, record 4 (a gap),
 *      then record 5 from a copy of a sender stub placed in freshly
 *      allocated pages (code outside any measured image: a forged report),
 *      then the first 20 bytes of record 6 (a truncated record);
 *   4. prints "hvtest: done" and shuts the machine down, so QEMU exits.
 * Every line it prints starts with "hvtest: "; failures print
 * "hvtest: error: ..." and the shutdown still happens.
 *
 * Built with mingw-w64 against gnu-efi's headers only (its libefi is ELF):
 * no library, so memcpy/memset are defined here for what gcc may emit.
 */
#include <efi.h>

#include "chanrec.h"
#include "chansend.h"

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);
void *memcpy(void *dst, const void *src, UINTN n);
void *memset(void *dst, int c, UINTN n);

/* TCG EFI Protocol Specification, rev. 00.13, section 6: EFI_TCG2_PROTOCOL.
 * Only GetEventLog is called; the other members keep the layout. */
#define HV_TCG2_PROTOCOL_GUID \
	{0x607f766c, 0x7455, 0x42be, {0x93, 0x0b, 0xe4, 0xd7, 0x6d, 0xb2, 0x72, 0x0f}}
#define HV_TCG2_EVENT_LOG_FORMAT_TCG_2 0x00000002

typedef struct hv_tcg2 HV_TCG2_PROTOCOL;
struct hv_tcg2 {
	EFI_STATUS(EFIAPI *GetCapability)(HV_TCG2_PROTOCOL *This, VOID *Capability);
	EFI_STATUS(EFIAPI *GetEventLog)(HV_TCG2_PROTOCOL *This, UINT32 EventLogFormat,
					EFI_PHYSICAL_ADDRESS *EventLogLocation,
					EFI_PHYSICAL_ADDRESS *EventLogLastEntry,
					BOOLEAN *EventLogTruncated);
	EFI_STATUS(EFIAPI *HashLogExtendEvent)(HV_TCG2_PROTOCOL *This, UINT64 Flags,
					       EFI_PHYSICAL_ADDRESS DataToHash, UINT64 DataToHashLen,
					       VOID *EfiTcgEvent);
	EFI_STATUS(EFIAPI *SubmitCommand)(HV_TCG2_PROTOCOL *This, UINT32 InputBlockSize,
					  UINT8 *InputBlock, UINT32 OutputBlockSize,
					  UINT8 *OutputBlock);
	EFI_STATUS(EFIAPI *GetActivePcrBanks)(HV_TCG2_PROTOCOL *This, UINT32 *ActivePcrBanks);
	EFI_STATUS(EFIAPI *SetActivePcrBanks)(HV_TCG2_PROTOCOL *This, UINT32 ActivePcrBanks);
	EFI_STATUS(EFIAPI *GetResultOfSetActivePcrBanks)(HV_TCG2_PROTOCOL *This,
							 UINT32 *OperationPresent,
							 UINT32 *Response);
};

/* TCG PC Client Platform Firmware Profile 2.0, section 10.2: the first
 * record is a TCG_PCR_EVENT (SHA-1 format) whose data is the
 * TCG_EfiSpecIDEvent; every later one is a TCG_PCR_EVENT2. */
#define LOG_HDR_EVENT_SIZE 28   /* TCG_PCR_EVENT.EventSize */
#define LOG_HDR_EVENT 32        /* TCG_PCR_EVENT.Event */
#define SPECID_NUM_ALGS 24      /* numberOfAlgorithms, from the Spec ID start */
#define SPECID_ALGS 28          /* digestSizes[] */
#define LOG_MAX_ALGS 8          /* more banks than any TPM has: malformed */
#define LOG_MAX_BYTES 0x1000000 /* 16 MiB: far above any firmware log */

static EFI_SYSTEM_TABLE *ST;
static UINTN errors;

void *memcpy(void *dst, const void *src, UINTN n)
{
	UINT8 *d = dst;
	const UINT8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, UINTN n)
{
	UINT8 *d = dst;

	while (n--)
		*d++ = (UINT8)c;
	return dst;
}

static void puts16(const CHAR16 *s)
{
	ST->ConOut->OutputString(ST->ConOut, (CHAR16 *)s);
}

static void putu(UINT64 v, UINTN base)
{
	CHAR16 buf[24];
	UINTN i = sizeof(buf) / sizeof(buf[0]) - 1;

	buf[i] = 0;
	do {
		UINTN d = (UINTN)(v % base);
		buf[--i] = (CHAR16)(d < 10 ? L'0' + d : L'a' + d - 10);
		v /= base;
	} while (v && i);
	puts16(&buf[i]);
}

static void fail(const CHAR16 *what, EFI_STATUS status)
{
	errors++;
	puts16(L"hvtest: error: ");
	puts16(what);
	puts16(L" (status 0x");
	putu(status, 16);
	puts16(L")\r\n");
}

static UINT32 rd32(const UINT8 *p)
{
	return (UINT32)p[0] | (UINT32)p[1] << 8 | (UINT32)p[2] << 16 | (UINT32)p[3] << 24;
}

static UINT16 rd16(const UINT8 *p)
{
	return (UINT16)(p[0] | p[1] << 8);
}

/*
 * The log is [first, last + size of the record at last). Walks it from the
 * start, with the digest sizes of the Spec ID event, until the record at
 * last ends. Returns the byte count, 0 if the log does not parse.
 */
static UINTN log_length(const UINT8 *first, const UINT8 *last)
{
	UINT16 alg_id[LOG_MAX_ALGS], alg_size[LOG_MAX_ALGS];
	const UINT8 *p, *spec, *end = first + LOG_MAX_BYTES;
	UINT32 nalgs, i;

	if (last < first || last >= end)
		return 0;
	spec = first + LOG_HDR_EVENT;
	p = spec + rd32(first + LOG_HDR_EVENT_SIZE);
	if (last == first)
		return (UINTN)(p - first);
	nalgs = rd32(spec + SPECID_NUM_ALGS);
	if (nalgs == 0 || nalgs > LOG_MAX_ALGS)
		return 0;
	for (i = 0; i < nalgs; i++) {
		alg_id[i] = rd16(spec + SPECID_ALGS + 4 * i);
		alg_size[i] = rd16(spec + SPECID_ALGS + 4 * i + 2);
	}
	while (p <= last) {
		const UINT8 *rec = p;
		UINT32 count = rd32(p + 8), j;

		p += 12; /* PCRIndex, EventType, TPML_DIGEST_VALUES.count */
		if (count > nalgs)
			return 0;
		for (j = 0; j < count; j++) {
			UINT16 id = rd16(p);
			for (i = 0; i < nalgs && alg_id[i] != id; i++)
				;
			if (i == nalgs)
				return 0;
			p += 2 + alg_size[i];
		}
		p += 4 + rd32(p); /* EventSize, Event */
		if (p > end)
			return 0;
		if (rec == last)
			return (UINTN)(p - first);
	}
	return 0; /* last is not on a record boundary */
}

static EFI_STATUS open_root(EFI_HANDLE image, EFI_FILE_HANDLE *root)
{
	EFI_GUID li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_GUID fs_guid = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_STATUS s;

	s = ST->BootServices->HandleProtocol(image, &li_guid, (VOID **)&li);
	if (EFI_ERROR(s))
		return s;
	s = ST->BootServices->HandleProtocol(li->DeviceHandle, &fs_guid, (VOID **)&fs);
	if (EFI_ERROR(s))
		return s;
	return fs->OpenVolume(fs, root);
}

/* Writes \hvima\NAME, replacing an older file of that name. */
static EFI_STATUS write_file(EFI_FILE_HANDLE root, CHAR16 *name, VOID *data, UINTN len)
{
	const UINT64 rwc = EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE;
	EFI_FILE_HANDLE dir, f;
	EFI_STATUS s;

	s = root->Open(root, &dir, L"\\hvima", rwc, EFI_FILE_DIRECTORY);
	if (EFI_ERROR(s))
		return s;
	s = dir->Open(dir, &f, name, rwc, 0);
	if (!EFI_ERROR(s)) {
		f->Delete(f); /* an older, longer file would keep its tail */
		s = dir->Open(dir, &f, name, rwc, 0);
	}
	if (EFI_ERROR(s))
		goto out_dir;
	s = f->Write(f, &len, data);
	if (!EFI_ERROR(s))
		s = f->Flush(f);
	f->Close(f);
out_dir:
	dir->Close(dir);
	return s;
}

static void save_guest_log(EFI_FILE_HANDLE root)
{
	EFI_GUID tcg2_guid = HV_TCG2_PROTOCOL_GUID;
	HV_TCG2_PROTOCOL *tcg2;
	EFI_PHYSICAL_ADDRESS first = 0, last = 0;
	BOOLEAN truncated = 0;
	EFI_STATUS s;
	UINTN len;

	s = ST->BootServices->LocateProtocol(&tcg2_guid, NULL, (VOID **)&tcg2);
	if (EFI_ERROR(s)) {
		fail(L"no EFI_TCG2_PROTOCOL", s);
		return;
	}
	s = tcg2->GetEventLog(tcg2, HV_TCG2_EVENT_LOG_FORMAT_TCG_2, &first, &last, &truncated);
	if (EFI_ERROR(s)) {
		fail(L"GetEventLog", s);
		return;
	}
	if (!first) {
		fail(L"GetEventLog: no log", EFI_NOT_FOUND);
		return;
	}
	if (truncated)
		puts16(L"hvtest: warning: the firmware's event log is truncated\r\n");
	len = log_length((const UINT8 *)first, (const UINT8 *)last);
	if (!len) {
		fail(L"event log does not parse", EFI_COMPROMISED_DATA);
		return;
	}
	s = write_file(root, L"guestlog.bin", (VOID *)first, len);
	if (EFI_ERROR(s)) {
		fail(L"writing \\hvima\\guestlog.bin", s);
		return;
	}
	puts16(L"hvtest: guest log saved (");
	putu(len, 10);
	puts16(L" bytes)\r\n");
}

/* 1 if \hvima\mode.txt starts with word, 0 otherwise (also: no file). */
static int mode_is(EFI_FILE_HANDLE root, const char *word)
{
	UINTN wlen = 0;
	EFI_FILE_HANDLE f;
	char buf[32];
	UINTN len = sizeof(buf), i;
	EFI_STATUS s;

	s = root->Open(root, &f, L"\\hvima\\mode.txt", EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(s))
		return 0;
	s = f->Read(f, &len, buf);
	f->Close(f);
	while (word[wlen])
		wlen++;
	if (EFI_ERROR(s) || len < wlen)
		return 0;
	for (i = 0; i < wlen; i++)
		if (buf[i] != word[i])
			return 0;
	return 1;
}

/*
 * The tamper target: measured code (.text) that the test rewrites at run
 * time. Its body, lea eax,[rcx+rcx*2+0x1111]; ret, is 8 bytes: longer than
 * the patch. Called through a volatile pointer so it is neither inlined nor
 * folded.
 */
__attribute__((noinline, aligned(16))) static UINT32 probe(UINT32 x)
{
	return x * 3 + 0x1111;
}

static UINT32 (*volatile probe_fn)(UINT32) = probe;

/* mov eax, 0x2222; ret */
static const UINT8 probe_patch[] = {0xb8, 0x22, 0x22, 0x00, 0x00, 0xc3};

/* OVMF may map image code read-only: write with CR0.WP clear and
 * interrupts off; writing CR0 serializes, so the new code is what runs. */
static void patch_code(VOID *dst, const VOID *src, UINTN len)
{
	UINT64 cr0, flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	__asm__ volatile("movq %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("movq %0, %%cr0" : : "r"(cr0 & ~(1ULL << 16)) : "memory");
	memcpy(dst, src, len);
	__asm__ volatile("movq %0, %%cr0" : : "r"(cr0) : "memory");
	__asm__ volatile("pushq %0; popfq" : : "r"(flags) : "memory", "cc");
}

static void tamper(void)
{
	UINT32 before = probe_fn(0), after;

	patch_code((VOID *)probe, probe_patch, sizeof(probe_patch));
	after = probe_fn(0);
	if (before != 0x1111 || after != 0x2222) {
		fail(L"tamper: probe() did not change", EFI_ABORTED);
		return;
	}
	puts16(L"hvtest: tampered (probe() returned 0x");
	putu(after, 16);
	puts16(L")\r\n");
}

/* x86-64 (Microsoft ABI) sender stub, hv_chan_send's loop written out:
 * rcx = port, rdx = buffer, r8 = length; one `out dx, al` per byte. */
static const UINT8 stub_code[] = {
	0x49, 0x89, 0xd1,       /* mov r9, rdx */
	0x89, 0xca,             /* mov edx, ecx */
	0x4d, 0x85, 0xc0,       /* loop: test r8, r8 */
	0x74, 0x0c,             /* jz done */
	0x41, 0x8a, 0x01,       /* mov al, [r9] */
	0xee,                   /* out dx, al */
	0x49, 0xff, 0xc1,       /* inc r9 */
	0x49, 0xff, 0xc8,       /* dec r8 */
	0xeb, 0xef,             /* jmp loop */
	0xc3,                   /* done: ret */
};

static UINTN channel_record(UINT8 *buf, UINT32 seq)
{
	static const char path[] = "\\Device\\HarddiskVolume1\\EFI\\BOOT\\hvtest-file.exe";
	static const char proc[] = "hvtest.efi";
	struct hv_rec r;
	int n;

	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.pid = 4;
	r.size = 4096 * seq;
	r.access = HV_ACC_EXECUTE;
	r.decision = HV_DEC_ALLOWED;
	r.flags = HV_RECF_DIGEST | HV_RECF_MZ;
	for (UINTN i = 0; i < 32; i++)
		r.sha256[i] = (UINT8)(0xa0 + i + seq);
	r.path_len = sizeof(path) - 1;
	r.proc_len = sizeof(proc) - 1;
	memcpy(r.path, path, r.path_len);
	memcpy(r.proc, proc, r.proc_len);
	n = hv_rec_encode(&r, buf, HV_REC_MAX);
	return n > 0 ? (UINTN)n : 0;
}

static void channel(void)
{
	typedef void(EFIAPI * stub_fn)(UINT64 port, const void *buf, UINT64 len);
	static UINT8 buf[HV_REC_MAX];
	static const UINT32 trusted[] = {1, 2, 0, 4}; /* 0: six bytes of junk */
	EFI_PHYSICAL_ADDRESS page = 0;
	EFI_STATUS s;
	UINTN n;

	for (UINTN i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++) {
		if (!trusted[i]) {
			hv_chan_send(HV_CHAN_PORT_DEFAULT, "HVFRxx", 6);
			continue;
		}
		n = channel_record(buf, trusted[i]);
		if (!n) {
			fail(L"channel: encoding a record", EFI_ABORTED);
			return;
		}
		hv_chan_send(HV_CHAN_PORT_DEFAULT, buf, n);
	}
	puts16(L"hvtest: channel: sent records 1 2 4 and junk from the measured sender\r\n");
	s = ST->BootServices->AllocatePages(AllocateAnyPages, EfiLoaderCode, 1, &page);
	if (EFI_ERROR(s)) {
		fail(L"channel: AllocatePages", s);
		return;
	}
	memcpy((VOID *)page, stub_code, sizeof(stub_code));
	n = channel_record(buf, 5);
	((stub_fn)page)(HV_CHAN_PORT_DEFAULT, buf, n);
	ST->BootServices->FreePages(page, 1);
	puts16(L"hvtest: channel: sent record 5 from injected code\r\n");
	n = channel_record(buf, 6);
	hv_chan_send(HV_CHAN_PORT_DEFAULT, buf, 20);
	puts16(L"hvtest: channel: sent the first 20 bytes of record 6\r\n");
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_FILE_HANDLE root = NULL;
	EFI_STATUS s;

	ST = st;
	st->BootServices->SetWatchdogTimer(0, 0, 0, NULL);
	puts16(L"hvtest: start\r\n");
	s = open_root(image, &root);
	if (EFI_ERROR(s)) {
		fail(L"opening the ESP", s);
	} else {
		save_guest_log(root);
		if (mode_is(root, "tamper"))
			tamper();
		else if (mode_is(root, "channel"))
			channel();
		root->Close(root);
	}
	puts16(L"hvtest: done (");
	putu(errors, 10);
	puts16(L" errors)\r\n");
	st->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
