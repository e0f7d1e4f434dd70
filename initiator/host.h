/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_HOST_H
#define NETUBLK_HOST_H

#include "transport.h"
#include "volume.h"

/*
 * A host: everything behind one target (iSCSI target, NVMe subsystem, or
 * the memory backend). Its queues, and the backend tags on each queue, are
 * shared by all of its volumes.
 */
#define NU_HOST_MAX_VOLS 256

struct nu_host;
struct nu_queue;

struct nu_host *nu_host_create(const char *name, unsigned nr_queues, unsigned backend_depth,
			       const struct nu_transport_ops *ops, void *tpriv);
int nu_host_start(struct nu_host *h);
void nu_host_stop(struct nu_host *h);
void nu_host_destroy(struct nu_host *h);

const char *nu_host_name(const struct nu_host *h);
unsigned nu_host_nr_queues(const struct nu_host *h);
unsigned nu_host_backend_depth(const struct nu_host *h);
struct nu_queue *nu_host_queue(struct nu_host *h, unsigned qid);
const struct nu_transport_ops *nu_host_transport(const struct nu_host *h);
void *nu_host_transport_priv(const struct nu_host *h);
struct nu_volume_stats *nu_host_vol_stats(struct nu_host *h, unsigned vol);
/* A FLUSH of one volume through the backend, from any thread but the queues'. */
int nu_host_flush(struct nu_host *h, unsigned vol, unsigned timeout_ms);

#endif
