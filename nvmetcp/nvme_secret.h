/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_SECRET_H
#define NETUBLK_NVME_SECRET_H

/*
 * The body of nvme-cli's secret formats (DHHC-1 and NVMeTLSkey-1): base64 of
 * the key followed by its CRC-32 (zlib's, little-endian).
 */
#include <stddef.h>
#include <stdint.h>

/*
 * Decodes n base64 characters at b64 into key (at most 64 bytes) and checks
 * the CRC. Returns the key's length, -EINVAL if it is not base64 of a key
 * and a CRC, -EBADMSG if the CRC does not match. Wipes what it used.
 */
int nvme_secret_decode(const char *b64, size_t n, uint8_t key[64]);
/* "KIND:ID:<base64 of key (len at most 64) and its CRC>:" into out. */
void nvme_secret_format(const char *kind, unsigned id, const uint8_t *key, size_t len, char *out,
			size_t out_len);

#endif
