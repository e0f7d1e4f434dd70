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
