/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_DISCOVER_H
#define NETUBLK_ISCSI_DISCOVER_H

/*
 * Control-path SCSI through libiscsi's own transport: SendTargets, REPORT
 * LUNS and each LUN's geometry. The data path uses its own sessions.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "volume.h"

struct iscsi_target_config {
	char portal[256];
	char target[224];
	char initiator[224];
	char chap_user[256], chap_secret[256];
	char mutual_user[256], mutual_secret[256];
	char chap_algs[32];
	bool header_digest, data_digest;
	bool immediate_data, initial_r2t;
	uint32_t first_burst, max_burst, max_recv_dlen;
	unsigned command_timeout_s; /* then ABORT TASK; then LUN RESET; then reconnect */
	/* The caller's wish (ublk zero copy); granted on Linux 7.2 without a data digest. */
	bool zero_copy;
};

struct iscsi_lun_info {
	uint32_t lun;
	struct nu_volume_geom geom;
	char wwid[160];
	char vendor[9], product[17];
	/* ALUA: this session's target port group, its access state (SCSI_ALUA_*, -1: no ALUA). */
	uint32_t port_group;
	int alua;
	bool gone; /* removed from the target; its index is never reused */
};

#define ISCSI_MAX_LUNS 64

/* Defaults a storage admin expects (those of open-iscsi). */
void iscsi_target_config_defaults(struct iscsi_target_config *t);

/* Logs in with libiscsi, lists the disk LUNs and reads their geometry. */
int iscsi_enumerate_luns(const struct iscsi_target_config *t, struct iscsi_lun_info *luns,
			 unsigned max, unsigned *n, char *err, unsigned err_len);

/* SendTargets on a discovery session; prints "portal,tpgt target" lines to out. */
int iscsi_sendtargets(const struct iscsi_target_config *t, FILE *out, char *err,
		      unsigned err_len);

#endif
