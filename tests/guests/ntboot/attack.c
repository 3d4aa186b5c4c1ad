/*
 * attack.c: the ntboot attack drivers, one per scenario (-DATTACK_...),
 * each doing in DriverEntry what a rootkit driver does and printing the
 * addresses involved, so the test can check that hvima names them:
 *   INLINE  hookinl.sys: patches the first bytes of hvlib.sys!HvlibMix (a
 *           measured function of another driver) with a jump to its own
 *           code, then calls HvlibMix;
 *   IAT     hookiat.sys: overwrites drv06.sys's import address slot for
 *           HvlibMix with its own function, then calls drv06!DrvWork,
 *           which calls through the slot;
 *   INJECT  inject.sys: copies code into a fresh pool allocation and runs
 *           it;
 *   WIPE    wipe.sys: erases its own MZ/PE headers, then keeps running
 *           code of its own that had not run before.
 */
#include "drv.h"

DRV_LOAD_CONFIG;

#if defined(ATTACK_INLINE)
#define NAME "hookinl.sys"
#elif defined(ATTACK_IAT)
#define NAME "hookiat.sys"
#elif defined(ATTACK_INJECT)
#define NAME "inject.sys"
#elif defined(ATTACK_WIPE)
#define NAME "wipe.sys"
#else
#error "no ATTACK_ defined"
#endif

__declspec(dllexport) uint32_t AttackId(void);
__declspec(dllexport) uint32_t AttackId(void)
{
	return 0xA77AC4u;
}

static void say_addr(const char *what, uint64_t a)
{
	DRV_SAY(NAME, what);
	KePrintHex(a);
	KePrint("\r\n");
}

#if defined(ATTACK_INLINE) || defined(ATTACK_IAT)
__declspec(dllimport) uint32_t HvlibMix(uint32_t x);

__attribute__((noinline)) static uint32_t hook(uint32_t x)
{
	return x ^ 0x600DF00Du;
}
#endif

#if defined(ATTACK_INLINE)
static void attack(void)
{
	/* mov rax, imm64; jmp rax */
	uint8_t patch[12] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xe0};
	uint64_t target = (uint64_t)(uintptr_t)&HvlibMix, h = (uint64_t)(uintptr_t)hook;

	for (int i = 0; i < 8; i++)
		patch[2 + i] = (uint8_t)(h >> 8 * i);
	say_addr("patching hvlib.sys!HvlibMix at ", target);
	drv_poke((void *)(uintptr_t)target, patch, sizeof(patch));
	say_addr("HvlibMix(1) now returns ", HvlibMix(1));
}
#elif defined(ATTACK_IAT)
__declspec(dllimport) const struct nt_module *KeFindModule(const char *name);

/* drv06's import address slot that holds HvlibMix's address. */
static uint64_t *find_slot(const struct nt_module *m, uint64_t value)
{
	const uint8_t *b = (const uint8_t *)(uintptr_t)m->base;
	uint32_t pe = *(const uint32_t *)(b + 0x3c);
	uint32_t rva = *(const uint32_t *)(b + pe + 24 + 112 + 8 * 1), size = *(const uint32_t *)(b + pe + 24 + 116 + 8);

	for (uint32_t d = rva; d + 20 <= rva + size && *(const uint32_t *)(b + d + 16); d += 20)
		for (uint64_t *slot = (uint64_t *)(uintptr_t)(m->base + *(const uint32_t *)(b + d + 16)); *slot; slot++)
			if (*slot == value)
				return slot;
	return 0;
}

__declspec(dllimport) uint32_t DrvWork(uint32_t x);

static void attack(void)
{
	const struct nt_module *m = KeFindModule("drv06.sys");
	uint64_t *slot = m ? find_slot(m, (uint64_t)(uintptr_t)&HvlibMix) : 0;
	uint64_t h = (uint64_t)(uintptr_t)hook;

	if (!slot) {
		DRV_SAY(NAME, "error: no import slot for HvlibMix in drv06.sys\r\n");
		return;
	}
	say_addr("overwriting drv06.sys import slot at ", (uint64_t)(uintptr_t)slot);
	say_addr("with the address of its hook at ", h);
	*(volatile uint64_t *)slot = h;
	say_addr("drv06!DrvWork(1) now returns ", DrvWork(1));
}
#elif defined(ATTACK_INJECT)
/* mov eax, 0x1c0de; ret: position-independent */
static const uint8_t payload[] = {0xb8, 0xde, 0xc0, 0x01, 0x00, 0xc3};

static void attack(void)
{
	uint8_t *p = KeAllocatePool(4096);
	uint32_t (*fn)(void) = (uint32_t(*)(void))(uintptr_t)p;

	if (!p) {
		DRV_SAY(NAME, "error: no pool\r\n");
		return;
	}
	for (uint32_t i = 0; i < sizeof(payload); i++)
		p[i] = payload[i];
	say_addr("running injected code at ", (uint64_t)(uintptr_t)p);
	say_addr("injected code returned ", fn());
}
#elif defined(ATTACK_WIPE)
extern uint8_t __ImageBase[];

/* Runs only after the wipe: its page of .text was never translated. */
__attribute__((noinline, aligned(4096))) static uint32_t after_wipe(uint32_t x)
{
	return x * 0x2545F491u + 7;
}

static void attack(void)
{
	static const uint8_t zero[0x400];
	say_addr("wiping its own headers at ", (uint64_t)(uintptr_t)__ImageBase);
	drv_poke(__ImageBase, zero, sizeof(zero));
	say_addr("code after the wipe returned ", after_wipe(3));
}
#endif

long DriverEntry(struct nt_driver *self, void *reserved);

INIT_CODE long DriverEntry(struct nt_driver *self, void *reserved)
{
	(void)self, (void)reserved;
	attack();
	return 0;
}
