// SPDX-License-Identifier: MIT
/*
 * Fuzz target for everything that parses bytes from an iSCSI target:
 * BHS decoding and checking, login text and the login state machine in
 * every stage, sense data. Build with libFuzzer:
 *   clang -g -fsanitize=fuzzer,address,undefined -Iiscsi -Iinitiator \
 *     test/fuzz/fuzz_iscsi.c iscsi/{pdu,text,chap,login,scsi}.c initiator/io.c \
 *     $(pkg-config --cflags --libs libiscsi libcrypto) -o fuzz_iscsi
 * test/unit/test_fuzz_smoke.c runs it over a fixed corpus in every build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "login.h"
#include "pdu.h"
#include "scsi.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

/* Seeds for test/unit/test_fuzz_smoke.c: login answers, '|' standing for NUL. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	static const struct {
		uint8_t flags;
		const char *text;
	} seeds[] = {
		{ 0x00, "AuthMethod=CHAP" },
		{ 0x00, "CHAP_A=5|CHAP_I=1|CHAP_C=0x000102030405060708090a0b0c0d0e0f" },
		{ 0x00, "CHAP_A=7|CHAP_I=255|CHAP_C=0bAAECAwQFBgcICQoLDA0ODw==" },
		{ 0x81, "CHAP_N=t|CHAP_R=0x00112233445566778899aabbccddeeff" },
		{ 0x87, "HeaderDigest=None|MaxRecvDataSegmentLength=65536|X-Y=z" },
		{ 0x87, "MaxBurstLength=99999999999999|ErrorRecoveryLevel=1" },
		{ 0x00, "TargetAddress=127.0.0.1:3260,1" },
	};
	size_t n;

	if (i >= sizeof(seeds) / sizeof(seeds[0]))
		return 0;
	n = strlen(seeds[i].text);
	if (48 + n > cap)
		return 0;
	memset(buf, 0, 48);
	buf[0] = 0x23;
	buf[1] = seeds[i].flags;
	buf[5] = n >> 16;
	buf[6] = n >> 8;
	buf[7] = n;
	memcpy(buf + 48, seeds[i].text, n);
	for (size_t j = 48; j < 48 + n; j++)
		if (buf[j] == '|')
			buf[j] = 0;
	return 48 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t isid[6] = { 0x80 };
	struct iscsi_login_config cfg = {
		.initiator_name = "iqn.2026-11.fuzz:i",
		.target_name = "iqn.2026-11.fuzz:t",
		.chap_user = "u",
		.chap_secret = "secret-one",
		.mutual_user = "t",
		.mutual_secret = "secret-two",
		.chap_algs = "8,7,6,5",
		.max_recv_dlen = 8192,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
	};
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 }, req[ISCSI_BHS_LEN];
	char text[2048];
	struct iscsi_login *l;
	struct iscsi_hdr h;
	const char *why;
	uint32_t dlen;
	bool retry;
	char desc[128];

	memcpy(bhs, data, size < sizeof(bhs) ? size : sizeof(bhs));
	iscsi_hdr_decode(bhs, &h);
	iscsi_hdr_check(&h, 8192, &why);

	/* The payload, as it would sit in a receive buffer of exactly its size. */
	const uint8_t *payload = size > ISCSI_BHS_LEN ? data + ISCSI_BHS_LEN : NULL;
	size_t plen = size > ISCSI_BHS_LEN ? size - ISCSI_BHS_LEN : 0;
	uint8_t *copy = malloc(plen + 1);

	if (!copy)
		return 0;
	if (plen)
		memcpy(copy, payload, plen);
	scsi_result(bhs[3], copy, plen, &retry, desc, sizeof(desc));

	/* Walk the login machine: each step fed the same bytes as the target's answer. */
	l = malloc(sizeof(*l));
	iscsi_login_init(l, &cfg, isid, 0, 0, 1);
	h.opcode = ISCSI_OP_LOGIN_RSP;
	h.itt = 0;
	for (int step = 0; step < 6; step++) {
		if (iscsi_login_request(l, req, text, sizeof(text), &dlen) < 0)
			break;
		h.dlen = plen;
		h.flags = bhs[1];
		if (iscsi_login_response(l, &h, copy, plen) != ISCSI_LOGIN_SEND)
			break;
	}
	free(l);
	free(copy);
	return 0;
}
