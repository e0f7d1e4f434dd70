/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_DIGEST_H
#define NETUBLK_DIGEST_H

/*
 * CRC32C as iSCSI and NVMe/TCP digests use it: initial value ~0, result
 * inverted, sent least significant byte first. isa-l's crc32_iscsi does
 * the work with the CPU's CRC32 instruction where it has one.
 */
#include <stddef.h>
#include <stdint.h>

#define NU_CRC32C_INIT 0xffffffffu

uint32_t nu_crc32c_update(uint32_t state, const void *buf, size_t len);

static inline uint32_t nu_crc32c_final(uint32_t state)
{
	return ~state;
}

static inline uint32_t nu_crc32c(const void *buf, size_t len)
{
	return nu_crc32c_final(nu_crc32c_update(NU_CRC32C_INIT, buf, len));
}

static inline void nu_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline uint32_t nu_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Header digests: CRC32C of hdr[0..len) stored at hdr + len. Returns len + 4. */
static inline unsigned nu_hdgst_append(uint8_t *hdr, unsigned len)
{
	nu_put_le32(hdr + len, nu_crc32c(hdr, len));
	return len + 4;
}

static inline int nu_hdgst_ok(const uint8_t *hdr, unsigned len)
{
	return nu_get_le32(hdr + len) == nu_crc32c(hdr, len);
}

#endif
