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
 * Built with mingw-w64 against gnu-efi's headers only (its libefi is ELF),
 * with the helpers of efilib.c.
 */
#include "efilib.h"

#include "chanrec.h"
#include "chansend.h"

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

static void fail(const CHAR16 *what, EFI_STATUS status)
{
	efi_fail(L"hvtest", what, status);
}

static void save_guest_log(EFI_FILE_HANDLE root)
{
	VOID *log;
	UINTN len;
	BOOLEAN truncated;
	EFI_STATUS s = efi_guest_log(&log, &len, &truncated);

	if (EFI_ERROR(s)) {
		fail(L"reading the firmware's event log", s);
		return;
	}
	if (truncated)
		puts16(L"hvtest: warning: the firmware's event log is truncated\r\n");
	s = efi_write_file(root, L"\\hvima", L"guestlog.bin", log, len);
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
	s = efi_open_root(image, &root);
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
	putu(efi_errors, 10);
	puts16(L" errors)\r\n");
	st->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
