/*
 * sha256.h: SHA-256 (FIPS 180-4) for ntboot's channel driver, freestanding:
 * a guest driver has no crypto library (the Windows minifilter uses BCrypt).
 */
#ifndef NTBOOT_SHA256_H
#define NTBOOT_SHA256_H

#include <stddef.h>
#include <stdint.h>

void nt_sha256(const uint8_t *p, size_t n, uint8_t out[32]);

#endif
