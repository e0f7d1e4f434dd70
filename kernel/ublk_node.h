/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_NODE_H
#define NETUBLK_UBLK_NODE_H

/*
 * Device nodes where no devtmpfs makes them: in a container given
 * /dev/ublk-control only, its own /dev stays empty of the devices it
 * creates. The numbers come from sysfs, as the kernel reports them.
 */
#include <stdbool.h>

enum ublk_node { UBLK_NODE_CHAR, UBLK_NODE_BLOCK };

/*
 * /dev/ublkcN or /dev/ublkbN: 0 if it is there or was made (*made then
 * true), else -errno (no sysfs entry yet, no CAP_MKNOD).
 */
int ublk_node_ensure(enum ublk_node kind, unsigned id, bool *made);
/* Removes a node that ublk_node_ensure made (devtmpfs removes its own). */
void ublk_node_remove(enum ublk_node kind, unsigned id);
/* Waits up to ms for the node to appear by itself, then makes it. */
int ublk_node_wait(enum ublk_node kind, unsigned id, unsigned ms, bool *made);
/* What to do when making a node failed with EPERM, for the error message. */
const char *ublk_node_eperm_hint(void);

#endif
