/*
 * fltmgr.h: the Filter Manager types and functions hvimaflt.sys uses,
 * declared here because mingw-w64 ships no fltKernel.h. Written from the
 * public documentation of the Filter Manager (docs.microsoft.com, "FLT_*"
 * structures and Flt* routines), x64 only; every offset the driver relies
 * on is pinned with _Static_assert, so a wrong layout fails the build
 * instead of corrupting a kernel structure. The import library comes from
 * fltmgr.def (dlltool). Include after <ntifs.h>.
 */
#ifndef HVIMA_FLTMGR_H
#define HVIMA_FLTMGR_H

#include <stddef.h>
#include <ntifs.h>

#ifndef __x86_64__
#error "fltmgr.h describes the x64 layouts only"
#endif

typedef struct _FLT_FILTER *PFLT_FILTER;
typedef struct _FLT_VOLUME *PFLT_VOLUME;
typedef struct _FLT_INSTANCE *PFLT_INSTANCE;
typedef PVOID PFLT_CONTEXT;
typedef USHORT FLT_CONTEXT_TYPE;
typedef ULONG FLT_FILE_NAME_OPTIONS;
typedef ULONG FLT_IO_OPERATION_FLAGS;

/* Major functions: the IRP ones of wdm.h, and the Filter Manager's own. */
#define IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION ((UCHAR)-1)
#define IRP_MJ_OPERATION_END ((UCHAR)0x80)

#define FLT_REGISTRATION_VERSION 0x0203 /* Windows 8 and later */

#define FLT_STREAM_CONTEXT 0x0010
#define FLT_CONTEXT_END 0xffff

#define FLT_FILE_NAME_NORMALIZED 0x01
#define FLT_FILE_NAME_QUERY_DEFAULT 0x0100

#define FLTFL_IO_OPERATION_NON_CACHED 0x00000001
#define FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET 0x00000002
#define FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO 0x00000001
#define FLTFL_CALLBACK_DATA_POST_OPERATION 0x40000000
#define FLTFL_POST_OPERATION_DRAINING 0x00000001

/* FltCreateFileEx Flags */
#define IO_IGNORE_SHARE_ACCESS_CHECK 0x0800

typedef enum _FLT_PREOP_CALLBACK_STATUS {
	FLT_PREOP_SUCCESS_WITH_CALLBACK = 0,
	FLT_PREOP_SUCCESS_NO_CALLBACK = 1,
	FLT_PREOP_PENDING = 2,
	FLT_PREOP_DISALLOW_FASTIO = 3,
	FLT_PREOP_COMPLETE = 4,
	FLT_PREOP_SYNCHRONIZE = 5,
} FLT_PREOP_CALLBACK_STATUS;

typedef enum _FLT_POSTOP_CALLBACK_STATUS {
	FLT_POSTOP_FINISHED_PROCESSING = 0,
	FLT_POSTOP_MORE_PROCESSING_REQUIRED = 1,
} FLT_POSTOP_CALLBACK_STATUS;

typedef enum _FLT_SET_CONTEXT_OPERATION {
	FLT_SET_CONTEXT_REPLACE_IF_EXISTS = 0,
	FLT_SET_CONTEXT_KEEP_IF_EXISTS = 1,
} FLT_SET_CONTEXT_OPERATION;

/* The parameters of the operations hvimaflt handles (a union in the
 * Filter Manager; the members used here, and room for the largest). */
typedef union _FLT_PARAMETERS {
	struct {
		PIO_SECURITY_CONTEXT SecurityContext;
		ULONG Options;
		USHORT __attribute__((aligned(8))) FileAttributes;
		USHORT ShareAccess;
		ULONG __attribute__((aligned(8))) EaLength;
		PVOID EaBuffer;
		LARGE_INTEGER AllocationSize;
	} Create;
	struct {
		ULONG Length;
		ULONG __attribute__((aligned(8))) Key;
		LARGE_INTEGER ByteOffset;
		PVOID Buffer;
		PMDL MdlAddress;
	} Read, Write;
	struct {
		ULONG Length;
		FILE_INFORMATION_CLASS __attribute__((aligned(8))) FileInformationClass;
		PFILE_OBJECT ParentOfTarget;
		union {
			struct {
				BOOLEAN ReplaceIfExists;
				BOOLEAN AdvanceOnly;
			};
			ULONG ClusterCount;
			HANDLE DeleteHandle;
		};
		PVOID InfoBuffer;
	} SetFileInformation;
	struct {
		FS_FILTER_SECTION_SYNC_TYPE SyncType;
		ULONG PageProtection;
		PVOID OutputInformation;
		ULONG Flags;
		ULONG AllocationAttributes;
	} AcquireForSectionSynchronization;
	struct {
		PVOID Argument1, Argument2, Argument3, Argument4, Argument5;
		LARGE_INTEGER Argument6;
	} Others;
} FLT_PARAMETERS, *PFLT_PARAMETERS;

typedef struct _FLT_IO_PARAMETER_BLOCK {
	ULONG IrpFlags;
	UCHAR MajorFunction;
	UCHAR MinorFunction;
	UCHAR OperationFlags;
	UCHAR Reserved;
	PFILE_OBJECT TargetFileObject;
	PFLT_INSTANCE TargetInstance;
	FLT_PARAMETERS Parameters;
} FLT_IO_PARAMETER_BLOCK, *PFLT_IO_PARAMETER_BLOCK;

typedef struct _FLT_CALLBACK_DATA {
	ULONG Flags;
	PETHREAD Thread;
	PFLT_IO_PARAMETER_BLOCK Iopb;
	IO_STATUS_BLOCK IoStatus;
	PVOID TagData;
	union {
		struct {
			LIST_ENTRY QueueLinks;
			PVOID QueueContext[2];
		};
		PVOID FilterContext[4];
	};
	KPROCESSOR_MODE RequestorMode;
} FLT_CALLBACK_DATA, *PFLT_CALLBACK_DATA;

typedef struct _FLT_RELATED_OBJECTS {
	USHORT Size;
	USHORT TransactionContext;
	PFLT_FILTER Filter;
	PFLT_VOLUME Volume;
	PFLT_INSTANCE Instance;
	PFILE_OBJECT FileObject;
	PVOID Transaction;
} FLT_RELATED_OBJECTS, *PFLT_RELATED_OBJECTS;
typedef const FLT_RELATED_OBJECTS *PCFLT_RELATED_OBJECTS;

typedef struct _FLT_FILE_NAME_INFORMATION {
	USHORT Size;
	USHORT NamesParsed;
	FLT_FILE_NAME_OPTIONS Format;
	UNICODE_STRING Name;
	UNICODE_STRING Volume;
	UNICODE_STRING Share;
	UNICODE_STRING Extension;
	UNICODE_STRING Stream;
	UNICODE_STRING FinalComponent;
	UNICODE_STRING ParentDir;
} FLT_FILE_NAME_INFORMATION, *PFLT_FILE_NAME_INFORMATION;

typedef FLT_PREOP_CALLBACK_STATUS(NTAPI *PFLT_PRE_OPERATION_CALLBACK)(PFLT_CALLBACK_DATA Data,
									PCFLT_RELATED_OBJECTS FltObjects,
									PVOID *CompletionContext);
typedef FLT_POSTOP_CALLBACK_STATUS(NTAPI *PFLT_POST_OPERATION_CALLBACK)(PFLT_CALLBACK_DATA Data,
									  PCFLT_RELATED_OBJECTS FltObjects,
									  PVOID CompletionContext, ULONG Flags);
typedef VOID(NTAPI *PFLT_CONTEXT_CLEANUP_CALLBACK)(PFLT_CONTEXT Context, FLT_CONTEXT_TYPE ContextType);
typedef NTSTATUS(NTAPI *PFLT_FILTER_UNLOAD_CALLBACK)(ULONG Flags);
typedef NTSTATUS(NTAPI *PFLT_INSTANCE_SETUP_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, ULONG Flags,
						      ULONG VolumeDeviceType, ULONG VolumeFilesystemType);
typedef NTSTATUS(NTAPI *PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, ULONG Flags);
typedef VOID(NTAPI *PFLT_INSTANCE_TEARDOWN_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, ULONG Reason);

typedef struct _FLT_OPERATION_REGISTRATION {
	UCHAR MajorFunction;
	ULONG Flags;
	PFLT_PRE_OPERATION_CALLBACK PreOperation;
	PFLT_POST_OPERATION_CALLBACK PostOperation;
	PVOID Reserved1;
} FLT_OPERATION_REGISTRATION;

typedef struct _FLT_CONTEXT_REGISTRATION {
	FLT_CONTEXT_TYPE ContextType;
	USHORT Flags;
	PFLT_CONTEXT_CLEANUP_CALLBACK ContextCleanupCallback;
	SIZE_T Size;
	ULONG PoolTag;
	PVOID ContextAllocateCallback;
	PVOID ContextFreeCallback;
	PVOID Reserved1;
} FLT_CONTEXT_REGISTRATION;

typedef struct _FLT_REGISTRATION {
	USHORT Size;
	USHORT Version;
	ULONG Flags;
	const FLT_CONTEXT_REGISTRATION *ContextRegistration;
	const FLT_OPERATION_REGISTRATION *OperationRegistration;
	PFLT_FILTER_UNLOAD_CALLBACK FilterUnloadCallback;
	PFLT_INSTANCE_SETUP_CALLBACK InstanceSetupCallback;
	PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK InstanceQueryTeardownCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownStartCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownCompleteCallback;
	PVOID GenerateFileNameCallback;
	PVOID NormalizeNameComponentCallback;
	PVOID NormalizeContextCleanupCallback;
	PVOID TransactionNotificationCallback;
	PVOID NormalizeNameComponentExCallback;
	PVOID SectionNotificationCallback;
} FLT_REGISTRATION;

/* x64 layouts (the documented structures, pointer-aligned fields). */
_Static_assert(sizeof(FLT_OPERATION_REGISTRATION) == 32, "FLT_OPERATION_REGISTRATION");
_Static_assert(offsetof(FLT_OPERATION_REGISTRATION, PreOperation) == 8, "PreOperation");
_Static_assert(sizeof(FLT_CONTEXT_REGISTRATION) == 56, "FLT_CONTEXT_REGISTRATION");
_Static_assert(offsetof(FLT_CONTEXT_REGISTRATION, Size) == 16, "FLT_CONTEXT_REGISTRATION.Size");
_Static_assert(offsetof(FLT_CONTEXT_REGISTRATION, PoolTag) == 24, "PoolTag");
_Static_assert(sizeof(FLT_REGISTRATION) == 112, "FLT_REGISTRATION (version 0x0203)");
_Static_assert(offsetof(FLT_REGISTRATION, ContextRegistration) == 8, "ContextRegistration");
_Static_assert(offsetof(FLT_REGISTRATION, FilterUnloadCallback) == 24, "FilterUnloadCallback");
_Static_assert(offsetof(FLT_REGISTRATION, InstanceSetupCallback) == 32, "InstanceSetupCallback");
_Static_assert(offsetof(FLT_REGISTRATION, InstanceTeardownCompleteCallback) == 56, "InstanceTeardownComplete");
_Static_assert(offsetof(FLT_REGISTRATION, SectionNotificationCallback) == 104, "SectionNotificationCallback");
_Static_assert(offsetof(FLT_CALLBACK_DATA, Iopb) == 16, "FLT_CALLBACK_DATA.Iopb");
_Static_assert(offsetof(FLT_CALLBACK_DATA, IoStatus) == 24, "FLT_CALLBACK_DATA.IoStatus");
_Static_assert(offsetof(FLT_CALLBACK_DATA, RequestorMode) == 80, "FLT_CALLBACK_DATA.RequestorMode");
_Static_assert(offsetof(FLT_IO_PARAMETER_BLOCK, MajorFunction) == 4, "Iopb.MajorFunction");
_Static_assert(offsetof(FLT_IO_PARAMETER_BLOCK, TargetFileObject) == 8, "Iopb.TargetFileObject");
_Static_assert(offsetof(FLT_IO_PARAMETER_BLOCK, Parameters) == 24, "Iopb.Parameters");
_Static_assert(offsetof(FLT_PARAMETERS, Create.Options) == 8, "Create.Options");
_Static_assert(offsetof(FLT_PARAMETERS, Create.FileAttributes) == 16, "Create.FileAttributes");
_Static_assert(offsetof(FLT_PARAMETERS, Create.EaLength) == 24, "Create.EaLength");
_Static_assert(offsetof(FLT_PARAMETERS, Create.AllocationSize) == 40, "Create.AllocationSize");
_Static_assert(offsetof(FLT_PARAMETERS, Write.ByteOffset) == 16, "Write.ByteOffset");
_Static_assert(offsetof(FLT_PARAMETERS, SetFileInformation.FileInformationClass) == 8, "SetFileInformation.Class");
_Static_assert(offsetof(FLT_PARAMETERS, SetFileInformation.InfoBuffer) == 32, "SetFileInformation.InfoBuffer");
_Static_assert(offsetof(FLT_PARAMETERS, AcquireForSectionSynchronization.PageProtection) == 4, "PageProtection");
_Static_assert(offsetof(FLT_PARAMETERS, AcquireForSectionSynchronization.Flags) == 16, "SectionSync.Flags");
_Static_assert(offsetof(FLT_RELATED_OBJECTS, Instance) == 24, "FLT_RELATED_OBJECTS.Instance");
_Static_assert(offsetof(FLT_RELATED_OBJECTS, FileObject) == 32, "FLT_RELATED_OBJECTS.FileObject");
_Static_assert(sizeof(FLT_RELATED_OBJECTS) == 48, "FLT_RELATED_OBJECTS");
_Static_assert(offsetof(FLT_FILE_NAME_INFORMATION, Name) == 8, "FLT_FILE_NAME_INFORMATION.Name");
_Static_assert(sizeof(FLT_FILE_NAME_INFORMATION) == 120, "FLT_FILE_NAME_INFORMATION");
_Static_assert(offsetof(IO_SECURITY_CONTEXT, DesiredAccess) == 16, "IO_SECURITY_CONTEXT.DesiredAccess");

/* FLTMGR.SYS exports (fltmgr.def). */
NTSTATUS NTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, const FLT_REGISTRATION *Registration, PFLT_FILTER *RetFilter);
NTSTATUS NTAPI FltStartFiltering(PFLT_FILTER Filter);
VOID NTAPI FltUnregisterFilter(PFLT_FILTER Filter);
NTSTATUS NTAPI FltAllocateContext(PFLT_FILTER Filter, FLT_CONTEXT_TYPE ContextType, SIZE_T ContextSize,
				  POOL_TYPE PoolType, PFLT_CONTEXT *ReturnedContext);
VOID NTAPI FltReleaseContext(PFLT_CONTEXT Context);
VOID NTAPI FltDeleteContext(PFLT_CONTEXT Context);
NTSTATUS NTAPI FltGetStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PFLT_CONTEXT *Context);
NTSTATUS NTAPI FltSetStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, FLT_SET_CONTEXT_OPERATION Operation,
				   PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext);
NTSTATUS NTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData, FLT_FILE_NAME_OPTIONS NameOptions,
					 PFLT_FILE_NAME_INFORMATION *FileNameInformation);
VOID NTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
NTSTATUS NTAPI FltCreateFileEx(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle, PFILE_OBJECT *FileObject,
			       ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
			       PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
			       ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
			       ULONG EaLength, ULONG Flags);
NTSTATUS NTAPI FltClose(HANDLE FileHandle);
NTSTATUS NTAPI FltReadFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject, PLARGE_INTEGER ByteOffset,
			   ULONG Length, PVOID Buffer, FLT_IO_OPERATION_FLAGS Flags, PULONG BytesRead,
			   PVOID CallbackRoutine, PVOID CallbackContext);
ULONG NTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData);
PEPROCESS NTAPI FltGetRequestorProcess(PFLT_CALLBACK_DATA CallbackData);
NTSTATUS NTAPI FltIsDirectory(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance, PBOOLEAN IsDirectory);

#endif
