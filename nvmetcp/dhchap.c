// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "dhchap.h"
#include "digest.h"
#include "nvme_auth_msg.h"
#include "nvme_secret.h"

static const EVP_MD *md_of(uint8_t hash_id)
{
	switch (hash_id) {
	case NVME_AUTH_SHA256:
		return EVP_sha256();
	case NVME_AUTH_SHA384:
		return EVP_sha384();
	case NVME_AUTH_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

int dhchap_key_parse(const char *s, struct dhchap_key *k, const char **why)
{
	const char *b64, *end;
	size_t n;
	int len;

	memset(k, 0, sizeof(*k));
	if (strncmp(s, "DHHC-1:", 7) || s[7] != '0' || s[8] < '0' || s[8] > '3' || s[9] != ':') {
		*why = "not a DHHC-1:0N: secret";
		return -EINVAL;
	}
	k->hash = (uint8_t)(s[8] - '0');
	b64 = s + 10;
	end = strchr(b64, ':');
	n = end ? (size_t)(end - b64) : strlen(b64);
	if (end && end[1]) {
		*why = "DHHC-1 secret is not base64 of 36, 52 or 68 bytes";
		return -EINVAL;
	}
	len = nvme_secret_decode(b64, n, k->key);
	if (len == -EBADMSG) {
		*why = "DHHC-1 secret fails its CRC (mistyped?)";
		return -EINVAL;
	}
	if (len != 32 && len != 48 && len != 64) {
		*why = len < 0 ? "DHHC-1 secret is not base64 of 36, 52 or 68 bytes"
			       : "DHHC-1 secret must hold a 32, 48 or 64-byte key";
		OPENSSL_cleanse(k->key, sizeof(k->key));
		return -EINVAL;
	}
	k->len = (unsigned)len;
	return 0;
}

void dhchap_key_format(const struct dhchap_key *k, char *out, size_t out_len)
{
	nvme_secret_format("DHHC-1", k->hash, k->key, k->len, out, out_len);
}

static int hmac(uint8_t hash_id, const uint8_t *key, size_t key_len, const uint8_t *msg,
		size_t msg_len, uint8_t *out)
{
	const EVP_MD *md = md_of(hash_id);
	unsigned len = 0;

	if (!md || !HMAC(md, key, (int)key_len, msg, msg_len, out, &len))
		return -EINVAL;
	return (int)len;
}

int dhchap_transform(const struct dhchap_key *k, const char *nqn, uint8_t out[64])
{
	static const char suffix[] = "NVMe-over-Fabrics";
	uint8_t msg[256 + sizeof(suffix)];
	size_t n = strlen(nqn);
	int ret;

	if (!k->hash) {
		memcpy(out, k->key, k->len);
		return (int)k->len;
	}
	if (n > 256)
		return -ENAMETOOLONG;
	memcpy(msg, nqn, n);
	memcpy(msg + n, suffix, sizeof(suffix) - 1);
	ret = hmac(k->hash, k->key, k->len, msg, n + sizeof(suffix) - 1, out);
	OPENSSL_cleanse(msg, sizeof(msg));
	return ret;
}

int dhchap_response(uint8_t hash_id, const uint8_t *key, unsigned key_len, const uint8_t *c,
		    uint32_t seq, uint16_t tid, const char *hostnqn, const char *subnqn, int ctrl,
		    uint8_t *out)
{
	unsigned hl = nvme_auth_hash_len(hash_id);
	const char *who = ctrl ? "Controller" : "HostHost";
	const char *first = ctrl ? subnqn : hostnqn, *second = ctrl ? hostnqn : subnqn;
	size_t n1 = strlen(first), n2 = strlen(second), off = 0;
	uint8_t msg[NVME_AUTH_MAX_HASH + 7 + 10 + 2 * 256 + 1];
	int ret;

	if (!hl || n1 > 256 || n2 > 256)
		return -EINVAL;
	memcpy(msg, c, hl);
	off = hl;
	nu_put_le32(msg + off, seq);
	msg[off + 4] = (uint8_t)tid;
	msg[off + 5] = (uint8_t)(tid >> 8);
	msg[off + 6] = 0; /* SC_C: no secure channel concatenation */
	off += 7;
	memcpy(msg + off, who, strlen(who));
	off += strlen(who);
	memcpy(msg + off, first, n1);
	off += n1;
	msg[off++] = 0;
	memcpy(msg + off, second, n2);
	off += n2;
	ret = hmac(hash_id, key, key_len, msg, off, out);
	OPENSSL_cleanse(msg, sizeof(msg));
	return ret < 0 ? ret : 0;
}

int dhchap_augment(uint8_t hash_id, const uint8_t *sess, size_t sess_len, const uint8_t *c,
		   uint8_t *out)
{
	const EVP_MD *md = md_of(hash_id);
	uint8_t hashed[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	int ret;

	if (!md || !EVP_Digest(sess, sess_len, hashed, &hl, md, NULL))
		return -EINVAL;
	ret = hmac(hash_id, hashed, hl, c, hl, out);
	OPENSSL_cleanse(hashed, sizeof(hashed));
	return ret < 0 ? ret : 0;
}

int dhchap_random(void *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? 0 : -EIO;
}

/* ---------------------------------------------------------------- FFDHE */

struct dhchap_dh {
	EVP_PKEY *key;
	uint8_t group_id;
};

void dhchap_dh_free(struct dhchap_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->key);
	free(dh);
}

int dhchap_dh_new(uint8_t group_id, struct dhchap_dh **out, uint8_t *pub, size_t pub_len)
{
	size_t size = nvme_auth_dh_len(group_id);
	struct dhchap_dh *dh;
	EVP_PKEY_CTX *ctx;
	BIGNUM *bn = NULL;
	int ok;

	*out = NULL;
	if (!size || pub_len < size)
		return -EINVAL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->group_id = group_id;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	ok = ctx && EVP_PKEY_keygen_init(ctx) > 0 &&
	     EVP_PKEY_CTX_set_group_name(ctx, nvme_auth_group_name(group_id)) > 0 &&
	     EVP_PKEY_generate(ctx, &dh->key) > 0 &&
	     EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY, &bn) > 0 &&
	     BN_bn2binpad(bn, pub, (int)size) == (int)size;
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		dhchap_dh_free(dh);
		return -EIO;
	}
	*out = dh;
	return (int)size;
}

static EVP_PKEY *peer_key(uint8_t group_id, const uint8_t *peer, size_t len)
{
	BIGNUM *bn = BN_bin2bn(peer, (int)len, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *key = NULL;

	if (bn && bld && ctx &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    nvme_auth_group_name(group_id), 0) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, bn) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		key = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	return key;
}

int dhchap_dh_secret(struct dhchap_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *out,
		     size_t out_len)
{
	size_t size = nvme_auth_dh_len(dh->group_id), len = out_len;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;
	int ok;

	if (peer_len != size || out_len < size)
		return -EINVAL;
	pk = peer_key(dh->group_id, peer, peer_len);
	if (!pk)
		return -EPROTO;
	ctx = EVP_PKEY_CTX_new(dh->key, NULL);
	/* derive_set_peer checks the value (2 <= y <= p - 2, in the subgroup). */
	ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_dh_pad(ctx, 1) > 0 &&
	     EVP_PKEY_derive_set_peer(ctx, pk) > 0 && EVP_PKEY_derive(ctx, out, &len) > 0 &&
	     len == size;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok ? (int)size : -EPROTO;
}
