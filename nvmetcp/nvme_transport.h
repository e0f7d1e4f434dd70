/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_TRANSPORT_H
#define NETUBLK_NVME_TRANSPORT_H

/*
 * The NVMe/TCP transport: one controller per host. Its admin queue belongs
 * to a thread of its own (keep-alive, asynchronous events, aborts, resets);
 * each host queue holds one I/O queue on its ring, serving every namespace.
 */
#include <stdio.h>

#include "nvme_cmd.h"
#include "nvme_config.h"
#include "target.h"

struct nvme_host;

#define NVME_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"

extern const struct nu_transport_ops nu_nvme_transport;
extern const struct nu_target_ops nu_nvme_target;

/* Connects the admin queue, enables the controller and lists its namespaces. */
int nvme_host_create(const struct nvme_target_config *cfg, unsigned nr_queues,
		     struct nvme_host **out);

/* Reads a discovery controller's log page: up to max records into out. */
int nvme_discovery_log(const struct nvme_target_config *cfg, struct nvme_disc_entry *out,
		       unsigned max, unsigned *n, char *err, unsigned err_len);
/* The same, printed: "tcp ADDRESS NQN" per record. Returns how many, or -errno. */
int nvme_discover(const struct nvme_target_config *cfg, FILE *out, char *err, unsigned err_len);

#endif
