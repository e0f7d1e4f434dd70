// SPDX-License-Identifier: MIT
/*
 * The connection supervisor on the simulated ring (test/sim), with a toy
 * protocol: a reconnect runs off the queue thread while the queue goes on,
 * commands are sent again after it and never completed twice, retries end
 * in failure at the limit, and the loss timeout fails what waits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <setjmp.h>
#include <cmocka.h>
#include <liburing.h>

#include "stream_sim.h"
#include "log.h"
#include "path.h"
#include "supervisor.h"
#include "transport.h"
#include "udata.h"

struct toy_task {
	struct nu_task base;
	unsigned sends;
};

struct toy {
	struct nu_stream s;
	struct nu_sup sup;
	struct nu_queue *q;
	struct sim_wire w;
	struct nu_path path;
	struct toy_task tasks[SIM_CMDS];
	struct nu_io io[SIM_CMDS];
	int result; /* the "connection" a connect made */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold;	 /* connect waits until released */
	bool in_connect; /* the helper is inside connect */
	int connect_ret;
	unsigned connects, attaches, discards, downs, ticks;
};

static int toy_frame(void *ctx, const uint8_t *p, size_t avail, struct nu_frame *f)
{
	(void)ctx, (void)p, (void)avail, (void)f;
	return -EAGAIN;
}

static int toy_pdu(void *ctx, const uint8_t *hdr, const uint8_t *data, uint32_t dlen)
{
	(void)ctx, (void)hdr, (void)data, (void)dlen;
	return 0;
}

static void toy_fail(void *ctx, const char *why)
{
	nu_sup_conn_fail(&((struct toy *)ctx)->sup, why);
}

static const struct nu_stream_ops toy_stream_ops = {
	.frame = toy_frame,
	.pdu = toy_pdu,
	.fail = toy_fail,
};

static int toy_connect(void *ctx, void *result)
{
	struct toy *t = ctx;
	int ret;

	pthread_mutex_lock(&t->lock);
	t->in_connect = true;
	pthread_cond_broadcast(&t->cond);
	while (t->hold)
		pthread_cond_wait(&t->cond, &t->lock);
	t->connects++;
	ret = t->connect_ret;
	t->in_connect = false;
	pthread_mutex_unlock(&t->lock);
	*(int *)result = ret ? -1 : 1;
	return ret;
}

static int toy_attach(void *ctx, void *result)
{
	struct toy *t = ctx;

	assert_int_equal(*(int *)result, 1);
	t->attaches++;
	nu_path_up(&t->path, -1, "toy", NULL);
	/* fd -1: the simulated wire; its end (EOF) is a connection loss. */
	return nu_stream_attach(&t->s, -1, 4096, 0);
}

static void toy_discard(void *ctx, void *result)
{
	(void)result;
	((struct toy *)ctx)->discards++;
}

static void toy_send(void *ctx, struct nu_task *bt)
{
	struct toy *t = ctx;

	assert_true(nu_sup_up(&t->sup));
	assert_true(bt->started);
	((struct toy_task *)bt)->sends++;
}

static void toy_tick(void *ctx, uint64_t now)
{
	(void)now;
	((struct toy *)ctx)->ticks++;
}

static void toy_down(void *ctx)
{
	((struct toy *)ctx)->downs++;
}

static const struct nu_sup_ops toy_ops = {
	.connect = toy_connect,
	.attach = toy_attach,
	.discard = toy_discard,
	.send = toy_send,
	.tick = toy_tick,
	.down = toy_down,
};

/* A multipath parent: records what it is handed, resubmits on "up" as mpath.c does. */
static struct {
	struct nu_io *handed[SIM_CMDS];
	unsigned nr_handed, ups, dones;
	struct toy *toy;
} par;

static void par_handoff(void *ctx, unsigned path, struct nu_io *io)
{
	(void)ctx;
	assert_int_equal(path, 3);
	par.handed[par.nr_handed++] = io;
}

static void par_up(void *ctx, unsigned path)
{
	(void)ctx, (void)path;
	par.ups++;
	while (par.nr_handed && par.toy)
		assert_int_equal(nu_sup_submit(&par.toy->sup, par.handed[--par.nr_handed]), 0);
}

static void par_done(void *ctx, unsigned path, struct nu_io *io, int res)
{
	(void)ctx, (void)path, (void)io, (void)res;
	par.dones++;
}

static const struct nu_path_parent parent = {
	.path = 3,
	.handoff = par_handoff,
	.up = par_up,
	.done = par_done,
};

/* first: what the first connect returns; a path of several starts down on failure. */
static struct toy *toy_new_path(unsigned retry_limit, uint64_t loss_ms,
				const struct nu_path_parent *pp, int first)
{
	struct toy *t = calloc(1, sizeof(*t));
	struct nu_sup_cfg cfg = {
		.name = "toy q0",
		.peer = "127.0.0.1:1",
		.retry_limit = retry_limit,
		.loss_timeout_ms = loss_ms,
		.backoff_min_ms = 0,
		.backoff_max_ms = 0,
	};

	assert_non_null(t);
	nu_log_set_level(NU_LOG_OFF);
	memset(sim_completions, 0, sizeof(sim_completions));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->w.wire = (const uint8_t *)""; /* empty: a receive sees EOF */
	t->q = sim_queue_new(&t->w);
	assert_non_null(t->q);
	nu_path_init(&t->path, 0, "toy");
	nu_stream_init(&t->s, t->q, &toy_stream_ops, t, 48);
	nu_sup_init(&t->sup, t->q, &t->s, &t->path, &toy_ops, t, &cfg, t->tasks,
		    sizeof(t->tasks[0]), SIM_CMDS, &t->result, pp);
	for (unsigned i = 0; i < SIM_CMDS; i++) {
		t->io[i].tag = i;
		t->io[i].op = NU_OP_READ;
		t->io[i].len = 4096;
	}
	t->connect_ret = first;
	assert_int_equal(nu_sup_start(&t->sup), 0);
	assert_int_equal(t->sup.state, first ? NU_CONN_DOWN : NU_CONN_UP);
	t->connect_ret = 0;
	return t;
}

static struct toy *toy_new(unsigned retry_limit, uint64_t loss_ms)
{
	return toy_new_path(retry_limit, loss_ms, NULL, 0);
}

static void toy_free(struct toy *t)
{
	nu_stream_destroy(&t->s);
	nu_path_destroy(&t->path);
	free(t->q);
	free(t);
}

/* The ring's timer went off (the simulated ring never fires one itself). */
static void fire_timer(struct toy *t)
{
	struct io_uring_cqe cqe = {
		.user_data = nu_stream_ud(t->s.ud_path, NU_STREAM_UD_TIMER, 0),
	};

	assert_true(t->sup.timer_armed);
	assert_true(nu_sup_cqe(&t->sup, &cqe));
}

/* The target hangs up: the pending receive sees EOF. */
static void lose_connection(struct toy *t)
{
	sim_queue_run(t->q, &t->s);
	assert_int_equal(t->sup.state, NU_CONN_DOWN);
}

static void wait_helper(struct toy *t)
{
	for (int i = 0; i < 5000 && !__atomic_load_n(&t->sup.helper_done, __ATOMIC_ACQUIRE); i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	assert_true(__atomic_load_n(&t->sup.helper_done, __ATOMIC_ACQUIRE));
}

static void test_reconnect_off_thread(void **state)
{
	struct toy *t = toy_new(5, 60000);
	struct nu_path_info pi;

	(void)state;
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[0]), 0);
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[1]), 0);
	assert_int_equal(t->tasks[0].sends, 1);
	lose_connection(t);
	assert_int_equal(t->downs, 1);
	assert_false(t->tasks[0].base.started);
	nu_path_get(&t->path, &pi);
	assert_string_equal(pi.state, "reconnecting");

	/* The target answers slowly: the timer comes back at once all the same. */
	t->hold = true;
	fire_timer(t);
	assert_true(t->sup.connecting);
	pthread_mutex_lock(&t->lock);
	while (!t->in_connect)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
	fire_timer(t);
	assert_int_equal(t->sup.state, NU_CONN_DOWN);
	/* A command while down waits for the connection. */
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[2]), 0);
	assert_int_equal(t->tasks[2].sends, 0);

	pthread_mutex_lock(&t->lock);
	t->hold = false;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	wait_helper(t);
	fire_timer(t);
	assert_true(nu_sup_up(&t->sup));
	assert_false(t->sup.connecting);
	assert_int_equal(t->attaches, 2);
	/* Everything that was waiting went out again, once. */
	assert_int_equal(t->tasks[0].sends, 2);
	assert_int_equal(t->tasks[1].sends, 2);
	assert_int_equal(t->tasks[2].sends, 1);
	assert_int_equal(t->tasks[3].sends, 0);
	nu_path_get(&t->path, &pi);
	assert_string_equal(pi.state, "up");
	assert_int_equal(pi.reconnects, 1);

	/* Up: the timer is the protocol's tick. */
	fire_timer(t);
	assert_int_equal(t->ticks, 1);
	for (unsigned i = 0; i < 3; i++)
		nu_sup_complete(&t->sup, &t->tasks[i].base, 0);
	assert_int_equal(sim_completions[0], 1);
	assert_null(t->tasks[0].base.io);
	toy_free(t);
}

static void test_failed_attempts_retry(void **state)
{
	struct toy *t = toy_new(5, 60000);

	(void)state;
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[0]), 0);
	lose_connection(t);
	t->connect_ret = -ECONNREFUSED;
	for (int i = 0; i < 3; i++) {
		fire_timer(t);
		wait_helper(t);
		fire_timer(t);
		assert_int_equal(t->sup.state, NU_CONN_DOWN);
	}
	assert_int_equal(t->connects, 4);
	assert_int_equal(t->attaches, 1);
	assert_int_equal(sim_completions[0], 0); /* still waiting, not failed */
	t->connect_ret = 0;
	fire_timer(t);
	wait_helper(t);
	fire_timer(t);
	assert_true(nu_sup_up(&t->sup));
	assert_int_equal(t->tasks[0].sends, 2);
	toy_free(t);
}

static void test_retry_limit(void **state)
{
	struct toy *t = toy_new(2, 60000);

	(void)state;
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[3]), 0);
	nu_sup_retry(&t->sup, &t->tasks[3].base, -EIO, "test");
	nu_sup_retry(&t->sup, &t->tasks[3].base, -EIO, "test");
	assert_int_equal(t->tasks[3].sends, 3);
	assert_int_equal(sim_completions[3], 0);
	nu_sup_retry(&t->sup, &t->tasks[3].base, -EIO, "test");
	assert_int_equal(t->tasks[3].sends, 3);
	assert_int_equal(sim_completions[3], 1);
	assert_null(t->tasks[3].base.io);
	/* A fresh command on the tag starts with its own retries. */
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[3]), 0);
	assert_int_equal(t->tasks[3].base.retries, 0);
	toy_free(t);
}

static void test_loss_timeout(void **state)
{
	struct toy *t = toy_new(5, 20);
	struct nu_path_info pi;

	(void)state;
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[0]), 0);
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[1]), 0);
	lose_connection(t);
	t->connect_ret = -ETIMEDOUT;
	nanosleep(&(struct timespec){.tv_nsec = 30000000}, NULL);
	fire_timer(t);
	wait_helper(t);
	fire_timer(t);
	/* Down past the loss timeout: what waited failed, new commands fail at once. */
	assert_int_equal(sim_completions[0], 1);
	assert_int_equal(sim_completions[1], 1);
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[2]), -EIO);
	nu_path_get(&t->path, &pi);
	assert_string_equal(pi.state, "failed");
	/* ... and a returning target serves again. */
	t->connect_ret = 0;
	fire_timer(t);
	wait_helper(t);
	fire_timer(t);
	assert_true(nu_sup_up(&t->sup));
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[2]), 0);
	assert_int_equal(t->tasks[2].sends, 1);
	toy_free(t);
}

/*
 * One path of a multipath queue: down, it hands its commands back at once
 * (nothing completed, nothing left behind); its completions carry its
 * path index; back up, what the parent sends then goes out once.
 */
static void test_path_of_several(void **state)
{
	struct toy *t;

	(void)state;
	memset(&par, 0, sizeof(par));
	t = toy_new_path(5, 60000, &parent, 0);
	par.toy = t;
	assert_int_equal(par.ups, 1);
	assert_int_equal(nu_ud_path(nu_stream_ud(t->s.ud_path, NU_STREAM_UD_RX, 0)), 3);
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[0]), 0);
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[1]), 0);
	nu_sup_complete(&t->sup, &t->tasks[1].base, 0);
	assert_int_equal(par.dones, 1);
	assert_int_equal(nu_sup_submit(&t->sup, &t->io[2]), 0);
	lose_connection(t);
	assert_int_equal(par.nr_handed, 2);
	assert_null(t->tasks[0].base.io);
	assert_null(t->tasks[2].base.io);
	assert_int_equal(sim_completions[0], 0);

	fire_timer(t);
	wait_helper(t);
	fire_timer(t);
	assert_true(nu_sup_up(&t->sup));
	assert_int_equal(par.ups, 2);
	/* Resubmitted by the parent after the reconnect: once each, not twice. */
	assert_int_equal(t->tasks[0].sends, 2);
	assert_int_equal(t->tasks[2].sends, 2);

	toy_free(t);

	/* A path that cannot connect at start starts down and keeps trying. */
	memset(&par, 0, sizeof(par));
	t = toy_new_path(5, 60000, &parent, -ECONNREFUSED);
	assert_int_equal(par.ups, 0);
	fire_timer(t);
	wait_helper(t);
	fire_timer(t);
	assert_true(nu_sup_up(&t->sup));
	assert_int_equal(par.ups, 1);
	toy_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_of_several),
		cmocka_unit_test(test_reconnect_off_thread),
		cmocka_unit_test(test_failed_attempts_retry),
		cmocka_unit_test(test_retry_limit),
		cmocka_unit_test(test_loss_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
