/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_SCSI_GEOM_H
#define NETUBLK_ISCSI_SCSI_GEOM_H

/*
 * A LUN's geometry and identity from what it reports, as libiscsi
 * unmarshalled it: pure functions, so that they are fuzzed apart from the
 * network (test/fuzz/fuzz_scsi.c). Whatever a target claims, the result
 * fits what ublk accepts or is refused with a reason.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iscsi/scsi-lowlevel.h>

#include "volume.h"

/*
 * libiscsi's scsi_datain_unmarshall() for data-in a target sent, made safe
 * against short or lying answers: libiscsi reads fixed offsets and trusts
 * the length fields, so a page shorter than it claims (or than its fixed
 * layout) is read past its end. The data is first copied into a zeroed,
 * padded buffer with the length fields clamped to what arrived; bytes the
 * target did not send read as zero. NULL if the task has no good data.
 */
void *scsi_unmarshall(struct scsi_task *task);

/* Size and block sizes from READ CAPACITY(16): 0, or -EPROTO with why. */
int scsi_geom_capacity(const struct scsi_readcapacity16 *rc, struct nu_volume_geom *g, char *err,
		       unsigned err_len);
/* Transfer, discard and write-zeroes limits from the Block Limits VPD page. */
void scsi_geom_block_limits(const struct scsi_inquiry_block_limits *bl, bool lbpme, bool lbpu,
			    bool lbpws, struct nu_volume_geom *g);
/* Write protect, FUA and the write cache from MODE SENSE. */
void scsi_geom_mode(struct scsi_mode_sense *ms, struct nu_volume_geom *g);
/* The LUN's best designator as a WWID (naa., eui., t10.), or "" if none. */
void scsi_geom_wwid(const struct scsi_inquiry_device_identification *id, char *wwid, size_t cap);

/* ALUA: the target port group this session's port belongs to (VPD 0x83), 0 if none given. */
uint32_t scsi_geom_port_group(const struct scsi_inquiry_device_identification *id);
/* REPORT TARGET PORT GROUPS (MAINTENANCE IN): its 12-byte CDB. */
void scsi_rtpg_cdb(uint8_t cdb[12], uint32_t alloc_len);
/*
 * Its data (len bytes): the asymmetric access state (SCSI_ALUA_*) of port
 * group grp, or -ENOENT if the data does not list it, -EINVAL if it
 * claims more than it holds.
 */
int scsi_rtpg_state(const uint8_t *data, size_t len, uint32_t grp);
#define SCSI_ALUA_OPTIMIZED 0x0
#define SCSI_ALUA_NONOPTIMIZED 0x1
#define SCSI_ALUA_STANDBY 0x2
#define SCSI_ALUA_UNAVAILABLE 0x3
#define SCSI_ALUA_OFFLINE 0xe
#define SCSI_ALUA_TRANSITIONING 0xf
const char *scsi_alua_state_name(int state);

#endif
