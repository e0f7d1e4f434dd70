// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>

#include "chap.h"

static const EVP_MD *chap_md(int alg)
{
	switch (alg) {
	case CHAP_MD5:
		return EVP_md5();
	case CHAP_SHA1:
		return EVP_sha1();
	case CHAP_SHA256:
		return EVP_sha256();
	case CHAP_SHA3_256:
		return EVP_sha3_256();
	default:
		return NULL;
	}
}

unsigned chap_digest_len(int alg)
{
	const EVP_MD *md = chap_md(alg);

	return md ? (unsigned)EVP_MD_get_size(md) : 0;
}

const char *chap_alg_name(int alg)
{
	switch (alg) {
	case CHAP_MD5:
		return "MD5";
	case CHAP_SHA1:
		return "SHA-1";
	case CHAP_SHA256:
		return "SHA-256";
	case CHAP_SHA3_256:
		return "SHA3-256";
	default:
		return "unknown";
	}
}

int chap_response(int alg, uint8_t id, const char *secret, const uint8_t *challenge,
		  size_t challenge_len, uint8_t out[CHAP_MAX_DIGEST])
{
	const EVP_MD *md = chap_md(alg);
	EVP_MD_CTX *ctx;
	unsigned len = 0;
	int ok;

	if (!md)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, &id, 1) &&
	     EVP_DigestUpdate(ctx, secret, strlen(secret)) &&
	     EVP_DigestUpdate(ctx, challenge, challenge_len) && EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok ? (int)len : -EIO;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int chap_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n = strlen(s);
		if (!n || n % 2 || n / 2 > cap)
			return -EINVAL;
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[i] = hi << 4 | lo;
		}
		return n / 2;
	}
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		uint8_t tmp[(CHAP_MAX_CHALLENGE + 2) / 3 * 3 + 3];
		int len, pad = 0;

		s += 2;
		n = strlen(s);
		if (!n || n % 4 || n / 4 * 3 > sizeof(tmp))
			return -EINVAL;
		len = EVP_DecodeBlock(tmp, (const unsigned char *)s, n);
		if (len < 0)
			return -EINVAL;
		pad = (s[n - 1] == '=') + (s[n - 2] == '=');
		len -= pad;
		if ((size_t)len > cap)
			return -EINVAL;
		memcpy(out, tmp, len);
		return len;
	}
	return -EINVAL;
}

void chap_encode_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*out++ = digits[in[i] >> 4];
		*out++ = digits[in[i] & 15];
	}
	*out = '\0';
}
