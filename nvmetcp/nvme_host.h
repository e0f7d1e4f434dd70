/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_HOST_H
#define NETUBLK_NVME_HOST_H

/* Between the controller (admin thread) and the I/O queues; private to nvmetcp/. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "nvme_cmd.h"
#include "nvme_conn.h"
#include "host.h"
#include "path.h"
#include "nvme_config.h"
#include "voltab.h"

struct nvme_host {
	struct nvme_target_config cfg;
	struct nvme_host_ids ids;
	struct nvme_ctrl_info ci;
	uint64_t cap;
	unsigned nr_queues;	/* I/O queues, one per host queue */
	unsigned io_queue_size; /* entries per I/O queue */
	bool zero_copy;		/* payloads to and from the requests' registered pages */

	struct nu_voltab vols; /* the namespaces as served */
	int event_fd; /* the namespaces changed: rescan */

	/* The controller association, read by queue threads. */
	uint16_t cntlid;
	uint32_t ctrl_gen; /* bumps with every new association */
	bool admin_up;
	/* ANA: each group's state (NVME_ANA_STATE_*), read by queue threads; bumps with each read. */
	uint8_t ana_state[NVME_ANA_GROUPS];
	uint32_t ana_gen;
	/* For status: [0] the admin queue, [1 + q] host queue q's I/O queue. */
	struct nu_path paths[NU_MAX_PATHS];

	/* Admin thread. */
	pthread_t thread;
	bool thread_running, stop;
	int wake_fd;
	struct nvme_conn admin;
	pthread_mutex_t lock; /* guards what follows */
	struct nu_vol *scan; /* latest namespace list, from the admin thread */
	unsigned nr_scan;
	bool scan_wanted, reset_wanted, ana_wanted;
	struct {
		uint16_t sqid, cid;
	} aborts[64];
	unsigned nr_aborts;
	char assoc_auth[64]; /* how the association authenticated, "" if not */
};

/* From queue threads: ask the admin thread for an Abort, or a controller reset. */
void nvme_host_request_abort(struct nvme_host *h, uint16_t sqid, uint16_t cid);
void nvme_host_request_reset(struct nvme_host *h, const char *why);
/*
 * How a queue is secured, for status: TLS, and its own DH-HMAC-CHAP if the
 * controller asked for it, else (an I/O queue) the association's.
 */
void nvme_host_security(struct nvme_host *h, const struct nvme_conn *c, char *out, size_t len);
/* A copy of the host's identity and credentials (which a reload may change). */
void nvme_host_ids_get(struct nvme_host *h, struct nvme_host_ids *ids);
/* From queue threads: a command met an ANA error; read the ANA log again. */
void nvme_host_request_ana(struct nvme_host *h);

#endif
