/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_TLS_PSK_H
#define NETUBLK_NVME_TLS_PSK_H

/*
 * NVMe/TCP TLS pre-shared keys (NVMe/TCP transport specification 3.6.1.3
 * and 3.6.1.4, TP 8011 and 8018), as nvme-cli and libnvme compute them:
 * the configured PSK in its interchange form, the retained PSK made from
 * it with the host NQN, the PSK identity, and the TLS PSK the handshake
 * uses. Pure; openssl's HKDF and HMAC.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A configured PSK: "NVMeTLSkey-1:HH:<base64 of key and its CRC-32>:". */
struct nvme_tls_key {
	uint8_t key[48];
	unsigned len; /* 32 or 48 */
	uint8_t hmac; /* retained-PSK transformation: 0 none, 1 SHA-256, 2 SHA-384 */
};

/* -EINVAL with *why (which never shows the key) for anything but a well-formed key. */
int nvme_tls_key_parse(const char *s, struct nvme_tls_key *k, const char **why);
/* Writes k in interchange form (at least 96 bytes of out). */
void nvme_tls_key_format(const struct nvme_tls_key *k, char *out, size_t out_len);

/* "NVMe1R02 " + two NQNs + the base64 of a SHA-384 digest, and room to spare. */
#define NVME_TLS_IDENTITY_MAX 544

struct nvme_tls_psk {
	char identity[NVME_TLS_IDENTITY_MAX];
	uint8_t key[48];
	unsigned len;
	/* The hash of the identity and the cipher suite: 1 SHA-256 (TLS_AES_128_GCM_SHA256), 2
	 * SHA-384 (TLS_AES_256_GCM_SHA384). */
	uint8_t cipher;
};

/*
 * The TLS PSK and its identity for hostnqn talking to subnqn:
 * identity_version 1 ("NVMe1R0H NQNh NQNc digest", NVMe/TCP 2.0 and
 * nvme-cli's default) or 0 ("NVMe0R0H NQNh NQNc", NVMe/TCP 1.0c).
 * compat: the derivation of libnvme before 1.16 (nvme-cli 2.15 and
 * older, "--compat"), whose HKDF labels lack RFC 8446's length bytes.
 */
int nvme_tls_psk_derive(const struct nvme_tls_key *k, const char *hostnqn, const char *subnqn,
			unsigned identity_version, bool compat, struct nvme_tls_psk *out);

#endif
