/*
 * efilib.c: helpers of hvima's UEFI test applications (efilib.h).
 */
#include "efilib.h"

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

EFI_SYSTEM_TABLE *ST;
UINTN efi_errors;

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

void puts16(const CHAR16 *s)
{
	ST->ConOut->OutputString(ST->ConOut, (CHAR16 *)s);
}

void putu(UINT64 v, UINTN base)
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

void efi_fail(const CHAR16 *prefix, const CHAR16 *what, EFI_STATUS status)
{
	efi_errors++;
	puts16(prefix);
	puts16(L": error: ");
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

EFI_STATUS efi_open_root(EFI_HANDLE image, EFI_FILE_HANDLE *root)
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

EFI_STATUS efi_write_file(EFI_FILE_HANDLE root, CHAR16 *dirname, CHAR16 *name, VOID *data, UINTN len)
{
	const UINT64 rwc = EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE;
	EFI_FILE_HANDLE dir, f;
	EFI_STATUS s;

	s = root->Open(root, &dir, dirname, rwc, EFI_FILE_DIRECTORY);
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

EFI_STATUS efi_read_file(EFI_FILE_HANDLE root, CHAR16 *path, UINTN max, VOID **buf, UINTN *len)
{
	EFI_FILE_HANDLE f;
	EFI_STATUS s;
	UINT64 size;

	*buf = NULL, *len = 0;
	s = root->Open(root, &f, path, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(s))
		return s;
	s = f->SetPosition(f, 0xFFFFFFFFFFFFFFFFULL); /* the end: its position is the size */
	if (!EFI_ERROR(s))
		s = f->GetPosition(f, &size);
	if (!EFI_ERROR(s) && size > max)
		s = EFI_BAD_BUFFER_SIZE;
	if (!EFI_ERROR(s))
		s = f->SetPosition(f, 0);
	if (!EFI_ERROR(s))
		s = ST->BootServices->AllocatePool(EfiLoaderData, size ? size : 1, buf);
	if (!EFI_ERROR(s)) {
		*len = size;
		s = f->Read(f, len, *buf);
		if (!EFI_ERROR(s) && *len != size)
			s = EFI_END_OF_FILE;
	}
	f->Close(f);
	return s;
}

EFI_STATUS efi_guest_log(VOID **log, UINTN *len, BOOLEAN *truncated)
{
	EFI_GUID tcg2_guid = HV_TCG2_PROTOCOL_GUID;
	HV_TCG2_PROTOCOL *tcg2;
	EFI_PHYSICAL_ADDRESS first = 0, last = 0;
	EFI_STATUS s;

	*log = NULL, *len = 0, *truncated = 0;
	s = ST->BootServices->LocateProtocol(&tcg2_guid, NULL, (VOID **)&tcg2);
	if (EFI_ERROR(s))
		return s;
	s = tcg2->GetEventLog(tcg2, HV_TCG2_EVENT_LOG_FORMAT_TCG_2, &first, &last, truncated);
	if (EFI_ERROR(s))
		return s;
	if (!first)
		return EFI_NOT_FOUND;
	*len = log_length((const UINT8 *)first, (const UINT8 *)last);
	*log = (VOID *)first;
	return *len ? EFI_SUCCESS : EFI_COMPROMISED_DATA;
}
