/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_PDU_H
#define NETUBLK_ISCSI_PDU_H

/*
 * iSCSI PDUs after RFC 7143: the 48-byte Basic Header Segment, bytes in and
 * bytes out. Nothing here touches a socket.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_BHS_LEN	 48
#define ISCSI_DIGEST_LEN 4

/* Initiator opcodes */
#define ISCSI_OP_NOP_OUT     0x00
#define ISCSI_OP_SCSI_CMD    0x01
#define ISCSI_OP_TMF_REQ     0x02
#define ISCSI_OP_LOGIN_REQ   0x03
#define ISCSI_OP_TEXT_REQ    0x04
#define ISCSI_OP_DATA_OUT    0x05
#define ISCSI_OP_LOGOUT_REQ  0x06
/* Target opcodes */
#define ISCSI_OP_NOP_IN	     0x20
#define ISCSI_OP_SCSI_RSP    0x21
#define ISCSI_OP_TMF_RSP     0x22
#define ISCSI_OP_LOGIN_RSP   0x23
#define ISCSI_OP_TEXT_RSP    0x24
#define ISCSI_OP_DATA_IN     0x25
#define ISCSI_OP_LOGOUT_RSP  0x26
#define ISCSI_OP_R2T	     0x31
#define ISCSI_OP_ASYNC	     0x32
#define ISCSI_OP_REJECT	     0x3f

#define ISCSI_OP_IMMEDIATE 0x40
#define ISCSI_OPCODE_MASK  0x3f

#define ISCSI_FLAG_FINAL 0x80
/* SCSI Command */
#define ISCSI_CMD_READ	      0x40
#define ISCSI_CMD_WRITE	      0x20
#define ISCSI_CMD_ATTR_SIMPLE 0x01
/* Data-In */
#define ISCSI_DATAIN_ACK      0x40
#define ISCSI_DATAIN_OVERFLOW 0x04
#define ISCSI_DATAIN_UNDERFLOW 0x02
#define ISCSI_DATAIN_STATUS   0x01
/* SCSI Response */
#define ISCSI_RSP_BIDI_OVERFLOW	 0x10
#define ISCSI_RSP_BIDI_UNDERFLOW 0x08
#define ISCSI_RSP_OVERFLOW	 0x04
#define ISCSI_RSP_UNDERFLOW	 0x02
/* Login */
#define ISCSI_LOGIN_TRANSIT  0x80
#define ISCSI_LOGIN_CONTINUE 0x40
#define ISCSI_STAGE_SECURITY	0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL	3

#define ISCSI_RESERVED_TAG 0xffffffffu

/* The fields of a BHS that the initiator acts upon, decoded. */
struct iscsi_hdr {
	uint8_t opcode; /* without the immediate bit */
	bool immediate;
	uint8_t flags;
	uint8_t b2, b3; /* opcode-specific: response/status, version, ... */
	uint8_t ahs_len; /* bytes */
	uint32_t dlen;	 /* data segment length, without padding */
	uint8_t lun[8];
	uint32_t itt;
	uint32_t f20, f24, f28, f32, f36, f40, f44; /* big-endian words at those offsets */
};

/* Named views of the words, per target opcode. */
#define hdr_ttt(h)	       ((h)->f20)
#define hdr_statsn(h)	       ((h)->f24)
#define hdr_expcmdsn(h)	       ((h)->f28)
#define hdr_maxcmdsn(h)	       ((h)->f32)
#define hdr_datasn(h)	       ((h)->f36) /* Data-In; R2TSN in R2T; ExpDataSN in response */
#define hdr_buffer_offset(h)   ((h)->f40)
#define hdr_residual(h)	       ((h)->f44)
#define hdr_desired_length(h)  ((h)->f44) /* R2T */

static inline uint32_t iscsi_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void iscsi_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline uint32_t iscsi_pad4(uint32_t n)
{
	return (4 - (n & 3)) & 3;
}

/* Serial number arithmetic (RFC 1982, 32 bits) for CmdSN and friends. */
/*
 * RFC 1982 serial arithmetic: at a distance of exactly 2^31 neither is
 * less (else a < b and b < a would both hold, which let a hostile
 * MaxCmdSN spin the CmdSN window's wait list for ever).
 */
static inline bool iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && a - b != 0x80000000u && (int32_t)(a - b) < 0;
}

static inline bool iscsi_sn_le(uint32_t a, uint32_t b)
{
	return a == b || iscsi_sn_lt(a, b);
}

void iscsi_hdr_decode(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_hdr *h);

/*
 * Checks a received header against what this initiator accepts: a target
 * opcode, a data segment no longer than max_recv_dlen, data only on
 * opcodes that carry it, no AHS where none is defined. Returns 0 or
 * -EPROTO with *why naming the violation; the connection must then drop.
 */
int iscsi_hdr_check(const struct iscsi_hdr *h, uint32_t max_recv_dlen, const char **why);

/* Builders for the PDUs an initiator sends; bhs is zeroed first. */
void iscsi_build_scsi_cmd(uint8_t *bhs, const uint8_t lun[8], uint32_t itt, uint8_t flags,
			  uint32_t edtl, uint32_t cmdsn, uint32_t expstatsn, const uint8_t *cdb,
			  unsigned cdb_len, uint32_t immediate_dlen);
void iscsi_build_data_out(uint8_t *bhs, const uint8_t lun[8], uint32_t itt, uint32_t ttt,
			  uint32_t expstatsn, uint32_t datasn, uint32_t offset, uint32_t dlen,
			  bool final);
void iscsi_build_nop_out(uint8_t *bhs, uint32_t itt, uint32_t ttt, const uint8_t lun[8],
			 uint32_t cmdsn, uint32_t expstatsn);
void iscsi_build_login(uint8_t *bhs, const uint8_t isid[6], uint16_t tsih, uint32_t itt,
		       uint16_t cid, uint8_t csg, uint8_t nsg, bool transit, uint32_t cmdsn,
		       uint32_t expstatsn, uint32_t dlen);
void iscsi_build_logout(uint8_t *bhs, uint32_t itt, uint16_t cid, uint32_t cmdsn,
			uint32_t expstatsn);
void iscsi_build_tmf(uint8_t *bhs, uint8_t function, const uint8_t lun[8], uint32_t itt,
		     uint32_t ref_itt, uint32_t cmdsn, uint32_t expstatsn, uint32_t ref_cmdsn);

/* 8-byte LUN field for a flat LUN number (SAM peripheral/flat addressing). */
void iscsi_lun_encode(uint32_t lun, uint8_t out[8]);

#endif
