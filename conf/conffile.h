/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_CONFFILE_H
#define NETUBLK_CONFFILE_H

/*
 * netublkd's config file: INI syntax (parsed by inih), a [global] section
 * and one [target NAME] section per target. Secrets may sit in a separate
 * file (global "secrets = PATH", same syntax) that nobody but its owner
 * may read. Every error names the file, the line and what is wrong;
 * unknown sections and keys are errors. conf/netublk.conf.example
 * documents every key.
 */
#include <stdbool.h>
#include <stdint.h>

#include "discover.h"
#include "nvme_config.h"
#include "mpath.h"
#include "units.h"

#define NU_CONF_MAX_TARGETS 32
#define NU_CONF_MAX_LUNS 64

enum nu_target_kind { NU_TARGET_ISCSI, NU_TARGET_NVME };

struct nu_conf_target {
	char name[64];
	unsigned line; /* of its section header */
	enum nu_target_kind kind;
	struct iscsi_target_config iscsi;
	struct nvme_target_config nvme;
	uint32_t luns[NU_CONF_MAX_LUNS]; /* only these LUNs or namespaces, if nr_luns */
	unsigned nr_luns;
	bool read_only;
	bool discard;
	/* Several portals or addresses: each a path at once, or (single_path) tried in order. */
	bool single_path;
	enum nu_path_selector path_selector;
	bool no_path_retry_set;
	int no_path_retry_s; /* -1: queue for ever; unset: the loss timeout */
	int failback_s;	     /* 0 immediate (default), -1 manual, N seconds */
};

struct nu_conf {
	char initiator[224];
	char host_nqn[224], host_id[40]; /* NVMe; empty: /etc/nvme or derived */
	unsigned queues, queue_depth, backend_depth;
	int data_mode;
	unsigned coalesce_us; /* completion coalescing (initiator/queue.h) */
	unsigned busy_poll_us; /* busy polling before sleeping (initiator/queue.h) */
	int queue_affinity;    /* enum ublk_queue_placement (kernel/ublk_dev.h) */
	enum nu_auto_bool batch_io; /* UBLK_F_BATCH_IO: where the transport gains, always, never */
	int log_level;
	char secrets[256];
	char control_group[64]; /* group that may use the control socket; "" root only */
	char metrics_listen[128]; /* the metrics page's address (conf/listen.h); "" none */
	unsigned metrics_line;	  /* where metrics_listen was set */
	bool metrics_remote;	  /* metrics_listen_remote: any address, not only loopback */
	struct nu_conf_target targets[NU_CONF_MAX_TARGETS];
	unsigned nr_targets;
};

/* Returns 0, or -errno with err holding "FILE:LINE: what is wrong". */
int nu_conf_load(const char *path, struct nu_conf *c, char *err, unsigned err_len);
bool nu_conf_lun_wanted(const struct nu_conf_target *t, uint32_t lun);

#endif
