/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_AUTH_MSG_H
#define NETUBLK_NVME_AUTH_MSG_H

/*
 * The messages of NVMe in-band authentication (DH-HMAC-CHAP, NVMe base
 * specification 8.3.4 / TP 8006) as bytes: what the host sends with
 * Authentication Send, what it reads with Authentication Receive. Pure code
 * (bytes in, bytes out); the cryptography is in dhchap.c.
 */
#include <stddef.h>
#include <stdint.h>

/* Authentication Send/Receive: SECP and SPSP of DH-HMAC-CHAP. */
#define NVME_AUTH_SECP 0xe9

/* Hash function and DH group identifiers; the masks below have bit (1 << id). */
enum { NVME_AUTH_SHA256 = 1, NVME_AUTH_SHA384 = 2, NVME_AUTH_SHA512 = 3 };
enum {
	NVME_AUTH_DH_NULL = 0,
	NVME_AUTH_FFDHE2048 = 1,
	NVME_AUTH_FFDHE3072 = 2,
	NVME_AUTH_FFDHE4096 = 3,
	NVME_AUTH_FFDHE6144 = 4,
	NVME_AUTH_FFDHE8192 = 5,
};
#define NVME_AUTH_HASHES_ALL 0x0eu /* SHA-256, -384, -512 */
#define NVME_AUTH_GROUPS_ALL 0x3fu /* null and the five ffdhe groups */

/* Failure reason code explanations (Failure1 / Failure2). */
enum {
	NVME_AUTH_FAIL_FAILED = 1,
	NVME_AUTH_FAIL_NOT_USABLE = 2,
	NVME_AUTH_FAIL_CONCAT_MISMATCH = 3,
	NVME_AUTH_FAIL_HASH_UNUSABLE = 4,
	NVME_AUTH_FAIL_DHGROUP_UNUSABLE = 5,
	NVME_AUTH_FAIL_INCORRECT_PAYLOAD = 6,
	NVME_AUTH_FAIL_INCORRECT_MESSAGE = 7,
};

#define NVME_AUTH_NEGOTIATE_LEN 72
#define NVME_AUTH_SUCCESS2_LEN	16
#define NVME_AUTH_FAILURE2_LEN	8
#define NVME_AUTH_MAX_HASH	64   /* SHA-512 */
#define NVME_AUTH_MAX_DH	1024 /* ffdhe8192 */
/* Reply with the largest hash and group: header, response, challenge, DH value. */
#define NVME_AUTH_REPLY_MAX (16 + 2 * NVME_AUTH_MAX_HASH + NVME_AUTH_MAX_DH)
/* Authentication Receive buffer: any message a controller may answer with. */
#define NVME_AUTH_RECV_LEN 4096

/* Bytes of a hash's value (0: unknown id); bytes of a group's DH value (0 for null). */
unsigned nvme_auth_hash_len(uint8_t hash_id);
unsigned nvme_auth_dh_len(uint8_t group_id);
/* "sha256"... / "null", "ffdhe2048"...; "?" for an unknown id. */
const char *nvme_auth_hash_name(uint8_t hash_id);
const char *nvme_auth_group_name(uint8_t group_id);
/* Why a side refused, as Failure1/2's reason code explanation says. */
const char *nvme_auth_fail_name(uint8_t code);

/* AUTH_Negotiate offering the hashes and groups in the masks; NVME_AUTH_NEGOTIATE_LEN bytes. */
void nvme_auth_build_negotiate(uint8_t out[NVME_AUTH_NEGOTIATE_LEN], uint16_t tid, unsigned hashes,
			       unsigned groups);

/* A received message: what kind it is and its fields. Pointers point into the buffer. */
enum nvme_auth_kind {
	NVME_AUTH_MSG_CHALLENGE,
	NVME_AUTH_MSG_SUCCESS1,
	NVME_AUTH_MSG_FAILURE1,
};
struct nvme_auth_msg {
	enum nvme_auth_kind kind;
	uint16_t tid;
	uint8_t hl;		   /* challenge, success1 */
	uint8_t hash_id, group_id; /* challenge */
	uint32_t seqnum;	   /* challenge: S1 */
	const uint8_t *cval;	   /* challenge: C1, hl bytes */
	const uint8_t *dhv;	   /* challenge: controller's DH value, dhvlen bytes */
	uint16_t dhvlen;
	const uint8_t *rval;	      /* success1 with a response: hl bytes, else NULL */
	uint8_t rescode, rescode_exp; /* failure1 */
};

/*
 * Decodes a message the controller returned (len bytes at buf) and checks it
 * against what the host offered: the transaction ID, a hash and group it
 * offered, hash and DH value lengths those imply, everything inside len.
 * -EPROTO with *why and *reason (the Failure2 explanation to send) otherwise.
 */
int nvme_auth_parse(const uint8_t *buf, size_t len, uint16_t tid, unsigned hashes, unsigned groups,
		    struct nvme_auth_msg *m, uint8_t *reason, const char **why);

/*
 * DH-HMAC-CHAP_Reply: the host's response (hl bytes), its challenge C2 for
 * the controller with sequence number S2 (c2 NULL: unidirectional, S2 0),
 * and its DH value. Returns the message length, or -EINVAL if out_len is short.
 */
int nvme_auth_build_reply(uint8_t *out, size_t out_len, uint16_t tid, uint8_t hl,
			  const uint8_t *resp, const uint8_t *c2, uint32_t s2, const uint8_t *dhv,
			  uint16_t dhvlen);
void nvme_auth_build_success2(uint8_t out[NVME_AUTH_SUCCESS2_LEN], uint16_t tid);
void nvme_auth_build_failure2(uint8_t out[NVME_AUTH_FAILURE2_LEN], uint16_t tid, uint8_t reason);

#endif
