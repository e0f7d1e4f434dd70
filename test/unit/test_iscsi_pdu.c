// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "pdu.h"
#include "text.h"

static void test_scsi_cmd_layout(void **state)
{
	uint8_t bhs[ISCSI_BHS_LEN], lun[8], cdb[16] = { 0x88, 1, 2, 3 };
	struct iscsi_hdr h;

	iscsi_lun_encode(3, lun);
	iscsi_build_scsi_cmd(bhs, lun, 0x12345678, ISCSI_FLAG_FINAL | ISCSI_CMD_READ, 4096, 7, 9,
			     cdb, 16, 0);
	assert_int_equal(bhs[0], ISCSI_OP_SCSI_CMD);
	assert_int_equal(bhs[1], 0x80 | 0x40 | 0x01);
	assert_int_equal(bhs[9], 3);
	assert_int_equal(iscsi_get32(bhs + 16), 0x12345678);
	assert_int_equal(iscsi_get32(bhs + 20), 4096);
	assert_int_equal(iscsi_get32(bhs + 24), 7);
	assert_int_equal(iscsi_get32(bhs + 28), 9);
	assert_memory_equal(bhs + 32, cdb, 16);
	iscsi_hdr_decode(bhs, &h);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_CMD);
	assert_int_equal(h.dlen, 0);
	/* Immediate data length goes into the 24-bit DataSegmentLength. */
	iscsi_build_scsi_cmd(bhs, lun, 1, 0, 1 << 20, 0, 0, cdb, 16, 0x123456);
	iscsi_hdr_decode(bhs, &h);
	assert_int_equal(h.dlen, 0x123456);
}

static void test_lun_encoding(void **state)
{
	uint8_t l[8];

	iscsi_lun_encode(0, l);
	assert_int_equal(l[0] | l[1], 0);
	iscsi_lun_encode(255, l);
	assert_int_equal(l[0], 0);
	assert_int_equal(l[1], 255);
	iscsi_lun_encode(300, l); /* flat space addressing above 255 */
	assert_int_equal(l[0], 0x41);
	assert_int_equal(l[1], 300 & 0xff);
}

static void test_hdr_check_hostile(void **state)
{
	uint8_t b[ISCSI_BHS_LEN] = { 0 };
	struct iscsi_hdr h;
	const char *why;

	b[0] = ISCSI_OP_DATA_IN;
	b[5] = 0x01; /* dlen 65536 */
	iscsi_hdr_decode(b, &h);
	assert_int_equal(iscsi_hdr_check(&h, 65536, &why), 0);
	assert_int_equal(iscsi_hdr_check(&h, 65535, &why), -EPROTO);
	assert_non_null(strstr(why, "MaxRecvDataSegmentLength"));
	b[0] = ISCSI_OP_SCSI_CMD; /* an initiator opcode from the target */
	iscsi_hdr_decode(b, &h);
	assert_int_equal(iscsi_hdr_check(&h, 1 << 24, &why), -EPROTO);
	b[0] = 0x3a; /* unassigned */
	iscsi_hdr_decode(b, &h);
	assert_int_equal(iscsi_hdr_check(&h, 1 << 24, &why), -EPROTO);
	memset(b, 0, sizeof(b));
	b[0] = ISCSI_OP_R2T;
	b[7] = 4; /* R2T carries no data */
	iscsi_hdr_decode(b, &h);
	assert_int_equal(iscsi_hdr_check(&h, 1 << 24, &why), -EPROTO);
	memset(b, 0, sizeof(b));
	b[0] = ISCSI_OP_SCSI_RSP;
	b[4] = 1; /* AHS */
	iscsi_hdr_decode(b, &h);
	assert_int_equal(iscsi_hdr_check(&h, 1 << 24, &why), -EPROTO);
	memset(b, 0, sizeof(b));
	b[0] = ISCSI_OP_REJECT;
	b[7] = 8; /* a Reject must carry the rejected header */
	iscsi_hdr_decode(b, &h);
	assert_int_equal(iscsi_hdr_check(&h, 1 << 24, &why), -EPROTO);
}

static void test_serial_numbers(void **state)
{
	assert_true(iscsi_sn_lt(1, 2));
	assert_false(iscsi_sn_lt(2, 2));
	assert_true(iscsi_sn_lt(0xfffffff0u, 5)); /* wraps */
	assert_false(iscsi_sn_lt(5, 0xfffffff0u));
	/* 2^31 apart the order is undefined (RFC 1982): neither is less. */
	assert_false(iscsi_sn_lt(7, 7 + 0x80000000u));
	assert_false(iscsi_sn_lt(7 + 0x80000000u, 7));
	assert_true(iscsi_sn_lt(7, 7 + 0x7fffffffu));
	assert_true(iscsi_sn_le(7, 7));
	assert_int_equal(iscsi_pad4(0), 0);
	assert_int_equal(iscsi_pad4(1), 3);
	assert_int_equal(iscsi_pad4(4), 0);
	assert_int_equal(iscsi_pad4(6), 2);
}

static void test_text(void **state)
{
	char buf[128] = "A=1\0B=two\0\0\0";
	char out[32];
	struct iscsi_kv kv[4];
	size_t len = 0;

	assert_int_equal(iscsi_text_parse(buf, 12, kv, 4), 2);
	assert_string_equal(iscsi_text_get(kv, 2, "B"), "two");
	assert_null(iscsi_text_get(kv, 2, "C"));
	strcpy(buf, "NoEquals");
	assert_int_equal(iscsi_text_parse(buf, 8, kv, 4), -EPROTO);
	memcpy(buf, "=v\0", 3);
	assert_int_equal(iscsi_text_parse(buf, 3, kv, 4), -EPROTO);
	memcpy(buf, "a=1\0b=2\0c=3\0", 12);
	assert_int_equal(iscsi_text_parse(buf, 12, kv, 2), -EPROTO); /* too many */
	/* Unterminated last pair: the parser terminates it itself. */
	memcpy(buf, "K=v", 3);
	assert_int_equal(iscsi_text_parse(buf, 3, kv, 4), 1);
	assert_string_equal(kv[0].val, "v");
	assert_int_equal(iscsi_text_add(out, sizeof(out), &len, "Key", "%d", 42), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(out, "Key=42", 7);
	assert_int_equal(iscsi_text_add(out, sizeof(out), &len, "Long", "%s",
					"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
			 -ENOSPC);
	assert_int_equal(len, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scsi_cmd_layout), cmocka_unit_test(test_lun_encoding),
		cmocka_unit_test(test_hdr_check_hostile), cmocka_unit_test(test_serial_numbers),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
