// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "nvme_pdu.h"
#include "digest.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_ch(uint8_t *out, uint8_t type, uint8_t flags, uint8_t hlen, uint8_t pdo,
		   uint32_t plen)
{
	out[0] = type;
	out[1] = flags;
	out[2] = hlen;
	out[3] = pdo;
	nu_put_le32(out + 4, plen);
}

int nvme_tcp_build_icreq(uint8_t out[NVME_TCP_IC_LEN], bool hdgst, bool ddgst, unsigned hpda)
{
	if (hpda > 31)
		return -EINVAL;
	memset(out, 0, NVME_TCP_IC_LEN);
	put_ch(out, NVME_TCP_ICREQ, 0, NVME_TCP_IC_LEN, 0, NVME_TCP_IC_LEN);
	/* PFV 0; MAXR2T 0: one outstanding R2T per command (0's based). */
	out[10] = hpda;
	out[11] = (hdgst ? 1 : 0) | (ddgst ? 2 : 0);
	return 0;
}

int nvme_tcp_parse_icresp(const uint8_t in[NVME_TCP_IC_LEN], bool hdgst, bool ddgst,
			  struct nvme_tcp_params *p, const char **why)
{
	uint8_t dgst = in[11];

	if (in[0] != NVME_TCP_ICRESP || in[2] != NVME_TCP_IC_LEN ||
	    nu_get_le32(in + 4) != NVME_TCP_IC_LEN) {
		*why = in[0] == NVME_TCP_C2H_TERM ? "target terminated the connection" :
						    "malformed ICResp";
		return -EPROTO;
	}
	if (get_le16(in + 8) != 0) {
		*why = "unsupported PDU format version";
		return -EPROTO;
	}
	/* The target may only enable what we asked for, and must take what we asked. */
	if (!!(dgst & 1) != hdgst || !!(dgst & 2) != ddgst) {
		*why = "target answered with other digest settings than requested";
		return -EPROTO;
	}
	if (in[10] > 31) {
		*why = "CPDA out of range";
		return -EPROTO;
	}
	p->hdgst = hdgst;
	p->ddgst = ddgst;
	p->cpda = in[10];
	p->maxh2cdata = nu_get_le32(in + 12);
	if (p->maxh2cdata < 4096 || p->maxh2cdata % 4) {
		*why = "MAXH2CDATA below 4096 or unaligned";
		return -EPROTO;
	}
	return 0;
}

unsigned nvme_tcp_data_pdo(const struct nvme_tcp_params *p, unsigned hlen)
{
	unsigned align = (p->cpda + 1) * 4;
	unsigned end = hlen + (p->hdgst ? NVME_TCP_DGST_LEN : 0);

	return (end + align - 1) / align * align;
}

/* Header, digest and padding up to pdo: the bytes that go before a payload. */
static unsigned finish_hdr(uint8_t *out, const struct nvme_tcp_params *p, unsigned hlen,
			   unsigned pdo)
{
	unsigned n = hlen;

	if (p->hdgst)
		n = nu_hdgst_append(out, hlen);
	if (pdo > n) {
		memset(out + n, 0, pdo - n);
		n = pdo;
	}
	return n;
}

unsigned nvme_tcp_build_cmd(uint8_t *out, const struct nvme_tcp_params *p,
			    const uint8_t sqe[NVME_SQE_LEN], uint32_t dlen)
{
	unsigned hd = p->hdgst ? NVME_TCP_DGST_LEN : 0, pdo = 0;
	uint8_t flags = p->hdgst ? NVME_TCP_F_HDGST : 0;
	uint32_t plen = NVME_TCP_CMD_HLEN + hd;

	if (dlen) {
		pdo = nvme_tcp_data_pdo(p, NVME_TCP_CMD_HLEN);
		plen = pdo + dlen + (p->ddgst ? NVME_TCP_DGST_LEN : 0);
		if (p->ddgst)
			flags |= NVME_TCP_F_DDGST;
	}
	put_ch(out, NVME_TCP_CMD, flags, NVME_TCP_CMD_HLEN, pdo, plen);
	memcpy(out + NVME_TCP_CH_LEN, sqe, NVME_SQE_LEN);
	return finish_hdr(out, p, NVME_TCP_CMD_HLEN, pdo);
}

unsigned nvme_tcp_build_h2c(uint8_t *out, const struct nvme_tcp_params *p, uint16_t cid,
			    uint16_t ttag, uint32_t off, uint32_t len, bool last)
{
	unsigned pdo = nvme_tcp_data_pdo(p, NVME_TCP_DATA_HLEN);
	uint8_t flags = (p->hdgst ? NVME_TCP_F_HDGST : 0) | (p->ddgst ? NVME_TCP_F_DDGST : 0) |
			(last ? NVME_TCP_F_LAST : 0);

	memset(out, 0, NVME_TCP_DATA_HLEN);
	put_ch(out, NVME_TCP_H2C_DATA, flags, NVME_TCP_DATA_HLEN, pdo,
	       pdo + len + (p->ddgst ? NVME_TCP_DGST_LEN : 0));
	put_le16(out + 8, cid);
	put_le16(out + 10, ttag);
	nu_put_le32(out + 12, off);
	nu_put_le32(out + 16, len);
	return finish_hdr(out, p, NVME_TCP_DATA_HLEN, pdo);
}

unsigned nvme_tcp_build_term(uint8_t *out, uint16_t fes)
{
	memset(out, 0, NVME_TCP_TERM_HLEN);
	put_ch(out, NVME_TCP_H2C_TERM, 0, NVME_TCP_TERM_HLEN, 0, NVME_TCP_TERM_HLEN);
	put_le16(out + 8, fes);
	return NVME_TCP_TERM_HLEN;
}

#define FAIL(msg)                 \
	do {                      \
		*why = msg;       \
		return -EPROTO;   \
	} while (0)

int nvme_tcp_parse_hdr(const uint8_t *in, size_t avail, const struct nvme_tcp_params *p,
		       uint32_t max_data, struct nvme_tcp_hdr *h, const char **why)
{
	unsigned hd = p->hdgst ? NVME_TCP_DGST_LEN : 0, dd = p->ddgst ? NVME_TCP_DGST_LEN : 0;
	uint8_t want_flags;

	if (avail < NVME_TCP_CH_LEN)
		return -EAGAIN;
	memset(h, 0, sizeof(*h));
	h->type = in[0];
	h->flags = in[1];
	h->hlen = in[2];
	h->pdo = in[3];
	h->plen = nu_get_le32(in + 4);

	if (h->type == NVME_TCP_C2H_TERM) {
		/* No digests; the payload is the offending PDU's header, at most 128 bytes. */
		if (h->hlen != NVME_TCP_TERM_HLEN || h->plen < NVME_TCP_TERM_HLEN ||
		    h->plen > NVME_TCP_TERM_HLEN + 128)
			FAIL("malformed C2HTermReq");
		if (avail < NVME_TCP_TERM_HLEN)
			return -EAGAIN;
		h->fes = get_le16(in + 8);
		h->dlen = h->plen - NVME_TCP_TERM_HLEN;
		return 0;
	}
	switch (h->type) {
	case NVME_TCP_RSP:
	case NVME_TCP_R2T:
	case NVME_TCP_C2H_DATA:
		break;
	case NVME_TCP_ICREQ:
	case NVME_TCP_H2C_TERM:
	case NVME_TCP_CMD:
	case NVME_TCP_H2C_DATA:
		FAIL("host-to-controller PDU type from the target");
	default:
		FAIL("unknown PDU type");
	}
	if (h->hlen != NVME_TCP_RSP_HLEN) /* all three are 24 bytes */
		FAIL("wrong header length for the PDU type");
	want_flags = p->hdgst ? NVME_TCP_F_HDGST : 0;
	if ((h->flags & NVME_TCP_F_HDGST) != want_flags)
		FAIL("header digest flag differs from what was negotiated");
	if (avail < h->hlen + hd)
		return -EAGAIN;
	if (hd && !nu_hdgst_ok(in, h->hlen))
		FAIL("header digest mismatch");

	if (h->type == NVME_TCP_C2H_DATA) {
		if (!!(h->flags & NVME_TCP_F_DDGST) != p->ddgst)
			FAIL("data digest flag differs from what was negotiated");
		if ((h->flags & NVME_TCP_F_SUCCESS) && !(h->flags & NVME_TCP_F_LAST))
			FAIL("C2HData with SUCCESS but not LAST_PDU");
		h->cid = get_le16(in + 8);
		h->off = nu_get_le32(in + 12);
		h->len = nu_get_le32(in + 16);
		if (h->pdo < h->hlen + hd || h->pdo > 128)
			FAIL("C2HData data offset out of range");
		if (h->len == 0 || h->len > max_data)
			FAIL("C2HData length out of range");
		if ((uint64_t)h->pdo + h->len + dd != h->plen)
			FAIL("C2HData lengths do not add up");
		if (avail < h->pdo)
			return -EAGAIN;
		h->dlen = h->len;
		return 0;
	}
	if (h->flags & ~(NVME_TCP_F_HDGST))
		FAIL("unexpected flags");
	if (h->pdo != 0 || h->plen != (uint32_t)h->hlen + hd)
		FAIL("lengths do not fit a PDU without data");
	if (h->type == NVME_TCP_RSP) {
		h->cqe = in + NVME_TCP_CH_LEN;
		h->cid = get_le16(h->cqe + 12);
	} else {
		h->cid = get_le16(in + 8);
		h->ttag = get_le16(in + 10);
		h->off = nu_get_le32(in + 12);
		h->len = nu_get_le32(in + 16);
	}
	return 0;
}
