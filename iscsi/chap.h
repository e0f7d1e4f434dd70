/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_CHAP_H
#define NETUBLK_ISCSI_CHAP_H

#include <stddef.h>
#include <stdint.h>

/* CHAP_A values (RFC 7143 and the IANA registry that extends it): digest algorithms. */
enum chap_alg {
	CHAP_MD5 = 5,
	CHAP_SHA1 = 6,
	CHAP_SHA256 = 7,
	CHAP_SHA3_256 = 8,
};

#define CHAP_MAX_DIGEST 32
#define CHAP_MIN_CHALLENGE 16 /* shorter challenges are refused as weak */
#define CHAP_MAX_CHALLENGE 1024

/* Digest length of alg, or 0 if it is not one we implement. */
unsigned chap_digest_len(int alg);
const char *chap_alg_name(int alg);

/* out = H(id || secret || challenge), openssl EVP. Returns the length or -errno. */
int chap_response(int alg, uint8_t id, const char *secret, const uint8_t *challenge,
		  size_t challenge_len, uint8_t out[CHAP_MAX_DIGEST]);

/* "0x..." hex or "0b..." base64 -> bytes. Returns the length or -EINVAL. */
int chap_decode(const char *s, uint8_t *out, size_t cap);
/* bytes -> "0x..." hex; out needs 2 * n + 3 bytes. */
void chap_encode_hex(const uint8_t *in, size_t n, char *out);

#endif
