/*
 * dll.c: a PE32+ Windows DLL for the PE corpus (hvcorpus.dll). It imports
 * from kernel32.dll normally and from version.dll through a delay-load
 * import (an import library made by dlltool -y), so the image has both an
 * import and a delay-import directory whose address slots a loader writes.
 */
#include <windows.h>

DWORD WINAPI GetFileVersionInfoSizeW(LPCWSTR name, LPDWORD handle);

__declspec(dllexport) DWORD hv_corpus_ticks(void);
__declspec(dllexport) DWORD hv_corpus_ticks(void)
{
	return GetTickCount() + GetCurrentProcessId();
}

__declspec(dllexport) DWORD hv_corpus_version_size(const wchar_t *path);
__declspec(dllexport) DWORD hv_corpus_version_size(const wchar_t *path)
{
	DWORD h = 0;
	return GetFileVersionInfoSizeW(path, &h);
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}

/* dlltool puts each delay-import descriptor in .text$2 and ld leaves data
 * directory 13 empty; this all-zero descriptor sorts right after it and ends
 * the table (rules.mk points directory 13 at the pair with pe-setdir). */
__attribute__((section(".text$2z"), aligned(16), used)) static const unsigned char delay_end[32];
