/*
 * chansend.h: the guest side of the hvima channel. Sends bytes (normally
 * one record of chanrec.h) to the channel I/O port, one `out dx, al` per
 * byte (docs/channel.md says why not `rep outsb`).
 *
 * Freestanding, <stdint.h>/<stddef.h> and inline asm only: the same file
 * builds into the Windows minifilter, the ntboot guest's driver and the
 * UEFI test guest. The plugin accepts a byte only if the `out` instruction
 * that wrote it lies in the code of the measured, unmodified sender image,
 * so this code must be compiled into that image (not a shared library).
 *
 * The caller makes one record's bytes contiguous on the port: the plugin
 * reassembles per vCPU and `hvima collect` sees one stream, so a sender
 * that can be preempted or runs on several CPUs sends under a spin lock at
 * raised IRQL (no migration, no interleaving).
 */
#ifndef HVIMA_CHANSEND_H
#define HVIMA_CHANSEND_H

#include <stddef.h>
#include <stdint.h>

#define HV_CHAN_PORT_DEFAULT 0x4e8

void hv_chan_send(uint16_t port, const void *buf, size_t len);

#endif
