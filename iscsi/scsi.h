/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_SCSI_H
#define NETUBLK_ISCSI_SCSI_H

/* Block requests as SCSI commands, and SCSI outcomes as block errors. */
#include <stdbool.h>
#include <stdint.h>

#include "io.h"

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_READ, SCSI_DIR_WRITE };

#define SCSI_UNMAP_PARAM_LEN 24

struct scsi_cmd {
	uint8_t cdb[16];
	uint8_t cdb_len;
	uint8_t dir;
	uint32_t xfer_len;
	/* Data-out that is not the request's own buffer (UNMAP list, WRITE SAME block). */
	uint8_t param[SCSI_UNMAP_PARAM_LEN];
	bool zero_block; /* data-out is one block of zeroes */
};

/* Builds the command for io on a LUN with lbs-byte blocks (READ/WRITE(16) here, the rest from libiscsi). */
int scsi_build(const struct nu_io *io, uint32_t lbs, struct scsi_cmd *cmd);

/*
 * The block error for a SCSI status and its sense data: 0 for GOOD, else a
 * negative errno the block layer maps precisely (ENODATA: medium error,
 * EBADE: reservation conflict, ENOSPC: space allocation failed, ...).
 * *retry is set when the same command should simply be sent again (unit
 * attention, busy, task set full, LUN becoming ready). desc gets a
 * human-readable account.
 */
int scsi_result(uint8_t status, const uint8_t *sense, uint32_t sense_len, bool *retry,
		char *desc, unsigned desc_len);

/* Unit attentions and sense that mean the target's LUN inventory or sizes changed. */
enum scsi_change {
	SCSI_CHANGE_NONE,
	SCSI_CHANGE_LUNS,     /* 3F/0E reported LUNs data changed, 25/00 LUN not supported */
	SCSI_CHANGE_CAPACITY, /* 2A/09 capacity data changed */
	SCSI_CHANGE_ACCESS,   /* 2A/06 asymmetric access state changed, 2A/07 transition failed */
};

enum scsi_change scsi_sense_change(const uint8_t *sense, uint32_t sense_len);
/* Refused for this path only: ALUA transitioning (04/0A), standby (04/0B), unavailable (04/0C). */
bool scsi_sense_path_error(const uint8_t *sense, uint32_t sense_len);

#define SCSI_STATUS_GOOD		 0x00
#define SCSI_STATUS_CHECK_CONDITION	 0x02
#define SCSI_STATUS_BUSY		 0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL	 0x28
#define SCSI_STATUS_TASK_ABORTED	 0x40

#endif
