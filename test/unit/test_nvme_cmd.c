// SPDX-License-Identifier: MIT
/* NVMe commands, status mapping and Identify parsing. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "digest.h"
#include "io.h"
#include "nvme_cmd.h"

static uint32_t cdw(const uint8_t *sqe, unsigned n)
{
	return nu_get_le32(sqe + 4 * n);
}

static void test_auth_commands(void **state)
{
	uint8_t sqe[64];

	(void)state;
	nvme_build_auth(sqe, true, 72);
	assert_int_equal(sqe[0], 0x7f);
	assert_int_equal(sqe[4], 0x05); /* Authentication Send */
	assert_int_equal(sqe[39], 0x01); /* data block, offset: in the capsule */
	assert_int_equal(nu_get_le32(sqe + 32), 72);
	assert_int_equal(sqe[41], 0x01); /* SPSP0 */
	assert_int_equal(sqe[42], 0x01); /* SPSP1 */
	assert_int_equal(sqe[43], 0xe9); /* SECP: DH-HMAC-CHAP */
	assert_int_equal(nu_get_le32(sqe + 44), 72); /* TL */
	nvme_build_auth(sqe, false, 4096);
	assert_int_equal(sqe[4], 0x06); /* Authentication Receive */
	assert_int_equal(sqe[39], 0x5a); /* transport data block */
	assert_int_equal(nu_get_le32(sqe + 44), 4096); /* AL */
}

static void test_io_commands(void **state)
{
	uint8_t sqe[64], range[16];
	struct nu_io io = { .op = NU_OP_READ, .offset = 8192, .len = 4096 };

	assert_int_equal(nvme_build_io(sqe, &io, 3, 512, range), 0);
	assert_int_equal(sqe[0], 0x02);
	assert_int_equal(sqe[1], 0x40); /* SGL */
	assert_int_equal(nu_get_le32(sqe + 4), 3);
	assert_int_equal(cdw(sqe, 10), 16);
	assert_int_equal(cdw(sqe, 12), 7);
	assert_int_equal(sqe[39], 0x5a); /* transport data block */
	assert_int_equal(nu_get_le32(sqe + 32), 4096);

	io.op = NU_OP_WRITE;
	io.flags = NU_IO_FUA;
	assert_int_equal(nvme_build_io(sqe, &io, 1, 4096, range), 0);
	assert_int_equal(sqe[0], 0x01);
	assert_int_equal(cdw(sqe, 10), 2);
	assert_int_equal(cdw(sqe, 12), 0 | 1u << 30);
	nvme_sqe_set_data(sqe, NVME_SGL_INCAPSULE, 4096);
	assert_int_equal(sqe[39], 0x01);

	io = (struct nu_io){ .op = NU_OP_DISCARD, .offset = 1 << 20, .len = 64 << 20 };
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), 0);
	assert_int_equal(sqe[0], 0x09);
	assert_int_equal(cdw(sqe, 11), 4); /* deallocate */
	assert_int_equal(nu_get_le32(range + 4), (64 << 20) / 512);
	assert_int_equal(nu_get_le32(range + 8), 2048);

	io = (struct nu_io){ .op = NU_OP_WRITE_ZEROES, .offset = 0, .len = 1 << 20 };
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), 0);
	assert_int_equal(sqe[0], 0x08);
	assert_int_equal(cdw(sqe, 12), 2047u | 1u << 25);
	io.flags = NU_IO_NOUNMAP;
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), 0);
	assert_int_equal(cdw(sqe, 12), 2047u);

	io = (struct nu_io){ .op = NU_OP_FLUSH };
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), 0);
	assert_int_equal(sqe[0], 0x00);

	/* Not whole blocks, or more than 65536 blocks in one read. */
	io = (struct nu_io){ .op = NU_OP_READ, .offset = 100, .len = 4096 };
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), -EINVAL);
	io = (struct nu_io){ .op = NU_OP_READ, .offset = 0, .len = 1000 };
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), -EINVAL);
	io = (struct nu_io){ .op = NU_OP_READ, .offset = 0, .len = 64u << 20 };
	assert_int_equal(nvme_build_io(sqe, &io, 1, 512, range), -EINVAL);
}

static void test_admin_commands(void **state)
{
	uint8_t sqe[64], data[1024];
	uint8_t hostid[16] = { 1, 2, 3 };

	nvme_build_connect(sqe, 2, 127, NVME_CONNECT_SQFLOW_OFF, 5000);
	assert_int_equal(sqe[0], 0x7f);
	assert_int_equal(sqe[4], 0x01);
	assert_int_equal(sqe[42], 2);
	assert_int_equal(sqe[44], 127);
	assert_int_equal(sqe[46], 0x04);
	assert_int_equal(nu_get_le32(sqe + 48), 5000);
	assert_int_equal(sqe[39], 0x01); /* connect data goes in the capsule */
	assert_int_equal(nvme_build_connect_data(data, hostid, 0xffff, "nqn.a", "nqn.b"), 0);
	assert_memory_equal(data, hostid, 16);
	assert_int_equal(data[16] | data[17] << 8, 0xffff);
	assert_string_equal((char *)data + 256, "nqn.a");
	assert_string_equal((char *)data + 512, "nqn.b");
	{
		char longnqn[300];

		memset(longnqn, 'x', sizeof(longnqn) - 1);
		longnqn[sizeof(longnqn) - 1] = 0;
		assert_int_equal(nvme_build_connect_data(data, hostid, 1, longnqn, "h"),
				 -ENAMETOOLONG);
	}
	nvme_build_get_log(sqe, 0x70, 4096, 8192, true);
	assert_int_equal(cdw(sqe, 10), 0x70u | 1u << 15 | 1023u << 16);
	assert_int_equal(cdw(sqe, 12), 8192);
	nvme_build_abort(sqe, 3, 0x1234);
	assert_int_equal(cdw(sqe, 10), 3u | 0x1234u << 16);
	nvme_build_set_queues(sqe, 4);
	assert_int_equal(cdw(sqe, 11), 3u | 3u << 16);
}

static void test_status(void **state)
{
	bool retry;
	char d[128];

	assert_int_equal(nvme_status_result(0, &retry, d, sizeof(d)), 0);
	assert_false(retry);
	/* LBA out of range, DNR: precise and final. */
	assert_int_equal(nvme_status_result(0x80 | 0x4000, &retry, d, sizeof(d)), -ENXIO);
	assert_false(retry);
	assert_non_null(strstr(d, "LBA out of range"));
	/* Namespace not ready without DNR: try again. */
	assert_int_equal(nvme_status_result(0x82, &retry, d, sizeof(d)), -EAGAIN);
	assert_true(retry);
	assert_int_equal(nvme_status_result(0x83 | 0x4000, &retry, d, sizeof(d)), -EBADE);
	assert_int_equal(nvme_status_result(0x281 | 0x4000, &retry, d, sizeof(d)), -ENODATA);
	assert_int_equal(nvme_status_result(0x182 | 0x4000, &retry, d, sizeof(d)), -EROFS);
	assert_int_equal(nvme_status_result(0x20 | 0x4000, &retry, d, sizeof(d)), -EROFS);
	assert_int_equal(nvme_status_result(0x81 | 0x4000, &retry, d, sizeof(d)), -ENOSPC);
	assert_int_equal(nvme_status_result(0x01 | 0x4000, &retry, d, sizeof(d)), -EOPNOTSUPP);
	/* Path errors (ANA transition): another try even with DNR. */
	assert_int_equal(nvme_status_result(0x303 | 0x4000, &retry, d, sizeof(d)), -ENOLINK);
	assert_true(retry);
}

static void test_identify(void **state)
{
	uint8_t c[4096] = { 0 }, ns[4096] = { 0 }, desc[64] = { 0 };
	struct nvme_ctrl_info ci;
	struct nvme_ns_info ni;
	char wwid[64];
	uint32_t ids[8];

	memcpy(c + 4, "SN1                 ", 20);
	memcpy(c + 24, "Model X", 7);
	c[77] = 5;		       /* MDTS: 32 pages */
	nu_put_le32(c + 1792, 1028); /* IOCCSZ: 16448 bytes */
	c[520] = 0x0c;		       /* DSM, Write Zeroes */
	c[525] = 1;
	assert_int_equal(nvme_parse_id_ctrl(c, sizeof(c), 12, &ci), 0);
	assert_int_equal(ci.max_transfer, 128 << 10);
	assert_int_equal(ci.ioccsz, 16448);
	assert_string_equal(ci.sn, "SN1");
	assert_string_equal(ci.mn, "Model X");
	assert_int_equal(nvme_parse_id_ctrl(c, 100, 12, &ci), -EINVAL);
	assert_int_equal(nvme_parse_id_ctrl(c, sizeof(c), 12, &ci), 0);

	nu_put_le32(ns, 1000); /* NSZE */
	ns[25] = 1;		/* two formats */
	ns[26] = 1;		/* format 1 */
	ns[128 + 4 + 2] = 12;	/* LBAF1: 4096-byte blocks */
	ns[99] = 1;		/* write protected */
	assert_int_equal(nvme_parse_id_ns(ns, sizeof(ns), &ci, &ni), 0);
	assert_int_equal(ni.geom.lbs, 4096);
	assert_int_equal(ni.geom.size, 1000ull * 4096);
	assert_true(ni.geom.read_only);
	assert_true(ni.geom.volatile_cache);
	assert_int_equal(ni.geom.max_transfer, 128 << 10);
	assert_int_equal(ni.geom.discard_granularity, 4096);
	assert_int_not_equal(ni.geom.max_write_zeroes, 0);
	/* Metadata formats are refused; an empty namespace is inactive. */
	ns[128 + 4] = 8;
	assert_int_equal(nvme_parse_id_ns(ns, sizeof(ns), &ci, &ni), -EOPNOTSUPP);
	ns[128 + 4] = 0;
	ns[26] = 5; /* a format beyond NLBAF */
	assert_int_equal(nvme_parse_id_ns(ns, sizeof(ns), &ci, &ni), -EINVAL);
	memset(ns, 0, 8);
	assert_int_equal(nvme_parse_id_ns(ns, sizeof(ns), &ci, &ni), -ENODEV);

	/* WWID: UUID first, then NGUID, then EUI-64, then the kernel's fallback. */
	desc[0] = 2, desc[1] = 16, desc[4] = 0xab;
	desc[20] = 3, desc[21] = 16, desc[24] = 0x12, desc[39] = 0x34;
	nvme_ns_wwid(desc, sizeof(desc), NULL, &ci, 1, wwid, sizeof(wwid));
	assert_string_equal(wwid, "uuid.12000000-0000-0000-0000-000000000034");
	desc[20] = 0;
	nvme_ns_wwid(desc, sizeof(desc), NULL, &ci, 1, wwid, sizeof(wwid));
	assert_string_equal(wwid, "eui.ab000000000000000000000000000000");
	memset(desc, 0, sizeof(desc));
	memset(ns, 0, sizeof(ns));
	ns[120] = 0x77;
	nvme_ns_wwid(desc, sizeof(desc), ns, &ci, 1, wwid, sizeof(wwid));
	assert_string_equal(wwid, "eui.7700000000000000");
	ns[120] = 0;
	nvme_ns_wwid(desc, sizeof(desc), ns, &ci, 2, wwid, sizeof(wwid));
	assert_string_equal(wwid, "nvme.0000-534e31-4d6f64656c2058-00000002");
	/* A descriptor claiming more than is there stops the walk. */
	desc[0] = 2, desc[1] = 200;
	nvme_ns_wwid(desc, sizeof(desc), ns, &ci, 2, wwid, sizeof(wwid));
	assert_string_equal(wwid, "nvme.0000-534e31-4d6f64656c2058-00000002");

	/* Namespace lists: ascending, 0 ends, garbage stops. */
	memset(c, 0, 64);
	nu_put_le32(c, 1);
	nu_put_le32(c + 4, 5);
	nu_put_le32(c + 8, 3);
	assert_int_equal(nvme_parse_ns_list(c, 64, ids, 8), 2);
	assert_int_equal(ids[1], 5);
	assert_int_equal(nvme_parse_ns_list(c, 6, ids, 8), 1);
}

/* The ANA log page: group states, NSID lists skipped, a page cut short refused. */
static void test_ana_log(void **state)
{
	uint8_t log[16 + 2 * 32 + 8] = { 0 }, st[NVME_ANA_GROUPS] = { 0 };

	(void)state;
	log[8] = 2; /* two group descriptors */
	log[16] = 1;			/* group 1 */
	log[16 + 4] = 2;		/* with two NSIDs */
	log[16 + 16] = 0x2;		/* non-optimized */
	log[16 + 32] = 1, log[16 + 36] = 3; /* NSIDs 1 and 3 */
	log[16 + 40] = 7;		/* group 7 */
	log[16 + 40 + 16] = 0x3;	/* inaccessible */
	assert_int_equal(nvme_parse_ana_log(log, 16 + 40 + 32, st, NVME_ANA_GROUPS), 2);
	assert_int_equal(st[1], 2);
	assert_int_equal(st[7], 3);
	assert_string_equal(nvme_ana_state_name(st[7]), "inaccessible");
	/* Cut inside the second descriptor, or claiming NSIDs it does not hold. */
	assert_int_equal(nvme_parse_ana_log(log, 16 + 40 + 20, st, NVME_ANA_GROUPS), -EINVAL);
	log[16 + 4] = 200;
	assert_int_equal(nvme_parse_ana_log(log, sizeof(log), st, NVME_ANA_GROUPS), -EINVAL);
	assert_int_equal(nvme_parse_ana_log(log, 8, st, NVME_ANA_GROUPS), -EINVAL);
	/* A group past the table is skipped, not written. */
	log[16 + 4] = 2;
	log[16 + 40] = 0, log[16 + 40 + 1] = 1; /* group 256 */
	st[0] = 0;
	assert_int_equal(nvme_parse_ana_log(log, 16 + 40 + 32, st, NVME_ANA_GROUPS), 2);
	assert_int_equal(st[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_commands),
		cmocka_unit_test(test_auth_commands),
		cmocka_unit_test(test_admin_commands),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_ana_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
