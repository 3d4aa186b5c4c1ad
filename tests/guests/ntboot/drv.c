/*
 * drv.c: the ntboot boot drivers, one source built as many images
 * (-DDRV_N=n gives distinct code and data; DRV_NAME the module name):
 *   - N 0 is hvlib.sys, a library driver exporting HvlibMix/HvlibScale;
 *   - every driver exports DrvWork (so its export directory names it);
 *     drivers with N % 3 == 0 import HvlibMix, N 7 and 11 import drv03's
 *     Drv03Twist (DRV_IMPORTS_DRV03);
 *   - DRV_BIG links bigtext.S (several MB of .text) and calls into it;
 *   - DRV_PAGE has code in a PAGE section;
 *   - DRV_UNLOAD sets an unload routine (the image-reuse scenario).
 * DriverEntry (in INIT, freed after it returns) checks that the loader set
 * the /GS cookie and the CFG check pointer, calls DrvWork, and prints.
 */
#include "drv.h"

#ifndef DRV_N
#error "DRV_N must be set"
#endif

#define K1 (0x9E3779B9u * (DRV_N + 1u) + 0x7F4A7C15u)
#define K2 (0x85EBCA6Bu ^ (DRV_N * 0x01000193u))

DRV_LOAD_CONFIG;

#if DRV_N == 0
__declspec(dllexport) uint32_t HvlibMix(uint32_t x);
__declspec(dllexport) uint32_t HvlibScale(uint32_t x, uint32_t k);

__declspec(dllexport) __attribute__((noinline)) uint32_t HvlibMix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	return x ^ (x >> 16);
}

__declspec(dllexport) __attribute__((noinline)) uint32_t HvlibScale(uint32_t x, uint32_t k)
{
	return x * k + (x >> 3);
}
#elif DRV_N % 3 == 0
__declspec(dllimport) uint32_t HvlibMix(uint32_t x);
#endif

#if DRV_N == 3
__declspec(dllexport) uint32_t Drv03Twist(uint32_t x);
__declspec(dllexport) __attribute__((noinline)) uint32_t Drv03Twist(uint32_t x)
{
	return (x << 7 | x >> 25) ^ 0xA5A5A5A5u;
}
#endif
#ifdef DRV_IMPORTS_DRV03
__declspec(dllimport) uint32_t Drv03Twist(uint32_t x);
#endif

#ifdef DRV_BIG
uint64_t BigSum(uint64_t x); /* bigtext.S */
#endif

static const uint32_t table[8] = {K1, K2, K1 ^ K2, K1 + 1, K2 + 2, K1 * 3, K2 * 5, DRV_N};
uint32_t drv_state = DRV_N;

__declspec(dllexport) uint32_t DrvWork(uint32_t x);

#ifdef DRV_PAGE
PAGE_CODE static uint32_t paged_step(uint32_t x, uint32_t i)
{
	return (x ^ table[i & 7]) * K2 + i;
}
#endif

__declspec(dllexport) __attribute__((noinline)) uint32_t DrvWork(uint32_t x)
{
	for (uint32_t i = 0; i < 8; i++) {
		x = (x ^ table[i]) * K1;
		x ^= x >> (13 + (DRV_N % 5));
#ifdef DRV_PAGE
		x = paged_step(x, i);
#endif
	}
#if DRV_N % 3 == 0 && DRV_N != 0
	x = HvlibMix(x);
#endif
#ifdef DRV_IMPORTS_DRV03
	x = Drv03Twist(x);
#endif
	drv_state += x;
	return x;
}

#ifdef DRV_UNLOAD
static void drv_unload(struct nt_driver *self)
{
	(void)self;
	DRV_SAY(DRV_NAME, "unload\r\n");
}
#endif

long DriverEntry(struct nt_driver *self, void *reserved);

INIT_CODE long DriverEntry(struct nt_driver *self, void *reserved)
{
	uint32_t v;

	(void)reserved;
	if (__security_cookie == NT_COOKIE_DEFAULT || __security_cookie == 0) {
		DRV_SAY(DRV_NAME, "error: the loader did not set the /GS cookie\r\n");
		return -1;
	}
	if (drv_guard_check == drv_guard_default) {
		DRV_SAY(DRV_NAME, "error: the loader did not set the CFG check pointer\r\n");
		return -1;
	}
	v = DrvWork((uint32_t)drv_guard_check((uint64_t)DRV_N));
#ifdef DRV_BIG
	v ^= (uint32_t)BigSum(v);
#endif
#ifdef DRV_UNLOAD
	self->unload = drv_unload;
#else
	(void)self;
#endif
	DRV_SAY(DRV_NAME, "DriverEntry ok, work ");
	KePrintHex(v);
	KePrint("\r\n");
	return 0;
}
