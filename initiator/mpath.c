// SPDX-License-Identifier: MIT
/*
 * Multipath (see mpath.h): a target and a transport made of several path
 * targets of one kind. Each queue holds every path's connection on its
 * ring (path i's completions carry i in their user data) and chooses a
 * path per command; a lost path's commands come back through its parent
 * hooks and go out on another path, or wait for one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <liburing.h>

#include "mpath.h"
#include "host.h"
#include "io.h"
#include "log.h"
#include "queue.h"
#include "stream.h"
#include "supervisor.h"
#include "voltab.h"

/* The user-data path index of the multipath layer's own timer. */
#define MP_UD_PATH (NU_UD_PATHS - 1)
#define MP_TICK_MS 250

struct mp_path {
	void *target;
	char name[128];
	bool enabled;	    /* netublkctl path reinstate / fail (read by queue threads) */
	uint32_t up_gen;    /* bumps when any queue's connection of it comes up */
	bool consistent;    /* its volume list matches the first path's */
	uint64_t failovers; /* commands moved off it */
	bool failback_wait; /* back after a loss, not yet used as before (failback) */
	uint64_t back_ns;   /* when it came back */
	bool removed;	    /* left the device (its section went): the slot stays empty */
};

struct nu_mpath {
	struct nu_target_ops ops;
	struct nu_transport_ops transport;
	const struct nu_target_ops *path_ops;
	struct nu_mpath_cfg cfg;
	char name[128];
	struct mp_path paths[NU_MPATH_MAX];
	unsigned nr;
	int epfd; /* readable when any path's volumes changed */
};

struct mp_queue {
	struct nu_mpath *mp;
	struct nu_queue *q;
	struct nu_path_parent parent[NU_MPATH_MAX];
	void *qpriv[NU_MPATH_MAX];
	unsigned inflight[NU_MPATH_MAX];
	unsigned moved[NU_MPATH_MAX];	      /* handed off since the last tick, for the log */
	uint64_t injected_ns[NU_MPATH_MAX];   /* a fault injected then, until it shows */
	uint64_t first_move_ns[NU_MPATH_MAX]; /* the first handoff since the last tick */
	uint32_t seen_up_gen[NU_MPATH_MAX];
	bool ever_up[NU_MPATH_MAX]; /* a later up is a return, subject to failback */
	unsigned rr;
	struct nu_io *park_head, *park_tail;
	unsigned nr_parked;
	uint64_t no_path_since; /* 0 while a path is usable */
	bool failing;		/* no path for no_path_retry: commands fail at once */
	bool stopping;
	bool timer_armed;
	struct __kernel_timespec tick;
};

static const struct nu_transport_ops *path_transport(const struct nu_mpath *mp)
{
	return mp->path_ops->transport;
}

static bool usable(struct mp_queue *mq, unsigned p)
{
	const struct mp_path *mpp = &mq->mp->paths[p];

	return mq->qpriv[p] && !__atomic_load_n(&mpp->removed, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&mpp->enabled, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&mpp->consistent, __ATOMIC_RELAXED) &&
	       nu_sup_up(path_transport(mq->mp)->path_sup(mq->qpriv[p]));
}

static enum nu_path_state state_of(struct mp_queue *mq, unsigned p, unsigned vol)
{
	const struct nu_transport_ops *t = path_transport(mq->mp);

	if (!usable(mq, p))
		return NU_PATH_UNUSABLE;
	return t->path_state ? t->path_state(mq->qpriv[p], vol) : NU_PATH_OPTIMIZED;
}

/*
 * Whether path p is back from a loss but not yet to be used as before:
 * until reinstated by hand (failback manual) or up for failback_s.
 */
static bool failback_waits(struct mp_queue *mq, unsigned p)
{
	struct mp_path *mpp = &mq->mp->paths[p];
	int after = mq->mp->cfg.failback_s;

	if (!__atomic_load_n(&mpp->failback_wait, __ATOMIC_RELAXED))
		return false;
	if (after < 0 || nu_now_ns() - __atomic_load_n(&mpp->back_ns, __ATOMIC_RELAXED) <
				 (uint64_t)after * 1000000000ull)
		return true;
	if (__atomic_exchange_n(&mpp->failback_wait, false, __ATOMIC_RELAXED))
		nu_info("%s: path %u (%s) up for %d s: in use as before (failback)", mq->mp->name,
			p, mpp->name, after);
	return false;
}

/*
 * The path for the next command to vol, or -1 if none is usable: among
 * the paths in the best access state there is (non-optimized ones only
 * when no optimized one is usable, paths waiting for their failback only
 * when no other is), as the selector says.
 */
static int pick(struct mp_queue *mq, unsigned vol)
{
	unsigned rank[NU_MPATH_MAX], best = NU_PATH_UNUSABLE + 2;
	unsigned n = mq->mp->nr;
	int chosen = -1;

	for (unsigned p = 0; p < n; p++) {
		enum nu_path_state st = state_of(mq, p, vol);

		rank[p] = st == NU_PATH_UNUSABLE ? NU_PATH_UNUSABLE + 2
						 : st + (failback_waits(mq, p) ? 2 : 0);
		if (rank[p] < best)
			best = rank[p];
	}
	if (best == NU_PATH_UNUSABLE + 2)
		return -1;
	switch (mq->mp->cfg.selector) {
	case NU_PS_FAILOVER:
		for (unsigned p = 0; p < n; p++)
			if (rank[p] == best)
				return p;
		break;
	case NU_PS_ROUND_ROBIN:
		for (unsigned i = 0; i < n; i++) {
			unsigned p = (mq->rr + i) % n;

			if (rank[p] == best) {
				mq->rr = p + 1;
				return p;
			}
		}
		break;
	case NU_PS_QUEUE_DEPTH:
		for (unsigned p = 0; p < n; p++)
			if (rank[p] == best &&
			    (chosen < 0 || mq->inflight[p] < mq->inflight[chosen]))
				chosen = p;
		break;
	}
	return chosen;
}

static void park(struct mp_queue *mq, struct nu_io *io)
{
	io->next = NULL;
	if (mq->park_tail)
		mq->park_tail->next = io;
	else
		mq->park_head = io;
	mq->park_tail = io;
	mq->nr_parked++;
	if (!mq->no_path_since) {
		mq->no_path_since = nu_now_ns();
		if (mq->mp->cfg.no_path_retry_s < 0)
			nu_warn("%s q%u: no usable path: I/O waits for one", mq->mp->name,
				nu_queue_id(mq->q));
		else
			nu_warn("%s q%u: no usable path: I/O waits up to %d s for one",
				mq->mp->name, nu_queue_id(mq->q), mq->mp->cfg.no_path_retry_s);
	}
}

/*
 * Sends io on a path, or parks it. Returns 0, or why it cannot go (no path
 * for too long, the path refused it): the caller ends it, as the queue
 * does for a new command (never inline here: a frontend that resubmits
 * from its completion would recurse).
 */
static int route(struct mp_queue *mq, struct nu_io *io)
{
	int p = pick(mq, io->vol), ret;

	if (p < 0) {
		if (mq->failing)
			return -EIO;
		park(mq, io);
		return 0;
	}
	mq->inflight[p]++;
	ret = path_transport(mq->mp)->submit(mq->qpriv[p], io);
	if (ret)
		mq->inflight[p]--;
	return ret;
}

/* A command already in flight (handed back, or waiting) goes again, or ends. */
static void reroute(struct mp_queue *mq, struct nu_io *io)
{
	int ret = route(mq, io);

	if (ret)
		nu_queue_complete(mq->q, io, ret);
}

/* Waiting commands try again: those with a path go, the others wait on. */
static void unpark(struct mp_queue *mq)
{
	struct nu_io *io = mq->park_head;

	mq->park_head = mq->park_tail = NULL;
	mq->nr_parked = 0;
	while (io) {
		struct nu_io *next = io->next;

		io->next = NULL;
		reroute(mq, io);
		io = next;
	}
}

/*
 * Something may have changed (a path up, reinstated, a new ANA state):
 * waiting commands try again, and once none waits and a path is usable,
 * the queue is out of its no-path state (new commands no longer fail).
 */
static void recheck(struct mp_queue *mq)
{
	unsigned waited = mq->nr_parked;
	bool any = false;

	unpark(mq);
	for (unsigned p = 0; p < mq->mp->nr; p++)
		any |= usable(mq, p);
	if (!any || mq->nr_parked || !mq->no_path_since)
		return;
	nu_info("%s q%u: a path is back after %.1f s: %u waiting command(s) go", mq->mp->name,
		nu_queue_id(mq->q), (nu_now_ns() - mq->no_path_since) / 1e9, waited);
	mq->no_path_since = 0;
	mq->failing = false;
}

static void fail_parked(struct mp_queue *mq, int res)
{
	struct nu_io *io = mq->park_head;

	mq->park_head = mq->park_tail = NULL;
	mq->nr_parked = 0;
	while (io) {
		struct nu_io *next = io->next;

		nu_queue_complete(mq->q, io, res);
		io = next;
	}
}

/* ---------------------------------------------------------------- parent hooks */

static void on_handoff(void *ctx, unsigned path, struct nu_io *io)
{
	struct mp_queue *mq = ctx;

	mq->inflight[path]--;
	if (!mq->moved[path]++)
		mq->first_move_ns[path] = nu_now_ns();
	__atomic_fetch_add(&mq->mp->paths[path].failovers, 1, __ATOMIC_RELAXED);
	reroute(mq, io);
}

/*
 * Path p is back after a loss: with a failback policy, it waits before it
 * is used as before; a path lost again while it waits starts over (a
 * flapping path must stay up for the whole time, once).
 */
static void path_back(struct mp_queue *mq, unsigned p)
{
	struct mp_path *mpp = &mq->mp->paths[p];
	int after = mq->mp->cfg.failback_s;

	if (!after)
		return;
	__atomic_store_n(&mpp->back_ns, nu_now_ns(), __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&mpp->failback_wait, true, __ATOMIC_RELAXED))
		return;
	if (after < 0)
		nu_info("%s: path %u (%s) is back: used only when no other path is, until "
			"reinstated (failback manual)",
			mq->mp->name, p, mpp->name);
	else
		nu_info("%s: path %u (%s) is back: used as before once up for %d s (failback)",
			mq->mp->name, p, mpp->name, after);
}

static void on_up(void *ctx, unsigned path)
{
	struct mp_queue *mq = ctx;

	if (mq->ever_up[path])
		path_back(mq, path);
	mq->ever_up[path] = true;

	/* The path is reachable: the other queues' connections of it need not wait out a back-off.
	 */
	mq->seen_up_gen[path] =
		__atomic_add_fetch(&mq->mp->paths[path].up_gen, 1, __ATOMIC_RELAXED);
	recheck(mq);
}

static void on_done(void *ctx, unsigned path, struct nu_io *io, int res)
{
	(void)io, (void)res;
	((struct mp_queue *)ctx)->inflight[path]--;
}

/* ---------------------------------------------------------------- timer */

static void timer_arm(struct mp_queue *mq)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(mq->q);

	mq->tick.tv_sec = 0;
	mq->tick.tv_nsec = MP_TICK_MS * 1000000L;
	io_uring_prep_timeout(sqe, &mq->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, nu_stream_ud(MP_UD_PATH, NU_STREAM_UD_TIMER, 0));
	mq->timer_armed = true;
}

static void on_timer(struct mp_queue *mq)
{
	struct nu_mpath *mp = mq->mp;
	uint64_t now = nu_now_ns();

	mq->timer_armed = false;
	if (mq->stopping)
		return;
	for (unsigned p = 0; p < mp->nr; p++) {
		if (!mq->moved[p])
			continue;
		if (mq->injected_ns[p])
			nu_warn("%s q%u: path %u (%s) down or refusing: %u command(s) moved to the "
				"other paths, %.2f s after the injected fault",
				mp->name, nu_queue_id(mq->q), p, mp->paths[p].name, mq->moved[p],
				(mq->first_move_ns[p] - mq->injected_ns[p]) / 1e9);
		else
			nu_warn("%s q%u: path %u (%s) down or refusing: %u command(s) moved to the "
				"other paths",
				mp->name, nu_queue_id(mq->q), p, mp->paths[p].name, mq->moved[p]);
		mq->moved[p] = 0;
		mq->injected_ns[p] = 0;
	}
	for (unsigned p = 0; p < mp->nr; p++) {
		uint32_t g = __atomic_load_n(&mp->paths[p].up_gen, __ATOMIC_RELAXED);

		if (g == mq->seen_up_gen[p])
			continue;
		mq->seen_up_gen[p] = g;
		if (mq->qpriv[p])
			nu_sup_reconnect_now(path_transport(mp)->path_sup(mq->qpriv[p]));
	}
	/* A failback wait may end with no command to ask (pick() does too). */
	for (unsigned p = 0; p < mp->nr; p++)
		failback_waits(mq, p);
	/* A path may be usable again without reconnecting: reinstated, or its ANA state. */
	recheck(mq);
	if (mq->no_path_since && !mq->failing && mp->cfg.no_path_retry_s >= 0 &&
	    now - mq->no_path_since > (uint64_t)mp->cfg.no_path_retry_s * 1000000000ull) {
		nu_err("%s q%u: no path for %d s: failing %u waiting command(s) and new ones "
		       "until a path returns",
		       mp->name, nu_queue_id(mq->q), mp->cfg.no_path_retry_s, mq->nr_parked);
		mq->failing = true;
		fail_parked(mq, -EIO);
	}
	timer_arm(mq);
}

/* ---------------------------------------------------------------- transport ops */

static unsigned mp_host_caps(void *host_priv)
{
	const struct nu_mpath *mp = host_priv;
	const struct nu_transport_ops *t = path_transport(mp);
	unsigned caps = ~0u;

	for (unsigned p = 0; p < mp->nr; p++)
		if (mp->paths[p].target)
			caps &= t->host_caps ? t->host_caps(mp->paths[p].target) : t->caps;
	return caps;
}

static int path_start(struct mp_queue *mq, unsigned p, bool background)
{
	struct nu_mpath *mp = mq->mp;
	int ret;

	mq->parent[p] = (struct nu_path_parent){
		.ctx = mq,
		.path = p,
		.background = background,
		.handoff = on_handoff,
		.up = on_up,
		.done = on_done,
	};
	ret = path_transport(mp)->path_start(mp->paths[p].target, mq->q, &mq->parent[p],
					     &mq->qpriv[p]);
	if (ret) {
		nu_err("%s q%u: path %u (%s) cannot start: %s", mp->name, nu_queue_id(mq->q), p,
		       mp->paths[p].name, strerror(-ret));
		mq->qpriv[p] = NULL;
	}
	return ret;
}

static int mp_queue_start(void *host_priv, struct nu_queue *q, void **qpriv)
{
	struct nu_mpath *mp = host_priv;
	struct mp_queue *mq = calloc(1, sizeof(*mq));
	unsigned started = 0;

	if (!mq)
		return -ENOMEM;
	mq->mp = mp;
	mq->q = q;
	for (unsigned p = 0; p < mp->nr; p++)
		started += path_start(mq, p, false) == 0;
	if (!started) {
		free(mq);
		return -EIO;
	}
	timer_arm(mq);
	*qpriv = mq;
	return 0;
}

static void mp_cqe(void *qpriv, const struct io_uring_cqe *cqe)
{
	struct mp_queue *mq = qpriv;
	unsigned p = nu_ud_path(cqe->user_data);

	if (p == MP_UD_PATH) {
		if (nu_ud_op(cqe->user_data) == NU_STREAM_UD_TIMER)
			on_timer(mq);
		return;
	}
	/* A path already stopped may still see its timer's cancellation. */
	if (p < mq->mp->nr && mq->qpriv[p])
		path_transport(mq->mp)->cqe(mq->qpriv[p], cqe);
}

/* Cancels our timer and waits for it, serving the paths' completions meanwhile. */
static void timer_drain(struct mp_queue *mq)
{
	struct io_uring *ring = nu_queue_ring(mq->q);
	uint64_t deadline = nu_now_ns() + 3000000000ull;
	struct io_uring_sqe *sqe;

	if (!mq->timer_armed)
		return;
	sqe = io_uring_get_sqe(ring);
	if (sqe) {
		io_uring_prep_timeout_remove(sqe, nu_stream_ud(MP_UD_PATH, NU_STREAM_UD_TIMER, 0),
					     0);
		io_uring_sqe_set_data64(sqe, nu_stream_ud(MP_UD_PATH, NU_STREAM_UD_IGNORE, 0));
	}
	while (mq->timer_armed && nu_now_ns() < deadline) {
		struct __kernel_timespec ts = {.tv_nsec = 100000000};
		struct io_uring_cqe *cqe, c;

		io_uring_submit(ring);
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
			continue;
		c = *cqe;
		io_uring_cqe_seen(ring, cqe);
		if (nu_ud_kind(c.user_data) == NU_UD_TRANSPORT)
			mp_cqe(mq, &c);
	}
	if (mq->timer_armed)
		nu_warn("%s q%u: multipath timer still pending at stop", mq->mp->name,
			nu_queue_id(mq->q));
}

static void mp_queue_stop(void *qpriv)
{
	struct mp_queue *mq = qpriv;

	mq->stopping = true;
	timer_drain(mq);
	fail_parked(mq, -EIO);
	for (unsigned p = 0; p < mq->mp->nr; p++) {
		if (!mq->qpriv[p])
			continue;
		path_transport(mq->mp)->queue_stop(mq->qpriv[p]);
		mq->qpriv[p] = NULL;
	}
	free(mq);
}

static void mp_net_changed(void *qpriv)
{
	struct mp_queue *mq = qpriv;

	for (unsigned p = 0; p < mq->mp->nr; p++)
		if (mq->qpriv[p])
			nu_sup_net_check(path_transport(mq->mp)->path_sup(mq->qpriv[p]));
}

static int mp_submit(void *qpriv, struct nu_io *io)
{
	return route(qpriv, io);
}

/* ---------------------------------------------------------------- target ops */

static const struct nu_mpath *mpc(const void *t)
{
	return t;
}

/* Volumes are those of the first path; the others' must agree, index for index. */
static unsigned mp_nr_vols(const void *t)
{
	return mpc(t)->path_ops->nr_vols(mpc(t)->paths[0].target);
}

static bool mp_vol(const void *t, unsigned i, struct nu_vol_desc *d)
{
	return mpc(t)->path_ops->vol(mpc(t)->paths[0].target, i, d);
}

static int mp_event_fd(const void *t)
{
	return mpc(t)->epfd;
}

/* Why path p's volumes differ from path 0's, or NULL if they agree. */
static const char *vols_differ(const struct nu_mpath *mp, unsigned p, unsigned *vol)
{
	const struct nu_target_ops *o = mp->path_ops;
	unsigned n = o->nr_vols(mp->paths[0].target);

	if (o->nr_vols(mp->paths[p].target) != n)
		return "a different number of volumes";
	for (unsigned i = 0; i < n; i++) {
		struct nu_vol_desc a, b;

		*vol = i;
		if (!o->vol(mp->paths[0].target, i, &a) || !o->vol(mp->paths[p].target, i, &b))
			return "a volume missing";
		/* Another target may number the same logical unit differently. */
		if ((a.id != b.id && !nu_wwid_unit(a.wwid)) || a.gone != b.gone ||
		    strcmp(a.wwid, b.wwid))
			return "another volume in its place";
		if (a.gone)
			continue;
		if (a.geom->size != b.geom->size || a.geom->lbs != b.geom->lbs)
			return "the same volume with another size or block size";
	}
	return NULL;
}

/* Marks each path whose volumes agree with the first path's usable, the others not. */
static void check_consistent(struct nu_mpath *mp)
{
	for (unsigned p = 1; p < mp->nr; p++) {
		unsigned vol = 0;
		const char *why;
		bool was = mp->paths[p].consistent;

		if (!mp->paths[p].target)
			continue;
		why = vols_differ(mp, p, &vol);
		if (why && was)
			nu_err("%s: path %u (%s) shows %s (volume %u) than path 0 (%s): not used "
			       "until a rescan agrees",
			       mp->name, p, mp->paths[p].name, why, vol, mp->paths[0].name);
		else if (!why && !was)
			nu_info("%s: path %u (%s) agrees with path 0 again: in use", mp->name, p,
				mp->paths[p].name);
		__atomic_store_n(&mp->paths[p].consistent, !why, __ATOMIC_RELAXED);
	}
}

static int mp_rescan(void *t, struct nu_rescan *r)
{
	struct nu_mpath *mp = t;
	struct nu_rescan *scratch = malloc(sizeof(*scratch));
	int ret = 0;

	/* Each path's rescan reads its own event, and so clears the epoll fd. */
	memset(r, 0, sizeof(*r));
	if (!scratch)
		return -ENOMEM;
	for (unsigned p = 0; p < mp->nr; p++) {
		int pr = mp->paths[p].target ? mp->path_ops->rescan(mp->paths[p].target, p ? scratch : r)
					     : 0;

		if (pr && !p)
			ret = pr;
	}
	free(scratch);
	check_consistent(mp);
	return ret;
}

static void mp_request_rescan(void *t)
{
	struct nu_mpath *mp = t;

	for (unsigned p = 0; p < mp->nr; p++)
		if (mp->paths[p].target)
			mp->path_ops->request_rescan(mp->paths[p].target);
}

static unsigned mp_paths(const void *t, unsigned nr_queues, struct nu_path_info *out, unsigned max)
{
	const struct nu_mpath *mp = t;
	unsigned n = 0;

	for (unsigned p = 0; p < mp->nr && n < max; p++) {
		unsigned k;

		if (!mp->paths[p].target)
			continue;
		k = mp->path_ops->paths(mp->paths[p].target, nr_queues, out + n, max - n);
		for (unsigned i = n; i < n + k; i++) {
			out[i].mpath = p;
			if (!__atomic_load_n(&mp->paths[p].enabled, __ATOMIC_RELAXED))
				out[i].state = "disabled";
			else if (!__atomic_load_n(&mp->paths[p].consistent, __ATOMIC_RELAXED))
				out[i].state = "inconsistent";
			else if (__atomic_load_n(&mp->paths[p].failback_wait, __ATOMIC_RELAXED) &&
				 !strcmp(out[i].state, "up"))
				out[i].state = "failback-wait";
		}
		n += k;
	}
	return n;
}

static void mp_destroy(void *t)
{
	struct nu_mpath *mp = t;

	if (!mp)
		return;
	for (unsigned p = 0; p < mp->nr; p++)
		if (mp->paths[p].target)
			mp->path_ops->destroy(mp->paths[p].target);
	if (mp->epfd >= 0)
		close(mp->epfd);
	free(mp);
}

/* ---------------------------------------------------------------- set-up */

int nu_mpath_create(const struct nu_mpath_cfg *cfg, const struct nu_target_ops *path_ops,
		    void *const *targets, const char *const *names, unsigned n,
		    struct nu_mpath **out)
{
	struct nu_mpath *mp;

	if (!n || n > NU_MPATH_MAX || !path_ops->transport->path_start ||
	    !path_ops->transport->path_sup)
		return -EINVAL;
	mp = calloc(1, sizeof(*mp));
	if (!mp)
		return -ENOMEM;
	mp->path_ops = path_ops;
	mp->cfg = *cfg;
	snprintf(mp->name, sizeof(mp->name), "%s", cfg->name);
	mp->cfg.name = mp->name;
	mp->epfd = epoll_create1(EPOLL_CLOEXEC);
	mp->ops = (struct nu_target_ops){
		.kind = path_ops->kind,
		.vol_word = path_ops->vol_word,
		.transport = &mp->transport,
		.nr_vols = mp_nr_vols,
		.vol = mp_vol,
		.event_fd = mp_event_fd,
		.rescan = mp_rescan,
		.paths = mp_paths,
		.request_rescan = mp_request_rescan,
		.destroy = mp_destroy,
	};
	mp->transport = (struct nu_transport_ops){
		.name = path_ops->transport->name,
		.host_caps = mp_host_caps,
		.queue_start = mp_queue_start,
		.queue_stop = mp_queue_stop,
		.submit = mp_submit,
		.cqe = mp_cqe,
		.net_changed = mp_net_changed,
	};
	for (unsigned i = 0; i < n; i++) {
		struct mp_path *p = &mp->paths[mp->nr];
		struct epoll_event ev = {.events = EPOLLIN};
		unsigned vol = 0;
		const char *why;

		p->target = targets[i];
		p->enabled = p->consistent = true;
		snprintf(p->name, sizeof(p->name), "%s", names[i]);
		mp->nr++;
		why = mp->nr > 1 ? vols_differ(mp, mp->nr - 1, &vol) : NULL;
		if (why) {
			nu_err("%s: path %s shows %s (volume %u) than path %s: refused", mp->name,
			       names[i], why, vol, mp->paths[0].name);
			mp->nr--;
			path_ops->destroy(targets[i]);
			continue;
		}
		ev.data.u32 = mp->nr - 1;
		if (mp->epfd >= 0)
			epoll_ctl(mp->epfd, EPOLL_CTL_ADD, path_ops->event_fd(targets[i]), &ev);
	}
	if (mp->epfd < 0) {
		int ret = -errno;

		mp_destroy(mp);
		return ret;
	}
	{
		char npr[32], fb[32];

		snprintf(npr, sizeof(npr), cfg->no_path_retry_s < 0 ? "queue" : "%d s",
			 cfg->no_path_retry_s);
		snprintf(fb, sizeof(fb),
			 !cfg->failback_s      ? "immediate"
			 : cfg->failback_s < 0 ? "manual"
					       : "%d s",
			 cfg->failback_s);
		nu_info("%s: %u path(s), selector %s, no_path_retry %s, failback %s", mp->name,
			mp->nr, nu_path_selector_name(cfg->selector), npr, fb);
	}
	*out = mp;
	return 0;
}

struct add_arg {
	unsigned path;
	unsigned started;
};

static int add_on_queue(struct nu_queue *q, void *arg)
{
	struct add_arg *a = arg;
	struct mp_queue *mq = nu_queue_transport_priv(q);

	if (mq && path_start(mq, a->path, true) == 0)
		a->started++;
	return 0;
}

int nu_mpath_add_path(struct nu_mpath *mp, struct nu_host *host, void *target, const char *name)
{
	const struct nu_transport_ops *t = path_transport(mp);
	unsigned caps = t->host_caps ? t->host_caps(target) : t->caps;
	struct epoll_event ev = {.events = EPOLLIN};
	struct add_arg a = {.path = mp->nr};
	struct mp_path *p = &mp->paths[mp->nr];
	unsigned vol = 0;
	const char *why;

	if (mp->nr == NU_MPATH_MAX) {
		mp->path_ops->destroy(target);
		return -ENOSPC;
	}
	memset(p, 0, sizeof(*p));
	p->target = target;
	p->enabled = p->consistent = true;
	snprintf(p->name, sizeof(p->name), "%s", name);
	why = vols_differ(mp, mp->nr, &vol);
	if (!why && (mp_host_caps(mp) & ~caps))
		why = "another data path (zero copy or not) than the others";
	if (why) {
		nu_err("%s: path %s shows %s (volume %u) than path %s: refused", mp->name, name, why,
		       vol, mp->paths[0].name);
		mp->path_ops->destroy(target);
		return -EINVAL;
	}
	ev.data.u32 = mp->nr;
	epoll_ctl(mp->epfd, EPOLL_CTL_ADD, mp->path_ops->event_fd(target), &ev);
	/* Queue threads see the new index with no connection of it yet: not usable. */
	__atomic_store_n(&mp->nr, mp->nr + 1, __ATOMIC_RELEASE);
	for (unsigned q = 0; q < nu_host_nr_queues(host); q++)
		nu_queue_call(nu_host_queue(host, q), add_on_queue, &a);
	nu_info("%s: path %u (%s) joins, on %u queue(s)", mp->name, a.path, name, a.started);
	return 0;
}

static int remove_on_queue(struct nu_queue *q, void *arg)
{
	struct mp_queue *mq = nu_queue_transport_priv(q);
	unsigned p = *(unsigned *)arg;

	if (!mq || !mq->qpriv[p])
		return 0;
	mq->parent[p].leaving = true;
	path_transport(mq->mp)->queue_stop(mq->qpriv[p]);
	mq->qpriv[p] = NULL;
	return 0;
}

int nu_mpath_remove_path(struct nu_mpath *mp, struct nu_host *host, unsigned path)
{
	struct mp_path *p = &mp->paths[path];

	if (path >= mp->nr || !p->target || !path)
		return -EINVAL;
	/* Not chosen from now on; what each queue's connection holds goes to the others. */
	__atomic_store_n(&p->removed, true, __ATOMIC_RELAXED);
	for (unsigned q = 0; q < nu_host_nr_queues(host); q++)
		nu_queue_call(nu_host_queue(host, q), remove_on_queue, &path);
	epoll_ctl(mp->epfd, EPOLL_CTL_DEL, mp->path_ops->event_fd(p->target), NULL);
	mp->path_ops->destroy(p->target);
	p->target = NULL;
	nu_info("%s: path %u (%s) left", mp->name, path, p->name);
	return 0;
}

unsigned nu_mpath_release(struct nu_mpath *mp, void **targets, char names[][128])
{
	unsigned n = 0;

	for (unsigned p = 0; p < mp->nr; p++) {
		if (!mp->paths[p].target)
			continue;
		targets[n] = mp->paths[p].target;
		snprintf(names[n++], 128, "%s", mp->paths[p].name);
		mp->paths[p].target = NULL;
	}
	mp_destroy(mp);
	return n;
}

const struct nu_target_ops *nu_mpath_ops(const struct nu_mpath *mp)
{
	return &mp->ops;
}

struct nu_mpath *nu_mpath_of(const struct nu_target_ops *ops, void *target)
{
	return ops && ops->rescan == mp_rescan ? target : NULL;
}

unsigned nu_mpath_nr_paths(const struct nu_mpath *mp)
{
	return mp->nr;
}

const char *nu_mpath_path_name(const struct nu_mpath *mp, unsigned path)
{
	return path < mp->nr && mp->paths[path].target ? mp->paths[path].name : NULL;
}

int nu_mpath_set_enabled(struct nu_mpath *mp, unsigned path, bool enabled)
{
	if (path >= mp->nr || !mp->paths[path].target)
		return -ENOENT;
	__atomic_store_n(&mp->paths[path].enabled, enabled, __ATOMIC_RELAXED);
	if (enabled)
		__atomic_store_n(&mp->paths[path].failback_wait, false, __ATOMIC_RELAXED);
	nu_info("%s: path %u (%s) %s by hand", mp->name, path, mp->paths[path].name,
		enabled ? "reinstated" : "failed");
	return 0;
}

bool nu_mpath_enabled(const struct nu_mpath *mp, unsigned path)
{
	return path < mp->nr && __atomic_load_n(&mp->paths[path].enabled, __ATOMIC_RELAXED);
}

int nu_mpath_inject(struct nu_queue *q, unsigned path, int fault, unsigned ms, unsigned delay_ms)
{
	struct mp_queue *mq = nu_queue_transport_priv(q);
	const struct nu_transport_ops *t;

	if (!mq || path >= mq->mp->nr || !mq->qpriv[path])
		return -ENOTCONN;
	t = path_transport(mq->mp);
	mq->injected_ns[path] = nu_now_ns();
	nu_sup_inject(t->path_sup(mq->qpriv[path]), fault, ms, delay_ms);
	return 0;
}

const char *nu_mpath_access(const struct nu_mpath *mp, unsigned path, unsigned vol)
{
	if (path >= mp->nr || !mp->paths[path].target || !mp->path_ops->vol_access)
		return NULL;
	return mp->path_ops->vol_access(mp->paths[path].target, vol);
}

uint64_t nu_mpath_failovers(const struct nu_mpath *mp, unsigned path)
{
	return path < mp->nr ? __atomic_load_n(&mp->paths[path].failovers, __ATOMIC_RELAXED) : 0;
}

const char *nu_path_selector_name(enum nu_path_selector s)
{
	switch (s) {
	case NU_PS_FAILOVER:
		return "failover";
	case NU_PS_ROUND_ROBIN:
		return "round-robin";
	case NU_PS_QUEUE_DEPTH:
		return "queue-depth";
	}
	return "?";
}

int nu_path_selector_parse(const char *name, enum nu_path_selector *out)
{
	for (int s = NU_PS_FAILOVER; s <= NU_PS_QUEUE_DEPTH; s++) {
		if (!strcmp(name, nu_path_selector_name(s))) {
			*out = s;
			return 0;
		}
	}
	return -EINVAL;
}
