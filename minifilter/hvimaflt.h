/*
 * hvimaflt.h: what the files of hvimaflt.sys share.
 *
 *   gs.c        the entry point: /GS cookie, Load Config, then DriverEntry
 *   hvimaflt.c  Filter Manager registration and the operation callbacks
 *   measure.c   reading and hashing files (BCrypt), names, the policy file,
 *               and reports to the hypervisor channel
 * The portable parts (record format, sender, policy, name normalization)
 * are lib/chanrec.c, lib/chansend.c and lib/fltpolicy.c, built as they are.
 */
#ifndef HVIMAFLT_H
#define HVIMAFLT_H

#include <stdint.h>
#include <ntifs.h>

#include "chanrec.h"
#include "fltmgr.h"
#include "fltpolicy.h"

#define HVF_TAG 0x66766d68u /* "hmvf" */
#define HVF_POLICY_FILE L"\\SystemRoot\\System32\\drivers\\hvimaflt.policy"
#define HVF_MAX_HASH_BYTES (256ull << 20) /* larger files are reported without a digest */

/* The stream context: what the driver knows about one measured or watched
 * file. The path is kept so that writes, renames and deletes, seen where
 * names cannot be queried (paging I/O), can still be reported. */
struct hvf_stream {
	volatile LONG dirty;   /* written since measured: report and drop at cleanup */
	BOOLEAN measured;      /* digest holds the content's SHA-256 */
	BOOLEAN watched;       /* under a watch prefix */
	BOOLEAN executable;    /* by extension or MZ header */
	BOOLEAN directory;
	UCHAR digest[32];
	ULONG64 size;
	char *path;            /* normalized UTF-8, pool */
};

/* One report before it is encoded. */
struct hvf_report {
	ULONG pid;
	UCHAR access, decision;
	USHORT flags;
	ULONG64 size;
	UCHAR digest[32];
	char path[HV_REC_PATH_MAX + 1];
	char proc[HV_REC_PROC_MAX + 1];
};

extern PFLT_FILTER hvf_filter;
extern struct hv_fpol hvf_pol;

NTSTATUS hvf_driver_entry(PDRIVER_OBJECT drv, PUNICODE_STRING reg);

/* measure.c */
NTSTATUS hvf_crypto_init(void);
void hvf_crypto_fini(void);
NTSTATUS hvf_policy_load(void);
void hvf_policy_free(void);
/* Hash a file object (from offset 0, at most HVF_MAX_HASH_BYTES). */
NTSTATUS hvf_hash_fileobj(PFLT_INSTANCE inst, PFILE_OBJECT fo, UCHAR digest[32], ULONG64 *size, BOOLEAN *mz);
/* Open name below this filter, read-only, and hash it. */
NTSTATUS hvf_hash_name(PFLT_INSTANCE inst, PUNICODE_STRING name, UCHAR digest[32], ULONG64 *size, BOOLEAN *mz);
/* The normalized name of the file of an operation into r->path. */
NTSTATUS hvf_name(PFLT_CALLBACK_DATA data, struct hvf_report *r, PFLT_FILE_NAME_INFORMATION *ni);
/* Requestor pid and image name (PASSIVE_LEVEL only for the name). */
void hvf_requestor(PFLT_CALLBACK_DATA data, struct hvf_report *r);
/* Encode and send one record; serialized, sequence-numbered. */
void hvf_send(const struct hvf_report *r);

#endif
