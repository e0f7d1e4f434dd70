// SPDX-License-Identifier: MIT
/*
 * The multipath layer (initiator/mpath.c) on the simulated ring, over two
 * fake paths whose connections the test takes down and up: which path a
 * command takes under each selector, access states, the hand-off of a lost
 * path's commands (each completed once), waiting with no path, and the
 * failback policies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <sys/eventfd.h>
#include <cmocka.h>
#include <liburing.h>

#include "stream_sim.h"
#include "mpath.h"
#include "queue.h"
#include "supervisor.h"
#include "transport.h"
#include "udata.h"

#define PATHS 2

struct fake_path {
	struct nu_sup sup; /* only its state is read */
	const struct nu_path_parent *parent;
	bool background; /* started to connect off the queue thread */
	struct nu_io *held[SIM_CMDS];
	unsigned nr_held, submitted;
	enum nu_path_state access;
	unsigned vol_id;  /* the number this path's target gives the one volume */
	const char *wwid; /* its identifier; NULL: naa.6001 */
	unsigned destroyed;
};

static struct fake_path fakes[PATHS];
static unsigned reconnect_nows;

/* ---------------------------------------------------------------- the supervisor, as mpath sees it */

void nu_sup_reconnect_now(struct nu_sup *s)
{
	(void)s;
	reconnect_nows++;
}

void nu_sup_net_check(struct nu_sup *s)
{
	(void)s;
}

void nu_sup_inject(struct nu_sup *s, enum nu_fault f, unsigned ms, unsigned delay_ms)
{
	(void)s, (void)f, (void)ms, (void)delay_ms;
}

/* The one queue of the host a path joins late (nu_mpath_add_path). */
static struct nu_queue *the_queue;
static void *the_qpriv;

void *nu_queue_transport_priv(struct nu_queue *q)
{
	return q == the_queue ? the_qpriv : NULL;
}

unsigned nu_host_nr_queues(const struct nu_host *h)
{
	(void)h;
	return 1;
}

struct nu_queue *nu_host_queue(struct nu_host *h, unsigned qid)
{
	(void)h;
	return qid ? NULL : the_queue;
}

int nu_queue_call(struct nu_queue *q, nu_queue_call_fn fn, void *arg)
{
	return fn(q, arg); /* the test is the queue thread */
}

/*
 * At stop the layer cancels its timer and waits for it on the ring; the
 * simulated ring has no kernel, so its answer comes from here.
 */
static unsigned cq_head;

int io_uring_submit(struct io_uring *ring)
{
	(void)ring;
	return 0;
}

int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
			      struct __kernel_timespec *ts)
{
	static struct io_uring_cqe timer_done;

	(void)ts;
	ring->cq.khead = &cq_head;
	timer_done = (struct io_uring_cqe){
		.user_data = nu_stream_ud(NU_UD_PATHS - 1, NU_STREAM_UD_TIMER, 0),
		.res = -ECANCELED,
	};
	*cqe_ptr = &timer_done;
	return 0;
}

/* ---------------------------------------------------------------- fake path transport */

static int fake_start(void *host_priv, struct nu_queue *q, const struct nu_path_parent *parent,
		      void **qpriv)
{
	struct fake_path *f = host_priv;

	(void)q;
	f->parent = parent;
	f->background = parent->background;
	f->sup.state = NU_CONN_DOWN;
	*qpriv = f;
	if (!parent->background) { /* a late path comes up when the test says */
		f->sup.state = NU_CONN_UP;
		parent->up(parent->ctx, parent->path);
	}
	return 0;
}

static struct nu_sup *fake_sup(void *qpriv)
{
	return &((struct fake_path *)qpriv)->sup;
}

static enum nu_path_state fake_state(void *qpriv, unsigned vol)
{
	(void)vol;
	return ((struct fake_path *)qpriv)->access;
}

static int fake_submit(void *qpriv, struct nu_io *io)
{
	struct fake_path *f = qpriv;

	f->held[f->nr_held++] = io;
	f->submitted++;
	return 0;
}

static void path_lost(unsigned p);

static void fake_queue_stop(void *qpriv)
{
	struct fake_path *f = qpriv;

	/* As the supervisor does for a path that leaves a device that goes on. */
	if (f->parent->leaving)
		path_lost(f - fakes);
}

static void fake_cqe(void *qpriv, const struct io_uring_cqe *cqe)
{
	(void)qpriv, (void)cqe;
}

static const struct nu_transport_ops fake_transport = {
	.name = "fake",
	.path_start = fake_start,
	.path_sup = fake_sup,
	.path_state = fake_state,
	.queue_stop = fake_queue_stop,
	.submit = fake_submit,
	.cqe = fake_cqe,
};

static const struct nu_volume_geom geom = { .size = 1 << 20, .lbs = 512 };
static int event_fds[PATHS];

static unsigned fake_nr_vols(const void *t)
{
	(void)t;
	return 1;
}

static bool fake_vol(const void *t, unsigned i, struct nu_vol_desc *d)
{
	const struct fake_path *f = t;

	*d = (struct nu_vol_desc){ .id = f->vol_id, .geom = &geom,
				   .wwid = f->wwid ? f->wwid : "naa.6001" };
	return i == 0;
}

static int fake_event_fd(const void *t)
{
	return event_fds[(const struct fake_path *)t - fakes];
}

static void fake_destroy(void *t)
{
	((struct fake_path *)t)->destroyed++;
}

static const struct nu_target_ops fake_target = {
	.kind = "fake",
	.vol_word = "vol",
	.transport = &fake_transport,
	.nr_vols = fake_nr_vols,
	.vol = fake_vol,
	.event_fd = fake_event_fd,
	.destroy = fake_destroy,
};

/* ---------------------------------------------------------------- the harness */

struct rig {
	struct nu_mpath *mp;
	const struct nu_transport_ops *t;
	struct nu_queue *q;
	struct sim_wire w;
	void *qpriv;
	struct nu_io io[SIM_CMDS];
};

static void rig_up_n(struct rig *r, enum nu_path_selector sel, int failback_s, unsigned n)
{
	struct nu_mpath_cfg cfg = {
		.name = "mp", .selector = sel, .no_path_retry_s = -1, .failback_s = failback_s
	};
	void *targets[PATHS] = { &fakes[0], &fakes[1] };
	const char *names[PATHS] = { "10.0.0.1:3260", "10.0.1.1:3260" };

	memset(fakes, 0, sizeof(fakes));
	memset(sim_completions, 0, sizeof(sim_completions));
	memset(r, 0, sizeof(*r));
	for (unsigned p = 0; p < PATHS; p++)
		event_fds[p] = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(nu_mpath_create(&cfg, &fake_target, targets, names, n, &r->mp), 0);
	r->t = nu_mpath_ops(r->mp)->transport;
	r->q = sim_queue_new(&r->w);
	assert_non_null(r->q);
	assert_int_equal(r->t->queue_start(r->mp, r->q, &r->qpriv), 0);
	the_queue = r->q;
	the_qpriv = r->qpriv;
	for (unsigned i = 0; i < SIM_CMDS; i++)
		r->io[i] = (struct nu_io){ .op = NU_OP_READ, .len = 4096, .tag = i };
}

static void rig_up(struct rig *r, enum nu_path_selector sel, int failback_s)
{
	rig_up_n(r, sel, failback_s, PATHS);
}

static void rig_down(struct rig *r)
{
	r->t->queue_stop(r->qpriv);
	nu_mpath_ops(r->mp)->destroy(r->mp);
	for (unsigned p = 0; p < PATHS; p++)
		close(event_fds[p]);
	free(r->q);
}

static void submit(struct rig *r, unsigned tag)
{
	assert_int_equal(r->t->submit(r->qpriv, &r->io[tag]), 0);
}

/* The path completes what it holds, as a supervisor would. */
static void complete_all(unsigned p)
{
	struct fake_path *f = &fakes[p];

	for (unsigned i = 0; i < f->nr_held; i++) {
		f->parent->done(f->parent->ctx, f->parent->path, f->held[i], 0);
		nu_queue_complete(NULL, f->held[i], 0);
	}
	f->nr_held = 0;
}

/* The path's connection is lost: what it held goes back to the parent. */
static void path_lost(unsigned p)
{
	struct fake_path *f = &fakes[p];
	unsigned n = f->nr_held;

	f->sup.state = NU_CONN_DOWN;
	f->nr_held = 0;
	for (unsigned i = 0; i < n; i++)
		f->parent->handoff(f->parent->ctx, f->parent->path, f->held[i]);
}

static void path_back(unsigned p)
{
	fakes[p].sup.state = NU_CONN_UP;
	fakes[p].parent->up(fakes[p].parent->ctx, fakes[p].parent->path);
}

/* ---------------------------------------------------------------- cases */

static void test_failover_handoff(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_FAILOVER, 0);
	for (unsigned i = 0; i < 4; i++)
		submit(&r, i);
	assert_int_equal(fakes[0].submitted, 4);
	assert_int_equal(fakes[1].submitted, 0);
	path_lost(0);
	/* Handed to path 1 at once, none completed yet, none twice. */
	assert_int_equal(fakes[1].nr_held, 4);
	assert_int_equal(nu_mpath_failovers(r.mp, 0), 4);
	complete_all(1);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(sim_completions[i], 1);
	/* failback immediate: path 0 takes new commands as soon as it is back. */
	path_back(0);
	submit(&r, 4);
	assert_int_equal(fakes[0].nr_held, 1);
	complete_all(0);
	rig_down(&r);
}

static void test_round_robin_and_queue_depth(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_ROUND_ROBIN, 0);
	for (unsigned i = 0; i < 6; i++)
		submit(&r, i);
	assert_int_equal(fakes[0].submitted, 3);
	assert_int_equal(fakes[1].submitted, 3);
	complete_all(0);
	complete_all(1);
	rig_down(&r);

	rig_up(&r, NU_PS_QUEUE_DEPTH, 0);
	submit(&r, 0);
	submit(&r, 1);
	complete_all(0); /* path 0 empties: the next two go to it */
	submit(&r, 2);
	submit(&r, 3);
	assert_int_equal(fakes[0].submitted, 3);
	assert_int_equal(fakes[1].submitted, 1);
	complete_all(0);
	complete_all(1);
	rig_down(&r);
}

static void test_access_states(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_FAILOVER, 0);
	fakes[0].access = NU_PATH_NONOPTIMIZED;
	submit(&r, 0);
	assert_int_equal(fakes[1].submitted, 1); /* the optimized one, though second */
	fakes[1].access = NU_PATH_UNUSABLE;
	submit(&r, 1);
	assert_int_equal(fakes[0].submitted, 1); /* non-optimized beats none */
	complete_all(0);
	complete_all(1);
	rig_down(&r);
}

static void test_no_path_waits(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_FAILOVER, 0);
	path_lost(0);
	path_lost(1);
	submit(&r, 0);
	submit(&r, 1);
	assert_int_equal(fakes[0].submitted + fakes[1].submitted, 0);
	assert_int_equal(sim_completions[0] + sim_completions[1], 0);
	path_back(1); /* the waiting commands go at once */
	assert_int_equal(fakes[1].nr_held, 2);
	complete_all(1);
	assert_int_equal(sim_completions[0] + sim_completions[1], 2);
	rig_down(&r);
}

static void test_failback_after_seconds(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_FAILOVER, 1);
	path_lost(0);
	path_back(0);
	submit(&r, 0);
	assert_int_equal(fakes[1].submitted, 1); /* back, but not up for 1 s yet */
	path_lost(1);
	assert_int_equal(fakes[0].submitted, 1); /* ... yet better than no path */
	path_back(1);
	submit(&r, 1);
	assert_int_equal(fakes[0].submitted, 2); /* path 1 is back just now: it waits */
	usleep(1100 * 1000);
	submit(&r, 2);
	assert_int_equal(fakes[0].submitted, 3); /* up for 1 s: first again */
	complete_all(0);
	rig_down(&r);
}

/* Lost again while it waits: the wait starts over from its latest return. */
static void test_failback_flapping(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_FAILOVER, 1);
	path_lost(0);
	path_back(0);
	usleep(600 * 1000);
	path_lost(0);
	path_back(0);
	usleep(600 * 1000);
	submit(&r, 0);
	assert_int_equal(fakes[1].submitted, 1); /* 1.2 s since its first return, 0.6 s up */
	usleep(500 * 1000);
	submit(&r, 1);
	assert_int_equal(fakes[0].submitted, 1); /* up for 1 s in one piece: first again */
	complete_all(0);
	complete_all(1);
	rig_down(&r);
}

static void test_failback_manual(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_FAILOVER, -1);
	path_lost(0);
	path_back(0);
	usleep(50 * 1000);
	submit(&r, 0);
	assert_int_equal(fakes[1].submitted, 1);
	assert_int_equal(nu_mpath_set_enabled(r.mp, 0, true), 0); /* netublkctl path reinstate */
	submit(&r, 1);
	assert_int_equal(fakes[0].submitted, 1);
	complete_all(0);
	complete_all(1);
	rig_down(&r);
}

static void test_late_path(void **state)
{
	struct rig r;

	(void)state;
	rig_up_n(&r, NU_PS_ROUND_ROBIN, 0, 1);
	assert_int_equal(nu_mpath_nr_paths(r.mp), 1);
	submit(&r, 0);
	submit(&r, 1);
	assert_int_equal(fakes[0].submitted, 2);
	/* Down at start, back now: it joins, connecting in the background. */
	assert_int_equal(nu_mpath_add_path(r.mp, NULL, &fakes[1], "10.0.1.1:3260"), 0);
	assert_int_equal(nu_mpath_nr_paths(r.mp), 2);
	assert_true(fakes[1].background);
	submit(&r, 2);
	assert_int_equal(fakes[0].submitted, 3); /* not connected yet: not used */
	path_back(1);
	submit(&r, 3);
	submit(&r, 4);
	assert_int_equal(fakes[1].submitted, 1); /* round-robin over both now */
	assert_int_equal(fakes[0].submitted, 4);
	complete_all(0);
	complete_all(1);
	rig_down(&r);
}

/* A path whose section went leaves the device; its commands go to the others, once. */
static void test_remove_path(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, NU_PS_ROUND_ROBIN, 0);
	for (unsigned i = 0; i < 4; i++)
		submit(&r, i);
	assert_int_equal(fakes[1].nr_held, 2);
	assert_int_equal(nu_mpath_remove_path(r.mp, NULL, 0), -EINVAL); /* its volumes are mp's */
	assert_int_equal(nu_mpath_remove_path(r.mp, NULL, 1), 0);
	assert_int_equal(fakes[1].destroyed, 1);
	assert_null(nu_mpath_path_name(r.mp, 1));
	assert_int_equal(fakes[0].nr_held, 4); /* handed over */
	submit(&r, 4);
	submit(&r, 5);
	assert_int_equal(fakes[0].nr_held, 6); /* round-robin over the one left */
	assert_int_equal(fakes[1].submitted, 2);
	complete_all(0);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(sim_completions[i], 1);
	assert_int_equal(nu_mpath_remove_path(r.mp, NULL, 1), -EINVAL); /* gone already */
	assert_int_equal(nu_mpath_set_enabled(r.mp, 1, true), -ENOENT);
	rig_down(&r);
	assert_int_equal(fakes[1].destroyed, 1); /* not twice */
}

/*
 * Another target may number the same logical unit otherwise: a path joins
 * on a trusted identifier, never on a weak one under another number.
 */
static void test_join_by_identifier(void **state)
{
	struct rig r;

	(void)state;
	rig_up_n(&r, NU_PS_FAILOVER, 0, 1);
	fakes[1].vol_id = 7;
	fakes[1].wwid = "t10.LIO-ORG__";
	fakes[0].wwid = "t10.LIO-ORG__";
	assert_int_equal(nu_mpath_add_path(r.mp, NULL, &fakes[1], "b"), -EINVAL);
	assert_int_equal(fakes[1].destroyed, 1);
	fakes[0].wwid = fakes[1].wwid = NULL; /* naa.6001 on both */
	assert_int_equal(nu_mpath_add_path(r.mp, NULL, &fakes[1], "b"), 0);
	assert_int_equal(nu_mpath_nr_paths(r.mp), 2);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failover_handoff),
		cmocka_unit_test(test_round_robin_and_queue_depth),
		cmocka_unit_test(test_access_states),
		cmocka_unit_test(test_no_path_waits),
		cmocka_unit_test(test_failback_after_seconds),
		cmocka_unit_test(test_failback_flapping),
		cmocka_unit_test(test_failback_manual),
		cmocka_unit_test(test_late_path),
		cmocka_unit_test(test_remove_path),
		cmocka_unit_test(test_join_by_identifier),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
