/*
 * serial.h: polled output on COM1 (OVMF leaves it set up at 115200 8N1),
 * for winload after ExitBootServices and for the kernel. QEMU copies it to
 * the run's serial.log.
 */
#ifndef NTBOOT_SERIAL_H
#define NTBOOT_SERIAL_H

#include <stdint.h>

#define NT_COM1 0x3f8

static inline uint8_t nt_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void nt_serial(const char *s)
{
	for (; *s; s++) {
		while (!(nt_inb(NT_COM1 + 5) & 0x20))
			;
		__asm__ volatile("outb %0, %1" : : "a"((uint8_t)*s), "Nd"((uint16_t)NT_COM1));
	}
}

static inline void nt_serial_hex(uint64_t v)
{
	char b[19];
	b[0] = '0', b[1] = 'x', b[18] = 0;
	for (int i = 17; i >= 2; i--, v >>= 4)
		b[i] = "0123456789abcdef"[v & 15];
	nt_serial(b);
}

#endif
