/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_QUEUE_H
#define NETUBLK_QUEUE_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

#include "io.h"

/*
 * One queue of a host: one thread, one io_uring ring. The ring carries the
 * ublk commands of every device of the host on this queue, the transport's
 * socket I/O, and a mailbox through which other threads run code here.
 */
struct nu_queue;
struct nu_host;

typedef void (*nu_queue_cqe_fn)(void *ctx, const struct io_uring_cqe *cqe);
typedef int (*nu_queue_call_fn)(struct nu_queue *q, void *arg);

/*
 * Completion coalescing for every queue of the process: with many small
 * I/Os in flight, wait up to us microseconds for a batch of completions
 * (0: wake for each).
 */
#define NU_QUEUE_COALESCE_US 50
#define NU_QUEUE_COALESCE_US_MAX 10000
void nu_queue_set_coalesce(unsigned us);
/*
 * Busy polling for every queue of the process: while I/O is in flight, poll
 * the ring up to us microseconds before sleeping in it (0: sleep at once).
 */
#define NU_QUEUE_BUSY_POLL_US_MAX 1000
void nu_queue_set_busy_poll(unsigned us);

struct nu_queue *nu_queue_create(struct nu_host *host, unsigned id, unsigned backend_depth);
int nu_queue_start(struct nu_queue *q);
void nu_queue_stop(struct nu_queue *q);
void nu_queue_destroy(struct nu_queue *q);

/* Runs fn(q, arg) on the queue thread and returns its result. */
int nu_queue_call(struct nu_queue *q, nu_queue_call_fn fn, void *arg);
/*
 * Runs the queue's thread on these CPUs (those of the process's own that
 * are among them): blk-mq's for this queue, so that a request's issue,
 * its serving and its completion stay on one CPU.
 */
int nu_queue_set_cpus(struct nu_queue *q, const cpu_set_t *cpus);

/* The network changed: the transport checks its connections against it (on the queue thread). */
void nu_queue_net_check(struct nu_queue *q);

/* Everything below is for code that runs on the queue thread. */
unsigned nu_queue_id(const struct nu_queue *q);
struct nu_host *nu_queue_host(const struct nu_queue *q);
struct io_uring *nu_queue_ring(struct nu_queue *q);
struct io_uring_sqe *nu_queue_get_sqe(struct nu_queue *q);

/* Frontends own a client slot; their completions come back by slot. */
int nu_queue_client_add(struct nu_queue *q, nu_queue_cqe_fn fn, void *ctx);
void nu_queue_client_remove(struct nu_queue *q, unsigned slot);
/*
 * A client that gathers work over a loop turn (a batch of commits) sends
 * it from fn, which the loop calls before it next enters the ring, once
 * per nu_queue_flush_later.
 */
typedef void (*nu_queue_flush_fn)(void *ctx);
void nu_queue_client_flush(struct nu_queue *q, unsigned slot, nu_queue_flush_fn fn);
void nu_queue_flush_later(struct nu_queue *q, unsigned slot);

/* Entries of the ring's registered file and buffer tables. */
int nu_queue_file_add(struct nu_queue *q, int fd);
void nu_queue_file_remove(struct nu_queue *q, int index);
int nu_queue_bufs_alloc(struct nu_queue *q, unsigned n);
void nu_queue_bufs_free(struct nu_queue *q, int base, unsigned n);

/*
 * Completion coalescing off (on) or back (off) for one more user of this
 * queue: a stream that receives step by step, each completion needed
 * before the next receive; a device fetching in batches, whose one
 * completion stands for many requests. While any is, the queue wakes for
 * every completion.
 */
void nu_queue_no_coalesce(struct nu_queue *q, bool on);

/* Frontend -> backend: waits for a tag if none is free. */
void nu_queue_submit_io(struct nu_queue *q, struct nu_io *io);
/* Backend -> frontend: frees the tag and calls io->done. */
void nu_queue_complete(struct nu_queue *q, struct nu_io *io, int res);

/* The transport's per-queue state (what its queue_start made). */
void *nu_queue_transport_priv(struct nu_queue *q);
/*
 * Serves a completion that a nested wait on the ring took (a stopping
 * connection draining its own): another path's, a device's, as the
 * ring's loop would.
 */
void nu_queue_serve_cqe(struct nu_queue *q, const struct io_uring_cqe *cqe);

/* Backend credit window (e.g. iSCSI MaxCmdSN - CmdSN + 1). */
void nu_queue_set_credit_limit(struct nu_queue *q, unsigned limit);

uint64_t nu_now_ns(void);
/*
 * On the queue's thread: the time its loop last woke (or finished a
 * mailbox call). What the I/O of one batch of completions is stamped with:
 * one clock read per batch, not several per I/O.
 */
uint64_t nu_queue_now_ns(const struct nu_queue *q);

#endif
