/*
 * efilib.h: what hvima's UEFI test applications share (hvtest, ntboot's
 * bootmgr and winload): console output, the ESP they were loaded from,
 * reading and writing its files, and the firmware's own TCG event log.
 * gnu-efi's headers only; no library.
 */
#ifndef HV_EFILIB_H
#define HV_EFILIB_H

#include <efi.h>

extern EFI_SYSTEM_TABLE *ST;
extern UINTN efi_errors;

void *memcpy(void *dst, const void *src, UINTN n);
void *memset(void *dst, int c, UINTN n);
void puts16(const CHAR16 *s);
void putu(UINT64 v, UINTN base);
/* "PREFIX: error: WHAT (status 0x...)", counted in efi_errors. */
void efi_fail(const CHAR16 *prefix, const CHAR16 *what, EFI_STATUS status);

EFI_STATUS efi_open_root(EFI_HANDLE image, EFI_FILE_HANDLE *root);
/* Writes \DIR\NAME, replacing an older file of that name. */
EFI_STATUS efi_write_file(EFI_FILE_HANDLE root, CHAR16 *dir, CHAR16 *name, VOID *data, UINTN len);
/* Reads a whole file of at most max bytes into pool memory (*buf). */
EFI_STATUS efi_read_file(EFI_FILE_HANDLE root, CHAR16 *path, UINTN max, VOID **buf, UINTN *len);
/* The firmware's TCG 2.0 event log (EFI_TCG2_PROTOCOL.GetEventLog):
 * its address and byte length, after walking it. */
EFI_STATUS efi_guest_log(VOID **log, UINTN *len, BOOLEAN *truncated);

#endif
