/*
 * bootmgr.c: ntboot's boot manager (BOOTX64.EFI), in the role of Windows'
 * bootmgfw.efi: loads \ntboot\winload.efi from the ESP it was loaded from
 * with LoadImage (so the firmware measures it into the guest's PCR 4, like
 * any boot application) and starts it. Prints "bootmgr: ..." lines; on any
 * failure it shuts the machine down, so a broken ESP never hangs a test.
 */
#include "../uefi/efilib.h"

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

#define WINLOAD_PATH L"\\ntboot\\winload.efi"

/* The device path of the ESP followed by a file path node for path. */
static EFI_DEVICE_PATH *file_path(EFI_HANDLE device, const CHAR16 *path)
{
	EFI_GUID dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;
	EFI_DEVICE_PATH *dev, *n, *out;
	UINTN dev_len = 0, plen = 0, node;
	UINT8 *p;

	if (EFI_ERROR(ST->BootServices->HandleProtocol(device, &dp_guid, (VOID **)&dev)))
		return NULL;
	for (n = dev; !(n->Type == END_DEVICE_PATH_TYPE && n->SubType == END_ENTIRE_DEVICE_PATH_SUBTYPE);) {
		UINTN l = n->Length[0] | n->Length[1] << 8;
		if (l < 4 || dev_len > 4096)
			return NULL;
		dev_len += l;
		n = (EFI_DEVICE_PATH *)((UINT8 *)n + l);
	}
	while (path[plen])
		plen++;
	node = 4 + 2 * (plen + 1);
	if (EFI_ERROR(ST->BootServices->AllocatePool(EfiLoaderData, dev_len + node + 4, (VOID **)&out)))
		return NULL;
	p = (UINT8 *)out;
	memcpy(p, dev, dev_len);
	p += dev_len;
	p[0] = MEDIA_DEVICE_PATH, p[1] = MEDIA_FILEPATH_DP, p[2] = (UINT8)node, p[3] = (UINT8)(node >> 8);
	memcpy(p + 4, path, 2 * (plen + 1));
	p += node;
	p[0] = END_DEVICE_PATH_TYPE, p[1] = END_ENTIRE_DEVICE_PATH_SUBTYPE, p[2] = 4, p[3] = 0;
	return out;
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li;
	EFI_DEVICE_PATH *dp;
	EFI_HANDLE child;
	EFI_STATUS s;

	ST = st;
	st->BootServices->SetWatchdogTimer(0, 0, 0, NULL);
	puts16(L"bootmgr: start\r\n");
	s = st->BootServices->HandleProtocol(image, &li_guid, (VOID **)&li);
	if (EFI_ERROR(s)) {
		efi_fail(L"bootmgr", L"no loaded image protocol", s);
		goto out;
	}
	dp = file_path(li->DeviceHandle, WINLOAD_PATH);
	if (!dp) {
		efi_fail(L"bootmgr", L"no device path for the ESP", EFI_NOT_FOUND);
		goto out;
	}
	s = st->BootServices->LoadImage(FALSE, image, dp, NULL, 0, &child);
	if (EFI_ERROR(s)) {
		efi_fail(L"bootmgr", L"LoadImage " WINLOAD_PATH, s);
		goto out;
	}
	puts16(L"bootmgr: starting " WINLOAD_PATH L"\r\n");
	s = st->BootServices->StartImage(child, NULL, NULL);
	efi_fail(L"bootmgr", L"winload returned", s);
out:
	st->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
