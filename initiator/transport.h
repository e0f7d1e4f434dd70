/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TRANSPORT_H
#define NETUBLK_TRANSPORT_H

#include <stdint.h>
#include <stdbool.h>

struct io_uring_cqe;
struct nu_queue;
struct nu_io;
struct nu_sup;

/* What a transport can do with an I/O's buffer. */
#define NU_TCAP_FIXED_BUF (1u << 0) /* can move data to/from ring buffer-table entries */
/*
 * ... but a small read's payload costs less received with other PDUs in
 * one batch and copied in than received alone into the buffer table.
 */
#define NU_TCAP_COPY_IN (1u << 1)
/*
 * Gains from ublk requests fetched and committed in batches
 * (UBLK_F_BATCH_IO): the default where the kernel has it. Measured per
 * transport (BENCHMARKS.md), not assumed.
 */
#define NU_TCAP_BATCH_IO (1u << 2)

/* How good a path is for one volume (ALUA / ANA), best first. */
enum nu_path_state {
	NU_PATH_OPTIMIZED,
	NU_PATH_NONOPTIMIZED, /* used only when no optimized path is usable */
	NU_PATH_UNUSABLE,     /* inaccessible, lost, or in transition */
};

/*
 * What a path refused (a volume or an access group) until the target's
 * states are read again, which moves gen: so that a state not yet re-read
 * cannot bounce a command between paths.
 */
struct nu_refused {
	uint32_t gen;
	uint8_t idx[256];
};

static inline void nu_refused_set(struct nu_refused *r, unsigned i, uint32_t gen)
{
	if (r->gen != gen) {
		__builtin_memset(r->idx, 0, sizeof(r->idx));
		r->gen = gen;
	}
	if (i < sizeof(r->idx))
		r->idx[i] = 1;
}

static inline bool nu_refused(const struct nu_refused *r, unsigned i, uint32_t gen)
{
	return r->gen == gen && i < sizeof(r->idx) && r->idx[i];
}

/*
 * Multipath: one path's queue among several on the same queue ring. It
 * reports to its parent (initiator/mpath.c) instead of holding commands
 * while its connection is down.
 */
struct nu_path_parent {
	void *ctx;
	unsigned path;	 /* its index, carried in the ring's user data */
	bool background; /* the first connect too runs off the queue thread (a path added late) */
	bool leaving;	 /* the path is being removed: what it holds at stop goes to the others */
	/* The connection is down: a command it held, to be sent on another path. */
	void (*handoff)(void *ctx, unsigned path, struct nu_io *io);
	/* The connection is up (again): commands can come. */
	void (*up)(void *ctx, unsigned path);
	/* A command ended on this path (before it is completed). */
	void (*done)(void *ctx, unsigned path, struct nu_io *io, int res);
};

/*
 * A backend that serves the volumes of one host: iSCSI, NVMe/TCP, memory.
 * Host-level calls run on the control thread; queue-level calls run on the
 * queue's own thread and may only use that queue's ring.
 */
struct nu_transport_ops {
	const char *name;
	unsigned caps;
	/* Per host instead of caps, where it depends on the target or the kernel. */
	unsigned (*host_caps)(void *host_priv);

	/* Per queue, on the queue thread, before any I/O. */
	int (*queue_start)(void *host_priv, struct nu_queue *q, void **qpriv);
	/*
	 * The same for one path of a multipath queue; a path that cannot
	 * connect yet starts down and keeps trying. Optional.
	 */
	int (*path_start)(void *host_priv, struct nu_queue *q, const struct nu_path_parent *parent,
			  void **qpriv);
	/* A path's connection supervisor (up or not, reconnect, faults). With path_start. */
	struct nu_sup *(*path_sup)(void *qpriv);
	/*
	 * The network changed (netmon): check each connection against it.
	 * Optional: without it, the connection of path_sup is checked.
	 */
	void (*net_changed)(void *qpriv);
	/* Its access state for volume vol (ALUA / ANA). Optional: all optimized. */
	enum nu_path_state (*path_state)(void *qpriv, unsigned vol);
	/* Per queue, on the queue thread, once nothing is in flight. */
	void (*queue_stop)(void *qpriv);
	/*
	 * Start one I/O holding io->tag. Data ops go through the queue ring;
	 * completion is reported with nu_queue_complete(). A negative return
	 * fails the I/O at once.
	 */
	int (*submit)(void *qpriv, struct nu_io *io);
	/* A completion whose user_data kind is NU_UD_TRANSPORT. */
	void (*cqe)(void *qpriv, const struct io_uring_cqe *cqe);
};

#endif
