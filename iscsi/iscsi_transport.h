/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_TRANSPORT_H
#define NETUBLK_ISCSI_TRANSPORT_H

/*
 * The iSCSI transport: one session (own ISID) per host queue, driven from
 * the queue's io_uring ring, serving every LUN of the target.
 */
#include "discover.h"
#include "target.h"

struct iscsi_host;

extern const struct nu_transport_ops nu_iscsi_transport;
extern const struct nu_target_ops nu_iscsi_target;

/* Discovers the target's LUNs (libiscsi) and prepares the data-path sessions. */
int iscsi_host_create(const struct iscsi_target_config *cfg, struct iscsi_host **out);
void iscsi_host_destroy(struct iscsi_host *h);

/*
 * The target's LUNs change: queue threads that see REPORTED LUNS DATA HAS
 * CHANGED, LUN NOT SUPPORTED or CAPACITY DATA HAS CHANGED make this eventfd
 * readable; the control thread then calls iscsi_host_rescan().
 */
int iscsi_host_event_fd(const struct iscsi_host *h);

/* Re-reads the LUN inventory and sizes (control thread only). */
int iscsi_host_rescan(struct iscsi_host *h, struct nu_rescan *r);

/* Timeouts (ms); defaults match open-iscsi. */
void iscsi_host_set_timeouts(struct iscsi_host *h, int nop_interval, int nop_timeout,
			     int replacement_timeout);

#endif
