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
 *   4. prints "hvtest: done" and shuts the machine down, so QEMU exits.
 * Every line it prints starts with "hvtest: "; failures print
 * "hvtest: error: ..." and the shutdown still happens.
 *
 * Built with mingw-w64 against gnu-efi's headers only (its libefi is ELF),
 * with the helpers of efilib.c.
 */
#include "efilib.h"

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

/* 1 if \hvima\mode.txt starts with "tamper", 0 otherwise (also: no file). */
static int mode_is_tamper(EFI_FILE_HANDLE root)
{
	static const char word[] = "tamper";
	EFI_FILE_HANDLE f;
	char buf[32];
	UINTN len = sizeof(buf), i;
	EFI_STATUS s;

	s = root->Open(root, &f, L"\\hvima\\mode.txt", EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(s))
		return 0;
	s = f->Read(f, &len, buf);
	f->Close(f);
	if (EFI_ERROR(s) || len < sizeof(word) - 1)
		return 0;
	for (i = 0; i < sizeof(word) - 1; i++)
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
		if (mode_is_tamper(root))
			tamper();
		root->Close(root);
	}
	puts16(L"hvtest: done (");
	putu(efi_errors, 10);
	puts16(L" errors)\r\n");
	st->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
