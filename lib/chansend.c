/*
 * chansend.c: the channel sender (chansend.h). One `out dx, al` per byte:
 * QEMU executes it as one port write whatever the accelerator (TCG, KVM),
 * and the plugin's callback on that instruction sees each byte exactly
 * once; a `rep outsb` is split by TCG into iterations that the plugin would
 * have to count from RCX and RSI, for no gain at record sizes.
 */
#include "chansend.h"

void hv_chan_send(uint16_t port, const void *buf, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	const volatile uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = p[i];
		__asm__ volatile("outb %0, %1" : : "a"(b), "Nd"(port) : "memory");
	}
#else
	(void)port, (void)buf, (void)len;
#endif
}
