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

/*
 * Input: one configuration byte (bits 0-1: auth none, one-way CHAP, mutual
 * CHAP, CHAP with MD5 only; bit 2 header digest, bit 3 data digest, bit 4
 * immediate data, bit 5 initial R2T), then the target's answers, each a
 * 48-byte BHS and the data segment its length field gives (cut at the
 * input's end). The first answer also goes through the BHS checks and, as
 * sense data, scsi_result; the login machine gets one answer per step.
 */

/* Seeds for test/unit/test_fuzz_smoke.c: login answers, '|' standing for NUL. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	static const struct {
		uint8_t cfg;
		uint8_t flags[3];
		const char *text[3];
	} seeds[] = {
		{ 0x02, { 0x00 }, { "AuthMethod=CHAP" } },
		{ 0x01, { 0x00, 0x00 },
		  { "AuthMethod=CHAP", "CHAP_A=5|CHAP_I=1|CHAP_C=0x000102030405060708090a0b0c0d0e0f" } },
		{ 0x02, { 0x00, 0x00 },
		  { "AuthMethod=CHAP", "CHAP_A=7|CHAP_I=255|CHAP_C=0bAAECAwQFBgcICQoLDA0ODw==" } },
		{ 0x02, { 0x81 }, { "CHAP_N=t|CHAP_R=0x00112233445566778899aabbccddeeff" } },
		/* No authentication: straight to the operational stage, then full feature. */
		{ 0x0c, { 0x81, 0x87 },
		  { "AuthMethod=None",
		    "HeaderDigest=CRC32C|DataDigest=CRC32C|MaxRecvDataSegmentLength=65536|"
		    "MaxBurstLength=262144|FirstBurstLength=65536|ImmediateData=Yes|"
		    "InitialR2T=No|MaxOutstandingR2T=1|ErrorRecoveryLevel=0|DefaultTime2Wait=2|"
		    "DefaultTime2Retain=0|TargetAlias=fuzz|X-Y=z" } },
		{ 0x10, { 0x81, 0x04, 0x87 },
		  { "AuthMethod=None", "MaxBurstLength=99999999999999|ErrorRecoveryLevel=1",
		    "HeaderDigest=None|MaxRecvDataSegmentLength=512|FirstBurstLength=1" } },
		{ 0x20, { 0x81, 0x87 }, { "AuthMethod=None", "HeaderDigest=Reject|DataDigest=NotUnderstood|MaxConnections=Irrelevant" } },
		{ 0x00, { 0x00 }, { "TargetAddress=127.0.0.1:3260,1" } },
	};
	size_t n = 1;

	if (i >= sizeof(seeds) / sizeof(seeds[0]))
		return 0;
	buf[0] = seeds[i].cfg;
	for (unsigned k = 0; k < 3 && seeds[i].text[k]; k++) {
		size_t len = strlen(seeds[i].text[k]);
		uint8_t *p = buf + n;

		if (n + 48 + len > cap)
			return 0;
		memset(p, 0, 48);
		p[0] = 0x23;
		p[1] = seeds[i].flags[k];
		p[5] = len >> 16;
		p[6] = len >> 8;
		p[7] = len;
		memcpy(p + 48, seeds[i].text[k], len);
		for (size_t j = 48; j < 48 + len; j++)
			if (p[j] == '|')
				p[j] = 0;
		n += 48 + len;
	}
	return n;
}

/* The next answer at *p: its BHS decoded into h, its data copied to *data (exact size). */
static bool next_answer(const uint8_t **p, size_t *left, struct iscsi_hdr *h, uint8_t **data,
			size_t *dlen)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 };
	size_t n;

	if (!*left)
		return false;
	memcpy(bhs, *p, *left < sizeof(bhs) ? *left : sizeof(bhs));
	n = *left < sizeof(bhs) ? *left : sizeof(bhs);
	*p += n;
	*left -= n;
	iscsi_hdr_decode(bhs, h);
	*dlen = h->dlen < *left ? h->dlen : *left;
	*data = malloc(*dlen + 1);
	if (!*data)
		return false;
	memcpy(*data, *p, *dlen);
	*p += *dlen;
	*left -= *dlen;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t isid[6] = { 0x80 };
	struct iscsi_login_config cfg = {
		.initiator_name = "iqn.2026-11.fuzz:i",
		.target_name = "iqn.2026-11.fuzz:t",
		.max_recv_dlen = 8192,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
	};
	uint8_t req[ISCSI_BHS_LEN], *payload;
	char text[2048], desc[128];
	struct iscsi_login *l;
	struct iscsi_hdr h;
	const char *why;
	size_t plen;
	uint32_t dlen;
	bool retry;
	uint8_t c;

	if (!size)
		return 0;
	c = data[0];
	data++;
	size--;
	if ((c & 3) != 0) {
		cfg.chap_user = "u";
		cfg.chap_secret = "secret-one";
		cfg.chap_algs = (c & 3) == 3 ? "5" : "8,7,6,5";
	}
	if ((c & 3) == 2) {
		cfg.mutual_user = "t";
		cfg.mutual_secret = "secret-two";
	}
	cfg.header_digest = c & 4;
	cfg.data_digest = c & 8;
	cfg.immediate_data = c & 16;
	cfg.initial_r2t = c & 32;

	if (!next_answer(&data, &size, &h, &payload, &plen))
		return 0;
	iscsi_hdr_check(&h, 8192, &why);
	scsi_result(h.b3, payload, plen, &retry, desc, sizeof(desc));

	/* Walk the login machine: one answer per step. */
	l = malloc(sizeof(*l));
	if (!l) {
		free(payload);
		return 0;
	}
	iscsi_login_init(l, &cfg, isid, 0, 0, 1);
	for (int step = 0; step < 8; step++) {
		if (iscsi_login_request(l, req, text, sizeof(text), &dlen) < 0)
			break;
		h.opcode = ISCSI_OP_LOGIN_RSP;
		h.itt = 0;
		h.dlen = plen;
		if (iscsi_login_response(l, &h, payload, plen) != ISCSI_LOGIN_SEND)
			break;
		free(payload);
		payload = NULL;
		if (!next_answer(&data, &size, &h, &payload, &plen))
			break;
	}
	free(l);
	free(payload);
	return 0;
}
