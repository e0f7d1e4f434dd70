/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_DHCHAP_H
#define NETUBLK_DHCHAP_H

/*
 * DH-HMAC-CHAP's cryptography (NVMe base specification 8.3.4.5), on openssl:
 * secrets in nvme-cli's DHHC-1 form, the key transformation, responses,
 * the augmented challenge and the FFDHE exchange.
 */
#include <stddef.h>
#include <stdint.h>

struct dhchap_key {
	uint8_t key[64];
	unsigned len; /* 32, 48 or 64 */
	uint8_t hash; /* transformation: 0 none, else NVME_AUTH_SHA* */
};

/*
 * "DHHC-1:0H:<base64 of key and its CRC-32>:" as nvme-cli writes it.
 * -EINVAL with *why for anything else (the secret never appears in why).
 */
int dhchap_key_parse(const char *s, struct dhchap_key *k, const char **why);

/* Writes k in DHHC-1 form (at least 104 bytes of out). */
void dhchap_key_format(const struct dhchap_key *k, char *out, size_t out_len);

/*
 * The key the response is keyed with: the secret itself, or for a key tied
 * to an NQN, HMAC(secret, NQN || "NVMe-over-Fabrics") with the key's hash.
 * Returns its length.
 */
int dhchap_transform(const struct dhchap_key *k, const char *nqn, uint8_t out[64]);

/*
 * The response to challenge c (hl bytes; the augmented one with a DH group):
 * HMAC(key, C || S || T || 0 || "HostHost" || NQNh || 0 || NQNc) from the
 * host, or with "Controller" and the NQNs the other way round (ctrl).
 */
int dhchap_response(uint8_t hash_id, const uint8_t *key, unsigned key_len, const uint8_t *c,
		    uint32_t seq, uint16_t tid, const char *hostnqn, const char *subnqn, int ctrl,
		    uint8_t *out);

/* HMAC(H(session key), challenge): the challenge when a DH group is in use. */
int dhchap_augment(uint8_t hash_id, const uint8_t *sess, size_t sess_len, const uint8_t *c,
		   uint8_t *out);

/* Random bytes for challenges and sequence numbers. */
int dhchap_random(void *out, size_t len);

/*
 * One side of an FFDHE exchange: a fresh key pair of the group, its public
 * value (the group's size in bytes, zero-padded), then the shared secret
 * with the peer's value, padded the same way (the kernel's DH does).
 */
struct dhchap_dh;
int dhchap_dh_new(uint8_t group_id, struct dhchap_dh **dh, uint8_t *pub, size_t pub_len);
int dhchap_dh_secret(struct dhchap_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *out,
		     size_t out_len);
void dhchap_dh_free(struct dhchap_dh *dh);

#endif
