// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "pdu.h"

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = v >> 16;
	p[1] = v >> 8;
	p[2] = v;
}

void iscsi_hdr_decode(const uint8_t b[ISCSI_BHS_LEN], struct iscsi_hdr *h)
{
	h->immediate = b[0] & ISCSI_OP_IMMEDIATE;
	h->opcode = b[0] & ISCSI_OPCODE_MASK;
	h->flags = b[1];
	h->b2 = b[2];
	h->b3 = b[3];
	h->ahs_len = b[4] * 4;
	h->dlen = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	memcpy(h->lun, b + 8, 8);
	h->itt = iscsi_get32(b + 16);
	h->f20 = iscsi_get32(b + 20);
	h->f24 = iscsi_get32(b + 24);
	h->f28 = iscsi_get32(b + 28);
	h->f32 = iscsi_get32(b + 32);
	h->f36 = iscsi_get32(b + 36);
	h->f40 = iscsi_get32(b + 40);
	h->f44 = iscsi_get32(b + 44);
}

int iscsi_hdr_check(const struct iscsi_hdr *h, uint32_t max_recv_dlen, const char **why)
{
	*why = NULL;
	switch (h->opcode) {
	case ISCSI_OP_NOP_IN:
	case ISCSI_OP_SCSI_RSP:
	case ISCSI_OP_DATA_IN:
	case ISCSI_OP_LOGIN_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_ASYNC:
	case ISCSI_OP_REJECT:
		break;
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_LOGOUT_RSP:
	case ISCSI_OP_R2T:
		if (h->dlen) {
			*why = "data segment on a PDU that has none";
			return -EPROTO;
		}
		break;
	default:
		*why = "not a target opcode";
		return -EPROTO;
	}
	/* No target PDU we accept defines an AHS (bidirectional commands are not sent). */
	if (h->ahs_len) {
		*why = "unexpected additional header segment";
		return -EPROTO;
	}
	if (h->dlen > max_recv_dlen) {
		*why = "data segment longer than MaxRecvDataSegmentLength";
		return -EPROTO;
	}
	if (h->opcode == ISCSI_OP_REJECT && h->dlen < ISCSI_BHS_LEN) {
		*why = "Reject without the rejected header";
		return -EPROTO;
	}
	return 0;
}

static void common(uint8_t *bhs, uint8_t opcode, uint8_t flags, uint32_t dlen, uint32_t itt)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = opcode;
	bhs[1] = flags;
	put24(bhs + 5, dlen);
	iscsi_put32(bhs + 16, itt);
}

void iscsi_build_scsi_cmd(uint8_t *bhs, const uint8_t lun[8], uint32_t itt, uint8_t flags,
			  uint32_t edtl, uint32_t cmdsn, uint32_t expstatsn, const uint8_t *cdb,
			  unsigned cdb_len, uint32_t immediate_dlen)
{
	common(bhs, ISCSI_OP_SCSI_CMD, flags | ISCSI_CMD_ATTR_SIMPLE, immediate_dlen, itt);
	memcpy(bhs + 8, lun, 8);
	iscsi_put32(bhs + 20, edtl);
	iscsi_put32(bhs + 24, cmdsn);
	iscsi_put32(bhs + 28, expstatsn);
	memcpy(bhs + 32, cdb, cdb_len > 16 ? 16 : cdb_len);
}

void iscsi_build_data_out(uint8_t *bhs, const uint8_t lun[8], uint32_t itt, uint32_t ttt,
			  uint32_t expstatsn, uint32_t datasn, uint32_t offset, uint32_t dlen,
			  bool final)
{
	common(bhs, ISCSI_OP_DATA_OUT, final ? ISCSI_FLAG_FINAL : 0, dlen, itt);
	memcpy(bhs + 8, lun, 8);
	iscsi_put32(bhs + 20, ttt);
	iscsi_put32(bhs + 28, expstatsn);
	iscsi_put32(bhs + 36, datasn);
	iscsi_put32(bhs + 40, offset);
}

void iscsi_build_nop_out(uint8_t *bhs, uint32_t itt, uint32_t ttt, const uint8_t lun[8],
			 uint32_t cmdsn, uint32_t expstatsn)
{
	common(bhs, ISCSI_OP_NOP_OUT | ISCSI_OP_IMMEDIATE, ISCSI_FLAG_FINAL, 0, itt);
	if (lun)
		memcpy(bhs + 8, lun, 8);
	iscsi_put32(bhs + 20, ttt);
	iscsi_put32(bhs + 24, cmdsn);
	iscsi_put32(bhs + 28, expstatsn);
}

void iscsi_build_login(uint8_t *bhs, const uint8_t isid[6], uint16_t tsih, uint32_t itt,
		       uint16_t cid, uint8_t csg, uint8_t nsg, bool transit, uint32_t cmdsn,
		       uint32_t expstatsn, uint32_t dlen)
{
	uint8_t flags = (csg & 3) << 2;

	if (transit)
		flags |= ISCSI_LOGIN_TRANSIT | (nsg & 3);
	common(bhs, ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE, flags, dlen, itt);
	bhs[2] = 0; /* version max */
	bhs[3] = 0; /* version min */
	memcpy(bhs + 8, isid, 6);
	bhs[14] = tsih >> 8;
	bhs[15] = tsih;
	bhs[20] = cid >> 8;
	bhs[21] = cid;
	iscsi_put32(bhs + 24, cmdsn);
	iscsi_put32(bhs + 28, expstatsn);
}

void iscsi_build_logout(uint8_t *bhs, uint32_t itt, uint16_t cid, uint32_t cmdsn,
			uint32_t expstatsn)
{
	/* Reason 0: close the session. */
	common(bhs, ISCSI_OP_LOGOUT_REQ | ISCSI_OP_IMMEDIATE, ISCSI_FLAG_FINAL, 0, itt);
	bhs[20] = cid >> 8;
	bhs[21] = cid;
	iscsi_put32(bhs + 24, cmdsn);
	iscsi_put32(bhs + 28, expstatsn);
}

void iscsi_build_tmf(uint8_t *bhs, uint8_t function, const uint8_t lun[8], uint32_t itt,
		     uint32_t ref_itt, uint32_t cmdsn, uint32_t expstatsn, uint32_t ref_cmdsn)
{
	common(bhs, ISCSI_OP_TMF_REQ | ISCSI_OP_IMMEDIATE, ISCSI_FLAG_FINAL | (function & 0x7f), 0,
	       itt);
	memcpy(bhs + 8, lun, 8);
	iscsi_put32(bhs + 20, ref_itt);
	iscsi_put32(bhs + 24, cmdsn);
	iscsi_put32(bhs + 28, expstatsn);
	iscsi_put32(bhs + 32, ref_cmdsn);
}

void iscsi_lun_encode(uint32_t lun, uint8_t out[8])
{
	memset(out, 0, 8);
	if (lun < 256) {
		out[1] = lun; /* peripheral device addressing */
	} else {
		out[0] = 0x40 | ((lun >> 8) & 0x3f); /* flat space addressing */
		out[1] = lun;
	}
}
