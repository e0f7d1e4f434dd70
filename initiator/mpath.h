/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_MPATH_H
#define NETUBLK_MPATH_H

/*
 * Multipath: several paths to the same volumes (an iSCSI target through
 * several portals, an NVMe subsystem through several ports, each path a
 * target of its own kind) served as one target, one device per volume.
 * Every path has its connection on each queue's ring, so the queue thread
 * picks a path per command and no command changes threads; a path whose
 * connection is lost hands its commands to the others at once. With no
 * path left, commands wait no_path_retry seconds (or for ever), then fail.
 */
#include <stdbool.h>
#include <stdint.h>

#include "target.h"

#define NU_MPATH_MAX 8

enum nu_path_selector {
	NU_PS_FAILOVER,	   /* one path at a time: the first usable, in order */
	NU_PS_ROUND_ROBIN, /* every usable path in turn */
	NU_PS_QUEUE_DEPTH, /* the usable path with the fewest commands outstanding */
};

struct nu_mpath_cfg {
	const char *name; /* the target's, for log lines */
	enum nu_path_selector selector;
	int no_path_retry_s; /* -1: queue for ever */
	/*
	 * A path back after a loss is used as before at once (0), only when
	 * reinstated by hand (-1, "manual"), or after it stayed up this many
	 * seconds; until then only when no other path is usable.
	 */
	int failback_s;
};

struct nu_mpath;

/*
 * Takes the n path targets (all of path_ops' kind); a path whose volumes
 * differ from the first path's is refused (logged, destroyed). names[i]
 * is path i's address.
 */
int nu_mpath_create(const struct nu_mpath_cfg *cfg, const struct nu_target_ops *path_ops,
		    void *const *targets, const char *const *names, unsigned n,
		    struct nu_mpath **out);
/*
 * A path that was down when mp was made, on the control thread once mp
 * serves host: refused (-EINVAL, logged) if its volumes or data path
 * capabilities differ, else it joins every queue, connecting in the
 * background. Takes target either way.
 */
struct nu_host;
int nu_mpath_add_path(struct nu_mpath *mp, struct nu_host *host, void *target, const char *name);
/*
 * Takes path out of the device that mp serves for host (on the control
 * thread): each queue stops its connection and sends what it held on the
 * other paths; the index stays unused. Not path 0, whose volumes are mp's.
 */
int nu_mpath_remove_path(struct nu_mpath *mp, struct nu_host *host, unsigned path);
/*
 * Undoes nu_mpath_create of an mp never served: its path targets and
 * names go to the caller (at most NU_MPATH_MAX), mp is freed. Returns how many.
 */
unsigned nu_mpath_release(struct nu_mpath *mp, void **targets, char names[][128]);
/* Its target ops (the paths' kind and volume word); the target pointer is mp. */
const struct nu_target_ops *nu_mpath_ops(const struct nu_mpath *mp);

/* The multipath target behind ops, or NULL if target is not one. */
struct nu_mpath *nu_mpath_of(const struct nu_target_ops *ops, void *target);
unsigned nu_mpath_nr_paths(const struct nu_mpath *mp);
/* NULL for a path that left (nu_mpath_remove_path). */
const char *nu_mpath_path_name(const struct nu_mpath *mp, unsigned path);
/*
 * netublkctl path fail / reinstate: false takes a path out of use, true
 * back (and ends its failback wait).
 */
int nu_mpath_set_enabled(struct nu_mpath *mp, unsigned path, bool enabled);
bool nu_mpath_enabled(const struct nu_mpath *mp, unsigned path);
/* Volume vol's access state through a path (ANA, ALUA), or NULL if it reports none. */
const char *nu_mpath_access(const struct nu_mpath *mp, unsigned path, unsigned vol);
/*
 * Injects a fault (enum nu_fault: drop; black hole for ms; sends delayed
 * by delay_ms for ms) into path's connection on queue q; on q's thread
 * (nu_queue_call).
 */
struct nu_queue;
int nu_mpath_inject(struct nu_queue *q, unsigned path, int fault, unsigned ms, unsigned delay_ms);
/* Commands handed from a lost path to another, since start. */
uint64_t nu_mpath_failovers(const struct nu_mpath *mp, unsigned path);

const char *nu_path_selector_name(enum nu_path_selector s);
/* 0, or -EINVAL for a name that is none of failover, round-robin, queue-depth. */
int nu_path_selector_parse(const char *name, enum nu_path_selector *out);

#endif
