// SPDX-License-Identifier: MIT
/*
 * netublk-udev: udev's helper for unprivileged ublk devices. The kernel
 * creates /dev/ublkcN and /dev/ublkbN for root; the user who made the
 * device (UBLK_F_UNPRIVILEGED_DEV) can use them only once they are its.
 *
 *   netublk-udev ublkc3      (from conf/90-netublk.rules: RUN+="... %k")
 *
 * Gives the node to the device's owner; devices made by root are left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ublk_ctrl.h"

int main(int argc, char **argv)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_ctrl ctrl;
	char node[64], kind;
	unsigned id;
	int ret;

	if (argc != 2 || sscanf(argv[1], "ublk%c%u", &kind, &id) != 2 ||
	    (kind != 'b' && kind != 'c')) {
		fprintf(stderr, "usage: netublk-udev ublkcN|ublkbN\n");
		return 2;
	}
	nu_log_set_level(NU_LOG_WARN);
	if (ublk_ctrl_open(&ctrl) < 0)
		return 1;
	ret = ublk_ctrl_get_info2(&ctrl, id, &info);
	ublk_ctrl_close(&ctrl);
	if (ret < 0) {
		fprintf(stderr, "netublk-udev: ublk%u: %s\n", id, strerror(-ret));
		return 1;
	}
	if (!(info.flags & UBLK_F_UNPRIVILEGED_DEV))
		return 0;
	snprintf(node, sizeof(node), "/dev/ublk%c%u", kind, id);
	if (chown(node, info.owner_uid, info.owner_gid)) {
		fprintf(stderr, "netublk-udev: %s: %s\n", node, strerror(errno));
		return 1;
	}
	return 0;
}
