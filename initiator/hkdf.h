/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_HKDF_H
#define NETUBLK_HKDF_H

/* HKDF (RFC 5869) with TLS 1.3's labels (RFC 8446 7.1), on openssl. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* HKDF-Extract(0, key): the PRK (the hash's length) into prk. */
int nu_hkdf_extract(const EVP_MD *md, const uint8_t *key, size_t key_len, uint8_t *prk);

/*
 * HKDF-Expand-Label(prk, label, ctx_pre || ctx, out_len): "tls13 " is put
 * before label. nvme_compat lays HkdfLabel out as libnvme did before 1.16
 * (length little-endian, no length bytes before label and context).
 */
int nu_hkdf_expand_label(const EVP_MD *md, const uint8_t *prk, size_t prk_len, const char *label,
			 const char *ctx_pre, const char *ctx, bool nvme_compat, uint8_t *out,
			 size_t out_len);

#endif
