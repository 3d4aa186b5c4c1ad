/*
 * test-sys.c: structural checks of hvimaflt.sys, read with lib/pe.h the
 * way the Windows loader and Code Integrity would look at it:
 *   PE32+ x64, subsystem 1 (native), the entry point is DriverEntry;
 *   imports from ntoskrnl.exe, FLTMGR.SYS and ksecdd.sys only, and exactly
 *   the functions listed below (a new import is a decision, not an accident);
 *   DYNAMIC_BASE and NX_COMPAT set, a non-empty .reloc that the base
 *   relocation directory points at;
 *   no section both writable and executable;
 *   a Load Config directory whose SecurityCookie points inside .data at the
 *   x64 default 0x00002B992DDFA232 (the value the loader replaces).
 *
 *   test-sys FILE.sys DRIVERENTRY_VA
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe.h"
#include "tap.h"

static const char *const expected[][2] = {
	{"ntoskrnl.exe", "DbgPrint"}, {"ntoskrnl.exe", "ExAllocatePoolWithTag"}, {"ntoskrnl.exe", "ExFreePool"},
	{"ntoskrnl.exe", "ExFreePoolWithTag"}, {"ntoskrnl.exe", "KeAcquireSpinLockRaiseToDpc"},
	{"ntoskrnl.exe", "KeBugCheckEx"}, {"ntoskrnl.exe", "KeReleaseSpinLock"}, {"ntoskrnl.exe", "ObfDereferenceObject"},
	{"ntoskrnl.exe", "RtlInitUnicodeString"}, {"ntoskrnl.exe", "SeLocateProcessImageName"},
	{"ntoskrnl.exe", "ZwClose"}, {"ntoskrnl.exe", "ZwCreateFile"}, {"ntoskrnl.exe", "ZwQueryInformationFile"},
	{"ntoskrnl.exe", "ZwReadFile"}, {"ntoskrnl.exe", "memcpy"}, {"ntoskrnl.exe", "memset"},
	{"FLTMGR.SYS", "FltAllocateContext"}, {"FLTMGR.SYS", "FltClose"}, {"FLTMGR.SYS", "FltCreateFileEx"},
	{"FLTMGR.SYS", "FltDeleteContext"}, {"FLTMGR.SYS", "FltGetFileNameInformation"},
	{"FLTMGR.SYS", "FltGetRequestorProcess"}, {"FLTMGR.SYS", "FltGetRequestorProcessId"},
	{"FLTMGR.SYS", "FltGetStreamContext"}, {"FLTMGR.SYS", "FltIsDirectory"}, {"FLTMGR.SYS", "FltReadFile"},
	{"FLTMGR.SYS", "FltRegisterFilter"}, {"FLTMGR.SYS", "FltReleaseContext"},
	{"FLTMGR.SYS", "FltReleaseFileNameInformation"}, {"FLTMGR.SYS", "FltSetStreamContext"},
	{"FLTMGR.SYS", "FltStartFiltering"}, {"FLTMGR.SYS", "FltUnregisterFilter"},
	{"ksecdd.sys", "BCryptCloseAlgorithmProvider"}, {"ksecdd.sys", "BCryptCreateHash"},
	{"ksecdd.sys", "BCryptDestroyHash"}, {"ksecdd.sys", "BCryptFinishHash"}, {"ksecdd.sys", "BCryptHashData"},
	{"ksecdd.sys", "BCryptOpenAlgorithmProvider"},
};
#define NEXP (sizeof(expected) / sizeof(expected[0]))

static struct hv_pe pe;
static uint64_t entry_va;
static char got[256][2][HV_CAP_NAME + 1];
static unsigned ngot;
static int bad_dll, bad_thunk;

static int on_import(void *ctx, const struct hv_pe_import *imp)
{
	(void)ctx;
	if (strcasecmp(imp->dll, "ntoskrnl.exe") && strcasecmp(imp->dll, "FLTMGR.SYS") && strcasecmp(imp->dll, "ksecdd.sys")) {
		printf("#   import from %s\n", imp->dll);
		bad_dll = 1;
	}
	for (uint32_t i = 0; i < imp->nthunks; i++) {
		const uint8_t *t = hv_pe_rva(&pe, (uint64_t)(imp->ilt_rva ? imp->ilt_rva : imp->iat_rva) + 8ull * i, 8);
		const uint8_t *name;
		uint64_t v;
		size_t k;
		if (!t) {
			bad_thunk = 1;
			continue;
		}
		v = hv_le64(t);
		name = (v >> 63) ? NULL : hv_pe_rva(&pe, (v & 0x7fffffff) + 2, 1);
		if (!name || ngot >= 256) {
			bad_thunk = 1; /* by ordinal, or out of the image */
			continue;
		}
		for (k = 0; k < 127 && hv_pe_rva(&pe, (v & 0x7fffffff) + 2 + k, 1) && name[k]; k++)
			got[ngot][1][k] = (char)name[k];
		snprintf(got[ngot][0], sizeof(got[0][0]), "%s", imp->dll);
		ngot++;
	}
	return 0;
}

static void test_native_x64_driver_entry(void)
{
	CHECK(pe.kind == HV_PE32PLUS);
	CHECK(pe.machine == HV_MACHINE_AMD64);
	CHECKF(pe.subsystem == HV_SUBSYS_NATIVE, "subsystem %u", pe.subsystem);
	CHECKF(pe.image_base + pe.entry_rva == entry_va, "entry 0x%llx, DriverEntry 0x%llx",
	       (unsigned long long)(pe.image_base + pe.entry_rva), (unsigned long long)entry_va);
}

static void test_imports_exactly_the_expected_functions(void)
{
	hv_why why = {{0}};
	CHECK(hv_pe_imports(&pe, on_import, NULL, &why) == HV_OK);
	CHECK(!bad_dll && !bad_thunk);
	CHECKF(ngot == NEXP, "%u imports, %zu expected", ngot, NEXP);
	for (size_t i = 0; i < NEXP; i++) {
		unsigned j;
		for (j = 0; j < ngot; j++)
			if (!strcasecmp(got[j][0], expected[i][0]) && !strcmp(got[j][1], expected[i][1]))
				break;
		CHECKF(j < ngot, "%s!%s not imported", expected[i][0], expected[i][1]);
	}
}

static void test_relocatable_and_nx(void)
{
	int reloc = 0;
	CHECK(pe.dll_characteristics & 0x0040); /* DYNAMIC_BASE */
	CHECK(pe.dll_characteristics & 0x0100); /* NX_COMPAT */
	CHECK(pe.dirs[HV_DIR_BASERELOC].size > 0);
	for (unsigned i = 0; i < pe.nsections; i++)
		if (!strcmp(pe.sections[i].name, ".reloc") && pe.sections[i].virtual_size > 0 &&
		    pe.sections[i].virtual_address == pe.dirs[HV_DIR_BASERELOC].rva)
			reloc = 1;
	CHECK(reloc);
}

static void test_no_writable_executable_section(void)
{
	for (unsigned i = 0; i < pe.nsections; i++) {
		uint32_t c = pe.sections[i].characteristics;
		CHECKF(!((c & HV_SCN_MEM_WRITE) && (c & HV_SCN_MEM_EXECUTE)), "section %s is W+X", pe.sections[i].name);
	}
}

static void test_load_config_security_cookie(void)
{
	struct hv_pe_loadcfg lc;
	hv_why why = {{0}};
	const uint8_t *cookie;
	uint64_t rva;
	int in_data = 0;

	CHECK(hv_pe_loadcfg(&pe, &lc, &why) == HV_OK);
	CHECKF(lc.security_cookie >= pe.image_base, "SecurityCookie 0x%llx", (unsigned long long)lc.security_cookie);
	rva = lc.security_cookie - pe.image_base;
	for (unsigned i = 0; i < pe.nsections; i++) {
		const struct hv_pe_section *s = &pe.sections[i];
		if (!strcmp(s->name, ".data") && rva >= s->virtual_address && rva + 8 <= s->virtual_address + s->virtual_size)
			in_data = 1;
	}
	CHECKF(in_data, "SecurityCookie RVA 0x%llx is not in .data", (unsigned long long)rva);
	cookie = hv_pe_rva(&pe, rva, 8);
	CHECK(cookie && hv_le64(cookie) == HV_GS_COOKIE_DEFAULT64);
}

int main(int argc, char **argv)
{
	static uint8_t buf[16 << 20];
	hv_why why = {{0}};
	FILE *f;
	size_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: test-sys FILE.sys DRIVERENTRY_VA\n");
		return 2;
	}
	entry_va = strtoull(argv[2], NULL, 0);
	f = fopen(argv[1], "rb");
	if (!f) {
		printf("not ok 1 - %s: cannot open\n", argv[1]);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (hv_pe_parse(&pe, buf, n, HV_LAYOUT_FILE, &why)) {
		printf("not ok 1 - %s parses as PE: %s\n", argv[1], why.msg);
		return 1;
	}
	RUN(test_native_x64_driver_entry);
	RUN(test_imports_exactly_the_expected_functions);
	RUN(test_relocatable_and_nx);
	RUN(test_no_writable_executable_section);
	RUN(test_load_config_security_cookie);
	hv_pe_free(&pe);
	return tap_done();
}
