/*
 * measure.c: what hvimaflt.sys does with a file: hash it with the kernel's
 * BCrypt (ksecdd.sys), name it (normalized, as UTF-8), load the policy at
 * start, and report to the hypervisor over the channel.
 *
 * The policy file (HVF_POLICY_FILE) is hostile input like any other: at
 * most HV_FPOL_TEXT_MAX bytes, parsed by lib/fltpolicy.c in two passes
 * (count, then fill a pool allocation of exactly that many digests). A
 * missing file means the defaults (audit mode, .exe .dll .sys, nothing
 * watched); a malformed one stops the driver from loading.
 *
 * Reports are encoded (lib/chanrec.c) and sent (lib/chansend.c) under one
 * spin lock: the sequence number is taken, the record encoded into a static
 * buffer and written to the port byte by byte at DISPATCH_LEVEL, so no
 * thread is preempted or moved to another CPU in the middle of a record and
 * records never interleave on the port.
 */
#include "hvimaflt.h"
#include "chansend.h"

typedef PVOID BCRYPT_ALG_HANDLE, BCRYPT_HASH_HANDLE;
NTSTATUS NTAPI BCryptOpenAlgorithmProvider(BCRYPT_ALG_HANDLE *alg, LPCWSTR id, LPCWSTR impl, ULONG flags);
NTSTATUS NTAPI BCryptCloseAlgorithmProvider(BCRYPT_ALG_HANDLE alg, ULONG flags);
NTSTATUS NTAPI BCryptCreateHash(BCRYPT_ALG_HANDLE alg, BCRYPT_HASH_HANDLE *h, PUCHAR obj, ULONG objlen, PUCHAR secret,
				ULONG secretlen, ULONG flags);
NTSTATUS NTAPI BCryptHashData(BCRYPT_HASH_HANDLE h, PUCHAR in, ULONG len, ULONG flags);
NTSTATUS NTAPI BCryptFinishHash(BCRYPT_HASH_HANDLE h, PUCHAR out, ULONG len, ULONG flags);
NTSTATUS NTAPI BCryptDestroyHash(BCRYPT_HASH_HANDLE h);

#define CHUNK (64u << 10)

static BCRYPT_ALG_HANDLE sha256;
static KSPIN_LOCK chan_lock;
static ULONG chan_seq;
static UCHAR chan_buf[HV_REC_MAX];
static struct hv_rec chan_rec;
static uint8_t (*allow_mem)[32];

NTSTATUS hvf_crypto_init(void)
{
	KeInitializeSpinLock(&chan_lock);
	return BCryptOpenAlgorithmProvider(&sha256, L"SHA256", NULL, 0);
}

void hvf_crypto_fini(void)
{
	if (sha256)
		BCryptCloseAlgorithmProvider(sha256, 0);
	sha256 = NULL;
}

NTSTATUS hvf_hash_fileobj(PFLT_INSTANCE inst, PFILE_OBJECT fo, UCHAR digest[32], ULONG64 *size, BOOLEAN *mz)
{
	BCRYPT_HASH_HANDLE h = NULL;
	LARGE_INTEGER off;
	PUCHAR buf;
	NTSTATUS st;
	ULONG got;

	*size = 0;
	*mz = FALSE;
	buf = ExAllocatePoolWithTag(NonPagedPoolNx, CHUNK, HVF_TAG);
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	st = BCryptCreateHash(sha256, &h, NULL, 0, NULL, 0, 0);
	if (!NT_SUCCESS(st))
		goto out_free;
	for (off.QuadPart = 0;; off.QuadPart += got) {
		if ((ULONG64)off.QuadPart >= HVF_MAX_HASH_BYTES) {
			st = STATUS_FILE_TOO_LARGE;
			goto out_hash;
		}
		got = 0;
		st = FltReadFile(inst, fo, &off, CHUNK, buf,
				 FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET, &got, NULL,
				 NULL);
		if (st == STATUS_END_OF_FILE || (NT_SUCCESS(st) && got == 0))
			break;
		if (!NT_SUCCESS(st))
			goto out_hash;
		if (off.QuadPart == 0 && hv_fpol_is_mz(buf, got))
			*mz = TRUE;
		st = BCryptHashData(h, buf, got, 0);
		if (!NT_SUCCESS(st))
			goto out_hash;
	}
	*size = (ULONG64)off.QuadPart;
	st = BCryptFinishHash(h, digest, 32, 0);
out_hash:
	BCryptDestroyHash(h);
out_free:
	ExFreePoolWithTag(buf, HVF_TAG);
	return st;
}

NTSTATUS hvf_hash_name(PFLT_INSTANCE inst, PUNICODE_STRING name, UCHAR digest[32], ULONG64 *size, BOOLEAN *mz)
{
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	PFILE_OBJECT fo = NULL;
	HANDLE h = NULL;
	NTSTATUS st;

	InitializeObjectAttributes(&oa, name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	st = FltCreateFileEx(hvf_filter, inst, &h, &fo, FILE_READ_DATA | SYNCHRONIZE, &oa, &iosb, NULL,
			     FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
			     FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0, IO_IGNORE_SHARE_ACCESS_CHECK);
	if (!NT_SUCCESS(st))
		return st;
	st = hvf_hash_fileobj(inst, fo, digest, size, mz);
	ObDereferenceObject(fo);
	FltClose(h);
	return st;
}

NTSTATUS hvf_name(PFLT_CALLBACK_DATA data, struct hvf_report *r, PFLT_FILE_NAME_INFORMATION *ni)
{
	const char *why;
	size_t len;
	NTSTATUS st;

	st = FltGetFileNameInformation(data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, ni);
	if (!NT_SUCCESS(st))
		return st;
	if (hv_winpath_norm((*ni)->Name.Buffer, (*ni)->Name.Length / sizeof(WCHAR), r->path, sizeof(r->path), &len,
			    &why)) {
		FltReleaseFileNameInformation(*ni);
		*ni = NULL;
		return STATUS_OBJECT_NAME_INVALID;
	}
	return STATUS_SUCCESS;
}

void hvf_requestor(PFLT_CALLBACK_DATA data, struct hvf_report *r)
{
	PUNICODE_STRING img = NULL;
	PEPROCESS p;
	const char *why, *last;
	char *full;
	size_t len, k;

	r->pid = FltGetRequestorProcessId(data);
	r->proc[0] = 0;
	if (KeGetCurrentIrql() != PASSIVE_LEVEL || !(p = FltGetRequestorProcess(data)))
		return;
	if (!NT_SUCCESS(SeLocateProcessImageName(p, &img)) || !img)
		return;
	full = ExAllocatePoolWithTag(NonPagedPoolNx, HV_REC_PATH_MAX + 1, HVF_TAG);
	if (full && !hv_winpath_norm(img->Buffer, img->Length / sizeof(WCHAR), full, HV_REC_PATH_MAX + 1, &len, &why)) {
		last = full;
		for (k = 0; k < len; k++)
			if (full[k] == '\\')
				last = full + k + 1;
		for (k = 0; last[k] && k < HV_REC_PROC_MAX; k++)
			r->proc[k] = last[k];
		r->proc[k] = 0;
	}
	if (full)
		ExFreePoolWithTag(full, HVF_TAG);
	ExFreePool(img);
}

static uint16_t slen16(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return (uint16_t)n;
}

void hvf_send(const struct hvf_report *r)
{
	KIRQL old;
	int n;

	old = KeAcquireSpinLockRaiseToDpc(&chan_lock);
	chan_rec.seq = ++chan_seq;
	chan_rec.pid = r->pid;
	chan_rec.size = r->size;
	chan_rec.access = r->access;
	chan_rec.decision = r->decision;
	chan_rec.flags = r->flags;
	RtlCopyMemory(chan_rec.sha256, r->digest, 32);
	chan_rec.path_len = slen16(r->path, HV_REC_PATH_MAX);
	chan_rec.proc_len = slen16(r->proc, HV_REC_PROC_MAX);
	RtlCopyMemory(chan_rec.path, r->path, chan_rec.path_len);
	RtlCopyMemory(chan_rec.proc, r->proc, chan_rec.proc_len);
	n = hv_rec_encode(&chan_rec, chan_buf, sizeof(chan_buf));
	if (n > 0)
		hv_chan_send(HV_CHAN_PORT_DEFAULT, chan_buf, (size_t)n);
	KeReleaseSpinLock(&chan_lock, old);
}

NTSTATUS hvf_policy_load(void)
{
	UNICODE_STRING name;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	FILE_STANDARD_INFORMATION fsi;
	struct hv_fpol_err err;
	HANDLE h;
	char *text = NULL;
	ULONG len;
	NTSTATUS st;

	hv_fpol_default(&hvf_pol);
	RtlInitUnicodeString(&name, HVF_POLICY_FILE);
	InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	st = ZwCreateFile(&h, GENERIC_READ | SYNCHRONIZE, &oa, &iosb, NULL, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, FILE_OPEN,
			  FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0);
	if (st == STATUS_OBJECT_NAME_NOT_FOUND || st == STATUS_OBJECT_PATH_NOT_FOUND) {
		DbgPrint("hvimaflt: no policy file: audit mode, .exe .dll .sys\n");
		return STATUS_SUCCESS;
	}
	if (!NT_SUCCESS(st))
		return st;
	st = ZwQueryInformationFile(h, &iosb, &fsi, sizeof(fsi), FileStandardInformation);
	if (NT_SUCCESS(st) && (fsi.EndOfFile.QuadPart < 0 || fsi.EndOfFile.QuadPart > HV_FPOL_TEXT_MAX))
		st = STATUS_FILE_TOO_LARGE;
	if (!NT_SUCCESS(st))
		goto out_close;
	len = (ULONG)fsi.EndOfFile.QuadPart;
	text = ExAllocatePoolWithTag(PagedPool, len ? len : 1, HVF_TAG);
	if (!text) {
		st = STATUS_INSUFFICIENT_RESOURCES;
		goto out_close;
	}
	st = len ? ZwReadFile(h, NULL, NULL, NULL, &iosb, text, len, NULL, NULL) : STATUS_SUCCESS;
	if (!NT_SUCCESS(st) || (len && iosb.Information != len)) {
		st = NT_SUCCESS(st) ? STATUS_END_OF_FILE : st;
		goto out_free;
	}
	if (hv_fpol_parse(&hvf_pol, text, len, NULL, 0, &err) == 0) {
		allow_mem = ExAllocatePoolWithTag(NonPagedPoolNx, (SIZE_T)(hvf_pol.n_allow ? hvf_pol.n_allow : 1) * 32,
						  HVF_TAG);
		if (!allow_mem) {
			st = STATUS_INSUFFICIENT_RESOURCES;
			goto out_free;
		}
		if (hv_fpol_parse(&hvf_pol, text, len, allow_mem, hvf_pol.n_allow, &err) == 0)
			goto out_free; /* st is STATUS_SUCCESS */
	}
	DbgPrint("hvimaflt: policy line %u column %u: %s\n", err.line, err.col, err.msg);
	st = STATUS_INVALID_PARAMETER;
out_free:
	ExFreePoolWithTag(text, HVF_TAG);
out_close:
	ZwClose(h);
	return st;
}

void hvf_policy_free(void)
{
	if (allow_mem)
		ExFreePoolWithTag(allow_mem, HVF_TAG);
	allow_mem = NULL;
	hv_fpol_default(&hvf_pol);
}
