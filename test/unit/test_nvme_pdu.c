// SPDX-License-Identifier: MIT
/* NVMe/TCP PDU codec: what we send, and every way a received header can be wrong. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "digest.h"
#include "nvme_pdu.h"

static const struct nvme_tcp_params plain = { .maxh2cdata = 65536 };
static const struct nvme_tcp_params digests = { .hdgst = true, .ddgst = true,
						 .maxh2cdata = 65536 };

static void test_icreq_icresp(void **state)
{
	uint8_t b[NVME_TCP_IC_LEN];
	struct nvme_tcp_params p;
	const char *why = NULL;

	assert_int_equal(nvme_tcp_build_icreq(b, true, false, 0), 0);
	assert_int_equal(b[0], NVME_TCP_ICREQ);
	assert_int_equal(b[2], 128);
	assert_int_equal(nu_get_le32(b + 4), 128);
	assert_int_equal(b[11], 1);
	assert_int_equal(nvme_tcp_build_icreq(b, false, false, 32), -EINVAL);

	memset(b, 0, sizeof(b));
	b[0] = NVME_TCP_ICRESP;
	b[2] = 128;
	b[4] = 128;
	b[10] = 1; /* CPDA: 8-byte alignment */
	b[11] = 3;
	nu_put_le32(b + 12, 131072);
	assert_int_equal(nvme_tcp_parse_icresp(b, true, true, &p, &why), 0);
	assert_true(p.hdgst && p.ddgst);
	assert_int_equal(p.cpda, 1);
	assert_int_equal(p.maxh2cdata, 131072);
	/* Digests other than requested. */
	assert_int_equal(nvme_tcp_parse_icresp(b, true, false, &p, &why), -EPROTO);
	assert_non_null(strstr(why, "digest"));
	/* MAXH2CDATA too small. */
	nu_put_le32(b + 12, 1024);
	assert_int_equal(nvme_tcp_parse_icresp(b, true, true, &p, &why), -EPROTO);
	nu_put_le32(b + 12, 131072);
	/* A C2HTermReq instead. */
	b[0] = NVME_TCP_C2H_TERM;
	assert_int_equal(nvme_tcp_parse_icresp(b, true, true, &p, &why), -EPROTO);
	assert_non_null(strstr(why, "terminated"));
}

static void test_build_cmd(void **state)
{
	uint8_t sqe[NVME_SQE_LEN], out[128];
	struct nvme_tcp_params aligned = { .hdgst = true, .cpda = 3, .maxh2cdata = 65536 };
	unsigned n;

	memset(sqe, 0xab, sizeof(sqe));
	n = nvme_tcp_build_cmd(out, &plain, sqe, 0);
	assert_int_equal(n, 72);
	assert_int_equal(out[0], NVME_TCP_CMD);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[3], 0);
	assert_int_equal(nu_get_le32(out + 4), 72);
	assert_memory_equal(out + 8, sqe, 64);

	n = nvme_tcp_build_cmd(out, &digests, sqe, 4096);
	assert_int_equal(n, 76); /* header and its digest; data follows at PDO */
	assert_int_equal(out[1], NVME_TCP_F_HDGST | NVME_TCP_F_DDGST);
	assert_int_equal(out[3], 76);
	assert_int_equal(nu_get_le32(out + 4), 76 + 4096 + 4);
	assert_true(nu_hdgst_ok(out, 72));

	/* CPDA 3: data on a 16-byte boundary, zero padding after the digest. */
	n = nvme_tcp_build_cmd(out, &aligned, sqe, 512);
	assert_int_equal(n, 80);
	assert_int_equal(out[3], 80);
	assert_int_equal(nu_get_le32(out + 76), 0);
}

static void test_build_h2c(void **state)
{
	uint8_t out[128];
	unsigned n = nvme_tcp_build_h2c(out, &digests, 0x1234, 0x55, 8192, 4096, true);

	assert_int_equal(n, 28);
	assert_int_equal(out[0], NVME_TCP_H2C_DATA);
	assert_int_equal(out[1], NVME_TCP_F_HDGST | NVME_TCP_F_DDGST | NVME_TCP_F_LAST);
	assert_int_equal(out[3], 28);
	assert_int_equal(nu_get_le32(out + 4), 28 + 4096 + 4);
	assert_int_equal(out[8] | out[9] << 8, 0x1234);
	assert_int_equal(out[10] | out[11] << 8, 0x55);
	assert_int_equal(nu_get_le32(out + 12), 8192);
	assert_int_equal(nu_get_le32(out + 16), 4096);
	assert_true(nu_hdgst_ok(out, 24));
	n = nvme_tcp_build_term(out, 5);
	assert_int_equal(n, 24);
	assert_int_equal(out[0], NVME_TCP_H2C_TERM);
}

/* A well-formed PDU header from the controller. */
static size_t make(uint8_t *b, uint8_t type, uint8_t flags, const struct nvme_tcp_params *p,
		   uint32_t dlen)
{
	unsigned hd = p->hdgst ? 4 : 0;

	memset(b, 0, 128);
	b[0] = type;
	b[1] = flags | (p->hdgst ? NVME_TCP_F_HDGST : 0) |
	       (type == NVME_TCP_C2H_DATA && p->ddgst ? NVME_TCP_F_DDGST : 0);
	b[2] = 24;
	b[3] = type == NVME_TCP_C2H_DATA ? 24 + hd : 0;
	nu_put_le32(b + 4, 24 + hd + dlen + (type == NVME_TCP_C2H_DATA && p->ddgst ? 4 : 0));
	b[8] = 9; /* cid 9 (C2HData, R2T) */
	if (type == NVME_TCP_RSP)
		b[8 + 12] = 9;
	nu_put_le32(b + 16, dlen);
	if (p->hdgst)
		nu_hdgst_append(b, 24);
	return 24 + hd;
}

static void test_parse_good(void **state)
{
	uint8_t b[128];
	struct nvme_tcp_hdr h;
	const char *why;
	size_t n;

	n = make(b, NVME_TCP_RSP, 0, &plain, 0);
	assert_int_equal(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), 0);
	assert_int_equal(h.cid, 9);
	assert_non_null(h.cqe);
	assert_int_equal(h.dlen, 0);

	n = make(b, NVME_TCP_C2H_DATA, NVME_TCP_F_LAST | NVME_TCP_F_SUCCESS, &digests, 4096);
	assert_int_equal(nvme_tcp_parse_hdr(b, n, &digests, 65536, &h, &why), 0);
	assert_int_equal(h.dlen, 4096);
	assert_int_equal(h.pdo, 28);
	assert_int_equal(h.len, 4096);

	n = make(b, NVME_TCP_R2T, 0, &digests, 0);
	nu_put_le32(b + 16, 131072); /* R2TL: no payload of its own */
	nu_hdgst_append(b, 24);
	assert_int_equal(nvme_tcp_parse_hdr(b, n, &digests, 65536, &h, &why), 0);
	assert_int_equal(h.len, 131072);

	/* Not all there yet. */
	assert_int_equal(nvme_tcp_parse_hdr(b, 7, &digests, 65536, &h, &why), -EAGAIN);
	assert_int_equal(nvme_tcp_parse_hdr(b, 24, &digests, 65536, &h, &why), -EAGAIN);

	/* C2HTermReq carries the offending header as its data. */
	memset(b, 0, sizeof(b));
	b[0] = NVME_TCP_C2H_TERM;
	b[2] = 24;
	nu_put_le32(b + 4, 48);
	b[8] = 4;
	assert_int_equal(nvme_tcp_parse_hdr(b, 24, &digests, 65536, &h, &why), 0);
	assert_int_equal(h.fes, 4);
	assert_int_equal(h.dlen, 24);
}

#define BAD(expr, text)                                                        \
	do {                                                                   \
		assert_int_equal((expr), -EPROTO);                             \
		assert_non_null(strstr(why, text));                            \
	} while (0)

static void test_parse_hostile(void **state)
{
	uint8_t b[128];
	struct nvme_tcp_hdr h;
	const char *why = "";
	size_t n;

	n = make(b, NVME_TCP_RSP, 0, &plain, 0);
	b[0] = 0x42;
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "unknown PDU type");
	b[0] = NVME_TCP_CMD;
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "host-to-controller");
	b[0] = NVME_TCP_RSP;
	b[2] = 72;
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "header length");
	b[2] = 24;
	nu_put_le32(b + 4, 0x7ffffff0);
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "without data");
	nu_put_le32(b + 4, 24);
	b[1] = NVME_TCP_F_DDGST;
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "unexpected flags");

	/* Digest flag other than negotiated, and a wrong header digest. */
	n = make(b, NVME_TCP_RSP, 0, &plain, 0);
	BAD(nvme_tcp_parse_hdr(b, n, &digests, 65536, &h, &why), "header digest flag");
	n = make(b, NVME_TCP_RSP, 0, &digests, 0);
	b[24] ^= 1;
	BAD(nvme_tcp_parse_hdr(b, n, &digests, 65536, &h, &why), "header digest mismatch");

	/* C2HData: too long, lengths that do not add up, offset beyond the header room. */
	n = make(b, NVME_TCP_C2H_DATA, NVME_TCP_F_LAST, &plain, 65536 + 512);
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "length out of range");
	n = make(b, NVME_TCP_C2H_DATA, NVME_TCP_F_LAST, &plain, 4096);
	nu_put_le32(b + 4, 24 + 4096 + 8);
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "do not add up");
	n = make(b, NVME_TCP_C2H_DATA, NVME_TCP_F_LAST, &plain, 4096);
	b[3] = 200;
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "offset out of range");
	n = make(b, NVME_TCP_C2H_DATA, NVME_TCP_F_SUCCESS, &plain, 4096);
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "SUCCESS but not LAST");
	n = make(b, NVME_TCP_C2H_DATA, 0, &plain, 0);
	BAD(nvme_tcp_parse_hdr(b, n, &plain, 65536, &h, &why), "length out of range");
	n = make(b, NVME_TCP_C2H_DATA, NVME_TCP_F_LAST, &digests, 4096);
	b[1] &= ~NVME_TCP_F_DDGST;
	nu_hdgst_append(b, 24);
	BAD(nvme_tcp_parse_hdr(b, n, &digests, 65536, &h, &why), "data digest flag");

	/* C2HTermReq with a body too long. */
	memset(b, 0, sizeof(b));
	b[0] = NVME_TCP_C2H_TERM;
	b[2] = 24;
	nu_put_le32(b + 4, 24 + 129);
	BAD(nvme_tcp_parse_hdr(b, 24, &plain, 65536, &h, &why), "C2HTermReq");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icreq_icresp), cmocka_unit_test(test_build_cmd),
		cmocka_unit_test(test_build_h2c),    cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
