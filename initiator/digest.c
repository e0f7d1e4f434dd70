// SPDX-License-Identifier: MIT
#include <isa-l/crc.h>

#include "digest.h"

uint32_t nu_crc32c_update(uint32_t state, const void *buf, size_t len)
{
	/* isa-l takes an int length: feed huge buffers in pieces. */
	const unsigned char *p = buf;

	while (len) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;

		state = crc32_iscsi((unsigned char *)p, n, state);
		p += n;
		len -= n;
	}
	return state;
}
