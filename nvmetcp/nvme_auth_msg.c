// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "nvme_auth_msg.h"
#include "digest.h"

/* auth_type: common messages (negotiate, failures) and DH-HMAC-CHAP's own. */
#define TYPE_COMMON 0x00
#define TYPE_DHCHAP 0x01
enum {
	ID_NEGOTIATE = 0x00,
	ID_CHALLENGE = 0x01,
	ID_REPLY = 0x02,
	ID_SUCCESS1 = 0x03,
	ID_SUCCESS2 = 0x04,
	ID_FAILURE2 = 0xf0,
	ID_FAILURE1 = 0xf1,
};
#define DHCHAP_AUTH_ID 0x01
/* In a protocol descriptor's ID list, hashes start at 0 and DH groups at 30. */
#define IDLIST_DH 30

static const char *const hash_names[] = {[1] = "sha256", [2] = "sha384", [3] = "sha512"};
static const char *const group_names[] = {"null",      "ffdhe2048", "ffdhe3072",
					  "ffdhe4096", "ffdhe6144", "ffdhe8192"};

unsigned nvme_auth_hash_len(uint8_t id)
{
	return id >= NVME_AUTH_SHA256 && id <= NVME_AUTH_SHA512 ? 16u + 16u * id : 0;
}

unsigned nvme_auth_dh_len(uint8_t id)
{
	static const unsigned bytes[] = {0, 256, 384, 512, 768, 1024};

	return id < sizeof(bytes) / sizeof(bytes[0]) ? bytes[id] : 0;
}

const char *nvme_auth_hash_name(uint8_t id)
{
	return nvme_auth_hash_len(id) ? hash_names[id] : "?";
}

const char *nvme_auth_group_name(uint8_t id)
{
	return id <= NVME_AUTH_FFDHE8192 ? group_names[id] : "?";
}

const char *nvme_auth_fail_name(uint8_t code)
{
	switch (code) {
	case NVME_AUTH_FAIL_FAILED:
		return "authentication failed";
	case NVME_AUTH_FAIL_NOT_USABLE:
		return "authentication protocol not usable";
	case NVME_AUTH_FAIL_CONCAT_MISMATCH:
		return "secure channel concatenation mismatch";
	case NVME_AUTH_FAIL_HASH_UNUSABLE:
		return "hash function not usable";
	case NVME_AUTH_FAIL_DHGROUP_UNUSABLE:
		return "DH group not usable";
	case NVME_AUTH_FAIL_INCORRECT_PAYLOAD:
		return "incorrect payload";
	case NVME_AUTH_FAIL_INCORRECT_MESSAGE:
		return "incorrect protocol message";
	default:
		return "unknown reason";
	}
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void header(uint8_t *out, uint8_t type, uint8_t id, uint16_t tid)
{
	out[0] = type;
	out[1] = id;
	out[2] = out[3] = 0;
	put_le16(out + 4, tid);
}

void nvme_auth_build_negotiate(uint8_t out[NVME_AUTH_NEGOTIATE_LEN], uint16_t tid, unsigned hashes,
			       unsigned groups)
{
	uint8_t *d = out + 8, nh = 0, ng = 0;

	memset(out, 0, NVME_AUTH_NEGOTIATE_LEN);
	header(out, TYPE_COMMON, ID_NEGOTIATE, tid);
	out[6] = 0; /* SC_C: no secure channel concatenation */
	out[7] = 1; /* one protocol descriptor */
	d[0] = DHCHAP_AUTH_ID;
	for (uint8_t id = NVME_AUTH_SHA256; id <= NVME_AUTH_SHA512; id++)
		if (hashes & 1u << id)
			d[4 + nh++] = id;
	for (uint8_t id = 0; id <= NVME_AUTH_FFDHE8192; id++)
		if (groups & 1u << id)
			d[4 + IDLIST_DH + ng++] = id;
	d[2] = nh;
	d[3] = ng;
}

static int bad(const char **why, uint8_t *reason, uint8_t code, const char *what)
{
	*why = what;
	*reason = code;
	return -EPROTO;
}

static int parse_challenge(const uint8_t *b, size_t len, unsigned hashes, unsigned groups,
			   struct nvme_auth_msg *m, uint8_t *reason, const char **why)
{
	if (len < 16)
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "challenge too short");
	m->hl = b[6];
	m->hash_id = b[8];
	m->group_id = b[9];
	m->dhvlen = get_le16(b + 10);
	m->seqnum = nu_get_le32(b + 12);
	if (m->hash_id > 31 || !(hashes & 1u << m->hash_id) || !nvme_auth_hash_len(m->hash_id))
		return bad(why, reason, NVME_AUTH_FAIL_HASH_UNUSABLE,
			   "challenge names a hash function the host did not offer");
	if (m->hl != nvme_auth_hash_len(m->hash_id))
		return bad(why, reason, NVME_AUTH_FAIL_HASH_UNUSABLE,
			   "challenge length does not match its hash function");
	if (m->group_id > NVME_AUTH_FFDHE8192 || !(groups & 1u << m->group_id))
		return bad(why, reason, NVME_AUTH_FAIL_DHGROUP_UNUSABLE,
			   "challenge names a DH group the host did not offer");
	if (m->dhvlen != nvme_auth_dh_len(m->group_id))
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD,
			   "DH value length does not match its group");
	if (16 + (size_t)m->hl + m->dhvlen > len)
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD,
			   "challenge longer than the data returned");
	m->cval = b + 16;
	m->dhv = m->dhvlen ? b + 16 + m->hl : NULL;
	return 0;
}

static int parse_success1(const uint8_t *b, size_t len, unsigned hashes, struct nvme_auth_msg *m,
			  uint8_t *reason, const char **why)
{
	unsigned known = 0;

	if (len < 16)
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "success1 too short");
	m->hl = b[6];
	for (uint8_t id = NVME_AUTH_SHA256; id <= NVME_AUTH_SHA512; id++)
		if (hashes & 1u << id && nvme_auth_hash_len(id) == m->hl)
			known = 1;
	if (!known)
		return bad(why, reason, NVME_AUTH_FAIL_HASH_UNUSABLE,
			   "success1 hash length of no offered hash function");
	m->rval = NULL;
	if (b[8] & 1) {
		if (16 + (size_t)m->hl > len)
			return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD,
				   "success1 response longer than the data returned");
		m->rval = b + 16;
	}
	return 0;
}

int nvme_auth_parse(const uint8_t *b, size_t len, uint16_t tid, unsigned hashes, unsigned groups,
		    struct nvme_auth_msg *m, uint8_t *reason, const char **why)
{
	memset(m, 0, sizeof(*m));
	if (len < 8)
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "message too short");
	m->tid = get_le16(b + 4);
	if (b[0] == TYPE_COMMON && b[1] == ID_FAILURE1) {
		/* Honoured whatever its transaction: the controller has given up. */
		m->kind = NVME_AUTH_MSG_FAILURE1;
		m->rescode = b[6];
		m->rescode_exp = b[7];
		return 0;
	}
	if (b[0] != TYPE_DHCHAP || (b[1] != ID_CHALLENGE && b[1] != ID_SUCCESS1))
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_MESSAGE, "unexpected message");
	if (m->tid != tid)
		return bad(why, reason, NVME_AUTH_FAIL_INCORRECT_MESSAGE,
			   "message of another transaction");
	if (b[1] == ID_CHALLENGE) {
		m->kind = NVME_AUTH_MSG_CHALLENGE;
		return parse_challenge(b, len, hashes, groups, m, reason, why);
	}
	m->kind = NVME_AUTH_MSG_SUCCESS1;
	return parse_success1(b, len, hashes, m, reason, why);
}

int nvme_auth_build_reply(uint8_t *out, size_t out_len, uint16_t tid, uint8_t hl,
			  const uint8_t *resp, const uint8_t *c2, uint32_t s2, const uint8_t *dhv,
			  uint16_t dhvlen)
{
	size_t len = 16 + 2 * (size_t)hl + dhvlen;

	if (len > out_len)
		return -EINVAL;
	memset(out, 0, len);
	header(out, TYPE_DHCHAP, ID_REPLY, tid);
	out[6] = hl;
	out[8] = c2 ? 1 : 0; /* CVALID */
	put_le16(out + 10, dhvlen);
	nu_put_le32(out + 12, c2 ? s2 : 0);
	memcpy(out + 16, resp, hl);
	if (c2)
		memcpy(out + 16 + hl, c2, hl);
	if (dhvlen)
		memcpy(out + 16 + 2 * hl, dhv, dhvlen);
	return (int)len;
}

void nvme_auth_build_success2(uint8_t out[NVME_AUTH_SUCCESS2_LEN], uint16_t tid)
{
	memset(out, 0, NVME_AUTH_SUCCESS2_LEN);
	header(out, TYPE_DHCHAP, ID_SUCCESS2, tid);
}

void nvme_auth_build_failure2(uint8_t out[NVME_AUTH_FAILURE2_LEN], uint16_t tid, uint8_t reason)
{
	header(out, TYPE_COMMON, ID_FAILURE2, tid);
	out[6] = 1; /* reason code: authentication failure */
	out[7] = reason;
}
