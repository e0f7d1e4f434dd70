/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_MANAGER_H
#define NETUBLK_MANAGER_H

/*
 * The session manager: one host per target, one ublk device per volume.
 * It brings targets up, all at once (each connects in a thread of its own;
 * the devices are made here), retrying unreachable ones with backoff; follows
 * their LUN inventories, applies a reloaded config (targets added,
 * removed or changed; untouched ones keep serving) and takes it all down.
 * Runs on the main thread only.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "conffile.h"
#include "ublk_ctrl.h"

struct nu_manager;

struct nu_manager_options {
	unsigned queues, depth, backend_depth;
	uint32_t max_io;
	int data_mode;
	const char *ready_file; /* "/dev/ublkbN mode" per line, rewritten on change */
	const char *by_id_dir;	/* stable names: DIR/<wwid> and DIR/<target>-lun<N> links */
	const char *state_dir;	/* which device serves which volume, for recovery after a crash */
	/* For the memory test backend only (no config targets). */
	const uint64_t *mem_sizes;
	unsigned nr_mem;
	uint32_t mem_block_size;
};

struct nu_manager *nu_manager_create(struct ublk_ctrl *ctrl, const struct nu_manager_options *o);
void nu_manager_destroy(struct nu_manager *m); /* stops everything */
/*
 * SIGTERM: every target is logged out and its devices deleted, except a
 * target with a device in use (mounted) unless remove_busy: that one is
 * left as after a crash, its devices waiting (USER_RECOVERY) for the next
 * netublkd. Returns how many devices were left; then exit without
 * nu_manager_destroy().
 */
unsigned nu_manager_stop(struct nu_manager *m, bool remove_busy);

/* Serves the config's targets: starts new ones, stops gone ones, restarts changed ones. */
void nu_manager_apply(struct nu_manager *m, const struct nu_conf *conf);
/* Serves one target given on the command line, or the memory backend (t == NULL). */
int nu_manager_add_one(struct nu_manager *m, const struct nu_conf_target *t);

/* File descriptors to poll (connects done, LUN changes); returns how many were written. */
unsigned nu_manager_pollfds(struct nu_manager *m, struct pollfd *pfd, unsigned max);
/* After poll: act on events, retry targets that are due. Returns the poll timeout (ms). */
int nu_manager_run(struct nu_manager *m, const struct pollfd *pfd, unsigned n);

/* Targets, their state and their devices, as a table or as JSON. */
void nu_manager_status(const struct nu_manager *m, FILE *out, bool json);
/* Counters and histograms of every target, device and connection, in Prometheus text format. */
void nu_manager_metrics(const struct nu_manager *m, FILE *out);
/* Asks every host to read its LUN inventory again. */
void nu_manager_rescan_all(struct nu_manager *m);

unsigned nu_manager_nr_devices(const struct nu_manager *m);
unsigned nu_manager_nr_up(const struct nu_manager *m);
/* netublkctl logout/login: stop serving a target (devices removed, no retries), serve again. */
int nu_manager_logout(struct nu_manager *m, const char *name);
int nu_manager_login(struct nu_manager *m, const char *name);
/*
 * netublkctl path: "list", "fail TARGET PATH", "reinstate TARGET PATH";
 * TARGET a target's name or one of its devices, PATH an index or address.
 * The answer (or "error: ...") goes to out.
 */
void nu_manager_path(struct nu_manager *m, const char *args, FILE *out);
/* True while a target's first connection attempt (or a retry) is under way. */
bool nu_manager_connecting(const struct nu_manager *m);

#endif
