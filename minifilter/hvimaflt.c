/*
 * hvimaflt.c: the hvima minifilter (docs/minifilter.md). Registers with
 * the Filter Manager and, for every executable image opened for execution
 * (IRP_MJ_CREATE with FILE_EXECUTE) or mapped as an executable section
 * (IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION with an execute page
 * protection), and for every file under a watched prefix, computes the
 * file's SHA-256 and reports it to the hypervisor (measure.c). A stream
 * context remembers a measured file, so it is measured once until written:
 * a write (seen in IRP_MJ_WRITE, reported at cleanup or close), a rename or
 * a delete (IRP_MJ_SET_INFORMATION) drops the context, and the next execute
 * measures again. In enforce mode an execute or map of an executable whose
 * digest is not in the allowlist is completed in the pre-operation with
 * STATUS_ACCESS_DENIED.
 *
 * Decisions are the portable lib/fltpolicy.c; records lib/chanrec.c.
 */
#include "hvimaflt.h"

PFLT_FILTER hvf_filter;
struct hv_fpol hvf_pol;

#define EXEC_PROTECT (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)

static VOID NTAPI stream_cleanup(PFLT_CONTEXT ctx, FLT_CONTEXT_TYPE type)
{
	struct hvf_stream *s = ctx;
	(void)type;
	if (s->path)
		ExFreePoolWithTag(s->path, HVF_TAG);
	s->path = NULL;
}

static struct hvf_report *report_new(void)
{
	struct hvf_report *r = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*r), HVF_TAG);
	if (r)
		RtlZeroMemory(r, sizeof(*r));
	return r;
}

static void report_free(struct hvf_report *r)
{
	if (r)
		ExFreePoolWithTag(r, HVF_TAG);
}

/* Measure the named file, fill r, decide. True when it must be denied. */
static BOOLEAN measure(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PUNICODE_STRING name, UCHAR access,
		       struct hvf_report *r)
{
	BOOLEAN mz = FALSE, exe;
	BOOLEAN deny;

	r->access = access;
	if (NT_SUCCESS(hvf_hash_name(fo->Instance, name, r->digest, &r->size, &mz)))
		r->flags |= HV_RECF_DIGEST;
	exe = mz || hv_fpol_exe_name(&hvf_pol, r->path);
	if (mz)
		r->flags |= HV_RECF_MZ;
	if (hvf_pol.mode == HV_FPOL_ENFORCE)
		r->flags |= HV_RECF_ENFORCE;
	/* Without a digest nothing can be allowed: enforce denies it. */
	if (exe && (!(r->flags & HV_RECF_DIGEST) || !hv_fpol_allowed(&hvf_pol, r->digest)))
		r->flags |= HV_RECF_NOT_ALLOWED;
	deny = exe && (access == HV_ACC_EXECUTE || access == HV_ACC_MAP) && hvf_pol.mode == HV_FPOL_ENFORCE &&
	       (r->flags & HV_RECF_NOT_ALLOWED);
	r->decision = deny ? HV_DEC_DENIED : HV_DEC_ALLOWED;
	hvf_requestor(data, r);
	hvf_send(r);
	return deny;
}

static FLT_PREOP_CALLBACK_STATUS deny_op(PFLT_CALLBACK_DATA data)
{
	data->IoStatus.Status = STATUS_ACCESS_DENIED;
	data->IoStatus.Information = 0;
	return FLT_PREOP_COMPLETE;
}

/* Enforce mode fails closed: an execute or map of a file that cannot be
 * named (so not measured) is denied, and reported with an empty path. */
static FLT_PREOP_CALLBACK_STATUS unnamed(PFLT_CALLBACK_DATA data, struct hvf_report *r, UCHAR access)
{
	if (hvf_pol.mode != HV_FPOL_ENFORCE) {
		report_free(r);
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	if (r) { /* else out of memory: denied all the same */
		RtlZeroMemory(r, sizeof(*r));
		r->access = access;
		r->decision = HV_DEC_DENIED;
		r->flags = HV_RECF_ENFORCE | HV_RECF_NOT_ALLOWED;
		hvf_requestor(data, r);
		hvf_send(r);
		report_free(r);
	}
	return deny_op(data);
}

static FLT_PREOP_CALLBACK_STATUS NTAPI pre_create(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID *cctx)
{
	PIO_SECURITY_CONTEXT sc = data->Iopb->Parameters.Create.SecurityContext;
	PFLT_FILE_NAME_INFORMATION ni = NULL;
	struct hvf_report *r;
	BOOLEAN exec = sc && (sc->DesiredAccess & FILE_EXECUTE);

	*cctx = NULL;
	if (data->Iopb->Parameters.Create.Options & FILE_DIRECTORY_FILE)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (!exec && hvf_pol.n_watch == 0)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	r = report_new();
	if (!r)
		return exec ? unnamed(data, NULL, HV_ACC_EXECUTE) : FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (!NT_SUCCESS(hvf_name(data, r, &ni))) {
		if (exec)
			return unnamed(data, r, HV_ACC_EXECUTE);
		report_free(r);
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	if (exec && measure(data, fo, &ni->Name, HV_ACC_EXECUTE, r)) {
		FltReleaseFileNameInformation(ni);
		report_free(r);
		return deny_op(data);
	}
	FltReleaseFileNameInformation(ni);
	if (!exec && !hv_fpol_watched(&hvf_pol, r->path)) {
		report_free(r);
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	r->access = exec ? HV_ACC_EXECUTE : HV_ACC_READ;
	*cctx = r;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

/* After a successful open: remember the file in a stream context; a
 * watched file opened for anything but execution is measured here. */
static FLT_POSTOP_CALLBACK_STATUS NTAPI post_create(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID cctx,
						   ULONG flags)
{
	struct hvf_report *r = cctx;
	struct hvf_stream *s = NULL;
	BOOLEAN mz = FALSE, dir = FALSE;
	size_t n = 0;

	if ((flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(data->IoStatus.Status) ||
	    data->IoStatus.Status == STATUS_REPARSE || !r)
		goto out;
	FltIsDirectory(fo->FileObject, fo->Instance, &dir);
	if (dir)
		goto out;
	if (r->access == HV_ACC_READ) {
		if (NT_SUCCESS(hvf_hash_fileobj(fo->Instance, fo->FileObject, r->digest, &r->size, &mz)))
			r->flags |= HV_RECF_DIGEST | (mz ? HV_RECF_MZ : 0);
		r->decision = HV_DEC_ALLOWED;
		hvf_requestor(data, r);
		hvf_send(r);
	}
	if (!NT_SUCCESS(FltAllocateContext(hvf_filter, FLT_STREAM_CONTEXT, sizeof(*s), NonPagedPoolNx, (PVOID *)&s)))
		goto out;
	RtlZeroMemory(s, sizeof(*s));
	while (r->path[n])
		n++;
	s->path = ExAllocatePoolWithTag(NonPagedPoolNx, n + 1, HVF_TAG);
	if (s->path)
		RtlCopyMemory(s->path, r->path, n + 1);
	s->measured = (r->flags & HV_RECF_DIGEST) != 0;
	s->watched = hv_fpol_watched(&hvf_pol, r->path);
	s->executable = (r->flags & HV_RECF_MZ) || hv_fpol_exe_name(&hvf_pol, r->path);
	RtlCopyMemory(s->digest, r->digest, 32);
	s->size = r->size;
	FltSetStreamContext(fo->Instance, fo->FileObject, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, s, NULL);
	FltReleaseContext(s);
out:
	report_free(r);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* A report from the stream context alone (no name query: paging I/O). */
static void report_ctx(PFLT_CALLBACK_DATA data, struct hvf_stream *s, UCHAR access)
{
	struct hvf_report *r = report_new();
	size_t n = 0;

	if (!r || !s->path) {
		report_free(r);
		return;
	}
	while (s->path[n] && n < HV_REC_PATH_MAX)
		n++;
	RtlCopyMemory(r->path, s->path, n);
	r->access = access;
	r->size = s->size;
	hvf_requestor(data, r);
	hvf_send(r);
	report_free(r);
}

static struct hvf_stream *get_ctx(PCFLT_RELATED_OBJECTS fo)
{
	struct hvf_stream *s = NULL;
	if (!fo->FileObject || !NT_SUCCESS(FltGetStreamContext(fo->Instance, fo->FileObject, (PVOID *)&s)))
		return NULL;
	return s;
}

static FLT_PREOP_CALLBACK_STATUS NTAPI pre_section(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID *cctx)
{
	PFLT_FILE_NAME_INFORMATION ni = NULL;
	struct hvf_stream *s;
	struct hvf_report *r;
	BOOLEAN deny = FALSE;

	*cctx = NULL;
	if (data->Iopb->Parameters.AcquireForSectionSynchronization.SyncType != SyncTypeCreateSection ||
	    !(data->Iopb->Parameters.AcquireForSectionSynchronization.PageProtection & EXEC_PROTECT))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	s = get_ctx(fo);
	if (s && s->measured && !s->dirty) { /* measured once until written */
		deny = s->executable && hv_fpol_deny(&hvf_pol, HV_ACC_MAP, TRUE, s->digest);
		FltReleaseContext(s);
		return deny ? deny_op(data) : FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	if (s)
		FltReleaseContext(s);
	r = report_new();
	if (!r || !NT_SUCCESS(hvf_name(data, r, &ni)))
		return unnamed(data, r, HV_ACC_MAP);
	deny = measure(data, fo, &ni->Name, HV_ACC_MAP, r);
	FltReleaseFileNameInformation(ni);
	report_free(r);
	return deny ? deny_op(data) : FLT_PREOP_SUCCESS_NO_CALLBACK;
}

/* A watched file not measured at open (opened before the filter attached)
 * is measured at its first read, through the reader's own file object. */
static FLT_PREOP_CALLBACK_STATUS NTAPI pre_read(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID *cctx)
{
	struct hvf_stream *s;
	BOOLEAN mz;

	*cctx = NULL;
	if (data->Iopb->IrpFlags & IRP_PAGING_IO || KeGetCurrentIrql() != PASSIVE_LEVEL)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	s = get_ctx(fo);
	if (!s)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (s->watched && !s->measured &&
	    NT_SUCCESS(hvf_hash_fileobj(fo->Instance, fo->FileObject, s->digest, &s->size, &mz))) {
		struct hvf_report *r = report_new();
		s->measured = TRUE;
		if (r) {
			size_t n = 0;
			while (s->path && s->path[n] && n < HV_REC_PATH_MAX)
				n++;
			if (n)
				RtlCopyMemory(r->path, s->path, n);
			r->access = HV_ACC_READ;
			r->flags = HV_RECF_DIGEST | (mz ? HV_RECF_MZ : 0);
			r->size = s->size;
			RtlCopyMemory(r->digest, s->digest, 32);
			hvf_requestor(data, r);
			hvf_send(r);
			report_free(r);
		}
	}
	FltReleaseContext(s);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

/* A write marks the stream; cleanup or close reports it and drops the
 * measurement (paging writes may come after cleanup, hence close too). */
static FLT_PREOP_CALLBACK_STATUS NTAPI pre_write(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID *cctx)
{
	struct hvf_stream *s = get_ctx(fo);

	(void)data;
	*cctx = NULL;
	if (s) {
		InterlockedExchange(&s->dirty, 1);
		FltReleaseContext(s);
	}
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS NTAPI pre_cleanup_close(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID *cctx)
{
	struct hvf_stream *s = get_ctx(fo);

	*cctx = NULL;
	if (!s)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (InterlockedExchange(&s->dirty, 0)) {
		report_ctx(data, s, HV_ACC_WRITE);
		FltDeleteContext(s);
	}
	FltReleaseContext(s);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS NTAPI pre_setinfo(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS fo, PVOID *cctx)
{
	FILE_INFORMATION_CLASS c = data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	struct hvf_stream *s;
	UCHAR access;

	*cctx = NULL;
	if (c == FileRenameInformation || c == FileRenameInformationEx)
		access = HV_ACC_RENAME;
	else if (c == FileDispositionInformation || c == FileDispositionInformationEx)
		access = HV_ACC_DELETE;
	else if (c == FileEndOfFileInformation || c == FileAllocationInformation)
		access = HV_ACC_WRITE;
	else
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	s = get_ctx(fo);
	if (!s)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	report_ctx(data, s, access);
	FltDeleteContext(s);
	FltReleaseContext(s);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

/* Attach to local disk file systems only. */
static NTSTATUS NTAPI instance_setup(PCFLT_RELATED_OBJECTS fo, ULONG flags, ULONG devtype, ULONG fstype)
{
	(void)fo, (void)flags, (void)fstype;
	return devtype == FILE_DEVICE_DISK_FILE_SYSTEM ? STATUS_SUCCESS : STATUS_FLT_DO_NOT_ATTACH;
}

static NTSTATUS NTAPI instance_query_teardown(PCFLT_RELATED_OBJECTS fo, ULONG flags)
{
	(void)fo, (void)flags;
	return STATUS_SUCCESS; /* fltmc detach is allowed */
}

static VOID NTAPI instance_teardown(PCFLT_RELATED_OBJECTS fo, ULONG reason)
{
	(void)fo, (void)reason; /* stream contexts are freed by the Filter Manager */
}

static NTSTATUS NTAPI unload(ULONG flags)
{
	(void)flags;
	FltUnregisterFilter(hvf_filter);
	hvf_policy_free();
	hvf_crypto_fini();
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION ops[] = {
	{IRP_MJ_CREATE, 0, pre_create, post_create, NULL},
	{IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION, 0, pre_section, NULL, NULL},
	{IRP_MJ_READ, FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO, pre_read, NULL, NULL},
	{IRP_MJ_WRITE, 0, pre_write, NULL, NULL},
	{IRP_MJ_SET_INFORMATION, 0, pre_setinfo, NULL, NULL},
	{IRP_MJ_CLEANUP, 0, pre_cleanup_close, NULL, NULL},
	{IRP_MJ_CLOSE, 0, pre_cleanup_close, NULL, NULL},
	{IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static const FLT_CONTEXT_REGISTRATION contexts[] = {
	{FLT_STREAM_CONTEXT, 0, stream_cleanup, sizeof(struct hvf_stream), HVF_TAG, NULL, NULL, NULL},
	{FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

static const FLT_REGISTRATION registration = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.ContextRegistration = contexts,
	.OperationRegistration = ops,
	.FilterUnloadCallback = unload,
	.InstanceSetupCallback = instance_setup,
	.InstanceQueryTeardownCallback = instance_query_teardown,
	.InstanceTeardownStartCallback = instance_teardown,
	.InstanceTeardownCompleteCallback = instance_teardown,
};

NTSTATUS hvf_driver_entry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
	NTSTATUS st;

	(void)reg;
	st = hvf_crypto_init();
	if (!NT_SUCCESS(st))
		return st;
	st = hvf_policy_load();
	if (!NT_SUCCESS(st))
		goto out_crypto;
	st = FltRegisterFilter(drv, &registration, &hvf_filter);
	if (!NT_SUCCESS(st))
		goto out_policy;
	st = FltStartFiltering(hvf_filter);
	if (NT_SUCCESS(st)) {
		DbgPrint("hvimaflt: filtering, %s mode, %u allowed digests, %u watched prefixes\n",
			 hvf_pol.mode == HV_FPOL_ENFORCE ? "enforce" : "audit", hvf_pol.n_allow, hvf_pol.n_watch);
		return st;
	}
	FltUnregisterFilter(hvf_filter);
out_policy:
	hvf_policy_free();
out_crypto:
	hvf_crypto_fini();
	return st;
}
