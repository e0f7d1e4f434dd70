/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_SUPERVISOR_H
#define NETUBLK_SUPERVISOR_H

/*
 * One connection of a queue, supervised: its state (up; draining after a
 * failure until no socket operation is in flight; down), the commands it
 * carries and their retries, the health timer, reconnects with back-off,
 * and failing I/O once the connection stayed lost for the loss timeout.
 * A protocol (an iSCSI session, an NVMe/TCP I/O queue) plugs in with
 * hooks and keeps only its own job: PDUs and what they mean.
 *
 * Reconnects never stall the queue: connect and login run on a helper
 * thread, which touches nothing of the queue; the queue thread attaches
 * the connected socket when the helper is done.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/time_types.h>

struct io_uring_cqe;
struct nu_io;
struct nu_path;
struct nu_path_parent;
struct nu_queue;
struct nu_stream;

enum nu_conn_state { NU_CONN_UP, NU_CONN_DRAINING, NU_CONN_DOWN };

/* Faults a user may inject into one connection (netublkctl path inject). */
enum nu_fault {
	NU_FAULT_DROP,	    /* the connection is reset */
	NU_FAULT_BLACKHOLE, /* no byte in or out for a time; connects fail meanwhile */
	NU_FAULT_DELAY,	    /* each send goes a delay later, for a time */
};

/* The head of a protocol's per-tag task: the protocol's task struct begins with it. */
struct nu_task {
	struct nu_io *io;  /* NULL: the tag is free */
	uint64_t sent_ns;  /* when it last went out */
	uint64_t abort_ns; /* when an abort went out; 0: none */
	uint8_t retries;
	bool started; /* on the wire of the current connection */
};

struct nu_sup_ops {
	/*
	 * On the helper thread (or the queue thread at start): connect and
	 * log in, filling the protocol's result. Touches no queue state and
	 * no ring. 0 or -errno, the reason logged.
	 */
	int (*connect)(void *ctx, void *result);
	/* On the queue thread: takes a connected result (its socket to the stream). */
	int (*attach)(void *ctx, void *result);
	/* Closes a connected result that will never be attached (stopping). */
	void (*discard)(void *ctx, void *result);
	/* Puts a task on the wire; called only while up. */
	void (*send)(void *ctx, struct nu_task *t);
	/* Every second while up: pings, command timeouts. May fail the stream. */
	void (*tick)(void *ctx, uint64_t now);
	/*
	 * A task leaves this connection (completed, or handed to another
	 * path) while its io is still set: drop what refers to it. Optional.
	 */
	void (*forget)(void *ctx, struct nu_task *t);
	/* The connection is closed: forget what belonged to it. Optional. */
	void (*down)(void *ctx);
	/* Stopping: a last word on a connection that is up (logout). Optional. */
	void (*goodbye)(void *ctx);
};

struct nu_sup_cfg {
	const char *name; /* "iscsi q0": log lines start with it */
	const char *peer; /* what "unreachable" names: the portals, the address */
	unsigned retry_limit;
	uint64_t loss_timeout_ms; /* down this long: I/O fails with EIO */
	unsigned backoff_min_ms, backoff_max_ms;
};

struct nu_sup {
	const struct nu_sup_ops *ops;
	void *ctx;
	struct nu_sup_cfg cfg;
	struct nu_queue *q;
	struct nu_stream *st;
	struct nu_path *path;
	const struct nu_path_parent *parent; /* multipath: where commands go when down */
	enum nu_conn_state state;
	bool stopping;

	uint8_t *tasks; /* depth tasks of task_size bytes, each starting with struct nu_task */
	size_t task_size;
	unsigned depth;

	struct __kernel_timespec tick;
	bool timer_armed;
	uint64_t blackhole_until_ns; /* an injected black hole ends then; 0: none */
	uint64_t delay_until_ns;     /* an injected delay ends then; 0: none */
	uint64_t down_since_ns, next_reconnect_ns;
	unsigned reconnect_delay_ms;
	char remote[64]; /* the current (or last) connection's peer */
	/* The current (or last) connection's ends, for the network's verdict (netmon). */
	struct sockaddr_storage local_sa, peer_sa;
	bool have_sa;
	bool net_down; /* netmon's last word: the network cannot carry it */
	uint64_t net_checked_ns;

	/* The reconnect in flight on the helper thread. */
	void *result;
	pthread_t helper;
	bool connecting;
	bool helper_done; /* written by the helper, read with acquire */
	int helper_ret;
};

/*
 * tasks: depth protocol tasks of task_size bytes, zeroed, each beginning
 * with struct nu_task; result: the protocol's buffer for one connect.
 * parent: NULL, or the multipath queue this connection is one path of
 * (its completions carry parent->path; down, it hands its commands back).
 */
void nu_sup_init(struct nu_sup *s, struct nu_queue *q, struct nu_stream *st, struct nu_path *path,
		 const struct nu_sup_ops *ops, void *ctx, const struct nu_sup_cfg *cfg, void *tasks,
		 size_t task_size, unsigned depth, void *result,
		 const struct nu_path_parent *parent);
/*
 * The first connection, on the queue thread (start-up may wait for it).
 * A path of a multipath queue that cannot connect starts down instead.
 */
int nu_sup_start(struct nu_sup *s);
/*
 * Waits for a reconnect in flight, says goodbye, drains the socket and the
 * timer; a leaving path (parent->leaving) then hands its commands on.
 */
void nu_sup_stop(struct nu_sup *s);

static inline struct nu_task *nu_sup_task(struct nu_sup *s, unsigned tag)
{
	return (struct nu_task *)(s->tasks + (size_t)tag * s->task_size);
}

static inline bool nu_sup_up(const struct nu_sup *s)
{
	return s->state == NU_CONN_UP;
}

/* A new command on io->tag (its protocol part filled in); -EIO once the loss timeout passed. */
int nu_sup_submit(struct nu_sup *s, struct nu_io *io);
/* Sends the task if the connection is up; otherwise it goes after the reconnect. */
void nu_sup_send(struct nu_sup *s, struct nu_task *t);
/* Ends the command: unsent PDUs of it are dropped, the tag freed. */
void nu_sup_complete(struct nu_sup *s, struct nu_task *t, int res);
/* Sends the command again, fresh, unless it ran out of retries: then fails it with res. */
void nu_sup_retry(struct nu_sup *s, struct nu_task *t, int res, const char *why);
/*
 * The command failed for this path only (an ANA or ALUA state): one path
 * of several hands it to the parent for another path; alone, it retries.
 */
void nu_sup_path_error(struct nu_sup *s, struct nu_task *t, int res, const char *why);
/* The stream failed (its fail hook); finishes once no socket op is in flight. */
void nu_sup_conn_fail(struct nu_sup *s, const char *why);
/* Down: try to reconnect at the next tick, back-off forgotten (the peer is back). */
void nu_sup_reconnect_now(struct nu_sup *s);
/*
 * The network changed (netmon): a connection it can no longer carry fails
 * now; one it can carry again reconnects now. On the queue thread.
 */
void nu_sup_net_check(struct nu_sup *s);
/* Injects a fault into this connection for ms (delay: of delay_ms), on the queue thread. */
void nu_sup_inject(struct nu_sup *s, enum nu_fault f, unsigned ms, unsigned delay_ms);
/* Routes the supervisor's timer completion; false if the cqe is not its. */
bool nu_sup_cqe(struct nu_sup *s, const struct io_uring_cqe *cqe);

#endif
