// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "log.h"
#include "netmon.h"
#include "queue.h"
#include "io.h"

struct nu_host {
	char *name;
	unsigned nr_queues;
	unsigned backend_depth;
	const struct nu_transport_ops *tops;
	void *tpriv;
	struct nu_queue **queues;
	bool net_watched;
	struct nu_volume_stats stats[NU_HOST_MAX_VOLS];
};

struct nu_host *nu_host_create(const char *name, unsigned nr_queues, unsigned backend_depth,
			       const struct nu_transport_ops *ops, void *tpriv)
{
	struct nu_host *h;

	if (!nr_queues || nr_queues > 64 || !backend_depth || backend_depth > 4096) {
		nu_err("host %s: invalid queues %u or depth %u", name, nr_queues, backend_depth);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->name = strdup(name);
	h->nr_queues = nr_queues;
	h->backend_depth = backend_depth;
	h->tops = ops;
	h->tpriv = tpriv;
	h->queues = calloc(nr_queues, sizeof(*h->queues));
	if (!h->name || !h->queues)
		goto fail;
	for (unsigned i = 0; i < nr_queues; i++) {
		h->queues[i] = nu_queue_create(h, i, backend_depth);
		if (!h->queues[i])
			goto fail;
	}
	return h;
fail:
	nu_host_destroy(h);
	return NULL;
}

/* On netmon's thread: every queue checks its connections against the network. */
static void net_changed(void *ctx)
{
	struct nu_host *h = ctx;

	for (unsigned i = 0; i < h->nr_queues; i++)
		nu_queue_net_check(h->queues[i]);
}

int nu_host_start(struct nu_host *h)
{
	for (unsigned i = 0; i < h->nr_queues; i++) {
		int ret = nu_queue_start(h->queues[i]);

		if (ret < 0) {
			nu_err("host %s: queue %u failed to start: %s", h->name, i, strerror(-ret));
			nu_host_stop(h);
			return ret;
		}
	}
	nu_info("host %s: %u queues, %u %s tags each", h->name, h->nr_queues, h->backend_depth,
		h->tops->name);
	/* Without rtnetlink, connections are still watched by their timeouts. */
	if (h->tops->path_sup || h->tops->net_changed)
		h->net_watched = !nu_netmon_subscribe(net_changed, h);
	return 0;
}

void nu_host_stop(struct nu_host *h)
{
	if (h->net_watched)
		nu_netmon_unsubscribe(net_changed, h);
	h->net_watched = false;
	for (unsigned i = 0; i < h->nr_queues; i++)
		nu_queue_stop(h->queues[i]);
}

void nu_host_destroy(struct nu_host *h)
{
	if (!h)
		return;
	if (h->queues) {
		for (unsigned i = 0; i < h->nr_queues; i++)
			nu_queue_destroy(h->queues[i]);
	}
	free(h->queues);
	free(h->name);
	free(h);
}

const char *nu_host_name(const struct nu_host *h)
{
	return h->name;
}

unsigned nu_host_nr_queues(const struct nu_host *h)
{
	return h->nr_queues;
}

unsigned nu_host_backend_depth(const struct nu_host *h)
{
	return h->backend_depth;
}

struct nu_queue *nu_host_queue(struct nu_host *h, unsigned qid)
{
	return qid < h->nr_queues ? h->queues[qid] : NULL;
}

const struct nu_transport_ops *nu_host_transport(const struct nu_host *h)
{
	return h->tops;
}

void *nu_host_transport_priv(const struct nu_host *h)
{
	return h->tpriv;
}

struct host_flush {
	struct nu_io io;
	int res;
	bool done;
};

static void flush_done(struct nu_io *io, int res)
{
	struct host_flush *f = (struct host_flush *)io;

	f->res = res;
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
}

static int flush_start(struct nu_queue *q, void *arg)
{
	nu_queue_submit_io(q, arg);
	return 0;
}

int nu_host_flush(struct nu_host *h, unsigned vol, unsigned timeout_ms)
{
	struct host_flush *f = calloc(1, sizeof(*f));
	uint64_t deadline = nu_now_ns() + timeout_ms * 1000000ull;
	int res;

	if (!f)
		return -ENOMEM;
	f->io = (struct nu_io){ .op = NU_OP_FLUSH, .vol = vol, .buf.fixed_index = -1,
				.done = flush_done };
	nu_queue_call(h->queues[0], flush_start, &f->io);
	while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
		if (nu_now_ns() > deadline) {
			/* Still owned by the queue: leaked rather than freed under it. */
			return -ETIMEDOUT;
		}
		struct timespec ts = { .tv_nsec = 1000000 };

		nanosleep(&ts, NULL);
	}
	res = f->res;
	free(f);
	return res;
}

struct nu_volume_stats *nu_host_vol_stats(struct nu_host *h, unsigned vol)
{
	return &h->stats[vol % NU_HOST_MAX_VOLS];
}
