// SPDX-License-Identifier: MIT
/*
 * The connection supervisor (see supervisor.h): one state machine for
 * every protocol's connections, so that retry, drain, reconnect and
 * give-up behave the same on iSCSI and NVMe/TCP.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <liburing.h>

#include "supervisor.h"
#include "io.h"
#include "log.h"
#include "netmon.h"
#include "path.h"
#include "queue.h"
#include "stream.h"
#include "transport.h"
#include "udata.h"

/* While a reconnect runs on the helper thread, look for its end this often. */
#define HELPER_POLL_MS 20

static void attempt_failed(struct nu_sup *s, uint64_t now);

static void timer_arm(struct nu_sup *s, unsigned ms)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(s->q);

	s->tick.tv_sec = ms / 1000;
	s->tick.tv_nsec = (ms % 1000) * 1000000L;
	io_uring_prep_timeout(sqe, &s->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, nu_stream_ud(s->st->ud_path, NU_STREAM_UD_TIMER, 0));
	s->timer_armed = true;
}

void nu_sup_init(struct nu_sup *s, struct nu_queue *q, struct nu_stream *st, struct nu_path *path,
		 const struct nu_sup_ops *ops, void *ctx, const struct nu_sup_cfg *cfg, void *tasks,
		 size_t task_size, unsigned depth, void *result,
		 const struct nu_path_parent *parent)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->cfg = *cfg;
	s->q = q;
	s->st = st;
	s->path = path;
	s->state = NU_CONN_DOWN;
	s->tasks = tasks;
	s->task_size = task_size;
	s->depth = depth;
	s->result = result;
	s->parent = parent;
	st->ud_path = parent ? parent->path : 0;
	snprintf(s->remote, sizeof(s->remote), "%s", cfg->peer);
}

/* Where the connection runs, so that netmon can say when the network no longer carries it. */
static void record_ends(struct nu_sup *s)
{
	socklen_t ll = sizeof(s->local_sa), pl = sizeof(s->peer_sa);

	s->net_down = false;
	s->have_sa = s->st->fd >= 0 &&
		     !getsockname(s->st->fd, (struct sockaddr *)&s->local_sa, &ll) &&
		     !getpeername(s->st->fd, (struct sockaddr *)&s->peer_sa, &pl);
}

static int attach(struct nu_sup *s)
{
	int ret = s->ops->attach(s->ctx, s->result);

	if (ret)
		return ret;
	s->state = NU_CONN_UP;
	nu_path_remote(s->path, s->remote, sizeof(s->remote));
	record_ends(s);
	return 0;
}

/* Up, with its own commands sent again: the parent may send it more. */
static void tell_parent_up(struct nu_sup *s)
{
	if (s->parent)
		s->parent->up(s->parent->ctx, s->parent->path);
}

int nu_sup_start(struct nu_sup *s)
{
	int ret;

	if (s->parent && s->parent->background) {
		/* Joining a running queue: the helper connects; the others serve meanwhile. */
		nu_path_down(s->path, "reconnecting");
		s->down_since_ns = s->next_reconnect_ns = nu_now_ns();
		timer_arm(s, 1);
		return 0;
	}
	ret = s->ops->connect(s->ctx, s->result);

	if (!ret)
		ret = attach(s);
	if (ret && !s->parent)
		return ret;
	if (ret) {
		/* One path of several: the others serve while this one keeps trying. */
		nu_warn("%s: %s not reachable at start: trying again in the background",
			s->cfg.name, s->cfg.peer);
		nu_path_down(s->path, "reconnecting");
		s->down_since_ns = nu_now_ns();
		attempt_failed(s, s->down_since_ns);
		timer_arm(s, 100);
		return 0;
	}
	timer_arm(s, 1000);
	tell_parent_up(s);
	return 0;
}

static bool past_loss(const struct nu_sup *s, uint64_t now)
{
	return s->state == NU_CONN_DOWN &&
	       now - s->down_since_ns > s->cfg.loss_timeout_ms * 1000000ull;
}

int nu_sup_submit(struct nu_sup *s, struct nu_io *io)
{
	struct nu_task *t = nu_sup_task(s, io->tag);

	if (s->state == NU_CONN_DOWN && past_loss(s, nu_now_ns()))
		return -EIO;
	t->io = io;
	t->retries = 0;
	t->started = false;
	nu_sup_send(s, t);
	return 0;
}

void nu_sup_send(struct nu_sup *s, struct nu_task *t)
{
	if (s->state != NU_CONN_UP)
		return; /* every task with an io goes out again after the reconnect */
	t->sent_ns = nu_queue_now_ns(s->q);
	t->abort_ns = 0;
	t->started = true;
	/* Its data will land in the buffer table: the stream must read headers alone for it. */
	if (t->io->op == NU_OP_READ && t->io->buf.fixed_index >= 0)
		nu_stream_expect_fixed(s->st, t->io->tag);
	s->ops->send(s->ctx, t);
}

/* The task leaves this connection (completed, handed on): the protocol forgets it. */
static void task_detach(struct nu_sup *s, struct nu_task *t)
{
	if (s->ops->forget)
		s->ops->forget(s->ctx, t);
	t->io = NULL;
	t->started = false;
}

void nu_sup_complete(struct nu_sup *s, struct nu_task *t, int res)
{
	struct nu_io *io = t->io;

	/* Unsent PDUs of a finished command must not go out later. */
	nu_stream_drop_tag(s->st, io->tag);
	task_detach(s, t);
	nu_path_count(s->path, io->len, res);
	if (s->parent)
		s->parent->done(s->parent->ctx, s->parent->path, io, res);
	nu_queue_complete(s->q, io, res);
}

void nu_sup_retry(struct nu_sup *s, struct nu_task *t, int res, const char *why)
{
	if (t->retries++ < s->cfg.retry_limit) {
		nu_dbg("%s: retrying %s of tag %u: %s", s->cfg.name, nu_op_name(t->io->op),
		       t->io->tag, why);
		/* Nothing of the previous try may follow the new one onto the wire. */
		nu_stream_drop_tag(s->st, t->io->tag);
		t->started = false;
		nu_sup_send(s, t);
		return;
	}
	nu_err("%s: giving up on %s %llu+%u after %u tries: %s", s->cfg.name, nu_op_name(t->io->op),
	       (unsigned long long)t->io->offset, t->io->len, t->retries, why);
	nu_sup_complete(s, t, res);
}

/* Down, one path of several: what it held goes to the others at once. */
static void handoff_all(struct nu_sup *s)
{
	for (unsigned i = 0; i < s->depth; i++) {
		struct nu_task *t = nu_sup_task(s, i);
		struct nu_io *io = t->io;

		if (!io)
			continue;
		task_detach(s, t);
		s->parent->handoff(s->parent->ctx, s->parent->path, io);
	}
}

void nu_sup_path_error(struct nu_sup *s, struct nu_task *t, int res, const char *why)
{
	struct nu_io *io = t->io;

	if (!s->parent) {
		nu_sup_retry(s, t, res, why);
		return;
	}
	nu_dbg("%s: %s of tag %u to another path: %s", s->cfg.name, nu_op_name(io->op), io->tag,
	       why);
	nu_stream_drop_tag(s->st, io->tag);
	task_detach(s, t);
	s->parent->handoff(s->parent->ctx, s->parent->path, io);
}

void nu_sup_conn_fail(struct nu_sup *s, const char *why)
{
	uint64_t now = nu_now_ns();

	if (s->state == NU_CONN_UP) {
		if (!s->stopping)
			nu_warn("%s: connection to %s lost: %s; reconnecting", s->cfg.name,
				s->remote, why ? why : "?");
		s->state = NU_CONN_DRAINING;
		nu_path_down(s->path, s->stopping ? "closed" : "reconnecting");
		s->down_since_ns = now;
		s->reconnect_delay_ms = 0;
	}
	if (s->state != NU_CONN_DRAINING || nu_stream_busy(s->st))
		return;
	/* Queued PDUs die with the connection; their commands go again after the reconnect. */
	nu_stream_close(s->st);
	s->state = NU_CONN_DOWN;
	for (unsigned i = 0; i < s->depth; i++)
		nu_sup_task(s, i)->started = false;
	if (s->ops->down)
		s->ops->down(s->ctx);
	if (s->parent && !s->stopping)
		handoff_all(s);
	s->next_reconnect_ns = now;
	if (!s->timer_armed && !s->stopping)
		timer_arm(s, 1);
}

static void fail_all(struct nu_sup *s, int res)
{
	for (unsigned i = 0; i < s->depth; i++) {
		struct nu_task *t = nu_sup_task(s, i);

		if (t->io)
			nu_sup_complete(s, t, res);
	}
}

static void *helper_main(void *arg)
{
	struct nu_sup *s = arg;

	s->helper_ret = s->ops->connect(s->ctx, s->result);
	__atomic_store_n(&s->helper_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Ends the helper thread; its result, connected or not, is the caller's. */
static int helper_join(struct nu_sup *s)
{
	pthread_join(s->helper, NULL);
	s->connecting = false;
	return s->helper_ret;
}

static void reconnected(struct nu_sup *s, uint64_t now)
{
	nu_info("%s: reconnected to %s after %.1f s", s->cfg.name, s->remote,
		(now - s->down_since_ns) / 1e9);
	for (unsigned i = 0; i < s->depth; i++) {
		struct nu_task *t = nu_sup_task(s, i);

		if (t->io)
			nu_sup_send(s, t);
	}
}

static void attempt_failed(struct nu_sup *s, uint64_t now)
{
	if (past_loss(s, now)) {
		nu_err("%s: %s unreachable for %llu s: failing I/O", s->cfg.name, s->cfg.peer,
		       (unsigned long long)(s->cfg.loss_timeout_ms / 1000));
		nu_path_down(s->path, "failed");
		fail_all(s, -EIO);
	}
	/* Quick after a blip, patient when the target may be rebooting. */
	s->reconnect_delay_ms =
		s->reconnect_delay_ms ? s->reconnect_delay_ms * 2 : s->cfg.backoff_min_ms;
	if (s->reconnect_delay_ms > s->cfg.backoff_max_ms)
		s->reconnect_delay_ms = s->cfg.backoff_max_ms;
	s->next_reconnect_ns = now + s->reconnect_delay_ms * 1000000ull;
}

/* Down: starts a reconnect, or takes the result of the one in flight. Returns the next tick. */
static unsigned reconnect_step(struct nu_sup *s, uint64_t now)
{
	int ret;

	if (!s->connecting) {
		/* In a black hole no connect gets through either. */
		if (now < s->next_reconnect_ns || s->blackhole_until_ns)
			return 100;
		/*
		 * One path of several waits for the network to come back (an
		 * event says so; a check each second too); a portal list tries
		 * its other portals, which may go another way.
		 */
		if (s->net_down && s->parent) {
			if (now - s->net_checked_ns >= 1000000000ull)
				nu_sup_net_check(s);
			if (s->net_down)
				return 100;
		}
		s->helper_done = false;
		ret = pthread_create(&s->helper, NULL, helper_main, s);
		if (ret) {
			nu_warn("%s: no thread for the reconnect: %s", s->cfg.name, strerror(ret));
			attempt_failed(s, now);
			return 100;
		}
		s->connecting = true;
		return HELPER_POLL_MS;
	}
	if (!__atomic_load_n(&s->helper_done, __ATOMIC_ACQUIRE))
		return HELPER_POLL_MS;
	ret = helper_join(s);
	if (!ret)
		ret = attach(s);
	if (!ret) {
		reconnected(s, now);
		tell_parent_up(s);
		return 1000;
	}
	attempt_failed(s, now);
	return 100;
}

void nu_sup_reconnect_now(struct nu_sup *s)
{
	if (s->state != NU_CONN_DOWN || s->connecting)
		return;
	s->reconnect_delay_ms = 0;
	s->next_reconnect_ns = nu_now_ns();
}

void nu_sup_net_check(struct nu_sup *s)
{
	char why[128] = "";
	int ok;

	if (!s->have_sa || s->stopping)
		return;
	s->net_checked_ns = nu_now_ns();
	ok = nu_netmon_usable(&s->local_sa, &s->peer_sa, why, sizeof(why));
	nu_dbg("%s: network to %s: %s", s->cfg.name, s->remote,
	       ok > 0 ? "usable"
	       : ok   ? strerror(-ok)
		      : why);
	if (ok < 0)
		return; /* cannot tell: the timeouts will */
	if (!ok) {
		if (s->state == NU_CONN_UP || !s->net_down)
			nu_warn("%s: the network no longer reaches %s: %s%s", s->cfg.name,
				s->remote, why,
				s->parent ? "; no reconnect until it does again" : "");
		if (s->state == NU_CONN_UP)
			nu_stream_fail(s->st, why);
		s->net_down = true;
		return;
	}
	if (s->net_down) {
		s->net_down = false;
		nu_info("%s: the network reaches %s again: reconnecting", s->cfg.name, s->remote);
		nu_sup_reconnect_now(s);
	}
}

void nu_sup_inject(struct nu_sup *s, enum nu_fault f, unsigned ms, unsigned delay_ms)
{
	switch (f) {
	case NU_FAULT_DROP:
		nu_warn("%s: injected fault: connection to %s dropped", s->cfg.name, s->remote);
		if (s->state == NU_CONN_UP)
			nu_stream_fail(s->st, "injected fault");
		return;
	case NU_FAULT_BLACKHOLE:
		nu_warn("%s: injected fault: connection to %s black-holed for %u ms", s->cfg.name,
			s->remote, ms);
		s->blackhole_until_ns = nu_now_ns() + ms * 1000000ull;
		nu_stream_hold(s->st, true);
		return;
	case NU_FAULT_DELAY:
		nu_warn("%s: injected fault: sends to %s delayed by %u ms for %u ms", s->cfg.name,
			s->remote, delay_ms, ms);
		s->delay_until_ns = nu_now_ns() + ms * 1000000ull;
		nu_stream_delay(s->st, delay_ms);
		return;
	}
}

/* An injected fault's time is over: what waited may go (if the connection still lives). */
static void faults_check(struct nu_sup *s, uint64_t now)
{
	if (s->delay_until_ns && now >= s->delay_until_ns) {
		s->delay_until_ns = 0;
		nu_info("%s: injected delay over", s->cfg.name);
		nu_stream_delay(s->st, 0);
	}
	if (!s->blackhole_until_ns || now < s->blackhole_until_ns)
		return;
	s->blackhole_until_ns = 0;
	nu_info("%s: injected black hole over", s->cfg.name);
	nu_stream_hold(s->st, false);
}

static void on_timer(struct nu_sup *s)
{
	uint64_t now = nu_now_ns();
	unsigned next = 1000;

	s->timer_armed = false;
	if (s->stopping)
		return;
	faults_check(s, now);
	switch (s->state) {
	case NU_CONN_DOWN:
		next = reconnect_step(s, now);
		break;
	case NU_CONN_UP:
		s->ops->tick(s->ctx, now);
		break;
	case NU_CONN_DRAINING:
		next = 100;
		break;
	}
	/* A failure inside tick may have armed the reconnect already. */
	if (!s->timer_armed)
		timer_arm(s, next);
}

bool nu_sup_cqe(struct nu_sup *s, const struct io_uring_cqe *cqe)
{
	if (nu_ud_path(cqe->user_data) != s->st->ud_path ||
	    nu_ud_op(cqe->user_data) != NU_STREAM_UD_TIMER)
		return false;
	on_timer(s);
	return true;
}

void nu_sup_stop(struct nu_sup *s)
{
	s->stopping = true;
	/* The helper's connect and login end by their own timeouts. */
	if (s->connecting && helper_join(s) == 0)
		s->ops->discard(s->ctx, s->result);
	nu_path_down(s->path, "closed");
	if (s->state == NU_CONN_UP && s->ops->goodbye)
		s->ops->goodbye(s->ctx);
	else if (s->st->fd >= 0)
		shutdown(s->st->fd, SHUT_RDWR);
	/* Reap our own in-flight operations before the memory they use goes away. */
	if (!nu_stream_drain(s->st, 3000, &s->timer_armed))
		nu_warn("%s: socket operations still pending at stop", s->cfg.name);
	/* A path leaving a device that goes on: its commands are the other paths' now. */
	if (s->parent && s->parent->leaving)
		handoff_all(s);
}
