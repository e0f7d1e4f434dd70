// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "queue.h"
#include "supervisor.h"
#include "host.h"
#include "log.h"
#include "tagset.h"
#include "transport.h"
#include "udata.h"

#define QUEUE_SQ_ENTRIES 1024
#define QUEUE_CQ_ENTRIES 4096
#define QUEUE_MAX_CLIENTS 256
#define QUEUE_FILE_SLOTS 256
/* io_uring's limit for one ring's buffer table. */
#define QUEUE_BUF_SLOTS 16384

/*
 * Completion coalescing: with at least COALESCE_MIN small I/Os in flight,
 * the loop waits up to coalesce_us for a quarter of them (at most
 * COALESCE_MAX) rather than waking for each completion: fewer wake-ups
 * and enters per I/O. Large transfers gain nothing from it (measured:
 * BENCHMARKS.md), nor do few I/Os in flight, nor a stream that receives
 * each PDU's header alone: its next receive waits for this one's
 * completion, so waiting for more only stalls it. Nor does a device that
 * fetches requests in batches: a completion then stands for several
 * requests, and waiting for a quarter of the I/O's number of completions
 * waits out the timeout (measured: BENCHMARKS.md).
 */
#define COALESCE_SMALL 16384
#define COALESCE_MIN 16
#define COALESCE_MAX 16
#define COALESCE_IDLE_NS 1000000 /* then wait for any one completion, a millisecond at most */
static unsigned coalesce_us = NU_QUEUE_COALESCE_US;
/*
 * Busy polling: a completion that comes within busy_poll_us is reaped
 * without the sleep and wake-up in io_uring_enter (at QD1 most of an I/O's
 * extra cost against the kernel's initiators, measured: BENCHMARKS.md), at
 * the price of that CPU time spent spinning.
 */
static unsigned busy_poll_us;

struct nu_msg {
	nu_queue_call_fn fn;
	void *arg;
	int ret;
	bool done;
	struct nu_msg *next;
};

struct nu_queue {
	struct nu_host *host;
	unsigned id;
	pthread_t thread;
	bool thread_started;
	struct io_uring ring;
	bool ring_ready;
	int start_ret;

	struct nu_tagset tags;
	const struct nu_transport_ops *tops;
	void *tpriv;
	bool stopping;
	unsigned small_inflight; /* I/O of at most COALESCE_SMALL bytes submitted, not done */
	unsigned no_coalesce;	 /* nu_queue_no_coalesce() users */
	uint64_t now_ns;	 /* nu_queue_now_ns() */
	/* I/O the backend refused at once: completed from the loop, never from submit. */
	struct nu_io *failed_head, *failed_tail;

	struct {
		nu_queue_cqe_fn fn;
		nu_queue_flush_fn flush;
		void *ctx;
	} clients[QUEUE_MAX_CLIENTS];
	unsigned nr_clients;
	uint16_t flush_slots[QUEUE_MAX_CLIENTS]; /* nu_queue_flush_later, in call order */
	unsigned nr_flush;
	bool file_used[QUEUE_FILE_SLOTS];
	uint8_t *buf_used; /* QUEUE_BUF_SLOTS flags */

	/* mailbox */
	int efd;
	uint64_t efd_val;
	bool mailbox_due; /* its completion came: run it once the batch is consumed */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nu_msg *msgs;
	bool started; /* thread finished start-up (ring_ready tells if it worked) */
};

uint64_t nu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t nu_queue_now_ns(const struct nu_queue *q)
{
	return q->now_ns;
}

unsigned nu_queue_id(const struct nu_queue *q)
{
	return q->id;
}

struct nu_host *nu_queue_host(const struct nu_queue *q)
{
	return q->host;
}

struct io_uring *nu_queue_ring(struct nu_queue *q)
{
	return &q->ring;
}

struct io_uring_sqe *nu_queue_get_sqe(struct nu_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		/* SQ full: hand what we have to the kernel and retry once. */
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

int nu_queue_client_add(struct nu_queue *q, nu_queue_cqe_fn fn, void *ctx)
{
	for (unsigned i = 0; i < QUEUE_MAX_CLIENTS; i++) {
		if (!q->clients[i].fn) {
			q->clients[i].fn = fn;
			q->clients[i].ctx = ctx;
			q->nr_clients++;
			return i;
		}
	}
	return -ENOSPC;
}

void nu_queue_client_remove(struct nu_queue *q, unsigned slot)
{
	if (slot < QUEUE_MAX_CLIENTS && q->clients[slot].fn) {
		q->clients[slot].fn = NULL;
		q->clients[slot].flush = NULL;
		q->clients[slot].ctx = NULL;
		q->nr_clients--;
	}
}

void nu_queue_client_flush(struct nu_queue *q, unsigned slot, nu_queue_flush_fn fn)
{
	if (slot < QUEUE_MAX_CLIENTS)
		q->clients[slot].flush = fn;
}

void nu_queue_flush_later(struct nu_queue *q, unsigned slot)
{
	if (q->nr_flush < QUEUE_MAX_CLIENTS)
		q->flush_slots[q->nr_flush++] = slot;
}

/* A removed client's entry finds no flush function and is skipped. */
static void run_flushes(struct nu_queue *q)
{
	unsigned n = q->nr_flush;

	q->nr_flush = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned slot = q->flush_slots[i];

		if (q->clients[slot].flush)
			q->clients[slot].flush(q->clients[slot].ctx);
	}
}

int nu_queue_file_add(struct nu_queue *q, int fd)
{
	for (int i = 0; i < QUEUE_FILE_SLOTS; i++) {
		int ret;

		if (q->file_used[i])
			continue;
		ret = io_uring_register_files_update(&q->ring, i, &fd, 1);
		if (ret < 0)
			return ret;
		q->file_used[i] = true;
		return i;
	}
	return -ENOSPC;
}

void nu_queue_file_remove(struct nu_queue *q, int index)
{
	int fd = -1;

	if (index < 0 || index >= QUEUE_FILE_SLOTS || !q->file_used[index])
		return;
	io_uring_register_files_update(&q->ring, index, &fd, 1);
	q->file_used[index] = false;
}

int nu_queue_bufs_alloc(struct nu_queue *q, unsigned n)
{
	unsigned run = 0;

	for (unsigned i = 0; i < QUEUE_BUF_SLOTS; i++) {
		run = q->buf_used[i] ? 0 : run + 1;
		if (run == n) {
			unsigned base = i + 1 - n;

			memset(q->buf_used + base, 1, n);
			return base;
		}
	}
	return -ENOSPC;
}

void nu_queue_bufs_free(struct nu_queue *q, int base, unsigned n)
{
	if (base >= 0 && base + n <= QUEUE_BUF_SLOTS)
		memset(q->buf_used + base, 0, n);
}

static void dispatch(struct nu_queue *q, struct nu_io *io)
{
	int ret = q->tops->submit(q->tpriv, io);

	if (ret < 0) {
		/*
		 * A frontend that resubmits from done() (netublk-perf) would
		 * otherwise recurse without bound while the backend refuses.
		 */
		io->failed_res = ret;
		io->next = NULL;
		if (q->failed_tail)
			q->failed_tail->next = io;
		else
			q->failed_head = io;
		q->failed_tail = io;
	}
}

static void complete_failed(struct nu_queue *q)
{
	struct nu_io *io = q->failed_head;

	q->failed_head = q->failed_tail = NULL;
	while (io) {
		struct nu_io *next = io->next;

		nu_queue_complete(q, io, io->failed_res);
		io = next;
	}
}

void nu_queue_submit_io(struct nu_queue *q, struct nu_io *io)
{
	io->start_ns = q->now_ns;
	if (q->stopping) {
		io->done(io, -ESHUTDOWN);
		return;
	}
	__atomic_fetch_add(&nu_host_vol_stats(q->host, io->vol)->started, 1, __ATOMIC_RELAXED);
	q->small_inflight += io->len <= COALESCE_SMALL;
	if (nu_tagset_get(&q->tags, io) == 0)
		dispatch(q, io);
}

void nu_queue_complete(struct nu_queue *q, struct nu_io *io, int res)
{
	struct nu_volume_stats *st = nu_host_vol_stats(q->host, io->vol);
	struct nu_io *next;

	nu_volume_stats_add(st, io->op, io->len, res);
	nu_volume_stats_lat(st, io->op, q->now_ns - io->start_ns);
	if (res < 0) {
		uint64_t n = __atomic_load_n(&st->errors, __ATOMIC_RELAXED);

		/* The first errors, then every power of two: enough to see, never a flood. */
		if (n <= 8 || !(n & (n - 1)))
			nu_err("%s volume %u: %s of %u bytes at %llu failed: %s (error %llu)",
			       nu_host_name(q->host), io->vol, nu_op_name(io->op), io->len,
			       (unsigned long long)io->offset, strerror(-res),
			       (unsigned long long)n);
	}
	q->small_inflight -= io->len <= COALESCE_SMALL;
	next = nu_tagset_put(&q->tags, io->tag);
	io->done(io, res);
	/* Dispatch after done(): a frontend may resubmit from its callback. */
	while (next) {
		dispatch(q, next);
		next = nu_tagset_next_waiter(&q->tags);
	}
}

void nu_queue_set_credit_limit(struct nu_queue *q, unsigned limit)
{
	struct nu_io *io;

	nu_tagset_set_limit(&q->tags, limit ? limit : 1);
	while ((io = nu_tagset_next_waiter(&q->tags)))
		dispatch(q, io);
}

static void mailbox_arm(struct nu_queue *q)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(q);

	io_uring_prep_read(sqe, q->efd, &q->efd_val, sizeof(q->efd_val), 0);
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_MAILBOX, 0, 0));
}

static void mailbox_run(struct nu_queue *q)
{
	struct nu_msg *m, *next;

	pthread_mutex_lock(&q->lock);
	m = q->msgs;
	q->msgs = NULL;
	pthread_mutex_unlock(&q->lock);

	/* Oldest first: the list was built by pushing at the head. */
	struct nu_msg *rev = NULL;
	for (; m; m = next) {
		next = m->next;
		m->next = rev;
		rev = m;
	}
	for (m = rev; m; m = next) {
		next = m->next;
		m->ret = m->fn(q, m->arg);
		pthread_mutex_lock(&q->lock);
		m->done = true;
		pthread_cond_broadcast(&q->cond);
		pthread_mutex_unlock(&q->lock);
	}
}

int nu_queue_set_cpus(struct nu_queue *q, const cpu_set_t *cpus)
{
	cpu_set_t allowed, use;

	if (!q->thread_started)
		return -ESRCH;
	/* A process confined by taskset or a cpuset keeps to it. */
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -errno;
	CPU_AND(&use, cpus, &allowed);
	if (!CPU_COUNT(&use))
		return -EINVAL;
	return -pthread_setaffinity_np(q->thread, sizeof(use), &use);
}

int nu_queue_call(struct nu_queue *q, nu_queue_call_fn fn, void *arg)
{
	struct nu_msg m = { .fn = fn, .arg = arg };
	uint64_t one = 1;

	if (pthread_equal(pthread_self(), q->thread) && q->thread_started)
		return fn(q, arg);
	pthread_mutex_lock(&q->lock);
	if (!q->ring_ready) {
		pthread_mutex_unlock(&q->lock);
		return -ESHUTDOWN;
	}
	m.next = q->msgs;
	q->msgs = &m;
	pthread_mutex_unlock(&q->lock);
	if (write(q->efd, &one, sizeof(one)) != sizeof(one))
		nu_warn("queue %u: mailbox write: %s", q->id, strerror(errno));
	pthread_mutex_lock(&q->lock);
	while (!m.done)
		pthread_cond_wait(&q->cond, &q->lock);
	pthread_mutex_unlock(&q->lock);
	return m.ret;
}

static int net_check(struct nu_queue *q, void *arg)
{
	(void)arg;
	if (q->stopping || !q->tpriv)
		return 0;
	if (q->tops->net_changed)
		q->tops->net_changed(q->tpriv);
	else if (q->tops->path_sup)
		nu_sup_net_check(q->tops->path_sup(q->tpriv));
	return 0;
}

void nu_queue_net_check(struct nu_queue *q)
{
	nu_queue_call(q, net_check, NULL);
}

void *nu_queue_transport_priv(struct nu_queue *q)
{
	return q->tpriv;
}

/*
 * The mailbox runs after its batch of completions is consumed (see the
 * loop): a call may wait on the ring itself (a path leaving drains its
 * socket), and must not see that batch again.
 */
static void handle_cqe(struct nu_queue *q, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	unsigned slot;

	switch (nu_ud_kind(ud)) {
	case NU_UD_MAILBOX:
		q->mailbox_due = true;
		break;
	case NU_UD_CLIENT:
		slot = nu_ud_slot(ud);
		if (slot < QUEUE_MAX_CLIENTS && q->clients[slot].fn)
			q->clients[slot].fn(q->clients[slot].ctx, cqe);
		else if (!q->stopping)
			nu_warn("queue %u: completion for gone client %u (res %d)", q->id, slot,
				cqe->res);
		break;
	case NU_UD_TRANSPORT:
		q->tops->cqe(q->tpriv, cqe);
		break;
	default:
		break;
	}
}

void nu_queue_serve_cqe(struct nu_queue *q, const struct io_uring_cqe *cqe)
{
	handle_cqe(q, cqe);
}

static void mailbox_due(struct nu_queue *q)
{
	if (!q->mailbox_due)
		return;
	q->mailbox_due = false;
	mailbox_run(q);
	mailbox_arm(q);
	/* A call may have waited (a path draining): what it submitted is stamped from now. */
	q->now_ns = nu_now_ns();
}

static int ring_setup(struct nu_queue *q)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN |
			 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		.cq_entries = QUEUE_CQ_ENTRIES,
	};
	int ret;

	ret = io_uring_queue_init_params(QUEUE_SQ_ENTRIES, &q->ring, &p);
	if (ret < 0) {
		nu_err("queue %u: io_uring setup: %s", q->id, strerror(-ret));
		return ret;
	}
	ret = io_uring_register_files_sparse(&q->ring, QUEUE_FILE_SLOTS);
	if (ret < 0) {
		nu_err("queue %u: register file table: %s", q->id, strerror(-ret));
		goto fail;
	}
	ret = io_uring_register_buffers_sparse(&q->ring, QUEUE_BUF_SLOTS);
	if (ret < 0) {
		nu_err("queue %u: register buffer table: %s", q->id, strerror(-ret));
		goto fail;
	}
	/* Saves an fdget per io_uring_enter; failure only costs speed. */
	io_uring_register_ring_fd(&q->ring);
	return 0;
fail:
	io_uring_queue_exit(&q->ring);
	return ret;
}

static bool queue_done(struct nu_queue *q)
{
	return q->stopping && !q->nr_clients && !q->tags.used && !q->tags.nr_waiting;
}

void nu_queue_set_coalesce(unsigned us)
{
	coalesce_us = us;
}

void nu_queue_no_coalesce(struct nu_queue *q, bool on)
{
	q->no_coalesce += on ? 1 : -1;
}

void nu_queue_set_busy_poll(unsigned us)
{
	busy_poll_us = us;
}

/*
 * Submits, then polls for up to busy_poll_us: entering the ring without
 * waiting runs its deferred completions (DEFER_TASKRUN). True if some came.
 */
static bool busy_poll(struct nu_queue *q)
{
	uint64_t end;

	if (io_uring_submit(&q->ring) < 0)
		return false;
	end = nu_now_ns() + busy_poll_us * 1000ull;
	do {
		if (io_uring_cq_ready(&q->ring) || (io_uring_get_events(&q->ring) >= 0 &&
						   io_uring_cq_ready(&q->ring)))
			return true;
	} while (nu_now_ns() < end);
	return false;
}

/* Submits, then waits for completions: one, or a batch of them while many small I/Os run. */
static int queue_wait(struct nu_queue *q)
{
	struct __kernel_timespec ts = { .tv_nsec = COALESCE_IDLE_NS };
	struct io_uring_cqe *cqe;
	unsigned want = q->small_inflight / 4 < COALESCE_MAX ? q->small_inflight / 4 : COALESCE_MAX;
	int ret;

	if (q->failed_head)
		return io_uring_submit(&q->ring);
	if (!coalesce_us || q->small_inflight < COALESCE_MIN || q->no_coalesce ||
	    !(q->ring.features & IORING_FEAT_MIN_TIMEOUT)) {
		if (busy_poll_us && q->tags.used && busy_poll(q))
			return 0;
		return io_uring_submit_and_wait(&q->ring, 1);
	}
	ret = io_uring_submit_and_wait_min_timeout(&q->ring, &cqe, want, &ts, coalesce_us, NULL);
	return ret == -ETIME ? 0 : ret;
}

static void *queue_thread(void *arg)
{
	struct nu_queue *q = arg;
	int ret;

	q->now_ns = nu_now_ns();
	ret = ring_setup(q);
	if (!ret) {
		ret = q->tops->queue_start(nu_host_transport_priv(q->host), q, &q->tpriv);
		if (ret < 0) {
			nu_err("queue %u: %s transport start: %s", q->id, q->tops->name,
			       strerror(-ret));
			io_uring_queue_exit(&q->ring);
		}
	}
	pthread_mutex_lock(&q->lock);
	q->start_ret = ret;
	q->ring_ready = !ret;
	q->started = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (ret)
		return NULL;

	mailbox_arm(q);
	while (!queue_done(q)) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		complete_failed(q);
		run_flushes(q);
		ret = queue_wait(q);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			nu_err("queue %u: io_uring_enter: %s", q->id, strerror(-ret));
			break;
		}
		q->now_ns = nu_now_ns();
		io_uring_for_each_cqe(&q->ring, head, cqe)
		{
			handle_cqe(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
		mailbox_due(q);
	}

	complete_failed(q);
	q->tops->queue_stop(q->tpriv);
	pthread_mutex_lock(&q->lock);
	q->ring_ready = false;
	pthread_mutex_unlock(&q->lock);
	/* A call that raced with the stop must not wait forever. */
	mailbox_run(q);
	io_uring_queue_exit(&q->ring);
	return NULL;
}

struct nu_queue *nu_queue_create(struct nu_host *host, unsigned id, unsigned backend_depth)
{
	struct nu_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->host = host;
	q->id = id;
	q->tops = nu_host_transport(host);
	q->efd = -1;
	q->buf_used = calloc(QUEUE_BUF_SLOTS, 1);
	if (!q->buf_used || nu_tagset_init(&q->tags, backend_depth))
		goto fail;
	q->efd = eventfd(0, EFD_CLOEXEC);
	if (q->efd < 0)
		goto fail;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	return q;
fail:
	nu_queue_destroy(q);
	return NULL;
}

int nu_queue_start(struct nu_queue *q)
{
	int ret = pthread_create(&q->thread, NULL, queue_thread, q);

	if (ret)
		return -ret;
	q->thread_started = true;
	{
		char name[16];

		/* As top -H and the CPU placement show it. */
		snprintf(name, sizeof(name), "netublk-q%u", q->id);
		pthread_setname_np(q->thread, name);
	}
	pthread_mutex_lock(&q->lock);
	while (!q->started)
		pthread_cond_wait(&q->cond, &q->lock);
	ret = q->start_ret;
	pthread_mutex_unlock(&q->lock);
	if (ret) {
		pthread_join(q->thread, NULL);
		q->thread_started = false;
	}
	return ret;
}

static int queue_set_stopping(struct nu_queue *q, void *arg)
{
	(void)arg;
	q->stopping = true;
	if (q->nr_clients)
		nu_warn("queue %u: stopping with %u clients attached", q->id, q->nr_clients);
	return 0;
}

void nu_queue_stop(struct nu_queue *q)
{
	if (!q->thread_started)
		return;
	nu_queue_call(q, queue_set_stopping, NULL);
	pthread_join(q->thread, NULL);
	q->thread_started = false;
}

void nu_queue_destroy(struct nu_queue *q)
{
	if (!q)
		return;
	nu_queue_stop(q);
	if (q->efd >= 0) {
		close(q->efd);
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
	}
	nu_tagset_exit(&q->tags);
	free(q->buf_used);
	free(q);
}
