// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "hkdf.h"

/* One HKDF operation: extract (key is the input keying material) or expand (key is the PRK). */
static int hkdf(const EVP_MD *md, int mode, const uint8_t *key, size_t key_len, const uint8_t *info,
		size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	int ok = pc && EVP_PKEY_derive_init(pc) > 0 && EVP_PKEY_CTX_set_hkdf_mode(pc, mode) > 0 &&
		 EVP_PKEY_CTX_set_hkdf_md(pc, md) > 0 &&
		 EVP_PKEY_CTX_set1_hkdf_key(pc, key, (int)key_len) > 0 &&
		 (!info_len || EVP_PKEY_CTX_add1_hkdf_info(pc, info, (int)info_len) > 0) &&
		 EVP_PKEY_derive(pc, out, &out_len) > 0;

	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -EIO;
}

int nu_hkdf_extract(const EVP_MD *md, const uint8_t *key, size_t key_len, uint8_t *prk)
{
	return hkdf(md, EVP_PKEY_HKDEF_MODE_EXTRACT_ONLY, key, key_len, NULL, 0, prk,
		    (size_t)EVP_MD_get_size(md));
}

int nu_hkdf_expand_label(const EVP_MD *md, const uint8_t *prk, size_t prk_len, const char *label,
			 const char *ctx_pre, const char *ctx, bool nvme_compat, uint8_t *out,
			 size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t n = 0, ll = 6 + strlen(label), cl = strlen(ctx_pre) + strlen(ctx);
	int ret;

	if (ll > 255 || cl > 255 || out_len > 0xffff)
		return -EINVAL;
	info[n++] = (uint8_t)(nvme_compat ? out_len : out_len >> 8);
	info[n++] = (uint8_t)(nvme_compat ? out_len >> 8 : out_len);
	if (!nvme_compat)
		info[n++] = (uint8_t)ll;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, ll - 6);
	n += ll;
	if (!nvme_compat)
		info[n++] = (uint8_t)cl;
	memcpy(info + n, ctx_pre, strlen(ctx_pre));
	memcpy(info + n + strlen(ctx_pre), ctx, strlen(ctx));
	n += cl;
	ret = hkdf(md, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY, prk, prk_len, info, n, out, out_len);
	OPENSSL_cleanse(info, sizeof(info));
	return ret;
}
