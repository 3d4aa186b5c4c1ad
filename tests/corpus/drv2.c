/*
 * drv2.c: a second native driver (hvcorpus2.sys) that imports from the first
 * one by its exports, as a boot driver importing from another driver does.
 */
#include <ntddk.h>

__declspec(dllimport) ULONG HvCorpusAdd(ULONG a, ULONG b);
__declspec(dllimport) ULONG HvCorpusVersion(void);

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path);
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
	(void)drv;
	(void)path;
	DbgPrint("hvcorpus2: %lu\n", HvCorpusAdd(HvCorpusVersion(), 2));
	return STATUS_SUCCESS;
}
