// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <isa-l/crc.h>

#include "nvme_secret.h"
#include "digest.h"

/* The formats append zlib's CRC-32, which is isa-l's gzip CRC (crc32_gzip_refl). */

int nvme_secret_decode(const char *b64, size_t n, uint8_t key[64])
{
	uint8_t raw[3 * 128 / 4];
	int len;

	if (!n || n % 4 || n > 128)
		return -EINVAL;
	len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts the bytes that padding stands for. */
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		len--;
	if (len <= 4 || len > 68) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EINVAL;
	}
	len -= 4;
	if (nu_get_le32(raw + len) != crc32_gzip_refl(0, raw, (uint64_t)len)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EBADMSG;
	}
	memcpy(key, raw, (size_t)len);
	OPENSSL_cleanse(raw, sizeof(raw));
	return len;
}

void nvme_secret_format(const char *kind, unsigned id, const uint8_t *key, size_t len, char *out,
			size_t out_len)
{
	uint8_t raw[68];
	char b64[96];

	memcpy(raw, key, len);
	nu_put_le32(raw + len, crc32_gzip_refl(0, key, len));
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)len + 4);
	snprintf(out, out_len, "%s:%02u:%s:", kind, id, b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
}
