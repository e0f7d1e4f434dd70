// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <stdlib.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "scsi.h"
#include "scsi_geom.h"
#include "voltab.h"
#include "target_spec.h"

static uint8_t *fixed_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
	static uint8_t s[18];

	memset(s, 0, sizeof(s));
	s[0] = 0x70;
	s[2] = key;
	s[7] = 10;
	s[12] = asc;
	s[13] = ascq;
	return s;
}

static void test_sense_mapping(void **state)
{
	static const struct {
		uint8_t key, asc, ascq;
		int err;
		bool retry;
	} v[] = {
		{ 0x03, 0x11, 0x00, -ENODATA, false },	 /* unrecovered read error */
		{ 0x06, 0x29, 0x00, -EAGAIN, true },	 /* reset: resend */
		{ 0x06, 0x2a, 0x09, -EAGAIN, true },	 /* capacity changed */
		{ 0x02, 0x04, 0x0a, -EAGAIN, true },	 /* ALUA transitioning */
		{ 0x02, 0x3a, 0x00, -EIO, false },	 /* medium not present */
		{ 0x07, 0x27, 0x07, -ENOSPC, false },	 /* space allocation failed */
		{ 0x07, 0x27, 0x00, -EROFS, false },	 /* write protected */
		{ 0x05, 0x20, 0x00, -EOPNOTSUPP, false }, /* invalid opcode */
		{ 0x05, 0x21, 0x00, -ENXIO, false },	 /* LBA out of range */
		{ 0x0e, 0x1d, 0x00, -EILSEQ, false },	 /* miscompare */
		{ 0x04, 0x44, 0x00, -EIO, false },	 /* hardware error */
		{ 0x01, 0x17, 0x00, 0, false },		 /* recovered */
	};
	char desc[128];
	bool retry;

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r = scsi_result(SCSI_STATUS_CHECK_CONDITION,
				    fixed_sense(v[i].key, v[i].asc, v[i].ascq), 18, &retry, desc,
				    sizeof(desc));
		assert_int_equal(r, v[i].err);
		assert_int_equal(retry, v[i].retry);
	}
	assert_int_equal(scsi_result(SCSI_STATUS_GOOD, NULL, 0, &retry, desc, sizeof(desc)), 0);
	assert_string_equal(desc, "good");
	assert_false(retry);
	desc[0] = 'x';
	assert_int_equal(scsi_result(SCSI_STATUS_GOOD, NULL, 0, &retry, desc, 3), 0);
	assert_int_equal(desc[0], '\0'); /* too small: empty, never unterminated */
	assert_int_equal(scsi_result(SCSI_STATUS_RESERVATION_CONFLICT, NULL, 0, &retry, desc,
				     sizeof(desc)),
			 -EBADE);
	assert_int_equal(scsi_result(SCSI_STATUS_BUSY, NULL, 0, &retry, desc, sizeof(desc)),
			 -EAGAIN);
	assert_true(retry);
	/* Hostile or truncated sense never reads past what arrived. */
	assert_int_equal(scsi_result(SCSI_STATUS_CHECK_CONDITION, fixed_sense(3, 0x11, 0), 10,
				     &retry, desc, sizeof(desc)),
			 -EIO);
	assert_int_equal(scsi_result(SCSI_STATUS_CHECK_CONDITION, (const uint8_t *)"\x12\x34", 2,
				     &retry, desc, sizeof(desc)),
			 -EIO);
	/* Descriptor format (0x72). */
	uint8_t d[8] = { 0x72, 0x03, 0x11, 0x00 };
	assert_int_equal(scsi_result(SCSI_STATUS_CHECK_CONDITION, d, 8, &retry, desc, sizeof(desc)),
			 -ENODATA);
}

static void test_inventory_changes(void **state)
{
	assert_int_equal(scsi_sense_change(fixed_sense(0x06, 0x3f, 0x0e), 18), SCSI_CHANGE_LUNS);
	assert_int_equal(scsi_sense_change(fixed_sense(0x05, 0x25, 0x00), 18), SCSI_CHANGE_LUNS);
	assert_int_equal(scsi_sense_change(fixed_sense(0x06, 0x2a, 0x09), 18),
			 SCSI_CHANGE_CAPACITY);
	assert_int_equal(scsi_sense_change(fixed_sense(0x06, 0x29, 0x00), 18), SCSI_CHANGE_NONE);
	assert_int_equal(scsi_sense_change(fixed_sense(0x06, 0x3f, 0x0e), 12), SCSI_CHANGE_NONE);
	assert_int_equal(scsi_sense_change(NULL, 0), SCSI_CHANGE_NONE);
	assert_int_equal(scsi_sense_change(fixed_sense(0x06, 0x2a, 0x06), 18), SCSI_CHANGE_ACCESS);
	/* ALUA: transitioning, standby, unavailable are this path's, not the LUN's. */
	assert_true(scsi_sense_path_error(fixed_sense(0x02, 0x04, 0x0a), 18));
	assert_true(scsi_sense_path_error(fixed_sense(0x02, 0x04, 0x0b), 18));
	assert_true(scsi_sense_path_error(fixed_sense(0x02, 0x04, 0x0c), 18));
	assert_false(scsi_sense_path_error(fixed_sense(0x02, 0x04, 0x01), 18));
	assert_false(scsi_sense_path_error(fixed_sense(0x03, 0x04, 0x0a), 18));
	assert_false(scsi_sense_path_error(fixed_sense(0x02, 0x04, 0x0a), 10));
}

/* REPORT TARGET PORT GROUPS data: the state of our group, and lying lengths refused. */
static void test_rtpg(void **state)
{
	/* Two groups: 16 active/non-optimized with one port, 17 standby with two. */
	uint8_t d[4 + 12 + 16] = { 0, 0, 0, 28, 0x81, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1,
				   0x02, 0, 0, 17, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3 };
	uint8_t cdb[12];

	(void)state;
	assert_int_equal(scsi_rtpg_state(d, sizeof(d), 16), SCSI_ALUA_NONOPTIMIZED);
	assert_int_equal(scsi_rtpg_state(d, sizeof(d), 17), SCSI_ALUA_STANDBY);
	assert_int_equal(scsi_rtpg_state(d, sizeof(d), 18), -ENOENT);
	assert_int_equal(scsi_rtpg_state(d, sizeof(d) - 1, 17), -EINVAL); /* length beyond data */
	d[23] = 9; /* the second group claims 9 ports: past the end */
	assert_int_equal(scsi_rtpg_state(d, sizeof(d), 17), -EINVAL);
	assert_int_equal(scsi_rtpg_state(d, 3, 16), -EINVAL);
	assert_string_equal(scsi_alua_state_name(SCSI_ALUA_TRANSITIONING), "transitioning");
	scsi_rtpg_cdb(cdb, 4096);
	assert_int_equal(cdb[0], 0xa3);
	assert_int_equal(cdb[1], 0x0a);
	assert_int_equal(cdb[8], 0x10);
	assert_int_equal(cdb[9], 0);
}

static void test_cdbs(void **state)
{
	struct nu_io io = { .op = NU_OP_READ, .offset = 4096 * 3, .len = 8192, .flags = NU_IO_FUA };
	struct scsi_cmd c;

	assert_int_equal(scsi_build(&io, 4096, &c), 0);
	assert_int_equal(c.cdb[0], 0x88);
	assert_int_equal(c.cdb[1] & 0x08, 0x08); /* FUA */
	assert_int_equal(c.cdb[9], 3);		/* LBA */
	assert_int_equal(c.cdb[13], 2);		/* blocks */
	assert_int_equal(c.xfer_len, 8192);
	assert_int_equal(c.dir, SCSI_DIR_READ);
	io.op = NU_OP_WRITE;
	io.flags = 0;
	assert_int_equal(scsi_build(&io, 512, &c), 0);
	assert_int_equal(c.cdb[0], 0x8a);
	assert_int_equal(c.cdb[13], 16);
	io.op = NU_OP_FLUSH;
	assert_int_equal(scsi_build(&io, 512, &c), 0);
	assert_int_equal(c.cdb[0], 0x91);
	assert_int_equal(c.dir, SCSI_DIR_NONE);
	io = (struct nu_io){ .op = NU_OP_DISCARD, .offset = 1 << 20, .len = 1 << 20 };
	assert_int_equal(scsi_build(&io, 512, &c), 0);
	assert_int_equal(c.cdb[0], 0x42);
	assert_int_equal(c.xfer_len, 24);
	assert_int_equal(c.param[15], 2048 & 0xff);	/* LBA 2048 */
	assert_int_equal(c.param[14], 2048 >> 8);
	assert_int_equal(c.param[18], (2048 >> 8) & 0xff); /* 2048 blocks */
	io.op = NU_OP_WRITE_ZEROES;
	assert_int_equal(scsi_build(&io, 512, &c), 0);
	assert_int_equal(c.cdb[0], 0x93);
	assert_int_equal(c.cdb[1] & 0x08, 0x08); /* UNMAP allowed */
	assert_true(c.zero_block);
	io.flags = NU_IO_NOUNMAP;
	assert_int_equal(scsi_build(&io, 512, &c), 0);
	assert_int_equal(c.cdb[1] & 0x08, 0);
	io = (struct nu_io){ .op = NU_OP_READ, .offset = 100, .len = 512 };
	assert_int_equal(scsi_build(&io, 512, &c), -EINVAL); /* unaligned */
}

/* READ/WRITE(16) as written here, byte for byte as libiscsi builds them. */
static void test_rw16_as_libiscsi(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		uint32_t lbs = i & 1 ? 4096 : 512;
		struct nu_io io = { .op = i & 2 ? NU_OP_WRITE : NU_OP_READ,
				    .flags = i & 4 ? NU_IO_FUA : 0 };
		struct scsi_task *t;
		struct scsi_cmd c;
		uint64_t lba;
		uint32_t blocks;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		lba = i % 5 ? x >> (i % 40) : x; /* small and huge, up to 2^64 - 1 blocks */
		blocks = 1 + (x >> 40) % (i % 3 ? 64 : 1u << 19); /* io.len fits 32 bits */
		io.offset = lba * lbs; /* wraps for huge LBAs: the byte offset mod 2^64 is what matters */
		lba = io.offset / lbs;
		io.len = blocks * lbs;
		assert_int_equal(scsi_build(&io, lbs, &c), 0);
		t = io.op == NU_OP_WRITE ? scsi_cdb_write16(lba, io.len, lbs, 0, 0, !!io.flags, 0, 0) :
					   scsi_cdb_read16(lba, io.len, lbs, 0, 0, !!io.flags, 0, 0);
		assert_non_null(t);
		assert_int_equal(c.cdb_len, t->cdb_size);
		assert_memory_equal(c.cdb, t->cdb, t->cdb_size);
		scsi_free_scsi_task(t);
	}
}

static void test_target_spec(void **state)
{
	struct iscsi_target_config t;
	char err[128];

	assert_int_equal(nu_iscsi_spec_parse("portal=127.0.0.1:3260,target=iqn.x:y,"
					     "header_digest=crc32c,chap_user=u,chap_secret=s,"
					     "chap_algs=7:5,initial_r2t=yes,first_burst=64k",
					     &t, err, sizeof(err)),
			 0);
	assert_string_equal(t.portal, "127.0.0.1:3260");
	assert_true(t.header_digest);
	assert_false(t.data_digest);
	assert_string_equal(t.chap_algs, "7,5");
	assert_true(t.initial_r2t);
	assert_int_equal(t.first_burst, 65536);
	static const char *const bad[] = {
		"target=iqn.x:y",				 /* no portal */
		"portal=a,target=b,header_digest=md5",		 /* bad digest */
		"portal=a,target=b,chap_user=u",		 /* user without secret */
		"portal=a,target=b,bogus=1",			 /* unknown key */
		"portal=a,target=b,chap_algs=4",		 /* bad algorithm */
		"portal=a,target=b,chap_algs=5:",		 /* trailing separator */
		"portal=a,target=b,first_burst=1M,max_burst=64k", /* first > max */
		"portal=a,target=b,chap_user=u,chap_secret=s,mutual_user=m,mutual_secret=s",
		"portal=a,target=b,immediate_data=maybe",
		"portal=a,target,",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(nu_iscsi_spec_parse(bad[i], &t, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
}

/* What a LUN claims about its geometry: refused or clamped, never wrapped. */
static void test_geometry(void **state)
{
	struct scsi_readcapacity16 rc = { .returned_lba = 2047, .block_length = 512, .lbppbe = 3 };
	struct scsi_inquiry_block_limits bl = { .max_xfer_len = 0xffffffff,
						.opt_xfer_len = 0x800001,
						.max_unmap = 0xffffffff,
						.max_ws_len = ~0ull };
	struct nu_volume_geom g = { 0 };
	char err[128];

	(void)state;
	assert_int_equal(scsi_geom_capacity(&rc, &g, err, sizeof(err)), 0);
	assert_int_equal(g.size, 2048 * 512);
	assert_int_equal(g.pbs, 4096);
	rc.block_length = 0;
	assert_int_equal(scsi_geom_capacity(&rc, &g, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "logical block size 0"));
	rc.block_length = 520;
	assert_int_equal(scsi_geom_capacity(&rc, &g, err, sizeof(err)), -EPROTO);
	rc.block_length = 4096;
	rc.returned_lba = ~0ull;
	assert_int_equal(scsi_geom_capacity(&rc, &g, err, sizeof(err)), -EPROTO);
	rc.returned_lba = 7;
	rc.lbppbe = 15; /* 2^15 blocks per physical block: ignored */
	assert_int_equal(scsi_geom_capacity(&rc, &g, err, sizeof(err)), 0);
	assert_int_equal(g.pbs, 4096);
	/* 0x800001 blocks of 4 KiB is 2^35 + 4096 bytes: a 32-bit product would be 4096. */
	scsi_geom_block_limits(&bl, true, true, true, &g);
	assert_int_equal(g.io_opt, 0);
	assert_int_equal(g.max_transfer, 1u << 30);
	assert_int_equal(g.max_discard, 1u << 30);
	assert_int_equal(g.max_write_zeroes, 1u << 30);
}

/* A device identification page shorter than it claims reads as cut, not past its end. */
static void test_short_vpd(void **state)
{
	static const uint8_t page[] = { 0, 0x83, 0x01, 0x00, 0x01, 0x03, 0x00, 0x08,
					0x60, 0x01, 0x40, 0x5d, 0xde, 0xad, 0xbe, 0xef };
	struct scsi_task *task = scsi_cdb_inquiry(1, SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255);
	char wwid[96];

	(void)state;
	assert_non_null(task);
	task->datain.data = malloc(sizeof(page));
	memcpy(task->datain.data, page, sizeof(page));
	task->datain.size = sizeof(page);
	task->status = SCSI_STATUS_GOOD;
	scsi_geom_wwid(scsi_unmarshall(task), wwid, sizeof(wwid));
	assert_string_equal(wwid, "naa.6001405ddeadbeef");
	scsi_free_scsi_task(task);
}

static void wwid_of(const uint8_t *page, size_t len, char *wwid, size_t cap)
{
	struct scsi_task *task = scsi_cdb_inquiry(1, SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255);

	assert_non_null(task);
	task->datain.data = malloc(len);
	memcpy(task->datain.data, page, len);
	task->datain.size = len;
	task->status = SCSI_STATUS_GOOD;
	scsi_geom_wwid(scsi_unmarshall(task), wwid, cap);
	scsi_free_scsi_task(task);
}

/*
 * What names a logical unit: a SCSI name string beats a T10 vendor ID (the
 * one LIO gives every LUN of a backstore without a serial), and only the
 * first is trusted as an identity.
 */
static void test_wwid_strength(void **state)
{
	/* T10 vendor ID "LIO-ORG " + 8 spaces, then a name string "iqn.x:lun1" padded. */
	static const uint8_t page[] = { 0, 0x83, 0x00, 36, 0x02, 0x01, 0x00, 0x10, 'L', 'I', 'O',
					'-', 'O', 'R', 'G', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
					' ', ' ', 0x03, 0x08, 0x00, 0x0c, 'i', 'q', 'n', '.',
					'x', ':', 'l', 'u', 'n', '1', 0, 0 };
	static const uint8_t t10_only[] = { 0, 0x83, 0x00, 20, 0x02, 0x01, 0x00, 0x10, 'L',
					    'I', 'O', '-', 'O', 'R', 'G', ' ', ' ', ' ',
					    ' ', ' ', ' ', ' ', ' ', ' ' };
	char wwid[96];

	(void)state;
	wwid_of(page, sizeof(page), wwid, sizeof(wwid));
	assert_string_equal(wwid, "iqn.x:lun1");
	{
		/* A target port group designator (association 1, type 5): group 0x0102. */
		static const uint8_t tpg[] = { 0, 0x83, 0, 8, 0x01, 0x15, 0, 4, 0, 0, 1, 2 };
		struct scsi_task *task =
			scsi_cdb_inquiry(1, SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255);

		task->datain.data = malloc(sizeof(tpg));
		memcpy(task->datain.data, tpg, sizeof(tpg));
		task->datain.size = sizeof(tpg);
		task->status = SCSI_STATUS_GOOD;
		assert_int_equal(scsi_geom_port_group(scsi_unmarshall(task)), 0x102);
		scsi_free_scsi_task(task);
	}
	assert_true(nu_wwid_unit(wwid));
	wwid_of(t10_only, sizeof(t10_only), wwid, sizeof(wwid));
	assert_string_equal(wwid, "t10.LIO-ORG_________");
	assert_false(nu_wwid_unit(wwid));
	assert_true(nu_wwid_unit("naa.6001405ddeadbeef"));
	assert_true(nu_wwid_unit("eui.0011223344556677"));
	assert_true(nu_wwid_unit("uuid.8f1e7c2a-0000-4000-8000-000000000001"));
	assert_false(nu_wwid_unit("nvme.1af4-3132-6d6f64656c-00000001"));
	assert_false(nu_wwid_unit("naa."));
	assert_false(nu_wwid_unit(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sense_mapping),
		cmocka_unit_test(test_inventory_changes),
		cmocka_unit_test(test_cdbs),
		cmocka_unit_test(test_rw16_as_libiscsi),
		cmocka_unit_test(test_target_spec),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_short_vpd),
		cmocka_unit_test(test_wwid_strength),
		cmocka_unit_test(test_rtpg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
