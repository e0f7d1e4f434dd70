// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/ublk_cmd.h>

#include "ublk_features.h"
#include "transport.h"

static const char *const mode_names[] = {
	[UBLK_DM_COPY] = "copy",
	[UBLK_DM_USER_COPY] = "user-copy",
	[UBLK_DM_AUTO_ZC] = "zero-copy",
};

int ublk_data_mode_parse(const char *s, int *mode)
{
	if (!strcmp(s, "auto") || !strcmp(s, "best")) {
		*mode = UBLK_DM_BEST;
		return 0;
	}
	if (!strcmp(s, "zc"))
		s = "zero-copy";
	for (int i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0])); i++) {
		if (!strcmp(s, mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ublk_data_mode_name(int mode)
{
	if (mode == UBLK_DM_BEST)
		return "auto";
	if (mode < 0 || mode > UBLK_DM_AUTO_ZC)
		return "invalid";
	return mode_names[mode];
}

uint64_t ublk_data_mode_flags(int mode)
{
	switch (mode) {
	case UBLK_DM_AUTO_ZC:
		return UBLK_F_AUTO_BUF_REG;
	case UBLK_DM_USER_COPY:
		return UBLK_F_USER_COPY;
	default:
		return 0;
	}
}

int ublk_pick_data_mode(uint64_t features, unsigned transport_caps, int requested, int *mode,
			const char **why)
{
	bool zc = (features & UBLK_F_AUTO_BUF_REG) && (transport_caps & NU_TCAP_FIXED_BUF);

	*why = NULL;
	switch (requested) {
	case UBLK_DM_BEST:
		/*
		 * Without zero copy, the kernel's own copy at fetch/commit beats
		 * USER_COPY's extra pread/pwrite per request (BENCHMARKS.md: 5-15%
		 * on iSCSI, more on memory), so user-copy is only taken on request.
		 */
		*mode = zc ? UBLK_DM_AUTO_ZC : UBLK_DM_COPY;
		return 0;
	case UBLK_DM_AUTO_ZC:
		if (!(features & UBLK_F_AUTO_BUF_REG)) {
			*why = "the kernel's ublk lacks UBLK_F_AUTO_BUF_REG (Linux 6.16+)";
			return -EOPNOTSUPP;
		}
		if (!(transport_caps & NU_TCAP_FIXED_BUF)) {
			*why = "the transport must see the data (e.g. a data digest)";
			return -EOPNOTSUPP;
		}
		break;
	case UBLK_DM_USER_COPY:
		if (!(features & UBLK_F_USER_COPY)) {
			*why = "the kernel's ublk lacks UBLK_F_USER_COPY (Linux 6.5+)";
			return -EOPNOTSUPP;
		}
		break;
	case UBLK_DM_COPY:
		break;
	default:
		*why = "unknown data mode";
		return -EINVAL;
	}
	*mode = requested;
	return 0;
}

void ublk_features_format(uint64_t f, char *buf, size_t len)
{
	static const char *const names[] = {
		"SUPPORT_ZERO_COPY",
		"URING_CMD_COMP_IN_TASK",
		"NEED_GET_DATA",
		"USER_RECOVERY",
		"USER_RECOVERY_REISSUE",
		"UNPRIVILEGED_DEV",
		"CMD_IOCTL_ENCODE",
		"USER_COPY",
		"ZONED",
		"USER_RECOVERY_FAIL_IO",
		"UPDATE_SIZE",
		"AUTO_BUF_REG",
		"QUIESCE",
		"PER_IO_DAEMON",
		"BUF_REG_OFF_DAEMON",
		"BATCH_IO",
		"INTEGRITY",
		"SAFE_STOP_DEV",
		"NO_AUTO_PART_SCAN",
		"SHMEM_ZC",
	};
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 64 && off < len; i++) {
		if (!(f & (1ULL << i)))
			continue;
		if (i < sizeof(names) / sizeof(names[0]))
			off += snprintf(buf + off, len - off, "%s%s", off ? " " : "", names[i]);
		else
			off += snprintf(buf + off, len - off, "%sbit%u", off ? " " : "", i);
	}
}
