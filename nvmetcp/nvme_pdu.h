/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_PDU_H
#define NETUBLK_NVME_PDU_H

/*
 * NVMe/TCP PDUs (NVMe over TCP transport specification 1.0): pure
 * encoders and a checking decoder, bytes in and bytes out.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nvme_tcp_pdu_type {
	NVME_TCP_ICREQ = 0x00,
	NVME_TCP_ICRESP = 0x01,
	NVME_TCP_H2C_TERM = 0x02,
	NVME_TCP_C2H_TERM = 0x03,
	NVME_TCP_CMD = 0x04,
	NVME_TCP_RSP = 0x05,
	NVME_TCP_H2C_DATA = 0x06,
	NVME_TCP_C2H_DATA = 0x07,
	NVME_TCP_R2T = 0x09,
};

#define NVME_TCP_F_HDGST 0x01
#define NVME_TCP_F_DDGST 0x02
#define NVME_TCP_F_LAST 0x04
#define NVME_TCP_F_SUCCESS 0x08

#define NVME_TCP_CH_LEN 8
#define NVME_TCP_IC_LEN 128
#define NVME_TCP_CMD_HLEN 72 /* common header + 64-byte SQE */
#define NVME_TCP_RSP_HLEN 24 /* common header + 16-byte CQE */
#define NVME_TCP_DATA_HLEN 24
#define NVME_TCP_R2T_HLEN 24
#define NVME_TCP_TERM_HLEN 24
#define NVME_TCP_DGST_LEN 4
#define NVME_SQE_LEN 64
#define NVME_CQE_LEN 16

/* What the connection negotiated; both ends' digests are the same. */
struct nvme_tcp_params {
	bool hdgst, ddgst;
	unsigned cpda;	      /* our PDU data alignment is (cpda + 1) * 4 */
	uint32_t maxh2cdata; /* largest H2CData payload */
};

/* A decoded, checked received PDU header. */
struct nvme_tcp_hdr {
	uint8_t type, flags, hlen, pdo;
	uint32_t plen;
	uint32_t dlen;	/* payload length */
	uint16_t cid;	/* command the PDU belongs to (CapsuleResp: from the CQE) */
	uint16_t ttag;	/* R2T */
	uint32_t off;	/* C2HData data offset, R2T offset */
	uint32_t len;	/* C2HData data length, R2T length */
	const uint8_t *cqe; /* CapsuleResp: the 16-byte CQE */
	uint16_t fes;	/* C2HTermReq: fatal error status */
};

int nvme_tcp_build_icreq(uint8_t out[NVME_TCP_IC_LEN], bool hdgst, bool ddgst, unsigned hpda);
/* Checks an ICResp against what was asked; fills *p. why says what is wrong. */
int nvme_tcp_parse_icresp(const uint8_t in[NVME_TCP_IC_LEN], bool hdgst, bool ddgst,
			  struct nvme_tcp_params *p, const char **why);

/* Header bytes before in-capsule or H2C data: header, digest, CPDA padding. */
unsigned nvme_tcp_data_pdo(const struct nvme_tcp_params *p, unsigned hlen);

/*
 * A command capsule with dlen bytes of in-capsule data following; returns
 * the header length to send (digest and padding included, at most 128).
 */
unsigned nvme_tcp_build_cmd(uint8_t *out, const struct nvme_tcp_params *p,
			    const uint8_t sqe[NVME_SQE_LEN], uint32_t dlen);
/* An H2CData header for len bytes at off of command cid; returns its length. */
unsigned nvme_tcp_build_h2c(uint8_t *out, const struct nvme_tcp_params *p, uint16_t cid,
			    uint16_t ttag, uint32_t off, uint32_t len, bool last);
/* An H2CTermReq with fatal error status fes; returns its length. */
unsigned nvme_tcp_build_term(uint8_t *out, uint16_t fes);

/*
 * Decodes the header at in (avail bytes). Returns 0, -EAGAIN when more
 * bytes are needed, or -EPROTO with *why saying what the target did
 * wrong: unknown or host-only type, lengths that do not fit the type,
 * digest flags other than negotiated, header digest mismatch, payload
 * longer than max_data.
 */
int nvme_tcp_parse_hdr(const uint8_t *in, size_t avail, const struct nvme_tcp_params *p,
		       uint32_t max_data, struct nvme_tcp_hdr *h, const char **why);

#endif
