// SPDX-License-Identifier: MIT
/*
 * DH-HMAC-CHAP: keys, transformation, responses and the augmented challenge
 * against vectors computed by test/tools/dhchap.py (Python's hashlib and
 * hmac); the FFDHE exchange both ways; the messages byte by byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dhchap.h"
#include "digest.h"
#include "nvme_auth_msg.h"
#include "nvme_config.h"
#include "dhchap_vectors.h"

struct kat {
	const char *secret;
	const uint8_t *key, *chal, *transformed, *host_resp, *ctrl_resp, *sess, *augmented;
};

#define KAT(n)                                                                          \
	{ kat_secret_##n, kat_key_##n,	kat_chal_##n, kat_transformed_##n, kat_host_resp_##n, \
	  kat_ctrl_resp_##n, kat_sess_##n, kat_augmented_##n }
static const struct kat kats[4] = { [1] = KAT(1), [2] = KAT(2), [3] = KAT(3) };

static void test_known_answers(void **state)
{
	(void)state;
	for (uint8_t h = NVME_AUTH_SHA256; h <= NVME_AUTH_SHA512; h++) {
		const struct kat *k = &kats[h];
		unsigned hl = nvme_auth_hash_len(h);
		struct dhchap_key key;
		uint8_t out[64];
		const char *why;
		char again[128];

		assert_int_equal(dhchap_key_parse(k->secret, &key, &why), 0);
		assert_int_equal(key.len, hl);
		assert_int_equal(key.hash, h);
		assert_memory_equal(key.key, k->key, hl);
		dhchap_key_format(&key, again, sizeof(again));
		assert_string_equal(again, k->secret);

		assert_int_equal(dhchap_transform(&key, KAT_HOSTNQN, out), (int)hl);
		assert_memory_equal(out, k->transformed, hl);
		assert_int_equal(dhchap_response(h, out, hl, k->chal, 0x12345678, 0x0102,
						 KAT_HOSTNQN, KAT_SUBNQN, 0, out),
				 0);
		assert_memory_equal(out, k->host_resp, hl);
		assert_int_equal(dhchap_response(h, k->key, hl, k->chal, 0x9abcdef0, 0x0304,
						 KAT_HOSTNQN, KAT_SUBNQN, 1, out),
				 0);
		assert_memory_equal(out, k->ctrl_resp, hl);
		assert_int_equal(dhchap_augment(h, k->sess, 256, k->chal, out), 0);
		assert_memory_equal(out, k->augmented, hl);
	}
}

static void test_untransformed_key(void **state)
{
	struct dhchap_key key = { .len = 32, .hash = 0 };
	uint8_t out[64];
	char s[128];

	(void)state;
	memset(key.key, 0xa5, 32);
	dhchap_key_format(&key, s, sizeof(s));
	assert_memory_equal(s, "DHHC-1:00:", 10);
	assert_int_equal(dhchap_key_parse(s, &key, &(const char *){ 0 }), 0);
	assert_int_equal(dhchap_transform(&key, KAT_HOSTNQN, out), 32);
	assert_memory_equal(out, key.key, 32);
}

static void test_bad_secrets(void **state)
{
	static const char *const bad[] = {
		"DHHC-2:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOC:",
		"DHHC-1:04:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOC:",
		"DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOD:", /* CRC */
		"DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OO:",  /* length */
		"DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1O!C:", /* base64 */
		"DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOC:x",
		"DHHC-1:01:AQID:", /* a 3-byte "key" */
		"secret",
	};
	struct dhchap_key key;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(dhchap_key_parse(bad[i], &key, &why), -EINVAL);
		assert_non_null(why);
		assert_null(strstr(why, "AQgP")); /* never the secret itself */
	}
	/* nvme-cli's own output parses (its trailing colon is optional). */
	assert_int_equal(dhchap_key_parse("DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOC",
					  &key, &(const char *){ 0 }),
			 0);
}

static void test_dh_exchange(void **state)
{
	(void)state;
	for (uint8_t g = NVME_AUTH_FFDHE2048; g <= NVME_AUTH_FFDHE3072; g++) {
		static uint8_t pa[1024], pb[1024], sa[1024], sb[1024], bogus[1024];
		size_t n = nvme_auth_dh_len(g);
		struct dhchap_dh *a, *b;

		assert_int_equal(dhchap_dh_new(g, &a, pa, sizeof(pa)), (int)n);
		assert_int_equal(dhchap_dh_new(g, &b, pb, sizeof(pb)), (int)n);
		assert_int_equal(dhchap_dh_secret(a, pb, n, sa, sizeof(sa)), (int)n);
		assert_int_equal(dhchap_dh_secret(b, pa, n, sb, sizeof(sb)), (int)n);
		assert_memory_equal(sa, sb, n);
		assert_memory_not_equal(pa, pb, n);
		/* 0, 1 and p - 1 would give a known secret: refused. */
		memset(bogus, 0, n);
		assert_int_equal(dhchap_dh_secret(a, bogus, n, sa, sizeof(sa)), -EPROTO);
		bogus[n - 1] = 1;
		assert_int_equal(dhchap_dh_secret(a, bogus, n, sa, sizeof(sa)), -EPROTO);
		assert_int_equal(dhchap_dh_secret(a, pb, n - 1, sa, sizeof(sa)), -EINVAL);
		dhchap_dh_free(a);
		dhchap_dh_free(b);
	}
}

static void test_negotiate(void **state)
{
	uint8_t m[NVME_AUTH_NEGOTIATE_LEN];

	(void)state;
	nvme_auth_build_negotiate(m, 0x4321, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL);
	assert_int_equal(m[0], 0x00); /* common message */
	assert_int_equal(m[1], 0x00); /* negotiate */
	assert_int_equal(m[4] | m[5] << 8, 0x4321);
	assert_int_equal(m[6], 0); /* no secure channel concatenation */
	assert_int_equal(m[7], 1);
	assert_int_equal(m[8], 0x01); /* DH-HMAC-CHAP */
	assert_int_equal(m[10], 3);
	assert_int_equal(m[11], 6);
	assert_memory_equal(m + 12, "\x01\x02\x03", 3);
	assert_memory_equal(m + 12 + 30, "\x00\x01\x02\x03\x04\x05", 6);
	nvme_auth_build_negotiate(m, 1, 1u << NVME_AUTH_SHA384,
				  1u << NVME_AUTH_FFDHE4096 | 1u << NVME_AUTH_DH_NULL);
	assert_int_equal(m[10], 1);
	assert_int_equal(m[12], 2);
	assert_int_equal(m[11], 2);
	assert_memory_equal(m + 42, "\x00\x03", 2);
}

/* A challenge as a controller would send it. */
static size_t challenge(uint8_t *b, uint16_t tid, uint8_t hash, uint8_t group)
{
	unsigned hl = nvme_auth_hash_len(hash), dl = nvme_auth_dh_len(group);

	memset(b, 0, 16 + 64 + 1024);
	b[0] = 1;
	b[1] = 1;
	b[4] = (uint8_t)tid;
	b[5] = (uint8_t)(tid >> 8);
	b[6] = (uint8_t)hl;
	b[8] = hash;
	b[9] = group;
	b[10] = (uint8_t)dl;
	b[11] = (uint8_t)(dl >> 8);
	nu_put_le32(b + 12, 77);
	memset(b + 16, 0xcc, hl);
	memset(b + 16 + hl, 0xdd, dl);
	return 16 + hl + dl;
}

static void test_parse_challenge(void **state)
{
	static uint8_t b[4096];
	struct nvme_auth_msg m;
	const char *why;
	uint8_t reason;
	size_t n;

	(void)state;
	n = challenge(b, 9, NVME_AUTH_SHA384, NVME_AUTH_FFDHE2048);
	assert_int_equal(nvme_auth_parse(b, n, 9, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL, &m,
					 &reason, &why),
			 0);
	assert_int_equal(m.kind, NVME_AUTH_MSG_CHALLENGE);
	assert_int_equal(m.hl, 48);
	assert_int_equal(m.seqnum, 77);
	assert_int_equal(m.dhvlen, 256);
	assert_ptr_equal(m.cval, b + 16);
	assert_ptr_equal(m.dhv, b + 16 + 48);
	/* Each wrong field, with the explanation the host sends back in Failure2. */
	assert_int_equal(nvme_auth_parse(b, n, 10, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL, &m,
					 &reason, &why),
			 -EPROTO);
	assert_int_equal(reason, NVME_AUTH_FAIL_INCORRECT_MESSAGE);
	assert_int_equal(nvme_auth_parse(b, n - 1, 9, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL,
					 &m, &reason, &why),
			 -EPROTO);
	assert_int_equal(reason, NVME_AUTH_FAIL_INCORRECT_PAYLOAD);
	assert_int_equal(nvme_auth_parse(b, n, 9, 1u << NVME_AUTH_SHA256, NVME_AUTH_GROUPS_ALL, &m,
					 &reason, &why),
			 -EPROTO);
	assert_int_equal(reason, NVME_AUTH_FAIL_HASH_UNUSABLE);
	assert_int_equal(nvme_auth_parse(b, n, 9, NVME_AUTH_HASHES_ALL, 1u << NVME_AUTH_DH_NULL, &m,
					 &reason, &why),
			 -EPROTO);
	assert_int_equal(reason, NVME_AUTH_FAIL_DHGROUP_UNUSABLE);
	b[6] = 32; /* hl of another hash */
	assert_int_equal(nvme_auth_parse(b, n, 9, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL, &m,
					 &reason, &why),
			 -EPROTO);
	b[6] = 48;
	b[11] = 0; /* DH value length not the group's */
	assert_int_equal(nvme_auth_parse(b, n, 9, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL, &m,
					 &reason, &why),
			 -EPROTO);
	b[8] = 0x77; /* unknown hash id: no shift past the mask */
	assert_int_equal(nvme_auth_parse(b, n, 9, ~0u, ~0u, &m, &reason, &why), -EPROTO);
	/* The null group carries no DH value. */
	n = challenge(b, 9, NVME_AUTH_SHA256, NVME_AUTH_DH_NULL);
	assert_int_equal(nvme_auth_parse(b, n, 9, NVME_AUTH_HASHES_ALL, NVME_AUTH_GROUPS_ALL, &m,
					 &reason, &why),
			 0);
	assert_null(m.dhv);
}

static void test_parse_success_failure(void **state)
{
	uint8_t b[128] = { 1, 3, 0, 0, 5, 0, 32, 0, 1 };
	struct nvme_auth_msg m;
	const char *why;
	uint8_t reason;

	(void)state;
	memset(b + 16, 0xee, 32);
	assert_int_equal(nvme_auth_parse(b, 48, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why), 0);
	assert_int_equal(m.kind, NVME_AUTH_MSG_SUCCESS1);
	assert_ptr_equal(m.rval, b + 16);
	assert_int_equal(nvme_auth_parse(b, 47, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why),
			 -EPROTO);
	b[8] = 0; /* no response: nothing more needed */
	assert_int_equal(nvme_auth_parse(b, 16, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why), 0);
	assert_null(m.rval);
	b[6] = 31;
	assert_int_equal(nvme_auth_parse(b, 16, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why),
			 -EPROTO);
	/* Failure1 whatever its transaction; a common message of another kind is not. */
	memcpy(b, "\x00\xf1\x00\x00\x63\x00\x01\x01", 8);
	assert_int_equal(nvme_auth_parse(b, 8, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why), 0);
	assert_int_equal(m.kind, NVME_AUTH_MSG_FAILURE1);
	assert_int_equal(m.rescode_exp, NVME_AUTH_FAIL_FAILED);
	b[1] = 0xf0;
	assert_int_equal(nvme_auth_parse(b, 8, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why),
			 -EPROTO);
	assert_int_equal(nvme_auth_parse(b, 7, 5, NVME_AUTH_HASHES_ALL, 1, &m, &reason, &why),
			 -EPROTO);
}

static void test_reply_success2_failure2(void **state)
{
	uint8_t out[NVME_AUTH_REPLY_MAX], resp[32], c2[32], dhv[256];

	(void)state;
	memset(resp, 0x11, sizeof(resp));
	memset(c2, 0x22, sizeof(c2));
	memset(dhv, 0x33, sizeof(dhv));
	assert_int_equal(nvme_auth_build_reply(out, sizeof(out), 7, 32, resp, c2, 0xa1b2c3d4, dhv,
					       256),
			 16 + 64 + 256);
	assert_memory_equal(out, "\x01\x02\x00\x00\x07\x00\x20\x00\x01\x00\x00\x01", 12);
	assert_int_equal(nu_get_le32(out + 12), 0xa1b2c3d4);
	assert_memory_equal(out + 16, resp, 32);
	assert_memory_equal(out + 48, c2, 32);
	assert_memory_equal(out + 80, dhv, 256);
	/* Unidirectional: no challenge, S2 0, the challenge field still there (zero). */
	assert_int_equal(nvme_auth_build_reply(out, sizeof(out), 7, 32, resp, NULL, 99, NULL, 0),
			 80);
	assert_int_equal(out[8], 0);
	assert_int_equal(nu_get_le32(out + 12), 0);
	assert_int_equal(out[48] | out[79], 0);
	assert_int_equal(nvme_auth_build_reply(out, 79, 7, 32, resp, NULL, 0, NULL, 0), -EINVAL);
	nvme_auth_build_success2(out, 0x0a0b);
	assert_memory_equal(out, "\x01\x04\x00\x00\x0b\x0a\x00\x00", 8);
	nvme_auth_build_failure2(out, 3, NVME_AUTH_FAIL_INCORRECT_PAYLOAD);
	assert_memory_equal(out, "\x00\xf0\x00\x00\x03\x00\x01\x06", 8);
}

static void test_offer_lists(void **state)
{
	unsigned m;

	(void)state;
	assert_int_equal(nvme_auth_hashes_parse("sha256,hmac(sha512)", &m), 0);
	assert_int_equal(m, 1u << 1 | 1u << 3);
	assert_int_equal(nvme_auth_groups_parse("null, ffdhe8192", &m), 0);
	assert_int_equal(m, 1u << 0 | 1u << 5);
	assert_int_equal(nvme_auth_hashes_parse("md5", &m), -EINVAL);
	assert_int_equal(nvme_auth_hashes_parse("sha25", &m), -EINVAL);
	assert_int_equal(nvme_auth_groups_parse("", &m), -EINVAL);
	assert_int_equal(nvme_auth_groups_parse("ffdhe1024", &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_untransformed_key),
		cmocka_unit_test(test_bad_secrets),
		cmocka_unit_test(test_dh_exchange),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_parse_challenge),
		cmocka_unit_test(test_parse_success_failure),
		cmocka_unit_test(test_reply_success2_failure2),
		cmocka_unit_test(test_offer_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
