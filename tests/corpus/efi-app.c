/*
 * efi-app.c: a minimal UEFI application for the PE corpus. It prints through
 * ConOut and returns. Its function pointer table and global pointers in
 * .data exist to make the linker emit base relocations (DIR64 on x86_64,
 * HIGHLOW on i386), which a measured-boot digest must normalize.
 */
#include <efi.h>

static const CHAR16 hello[] = L"hvima corpus: efi-app\r\n";
static const CHAR16 bye[] = L"hvima corpus: done\r\n";

/* Pointers stored in data: each one is a relocation site. */
const CHAR16 *messages[] = {hello, bye};
static UINTN counter;
UINTN *counter_ptr = &counter;

static EFI_STATUS say(EFI_SYSTEM_TABLE *st, const CHAR16 *s)
{
	return st->ConOut->OutputString(st->ConOut, (CHAR16 *)s);
}

static EFI_STATUS nothing(EFI_SYSTEM_TABLE *st, const CHAR16 *s)
{
	(void)st;
	(void)s;
	return EFI_SUCCESS;
}

EFI_STATUS (*const actions[])(EFI_SYSTEM_TABLE *, const CHAR16 *) = {say, nothing, say};

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	(void)image;
	for (UINTN i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		(*counter_ptr)++;
		actions[i](st, messages[i % 2]);
	}
	return EFI_SUCCESS;
}
