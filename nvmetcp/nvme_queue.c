// SPDX-License-Identifier: MIT
/*
 * An NVMe/TCP I/O queue on a host queue's ring: commands for every
 * namespace of the controller, one stream (initiator/stream.c) carrying
 * capsules, H2CData, C2HData, R2T and responses. On connection loss the
 * queue reconnects to the current controller and sends its commands again;
 * after ctrl_loss_tmo they fail with EIO.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nvme/types.h>

#include "nvme_transport.h"
#include "nvme_host.h"
#include "log.h"
#include "queue.h"
#include "stream.h"
#include "supervisor.h"
#include "udata.h"

#define RETRY_LIMIT 5 /* the kernel's nvme_max_retries */
#define RX_BUF (256 * 1024)

struct nvme_task {
	struct nu_task base;
	uint16_t cid;
	bool incapsule; /* write data went with the command */
	uint32_t data_in;  /* read bytes received */
	uint32_t r2t_next; /* where the next R2T must start */
	uint8_t sqe[NVME_SQE_LEN];
	uint8_t dsm[16];
};

struct nvme_queue {
	struct nvme_host *h;
	struct nu_queue *q;
	unsigned qid;
	uint16_t sqid;
	struct nu_stream s;
	struct nu_sup sup;
	struct {
		struct nvme_conn c; /* a connect done off the queue thread */
		uint32_t gen;
	} conn;
	struct nvme_tcp_params p;
	uint32_t gen, reset_gen;
	unsigned depth, tag_bits;
	uint16_t cid_gen;
	uint32_t incapsule_max;
	struct nvme_tcp_hdr rh; /* the PDU being received, as its frame decoded it */
	struct nvme_task *tasks;
	char name[16]; /* "nvme qN" */
	/* ANA groups a command just failed on, until the host reads the ANA log again. */
	struct nu_refused ana_refused;
};

static struct nvme_task *task_of(struct nu_task *t)
{
	return (struct nvme_task *)t;
}

static uint64_t ms_ns(uint64_t ms)
{
	return ms * 1000000ull;
}

/* ---------------------------------------------------------------- commands */

static struct nvme_task *task_by_cid(struct nvme_queue *nq, uint16_t cid)
{
	unsigned tag = cid & ((1u << nq->tag_bits) - 1);
	struct nvme_task *t;

	if (tag >= nq->depth)
		return NULL;
	t = &nq->tasks[tag];
	return t->base.io && t->base.started && t->cid == cid ? t : NULL;
}

/* The supervisor's send hook: the connection is up. */
static void task_send(void *ctx, struct nu_task *bt)
{
	struct nvme_queue *nq = ctx;
	struct nvme_task *t = task_of(bt);
	struct nu_io *io = t->base.io;
	uint8_t hdr[128];
	const void *data = NULL;
	uint32_t dlen = 0;
	unsigned hlen;

	t->cid = io->tag | (uint16_t)(nq->cid_gen++ << nq->tag_bits);
	nvme_sqe_set_cid(t->sqe, t->cid);
	t->data_in = t->r2t_next = 0;
	if (t->incapsule) {
		data = io->buf.addr;
		dlen = io->len;
	} else if (io->op == NU_OP_DISCARD) {
		data = t->dsm;
		dlen = sizeof(t->dsm);
	}
	hlen = nvme_tcp_build_cmd(hdr, &nq->p, t->sqe, dlen);
	if (t->incapsule && io->buf.fixed_index >= 0 ?
		    nu_stream_queue_fixed(&nq->s, io->tag, hdr, hlen, io->buf.fixed_index, 0, dlen) :
		    nu_stream_queue(&nq->s, io->tag, hdr, hlen, data, dlen, 0, nq->p.ddgst && dlen)) {
		nu_stream_fail(&nq->s, "out of memory for PDUs");
		return;
	}
	nu_stream_kick(&nq->s);
}

static void task_retry_or_fail(struct nvme_queue *nq, struct nvme_task *t, int res,
			       const char *why)
{
	nu_sup_retry(&nq->sup, &t->base, res, why);
}

static uint32_t vol_group(const struct nvme_queue *nq, unsigned vol)
{
	const struct nu_vol *v = nu_voltab_live(&nq->h->vols, vol);

	return v && v->group < NVME_ANA_GROUPS ? v->group : 0;
}

/* An ANA error: this path is not for the volume's group until the ANA log is read again. */
static void ana_block(struct nvme_queue *nq, unsigned vol)
{
	nu_refused_set(&nq->ana_refused, vol_group(nq, vol),
		       __atomic_load_n(&nq->h->ana_gen, __ATOMIC_ACQUIRE));
	nvme_host_request_ana(nq->h);
}

/*
 * Statuses about the association rather than the command: the queue
 * connects again (re-associating if need be) and the command, still in
 * flight, is resent. Command Sequence Error (SCT 0, SC 0Ch) on an I/O
 * command: the controller is not enabled any more, reset or failed by its
 * keep-alive timer while our link was down (nvmet answers so until it tears
 * the queues down). Authentication Required (SCT 1, SC 91h): it wants the
 * queue authenticated again.
 */
static const char *association_status(uint16_t status)
{
	switch (status & 0x7ff) {
	case 0x00c:
		return "the controller is no longer enabled (command sequence error)";
	case 0x191:
		return "the controller asks for authentication again";
	default:
		return NULL;
	}
}

static void handle_completion(struct nvme_queue *nq, struct nvme_task *t, uint16_t status)
{
	struct nu_io *io = t->base.io;
	bool retry;
	char desc[128];
	const char *assoc = association_status(status);
	int res;

	if (assoc) {
		nu_stream_fail(&nq->s, assoc);
		return;
	}
	res = nvme_status_result(status, &retry, desc, sizeof(desc));
	if (!res && io->op == NU_OP_READ && t->data_in != io->len) {
		/* Never hand back a buffer the controller did not fill. */
		task_retry_or_fail(nq, t, -EIO, "short read");
		return;
	}
	if (res == -ENOLINK) {
		ana_block(nq, io->vol);
		nu_sup_path_error(&nq->sup, &t->base, res, desc);
		return;
	}
	if (res && retry) {
		task_retry_or_fail(nq, t, res, desc);
		return;
	}
	if (res)
		nu_err("nvme q%u: namespace %u: %s %llu+%u: %s", nq->qid,
		       nq->h->vols.v[io->vol].id, nu_op_name(io->op),
		       (unsigned long long)io->offset, io->len, desc);
	nu_sup_complete(&nq->sup, &t->base, res);
}

/* H2CData for an R2T: [off, off + len) in chunks of at most MAXH2CDATA. */
static int send_h2c(struct nvme_queue *nq, struct nvme_task *t, uint16_t ttag, uint32_t off,
		    uint32_t len)
{
	const uint8_t *src = t->base.io->buf.addr;

	while (len) {
		uint32_t n = len < nq->p.maxh2cdata ? len : nq->p.maxh2cdata;
		uint8_t hdr[128];
		unsigned hlen = nvme_tcp_build_h2c(hdr, &nq->p, t->cid, ttag, off, n, n == len);
		int ret = t->base.io->buf.fixed_index >= 0 ?
				  nu_stream_queue_fixed(&nq->s, t->base.io->tag, hdr, hlen,
							t->base.io->buf.fixed_index, off, n) :
				  nu_stream_queue(&nq->s, t->base.io->tag, hdr, hlen, src + off, n, 0,
						  nq->p.ddgst);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	nu_stream_kick(&nq->s);
	return 0;
}

/* ---------------------------------------------------------------- rx */

static int proto_error(struct nvme_queue *nq, const char *why)
{
	nu_err("nvme q%u: %s", nq->qid, why);
	nu_stream_fail(&nq->s, "protocol violation");
	return -EPROTO;
}

static int q_frame(void *ctx, const uint8_t *p, size_t avail, struct nu_frame *f)
{
	struct nvme_queue *nq = ctx;
	struct nvme_tcp_hdr h;
	struct nvme_task *t;
	const char *why;
	unsigned hd = nq->p.hdgst ? NVME_TCP_DGST_LEN : 0;
	int ret = nvme_tcp_parse_hdr(p, avail, &nq->p, 1u << 30, &h, &why);

	if (ret == -EAGAIN)
		return ret;
	if (ret)
		return proto_error(nq, why);
	memset(f, 0, sizeof(*f));
	switch (h.type) {
	case NVME_TCP_C2H_DATA:
		t = task_by_cid(nq, h.cid);
		if (!t || t->base.io->op != NU_OP_READ)
			return proto_error(nq, "C2HData for an unknown command");
		if (h.off != t->data_in || h.len > t->base.io->len - t->data_in)
			return proto_error(nq, "C2HData outside the command's buffer");
		f->head = h.pdo;
		f->dlen = h.len;
		f->ddgst = nq->p.ddgst;
		f->tail = nq->p.ddgst ? NVME_TCP_DGST_LEN : 0;
		nu_frame_dest(f, &t->base.io->buf, h.off);
		break;
	case NVME_TCP_C2H_TERM:
		f->head = NVME_TCP_TERM_HLEN;
		f->dlen = h.dlen;
		break;
	default:
		f->head = h.hlen + hd;
		break;
	}
	nq->rh = h;
	return 0;
}

static int q_pdu(void *ctx, const uint8_t *hdr, const uint8_t *data, uint32_t dlen)
{
	struct nvme_queue *nq = ctx;
	struct nvme_tcp_hdr h = nq->rh; /* checked and decoded by q_frame */
	struct nvme_task *t;
	struct nvme_cqe cqe;

	if (h.cqe)
		h.cqe = hdr + NVME_TCP_CH_LEN; /* where the header's bytes are now */
	switch (h.type) {
	case NVME_TCP_C2H_DATA:
		t = task_by_cid(nq, h.cid);
		if (!t)
			return proto_error(nq, "C2HData for an unknown command");
		t->data_in += dlen;
		if (h.flags & NVME_TCP_F_SUCCESS) {
			/* SUCCESS stands for a response: claiming it short of the data is fatal. */
			if (t->data_in != t->base.io->len)
				return proto_error(nq, "C2HData with SUCCESS before all data");
			handle_completion(nq, t, 0);
		}
		break;
	case NVME_TCP_RSP:
		nvme_cqe_decode(h.cqe, &cqe);
		t = task_by_cid(nq, cqe.cid);
		if (!t)
			return proto_error(nq, "response for an unknown command");
		handle_completion(nq, t, cqe.status);
		break;
	case NVME_TCP_R2T:
		t = task_by_cid(nq, h.cid);
		if (!t || t->base.io->op != NU_OP_WRITE || t->incapsule || !h.len ||
		    h.off != t->r2t_next || h.len > t->base.io->len - h.off)
			return proto_error(nq, "R2T outside a write command");
		t->r2t_next = h.off + h.len;
		if (send_h2c(nq, t, h.ttag, h.off, h.len)) {
			nu_stream_fail(&nq->s, "out of memory for PDUs");
			return -EPROTO;
		}
		break;
	case NVME_TCP_C2H_TERM:
		nu_err("nvme q%u: controller terminated the connection (fatal error status %u)",
		       nq->qid, h.fes);
		nu_stream_fail(&nq->s, "C2HTermReq");
		return -EPROTO;
	default:
		return proto_error(nq, "unexpected PDU");
	}
	return nu_sup_up(&nq->sup) ? 0 : -EPROTO;
}

static void conn_fail(void *ctx, const char *why)
{
	nu_sup_conn_fail(&((struct nvme_queue *)ctx)->sup, why);
}

static const struct nu_stream_ops stream_ops = {
	.frame = q_frame,
	.pdu = q_pdu,
	.fail = conn_fail,
};

/* ---------------------------------------------------------------- connection */

/*
 * The supervisor's connect hook, on a helper thread (or at start): TCP,
 * ICReq and Fabrics Connect of this I/O queue to the current controller.
 * Reads only the host's config and association.
 */
static int queue_connect(void *ctx, void *result)
{
	struct nvme_queue *nq = ctx;
	struct nvme_host *h = nq->h;
	struct nvme_target_config *cfg = &h->cfg;
	struct nvme_conn *c = result;
	struct nvme_host_ids ids;
	char err[256];
	uint32_t gen;
	uint16_t cntlid;
	int ret;

	if (!__atomic_load_n(&h->admin_up, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	gen = __atomic_load_n(&h->ctrl_gen, __ATOMIC_ACQUIRE);
	cntlid = __atomic_load_n(&h->cntlid, __ATOMIC_ACQUIRE);
	nvme_host_ids_get(h, &ids);
	ret = nvme_conn_open(c, cfg, &ids, 5000, err, sizeof(err));
	if (!ret)
		ret = nvme_conn_connect(c, nq->sqid, h->io_queue_size - 1, 0, &ids, cfg->subnqn,
					&cntlid, err, sizeof(err));
	explicit_bzero(&ids, sizeof(ids));
	if (ret) {
		nu_warn("%s: %s", nq->name, err);
		nvme_conn_close(c);
		/* Refused by a controller we think is alive: it may be gone; re-associate once. */
		if (ret == -EACCES && nq->reset_gen != gen) {
			nq->reset_gen = gen;
			nvme_host_request_reset(h, "I/O queue connect refused");
		}
		return ret;
	}
	nq->conn.gen = gen;
	return 0;
}

/* The attach hook, on the queue thread: the connected queue becomes the stream. */
static int queue_attach(void *ctx, void *result)
{
	struct nvme_queue *nq = ctx;
	struct nvme_host *h = nq->h;
	struct nvme_conn *c = result;
	char id[48], sec[NU_PATH_SECURITY_LEN];
	int ret;

	nq->p = c->p;
	nq->gen = nq->conn.gen;
	/* Zero copy: headers by themselves, so payloads can go to the request's pages. */
	ret = nu_stream_attach(&nq->s, c->fd, RX_BUF,
			       h->zero_copy ? NVME_TCP_RSP_HLEN + (nq->p.hdgst ? NVME_TCP_DGST_LEN : 0) : 0);
	if (ret) {
		nvme_conn_close(c);
		return ret;
	}
	snprintf(id, sizeof(id), "cntlid %u qid %u", __atomic_load_n(&h->cntlid, __ATOMIC_ACQUIRE),
		 nq->sqid);
	nvme_host_security(h, c, sec, sizeof(sec));
	nu_path_up(&h->paths[nq->sqid], c->fd, id, sec);
	return 0;
}

static void queue_discard(void *ctx, void *result)
{
	(void)ctx;
	nvme_conn_close(result);
}

/* Abort after command_timeout, then, as long again without an answer, reconnect. */
static void check_timeouts(struct nvme_queue *nq, uint64_t now)
{
	uint64_t limit = ms_ns(nq->h->cfg.command_timeout_s * 1000ull);

	for (unsigned i = 0; i < nq->depth; i++) {
		struct nvme_task *t = &nq->tasks[i];

		if (!t->base.io || !t->base.started)
			continue;
		if (t->base.abort_ns) {
			if (now - t->base.abort_ns > limit) {
				nu_stream_fail(&nq->s, "command not answered after Abort");
				return;
			}
			continue;
		}
		if (now - t->base.sent_ns < limit)
			continue;
		nu_warn("%s: command 0x%x (%s) unanswered for %u s: Abort", nq->name, t->cid,
			nu_op_name(t->base.io->op), nq->h->cfg.command_timeout_s);
		t->base.abort_ns = now;
		nvme_host_request_abort(nq->h, nq->sqid, t->cid);
	}
}

/* The tick hook, every second while connected. */
static void queue_tick(void *ctx, uint64_t now)
{
	struct nvme_queue *nq = ctx;

	if (__atomic_load_n(&nq->h->ctrl_gen, __ATOMIC_ACQUIRE) != nq->gen)
		nu_stream_fail(&nq->s, "the controller was re-associated");
	/*
	 * The association ends with its admin queue (keep-alive lost): its I/O
	 * queues are gone too, and their commands must not wait out the
	 * command timeout (for ever in a black hole).
	 */
	else if (!__atomic_load_n(&nq->h->admin_up, __ATOMIC_ACQUIRE))
		nu_stream_fail(&nq->s, "the controller's admin queue was lost");
	else
		check_timeouts(nq, now);
}

static const struct nu_sup_ops sup_ops = {
	.connect = queue_connect,
	.attach = queue_attach,
	.discard = queue_discard,
	.send = task_send,
	.tick = queue_tick,
};

/* ---------------------------------------------------------------- transport ops */

static void queue_free(struct nvme_queue *nq)
{
	nu_stream_destroy(&nq->s);
	free(nq->tasks);
	free(nq);
}

/* The I/O queue's supervisor (also for the fuzz target, which attaches a simulated wire). */
static void queue_sup_init(struct nvme_queue *nq, const struct nu_path_parent *parent)
{
	struct nvme_host *h = nq->h;
	unsigned max_ms = h->cfg.reconnect_delay_s * 1000;
	struct nu_sup_cfg sc = {
		.name = nq->name,
		.peer = h->cfg.address,
		.retry_limit = RETRY_LIMIT,
		.loss_timeout_ms = h->cfg.ctrl_loss_tmo_s * 1000ull,
		/* 250 ms doubling up to reconnect_delay: quick after a blip, patient after a reboot. */
		.backoff_min_ms = 250,
		.backoff_max_ms = max_ms > 250 ? max_ms : 250,
	};

	snprintf(nq->name, sizeof(nq->name), "nvme q%u", nq->qid);
	nu_stream_init(&nq->s, nq->q, &stream_ops, nq, NVME_TCP_CH_LEN);
	nu_sup_init(&nq->sup, nq->q, &nq->s, &h->paths[nq->sqid], &sup_ops, nq, &sc, nq->tasks,
		    sizeof(*nq->tasks), nq->depth, &nq->conn.c, parent);
}

static int nvme_path_start(void *host_priv, struct nu_queue *q, const struct nu_path_parent *parent,
			   void **qpriv)
{
	struct nvme_host *h = host_priv;
	struct nvme_queue *nq = calloc(1, sizeof(*nq));
	int ret;

	if (!nq)
		return -ENOMEM;
	nq->h = h;
	nq->q = q;
	nq->qid = nu_queue_id(q);
	nq->sqid = nq->qid + 1;
	if (nq->sqid >= NU_MAX_PATHS) {
		free(nq);
		return -EINVAL;
	}
	nq->depth = nu_host_backend_depth(nu_queue_host(q));
	while ((1u << nq->tag_bits) < nq->depth)
		nq->tag_bits++;
	nq->tasks = calloc(nq->depth, sizeof(*nq->tasks));
	queue_sup_init(nq, parent);
	nq->incapsule_max = h->ci.ioccsz > NVME_SQE_LEN ? h->ci.ioccsz - NVME_SQE_LEN : 0;
	if (!nq->tasks || nq->tag_bits > 12) {
		ret = nq->tasks ? -EINVAL : -ENOMEM;
		goto fail;
	}
	ret = nu_sup_start(&nq->sup);
	if (ret)
		goto fail;
	/* The SQ bounds what may be outstanding on this queue across all namespaces. */
	nu_queue_set_credit_limit(q, h->io_queue_size);
	*qpriv = nq;
	return 0;
fail:
	queue_free(nq);
	return ret;
}

static int nvme_queue_start(void *host_priv, struct nu_queue *q, void **qpriv)
{
	return nvme_path_start(host_priv, q, NULL, qpriv);
}

static struct nu_sup *nvme_path_sup(void *qpriv)
{
	return &((struct nvme_queue *)qpriv)->sup;
}

/* The ANA state of the volume's group through this controller. */
static enum nu_path_state nvme_path_state(void *qpriv, unsigned vol)
{
	struct nvme_queue *nq = qpriv;
	uint32_t g = vol_group(nq, vol);

	if (!g)
		return NU_PATH_OPTIMIZED; /* no ANA reporting */
	if (nu_refused(&nq->ana_refused, g, __atomic_load_n(&nq->h->ana_gen, __ATOMIC_ACQUIRE)))
		return NU_PATH_UNUSABLE;
	switch (__atomic_load_n(&nq->h->ana_state[g], __ATOMIC_RELAXED)) {
	case 0: /* not listed in the log */
	case NVME_ANA_STATE_OPTIMIZED:
		return NU_PATH_OPTIMIZED;
	case NVME_ANA_STATE_NONOPTIMIZED:
		return NU_PATH_NONOPTIMIZED;
	default:
		return NU_PATH_UNUSABLE;
	}
}

static void nvme_queue_stop(void *qpriv)
{
	struct nvme_queue *nq = qpriv;

	nu_sup_stop(&nq->sup);
	queue_free(nq);
}

static int nvme_submit(void *qpriv, struct nu_io *io)
{
	struct nvme_queue *nq = qpriv;
	struct nvme_host *h = nq->h;
	struct nvme_task *t = &nq->tasks[io->tag];
	const struct nu_vol *ns = nu_voltab_live(&h->vols, io->vol);
	int ret;

	if (!ns)
		return -ENXIO;
	if (nu_op_has_data(io->op) && io->buf.fixed_index >= 0 && !h->zero_copy)
		return -EOPNOTSUPP; /* zero copy needs Linux 7.2 and no data digest */
	ret = nvme_build_io(t->sqe, io, ns->id, ns->geom.lbs, t->dsm);
	if (ret)
		return ret;
	t->incapsule = io->op == NU_OP_WRITE && io->len <= nq->incapsule_max;
	if (t->incapsule)
		nvme_sqe_set_data(t->sqe, NVME_SGL_INCAPSULE, io->len);
	return nu_sup_submit(&nq->sup, io);
}

static void nvme_cqe(void *qpriv, const struct io_uring_cqe *cqe)
{
	struct nvme_queue *nq = qpriv;

	if (!nu_stream_cqe(&nq->s, cqe))
		nu_sup_cqe(&nq->sup, cqe);
}

static unsigned nvme_host_caps(void *host_priv)
{
	const struct nvme_host *h = host_priv;

	return h->zero_copy ? NU_TCAP_FIXED_BUF | NU_TCAP_COPY_IN : 0;
}

const struct nu_transport_ops nu_nvme_transport = {
	.name = "nvme-tcp",
	.caps = 0,
	.host_caps = nvme_host_caps,
	.queue_start = nvme_queue_start,
	.path_start = nvme_path_start,
	.path_sup = nvme_path_sup,
	.path_state = nvme_path_state,
	.queue_stop = nvme_queue_stop,
	.submit = nvme_submit,
	.cqe = nvme_cqe,
};
