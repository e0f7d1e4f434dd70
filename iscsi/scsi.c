// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "scsi.h"

static int take_cdb(struct scsi_task *t, struct scsi_cmd *cmd)
{
	if (!t)
		return -ENOMEM;
	memcpy(cmd->cdb, t->cdb, t->cdb_size);
	cmd->cdb_len = t->cdb_size;
	scsi_free_scsi_task(t);
	return 0;
}

/*
 * READ(16) / WRITE(16) (SBC-4 5.16, 5.40) written in place: these two are
 * every data I/O, and libiscsi's builders allocate and free a task per
 * call. test_scsi checks them byte for byte against libiscsi's.
 */
static void rw16(struct scsi_cmd *cmd, uint8_t opcode, uint64_t lba, uint32_t blocks, bool fua)
{
	uint8_t *c = cmd->cdb;

	c[0] = opcode;
	c[1] = fua ? 0x08 : 0;
	for (int i = 0; i < 8; i++)
		c[2 + i] = lba >> (56 - 8 * i);
	for (int i = 0; i < 4; i++)
		c[10 + i] = blocks >> (24 - 8 * i);
	cmd->cdb_len = 16;
}

int scsi_build(const struct nu_io *io, uint32_t lbs, struct scsi_cmd *cmd)
{
	uint64_t lba = io->offset / lbs;
	uint32_t blocks = io->len / lbs;
	int fua = !!(io->flags & NU_IO_FUA);

	memset(cmd, 0, sizeof(*cmd));
	if (io->offset % lbs || io->len % lbs)
		return -EINVAL;
	switch (io->op) {
	case NU_OP_READ:
		cmd->dir = SCSI_DIR_READ;
		cmd->xfer_len = io->len;
		rw16(cmd, SCSI_OPCODE_READ16, lba, blocks, fua);
		return 0;
	case NU_OP_WRITE:
		cmd->dir = SCSI_DIR_WRITE;
		cmd->xfer_len = io->len;
		rw16(cmd, SCSI_OPCODE_WRITE16, lba, blocks, fua);
		return 0;
	case NU_OP_FLUSH:
		cmd->dir = SCSI_DIR_NONE;
		return take_cdb(scsi_cdb_synchronizecache16(0, 0, 0, 0), cmd);
	case NU_OP_DISCARD: {
		uint8_t *p = cmd->param;

		cmd->dir = SCSI_DIR_WRITE;
		cmd->xfer_len = SCSI_UNMAP_PARAM_LEN;
		/* Parameter list header, then one block descriptor (SBC-4 5.32.2). */
		p[1] = SCSI_UNMAP_PARAM_LEN - 2;
		p[3] = 16;
		for (int i = 0; i < 8; i++)
			p[8 + i] = lba >> (56 - 8 * i);
		p[16] = blocks >> 24;
		p[17] = blocks >> 16;
		p[18] = blocks >> 8;
		p[19] = blocks;
		return take_cdb(scsi_cdb_unmap(0, 0, SCSI_UNMAP_PARAM_LEN), cmd);
	}
	case NU_OP_WRITE_ZEROES:
		cmd->dir = SCSI_DIR_WRITE;
		cmd->xfer_len = lbs;
		cmd->zero_block = true;
		return take_cdb(scsi_cdb_writesame16(0, 0, !(io->flags & NU_IO_NOUNMAP), lba, 0,
						     blocks, lbs),
				cmd);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * libiscsi's scsi_parse_sense_data() reads fixed offsets and walks
 * descriptors by the sense's own additional length, past what arrived when
 * a target sends less (found by valgrind over the fuzz corpus): it gets a
 * zeroed copy with the additional length clamped to what is there.
 */
static void parse_sense(const uint8_t *sense, uint32_t len, struct scsi_sense *s)
{
	uint8_t copy[8 + 255 + 8] = { 0 };

	if (len > 8 + 255)
		len = 8 + 255;
	memcpy(copy, sense, len);
	if (len >= 8 && copy[7] > len - 8)
		copy[7] = len - 8;
	scsi_parse_sense_data(s, copy);
}

int scsi_result(uint8_t status, const uint8_t *sense, uint32_t sense_len, bool *retry,
		char *desc, unsigned desc_len)
{
	struct scsi_sense s = { 0 };
	int asc;

	*retry = false;
	switch (status) {
	case SCSI_STATUS_GOOD:
		/* Every I/O ends here: a copy, not snprintf (1% of the engine's CPU at 4k). */
		if (desc_len >= sizeof("good"))
			memcpy(desc, "good", sizeof("good"));
		else if (desc_len)
			desc[0] = '\0';
		return 0;
	case SCSI_STATUS_BUSY:
	case SCSI_STATUS_TASK_SET_FULL:
	case SCSI_STATUS_TASK_ABORTED:
		*retry = true;
		snprintf(desc, desc_len, "status 0x%02x (busy, task set full or aborted)", status);
		return -EAGAIN;
	case SCSI_STATUS_RESERVATION_CONFLICT:
		snprintf(desc, desc_len, "reservation conflict");
		return -EBADE;
	case SCSI_STATUS_CHECK_CONDITION:
		break;
	default:
		snprintf(desc, desc_len, "SCSI status 0x%02x", status);
		return -EIO;
	}
	/* Fixed (0x70/0x71) and descriptor (0x72/0x73) formats need 8 and 4 bytes. */
	if (!sense || sense_len < 8 || (sense[0] & 0x7f) < 0x70 || (sense[0] & 0x7f) > 0x73) {
		snprintf(desc, desc_len, "check condition without usable sense data");
		return -EIO;
	}
	if ((sense[0] & 0x7f) <= 0x71 && sense_len < 14) {
		snprintf(desc, desc_len, "truncated fixed-format sense data");
		return -EIO;
	}
	parse_sense(sense, sense_len, &s);
	asc = s.ascq >> 8;
	snprintf(desc, desc_len, "sense %s (0x%x), ASC/ASCQ 0x%02x/0x%02x",
		 scsi_sense_key_str(s.key), s.key, asc, s.ascq & 0xff);
	switch (s.key) {
	case SCSI_SENSE_NO_SENSE:
	case SCSI_SENSE_RECOVERED_ERROR:
		return 0;
	case SCSI_SENSE_UNIT_ATTENTION:
		/* Reset, capacity or LUN inventory changed, ALUA state changed: resend. */
		*retry = true;
		return -EAGAIN;
	case SCSI_SENSE_NOT_READY:
		/* 04/01 becoming ready, 04/0A ALUA transitioning: worth another try. */
		if (asc == 0x04 && ((s.ascq & 0xff) == 0x01 || (s.ascq & 0xff) == 0x0a)) {
			*retry = true;
			return -EAGAIN;
		}
		return -EIO;
	case SCSI_SENSE_MEDIUM_ERROR:
		return -ENODATA;
	case SCSI_SENSE_DATA_PROTECTION:
		if (asc == 0x27 && (s.ascq & 0xff) == 0x07)
			return -ENOSPC; /* space allocation failed (thin provisioning) */
		return -EROFS;
	case SCSI_SENSE_ILLEGAL_REQUEST:
		if (asc == 0x20 || asc == 0x24)
			return -EOPNOTSUPP; /* invalid opcode / field in CDB: unsupported */
		if (asc == 0x21)
			return -ENXIO; /* LBA out of range */
		return -EINVAL;
	case SCSI_SENSE_COMMAND_ABORTED:
		*retry = true;
		return -EAGAIN;
	case SCSI_SENSE_MISCOMPARE:
		return -EILSEQ;
	default:
		return -EIO;
	}
}

/* Parsed sense data, or false if there is none worth reading. */
static bool sense_of(const uint8_t *sense, uint32_t sense_len, struct scsi_sense *s)
{
	if (!sense || sense_len < 8 || (sense[0] & 0x7f) < 0x70 || (sense[0] & 0x7f) > 0x73 ||
	    ((sense[0] & 0x7f) <= 0x71 && sense_len < 14))
		return false;
	parse_sense(sense, sense_len, s);
	return true;
}

bool scsi_sense_path_error(const uint8_t *sense, uint32_t sense_len)
{
	struct scsi_sense s = { 0 };

	return sense_of(sense, sense_len, &s) && s.key == SCSI_SENSE_NOT_READY &&
	       s.ascq >= 0x040a && s.ascq <= 0x040c;
}

enum scsi_change scsi_sense_change(const uint8_t *sense, uint32_t sense_len)
{
	struct scsi_sense s = { 0 };
	int asc, ascq;

	if (!sense_of(sense, sense_len, &s))
		return SCSI_CHANGE_NONE;
	asc = s.ascq >> 8;
	ascq = s.ascq & 0xff;
	if (s.key == SCSI_SENSE_UNIT_ATTENTION && asc == 0x3f && ascq == 0x0e)
		return SCSI_CHANGE_LUNS;
	if (s.key == SCSI_SENSE_ILLEGAL_REQUEST && asc == 0x25)
		return SCSI_CHANGE_LUNS;
	if (s.key == SCSI_SENSE_UNIT_ATTENTION && asc == 0x2a && ascq == 0x09)
		return SCSI_CHANGE_CAPACITY;
	if (s.key == SCSI_SENSE_UNIT_ATTENTION && asc == 0x2a && (ascq == 0x06 || ascq == 0x07))
		return SCSI_CHANGE_ACCESS;
	return SCSI_CHANGE_NONE;
}
