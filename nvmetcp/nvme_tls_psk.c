// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nvme_tls_psk.h"
#include "nvme_secret.h"
#include "hkdf.h"

int nvme_tls_key_parse(const char *s, struct nvme_tls_key *k, const char **why)
{
	const char *b64 = s + 16, *end;
	uint8_t raw[64];
	int len;

	memset(k, 0, sizeof(*k));
	if (strncmp(s, "NVMeTLSkey-1:0", 14) || s[14] < '0' || s[14] > '2' || s[15] != ':') {
		*why = "not an NVMeTLSkey-1:0N: key (N 0, 1 or 2)";
		return -EINVAL;
	}
	k->hmac = (uint8_t)(s[14] - '0');
	end = strchr(b64, ':');
	if (!end || end[1]) {
		*why = "an NVMeTLSkey-1 key ends with ':'";
		return -EINVAL;
	}
	len = nvme_secret_decode(b64, (size_t)(end - b64), raw);
	if (len == -EBADMSG) {
		*why = "NVMeTLSkey-1 key fails its CRC (mistyped?)";
		return -EINVAL;
	}
	/* The transformation's hash fixes the length; without one, either. */
	if ((len != 32 && len != 48) || (k->hmac == 1 && len != 32) ||
	    (k->hmac == 2 && len != 48)) {
		*why = len < 0 ? "NVMeTLSkey-1 key is not base64 of a key and its CRC"
			       : "NVMeTLSkey-1 key must hold 32 bytes (01) or 48 bytes (02)";
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EINVAL;
	}
	memcpy(k->key, raw, (size_t)len);
	k->len = (unsigned)len;
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

void nvme_tls_key_format(const struct nvme_tls_key *k, char *out, size_t out_len)
{
	nvme_secret_format("NVMeTLSkey-1", k->hmac, k->key, k->len, out, out_len);
}

static const EVP_MD *md_of(uint8_t id)
{
	return id == 1 ? EVP_sha256() : id == 2 ? EVP_sha384() : NULL;
}

/*
 * HKDF-Expand-Label(HKDF-Extract(0, key), label, context, out_len); compat:
 * with libnvme's old HkdfLabel (see nu_hkdf_expand_label()).
 */
static int expand_label(const EVP_MD *md, const uint8_t *key, size_t key_len, const char *label,
			const char *ctx_pre, const char *ctx, bool compat, uint8_t *out,
			size_t out_len)
{
	uint8_t prk[EVP_MAX_MD_SIZE];
	int ret = nu_hkdf_extract(md, key, key_len, prk);

	if (!ret)
		ret = nu_hkdf_expand_label(md, prk, (size_t)EVP_MD_get_size(md), label, ctx_pre,
					   ctx, compat, out, out_len);
	OPENSSL_cleanse(prk, sizeof(prk));
	return ret;
}

/* Base64 of HMAC(retained, NQNh " " NQNc " NVMe-over-Fabrics") with the cipher's hash. */
static int psk_digest(const EVP_MD *md, const uint8_t *retained, size_t len, const char *hostnqn,
		      const char *subnqn, char *out)
{
	char msg[2 * 224 + 32];
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;

	snprintf(msg, sizeof(msg), "%s %s NVMe-over-Fabrics", hostnqn, subnqn);
	if (!HMAC(md, retained, (int)len, (const uint8_t *)msg, strlen(msg), mac, &mac_len))
		return -EIO;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
	return 0;
}

int nvme_tls_psk_derive(const struct nvme_tls_key *k, const char *hostnqn, const char *subnqn,
			unsigned identity_version, bool compat, struct nvme_tls_psk *out)
{
	uint8_t retained[48];
	char digest[72], ctx_pre[8] = "";
	const char *ctx;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (identity_version > 1 || strlen(hostnqn) > 223 || strlen(subnqn) > 223 ||
	    (k->len != 32 && k->len != 48))
		return -EINVAL;
	/* Without a transformation the key's length picks the hash. */
	out->cipher = k->hmac ? k->hmac : k->len == 32 ? 1 : 2;
	out->len = k->len;
	if (k->hmac)
		ret = expand_label(md_of(k->hmac), k->key, k->len, "HostNQN", "", hostnqn, compat,
				   retained, k->len);
	else
		memcpy(retained, k->key, k->len);
	if (!ret && identity_version == 1)
		ret = psk_digest(md_of(out->cipher), retained, k->len, hostnqn, subnqn, digest);
	if (ret)
		goto out;
	if (identity_version == 1) {
		snprintf(out->identity, sizeof(out->identity), "NVMe1R%02u %s %s %s", out->cipher,
			 hostnqn, subnqn, digest);
		snprintf(ctx_pre, sizeof(ctx_pre), "%02u ", out->cipher);
		ctx = digest;
	} else {
		snprintf(out->identity, sizeof(out->identity), "NVMe0R%02u %s %s", out->cipher,
			 hostnqn, subnqn);
		ctx = out->identity;
	}
	ret = expand_label(md_of(out->cipher), retained, k->len, "nvme-tls-psk", ctx_pre, ctx,
			   compat, out->key, out->len);
out:
	OPENSSL_cleanse(retained, sizeof(retained));
	if (ret)
		OPENSSL_cleanse(out, sizeof(*out));
	return ret;
}
