// SPDX-License-Identifier: MIT
/* The login state machine against a scripted target, and CHAP digests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "chap.h"
#include "login.h"
#include "text.h"

static const uint8_t isid[6] = { 0x80, 1, 2, 3, 0, 0 };

static struct iscsi_login_config base_cfg(void)
{
	return (struct iscsi_login_config){
		.initiator_name = "iqn.2026-11.test:ini",
		.target_name = "iqn.2026-11.test:tgt",
		.max_recv_dlen = 262144,
		.max_burst = 1048576,
		.first_burst = 262144,
		.immediate_data = true,
		.initial_r2t = false,
		.max_outstanding_r2t = 1,
	};
}

static char req_text[8192];
static uint32_t req_len;
static uint8_t req_bhs[ISCSI_BHS_LEN];

static void next_request(struct iscsi_login *l)
{
	assert_int_equal(iscsi_login_request(l, req_bhs, req_text, sizeof(req_text), &req_len), 0);
}

static bool req_has(const char *pair)
{
	for (uint32_t i = 0; i < req_len; i += strlen(req_text + i) + 1)
		if (!strcmp(req_text + i, pair))
			return true;
	return false;
}

static const char *req_get(const char *key)
{
	size_t n = strlen(key);

	for (uint32_t i = 0; i < req_len; i += strlen(req_text + i) + 1)
		if (!strncmp(req_text + i, key, n) && req_text[i + n] == '=')
			return req_text + i + n + 1;
	return NULL;
}

/* The target's answer: flags T/CSG/NSG, status, NUL-separated text given with '|'. */
static int respond(struct iscsi_login *l, bool transit, int csg, int nsg, int cls, int detail,
		   const char *text)
{
	uint8_t b[ISCSI_BHS_LEN] = { 0 }, data[1024];
	struct iscsi_hdr h;
	size_t n = strlen(text);

	memcpy(data, text, n + 1);
	for (size_t i = 0; i < n; i++)
		if (data[i] == '|')
			data[i] = 0;
	b[0] = ISCSI_OP_LOGIN_RSP;
	b[1] = (transit ? 0x80 : 0) | csg << 2 | (transit ? nsg : 0);
	b[14] = 0;
	b[15] = 5; /* TSIH */
	iscsi_put32(b + 16, l->itt);
	iscsi_put32(b + 24, 100); /* StatSN */
	iscsi_put32(b + 28, 1);	  /* ExpCmdSN */
	iscsi_put32(b + 32, 64);  /* MaxCmdSN */
	b[36] = cls;
	b[37] = detail;
	b[5] = n >> 16;
	b[6] = n >> 8;
	b[7] = n;
	iscsi_hdr_decode(b, &h);
	return iscsi_login_response(l, &h, data, n);
}

#define OP_ANSWER                                                                              \
	"HeaderDigest=None|DataDigest=None|MaxRecvDataSegmentLength=65536|"                  \
	"MaxBurstLength=524288|FirstBurstLength=65536|ImmediateData=Yes|InitialR2T=No|"      \
	"MaxOutstandingR2T=1|ErrorRecoveryLevel=0|DefaultTime2Wait=2|DefaultTime2Retain=0"

static void test_no_auth(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;

	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_true(req_has("AuthMethod=None"));
	assert_true(req_has("TargetName=iqn.2026-11.test:tgt"));
	assert_true(req_has("SessionType=Normal"));
	assert_int_equal(req_bhs[1], 0x80 | 0 << 2 | 1); /* T, CSG 0, NSG 1 */
	assert_memory_equal(req_bhs + 8, isid, 6);
	assert_int_equal(respond(&l, true, 0, 1, 0, 0, "TargetPortalGroupTag=1|AuthMethod=None"),
			 ISCSI_LOGIN_SEND);
	next_request(&l);
	assert_int_equal(req_bhs[1], 0x80 | 1 << 2 | 3);
	assert_true(req_has("InitialR2T=No"));
	assert_true(req_has("MaxRecvDataSegmentLength=262144"));
	assert_true(req_has("ErrorRecoveryLevel=0"));
	assert_int_equal(respond(&l, true, 1, 3, 0, 0, OP_ANSWER "|TargetAlias=disk1"),
			 ISCSI_LOGIN_DONE);
	assert_int_equal(l.p.max_send_dlen, 65536);
	assert_int_equal(l.p.max_burst, 524288);
	assert_int_equal(l.p.first_burst, 65536);
	assert_false(l.p.initial_r2t);
	assert_true(l.p.immediate_data);
	assert_int_equal(l.p.tsih, 5);
	assert_int_equal(l.p.statsn, 100);
	assert_int_equal(l.p.maxcmdsn, 64);
	assert_string_equal(l.p.target_alias, "disk1");
}

static void test_negotiation_rules(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;

	c.immediate_data = false;
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, true, 0, 1, 0, 0, "AuthMethod=None");
	next_request(&l);
	/* Target says InitialR2T=Yes (OR wins), ImmediateData=Yes (AND loses), bigger bursts. */
	assert_int_equal(respond(&l, false, 1, 0, 0, 0,
				 "InitialR2T=Yes|ImmediateData=Yes|MaxBurstLength=16776192|"
				 "X-com.example.Knob=7"),
			 ISCSI_LOGIN_SEND);
	assert_true(l.p.initial_r2t);
	assert_false(l.p.immediate_data);
	assert_int_equal(l.p.max_burst, 1048576); /* never above ours */
	/* The unknown proposal is answered NotUnderstood in the next request. */
	next_request(&l);
	assert_true(req_has("X-com.example.Knob=NotUnderstood"));
	assert_int_equal(respond(&l, true, 1, 3, 0, 0, "MaxRecvDataSegmentLength=Reject"),
			 ISCSI_LOGIN_DONE);
	assert_int_equal(l.p.max_send_dlen, 8192); /* the RFC default stands */
}

static void test_bad_answers(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;

	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, true, 0, 1, 0, 0, "AuthMethod=None");
	next_request(&l);
	assert_int_equal(respond(&l, true, 1, 3, 0, 0, "HeaderDigest=CRC32C"), -EPROTO);
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, true, 0, 1, 0, 0, "AuthMethod=None");
	next_request(&l);
	assert_int_equal(respond(&l, true, 1, 3, 0, 0, "MaxBurstLength=12"), -EPROTO);
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, true, 0, 1, 0, 0, "AuthMethod=None");
	next_request(&l);
	assert_int_equal(respond(&l, true, 1, 3, 0, 0, "ErrorRecoveryLevel=2"), -EPROTO);
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, true, 0, 1, 0, 0, "AuthMethod"), -EPROTO); /* no '=' */
}

static void test_status_classes(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;

	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 1, 1, "TargetAddress=127.0.0.2:3260,1"),
			 -EREMCHG);
	assert_string_equal(l.redirect, "127.0.0.2:3260,1");
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 2, 1, ""), -EACCES);
	assert_non_null(strstr(l.error, "authentication failed"));
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 2, 3, ""), -ENOENT);
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 3, 1, ""), -EAGAIN);
	/* A target that insists on CHAP when we have no credentials. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 0, 0, "AuthMethod=CHAP"), -EACCES);
	assert_non_null(strstr(l.error, "configure CHAP"));
}

static void chap_to_challenge(struct iscsi_login *l, const char *alg, const char *chal)
{
	char text[512];

	next_request(l);
	assert_true(req_has("AuthMethod=CHAP,None"));
	assert_int_equal(req_bhs[1] & 0x80, 0); /* no transit yet */
	assert_int_equal(respond(l, false, 0, 0, 0, 0, "AuthMethod=CHAP"), ISCSI_LOGIN_SEND);
	next_request(l);
	assert_non_null(req_get("CHAP_A"));
	snprintf(text, sizeof(text), "CHAP_A=%s|CHAP_I=7|CHAP_C=%s", alg, chal);
	assert_int_equal(respond(l, false, 0, 0, 0, 0, text), ISCSI_LOGIN_SEND);
}

#define CHAL16 "0x000102030405060708090a0b0c0d0e0f"

static void test_chap_oneway(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;
	/* H(id 7 || "secret" || 00..0f), from an independent implementation (Python hashlib). */
	static const struct {
		const char *alg, *resp;
	} v[] = {
		{ "5", "0x821643665b430359e52ac524d29c8f95" },
		{ "6", "0x5f08f97e0bb0424707cc38d4896e93d8875c52d9" },
		{ "7", "0x21056aca6d74a0bdfa8201905995033bc88baeb9c3d4fe84b33e0d99d151ca3a" },
		{ "8", "0x9a0e0345e1e88194cf628137b07a4745dd4ca26fd7d4c8e0d5cc0a6879fe467e" },
	};

	c.chap_user = "alice";
	c.chap_secret = "secret";
	c.chap_algs = "8,7,6,5";
	for (unsigned i = 0; i < 4; i++) {
		iscsi_login_init(&l, &c, isid, 0, 1, 1);
		chap_to_challenge(&l, v[i].alg, CHAL16);
		next_request(&l);
		assert_string_equal(req_get("CHAP_N"), "alice");
		assert_string_equal(req_get("CHAP_R"), v[i].resp);
		assert_null(req_get("CHAP_C")); /* one-way: no challenge of ours */
		assert_int_equal(respond(&l, true, 0, 1, 0, 0, ""), ISCSI_LOGIN_SEND);
		next_request(&l);
		assert_int_equal(respond(&l, true, 1, 3, 0, 0, OP_ANSWER), ISCSI_LOGIN_DONE);
	}
	/* Base64 challenges decode to the same bytes. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	chap_to_challenge(&l, "5", "0bAAECAwQFBgcICQoLDA0ODw==");
	next_request(&l);
	assert_string_equal(req_get("CHAP_R"), v[0].resp);
}

static void test_chap_refusals(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;
	char text[256];

	c.chap_user = "alice";
	c.chap_secret = "secret";
	c.chap_algs = "5";
	/* Weak challenge. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, false, 0, 0, 0, 0, "AuthMethod=CHAP");
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 0, 0, "CHAP_A=5|CHAP_I=1|CHAP_C=0x0001020304050607"),
			 -EACCES);
	assert_non_null(strstr(l.error, "too weak"));
	/* An algorithm we did not offer. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, false, 0, 0, 0, 0, "AuthMethod=CHAP");
	next_request(&l);
	snprintf(text, sizeof(text), "CHAP_A=7|CHAP_I=1|CHAP_C=%s", CHAL16);
	assert_int_equal(respond(&l, false, 0, 0, 0, 0, text), -EACCES);
	/* Garbage challenge encodings. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, false, 0, 0, 0, 0, "AuthMethod=CHAP");
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 0, 0, "CHAP_A=5|CHAP_I=1|CHAP_C=0xZZ"), -EPROTO);
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	respond(&l, false, 0, 0, 0, 0, "AuthMethod=CHAP");
	next_request(&l);
	assert_int_equal(respond(&l, false, 0, 0, 0, 0, "CHAP_A=5|CHAP_I=300|CHAP_C=" CHAL16),
			 -EPROTO);
}

static void test_chap_mutual(void **state)
{
	struct iscsi_login_config c = base_cfg();
	struct iscsi_login l;
	uint8_t ours[CHAP_MAX_CHALLENGE], resp[CHAP_MAX_DIGEST];
	char hex[2 * CHAP_MAX_DIGEST + 3], text[256];
	int n, id;

	c.chap_user = "alice";
	c.chap_secret = "secret";
	c.mutual_user = "target";
	c.mutual_secret = "other-secret";
	c.chap_algs = "7";
	for (int good = 0; good < 2; good++) {
		iscsi_login_init(&l, &c, isid, 0, 1, 1);
		chap_to_challenge(&l, "7", CHAL16);
		next_request(&l);
		n = chap_decode(req_get("CHAP_C"), ours, sizeof(ours));
		assert_true(n >= CHAP_MIN_CHALLENGE);
		assert_memory_not_equal(ours, "\x00\x01\x02\x03\x04\x05\x06\x07", 8);
		id = atoi(req_get("CHAP_I"));
		chap_response(CHAP_SHA256, id, good ? "other-secret" : "secret", ours, n, resp);
		chap_encode_hex(resp, 32, hex);
		snprintf(text, sizeof(text), "CHAP_N=target|CHAP_R=%s", hex);
		if (good) {
			assert_int_equal(respond(&l, true, 0, 1, 0, 0, text), ISCSI_LOGIN_SEND);
		} else {
			/* The target answered with the one-way secret: refused. */
			assert_int_equal(respond(&l, true, 0, 1, 0, 0, text), -EACCES);
			assert_non_null(strstr(l.error, "mutual CHAP"));
		}
	}
	/* A target that does not authenticate itself at all. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	chap_to_challenge(&l, "7", CHAL16);
	next_request(&l);
	assert_int_equal(respond(&l, true, 0, 1, 0, 0, ""), -EACCES);
	/* Nor may it skip authentication with AuthMethod=None. */
	iscsi_login_init(&l, &c, isid, 0, 1, 1);
	next_request(&l);
	assert_int_equal(respond(&l, true, 0, 1, 0, 0, "AuthMethod=None"), -EACCES);
}

static void test_chap_codec(void **state)
{
	uint8_t out[64];
	char hex[16];

	assert_int_equal(chap_decode("0xABcd", out, sizeof(out)), 2);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(chap_decode("0x", out, sizeof(out)), -EINVAL);
	assert_int_equal(chap_decode("0xabc", out, sizeof(out)), -EINVAL);
	assert_int_equal(chap_decode("abcd", out, sizeof(out)), -EINVAL);
	assert_int_equal(chap_decode("0xaabbcc", out, 2), -EINVAL); /* does not fit */
	assert_int_equal(chap_decode("0bYWJj", out, sizeof(out)), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(chap_decode("0bYWI=", out, sizeof(out)), 2);
	assert_int_equal(chap_decode("0bYW", out, sizeof(out)), -EINVAL);
	chap_encode_hex((const uint8_t *)"\x01\xfe", 2, hex);
	assert_string_equal(hex, "0x01fe");
	assert_int_equal(chap_digest_len(CHAP_MD5), 16);
	assert_int_equal(chap_digest_len(CHAP_SHA3_256), 32);
	assert_int_equal(chap_digest_len(9), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_auth),	      cmocka_unit_test(test_negotiation_rules),
		cmocka_unit_test(test_bad_answers),   cmocka_unit_test(test_status_classes),
		cmocka_unit_test(test_chap_oneway),   cmocka_unit_test(test_chap_refusals),
		cmocka_unit_test(test_chap_mutual),   cmocka_unit_test(test_chap_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
