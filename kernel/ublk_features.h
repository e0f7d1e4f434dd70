/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_FEATURES_H
#define NETUBLK_UBLK_FEATURES_H

#include <stddef.h>
#include <stdint.h>

/*
 * How request data moves between the block layer and the backend:
 *  auto-zc    the kernel registers each request's pages in the queue
 *             ring's buffer table (UBLK_F_AUTO_BUF_REG); no copy at all,
 *             but small reads of a stream transport (NU_TCAP_COPY_IN) are
 *             copied in by user copy (ublk_qdev.c)
 *  copy       the kernel copies into a per-tag buffer of the server's, as
 *             part of FETCH and COMMIT: the measured best without zero copy
 *  user-copy  the server pread()s/pwrite()s the data through /dev/ublkcN
 *             (UBLK_F_USER_COPY): one more syscall per request; on request
 */
enum ublk_data_mode {
	UBLK_DM_COPY,
	UBLK_DM_USER_COPY,
	UBLK_DM_AUTO_ZC,
};

#define UBLK_DM_BEST (-1)

int ublk_data_mode_parse(const char *s, int *mode);
const char *ublk_data_mode_name(int mode);

/*
 * Picks the data mode from the kernel's features and what the transport
 * can do with a registered buffer. requested is a mode or UBLK_DM_BEST;
 * a mode the kernel lacks is -EOPNOTSUPP, with *why saying what is missing.
 */
int ublk_pick_data_mode(uint64_t features, unsigned transport_caps, int requested, int *mode,
			const char **why);
uint64_t ublk_data_mode_flags(int mode);

/* Space-separated names of the feature bits set in f. */
void ublk_features_format(uint64_t f, char *buf, size_t len);

#endif
