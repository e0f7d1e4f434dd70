// SPDX-License-Identifier: MIT
/*
 * One ublk device on one queue ring: FETCH every tag, turn each request
 * into an nu_io for the host's backend, COMMIT_AND_FETCH the result.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/ublk_cmd.h>

#include "ublk_qdev.h"
#include "ublk_batch.h"
#include "ublk_features.h"
#include "host.h"
#include "log.h"
#include "queue.h"
#include "udata.h"
#include "volume.h"

enum tag_state {
	TAG_DEAD,
	TAG_IN_KERNEL,
	TAG_IN_BACKEND,
};

/*
 * Zero copy receives a read's payload straight into the request's pages,
 * which takes a receive of its own for each PDU header and each payload.
 * A small read is cheaper received with the other PDUs in one batch and
 * written into its request by ublk's user copy at completion; larger
 * ones (and every write) stay zero copy. Small: below the size from which
 * the stream receives a payload straight into place anyway (16 KiB).
 * BENCHMARKS.md has the figures.
 */
#define COPY_IN_BELOW (16 * 1024)

struct ublk_tag {
	struct nu_io io;
	struct ublk_qdev *qd;
	void *buf;
	uint16_t tag;
	uint8_t state;
	bool copy_in; /* this request's data is in buf, for user copy at completion */
};

struct ublk_qdev {
	struct ublk_dev *dev;
	struct nu_queue *q;
	unsigned dev_id, qid, depth, vol;
	int mode;
	int cdev_fd;
	int slot, buf_base;
	const struct ublksrv_io_desc *iods;
	size_t iods_len;
	void *bufs;
	size_t bufs_len;
	uint32_t max_io_bytes;
	bool copy_in;
	bool batch_io;
	uint32_t tag_buf_bytes;
	struct nu_volume_stats *stats;
	/*
	 * Until 0, the kernel still holds some of our commands and the device
	 * has not been reported gone: per request, tags whose FETCH or
	 * COMMIT_AND_FETCH is out; in batch mode 1, then 0 once nr_cmds and
	 * nr_backend are.
	 */
	unsigned nr_live;
	/* UBLK_F_BATCH_IO: commands with the kernel, tags with the backend (ublk_batch.h). */
	struct ublk_batch *batch;
	unsigned nr_cmds, nr_backend;
	bool flush_queued;
	struct ublk_tag tags[];
};

/*
 * Batch commands' user data: BATCH_UD | kind << 16 | index (a commit
 * buffer's id, a fetch's number); a tag's is the tag alone.
 */
#define BATCH_UD (1ull << 32)
enum batch_ud_kind { BATCH_PREP = 1, BATCH_COMMIT, BATCH_FETCH };

static uint64_t batch_ud(enum batch_ud_kind kind, unsigned index)
{
	return BATCH_UD | (uint64_t)kind << 16 | index;
}

static size_t page_round(size_t n)
{
	size_t ps = sysconf(_SC_PAGESIZE);

	return (n + ps - 1) & ~(ps - 1);
}

struct ublk_qdev *ublk_qdev_create(const struct ublk_qdev_config *cfg)
{
	struct ublk_qdev *qd = calloc(1, sizeof(*qd) + cfg->depth * sizeof(struct ublk_tag));
	off_t off;

	if (!qd)
		return NULL;
	qd->dev = cfg->dev;
	qd->dev_id = cfg->dev_id;
	qd->qid = cfg->qid;
	qd->depth = cfg->depth;
	qd->vol = cfg->vol;
	qd->mode = cfg->mode;
	qd->cdev_fd = cfg->cdev_fd;
	qd->max_io_bytes = cfg->max_io_bytes;
	qd->copy_in = cfg->copy_in;
	qd->batch_io = cfg->batch;
	qd->slot = qd->buf_base = -1;

	qd->iods_len = page_round(cfg->depth * sizeof(struct ublksrv_io_desc));
	off = UBLKSRV_CMD_BUF_OFFSET +
	      cfg->qid * page_round(UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc));
	qd->iods = mmap(NULL, qd->iods_len, PROT_READ, MAP_SHARED | MAP_POPULATE, cfg->cdev_fd,
			off);
	if (qd->iods == MAP_FAILED) {
		nu_err("ublk%u queue %u: mmap of the descriptors: %s", cfg->dev_id, cfg->qid,
		       strerror(errno));
		qd->iods = NULL;
		goto fail;
	}
	if (cfg->mode != UBLK_DM_AUTO_ZC || cfg->copy_in) {
		/* Untouched pages cost nothing: only tags that carry data fault them in. */
		qd->tag_buf_bytes =
			cfg->mode == UBLK_DM_AUTO_ZC ? COPY_IN_BELOW : cfg->max_io_bytes;
		qd->bufs_len = (size_t)cfg->depth * qd->tag_buf_bytes;
		qd->bufs = mmap(NULL, qd->bufs_len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (qd->bufs == MAP_FAILED) {
			qd->bufs = NULL;
			goto fail;
		}
	}
	for (unsigned i = 0; i < cfg->depth; i++) {
		struct ublk_tag *t = &qd->tags[i];

		t->qd = qd;
		t->tag = i;
		t->buf = qd->bufs ? (char *)qd->bufs + (size_t)i * qd->tag_buf_bytes : NULL;
	}
	return qd;
fail:
	ublk_qdev_destroy(qd);
	return NULL;
}

void ublk_qdev_destroy(struct ublk_qdev *qd)
{
	if (!qd)
		return;
	if (qd->iods)
		munmap((void *)qd->iods, qd->iods_len);
	if (qd->bufs)
		munmap(qd->bufs, qd->bufs_len);
	ublk_batch_destroy(qd->batch);
	free(qd);
}

static uint64_t user_copy_pos(unsigned qid, unsigned tag)
{
	return UBLKSRV_IO_BUF_OFFSET + ((uint64_t)qid << UBLK_QID_OFF) +
	       ((uint64_t)tag << UBLK_TAG_OFF);
}

static void queue_io_cmd(struct ublk_qdev *qd, struct ublk_tag *t, unsigned cmd_op, int result)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(qd->q);
	struct ublksrv_io_cmd *cmd;

	if (!sqe) {
		/* Cannot happen with the ring sized for every tag; the tag would hang. */
		nu_err("ublk%u queue %u: no SQE for tag %u", qd->dev_id, qd->qid, t->tag);
		abort();
	}
	io_uring_prep_uring_cmd(sqe, cmd_op, qd->cdev_fd);
	cmd = (struct ublksrv_io_cmd *)sqe->cmd;
	memset(cmd, 0, sizeof(*cmd));
	cmd->q_id = qd->qid;
	cmd->tag = t->tag;
	cmd->result = result;
	if (qd->mode == UBLK_DM_COPY)
		cmd->addr = (uint64_t)(uintptr_t)t->buf;
	if (qd->mode == UBLK_DM_AUTO_ZC) {
		struct ublk_auto_buf_reg reg = { .index = qd->buf_base + t->tag };

		sqe->addr = ublk_auto_buf_reg_to_sqe_addr(&reg);
	}
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_CLIENT, qd->slot, t->tag));
	t->state = TAG_IN_KERNEL;
}

static void batch_flush(void *ctx)
{
	struct ublk_qdev *qd = ctx;
	struct io_uring_sqe *sqe;
	int id;

	qd->flush_queued = false;
	if (!ublk_batch_pending(qd->batch))
		return;
	sqe = nu_queue_get_sqe(qd->q);
	if (!sqe) {
		nu_err("ublk%u queue %u: no SQE for a batch commit", qd->dev_id, qd->qid);
		abort();
	}
	id = ublk_batch_commit_sqe(qd->batch, sqe, qd->cdev_fd);
	io_uring_sqe_set_data64(sqe,
				nu_ud_make(NU_UD_CLIENT, qd->slot, batch_ud(BATCH_COMMIT, id)));
	qd->nr_cmds++;
}

/* The tag's result goes back to the kernel: with its own command, or in this turn's batch. */
static void tag_commit(struct ublk_qdev *qd, struct ublk_tag *t, int res)
{
	int ret;

	if (!qd->batch) {
		queue_io_cmd(qd, t, UBLK_U_IO_COMMIT_AND_FETCH_REQ, res);
		return;
	}
	ret = ublk_batch_add(qd->batch, t->tag, res);
	if (ret < 0) {
		/* The tag would hang, and the device with it. */
		nu_err("ublk%u queue %u tag %u: cannot batch its commit: %s", qd->dev_id, qd->qid,
		       t->tag, strerror(-ret));
		abort();
	}
	t->state = TAG_IN_KERNEL;
	qd->nr_backend--;
	if (!qd->flush_queued) {
		qd->flush_queued = true;
		nu_queue_flush_later(qd->q, qd->slot);
	}
}

static void tag_done(struct nu_io *io, int res)
{
	struct ublk_tag *t = (struct ublk_tag *)((char *)io - offsetof(struct ublk_tag, io));
	struct ublk_qdev *qd = t->qd;

	if (!res && io->op == NU_OP_READ && (qd->mode == UBLK_DM_USER_COPY || t->copy_in)) {
		ssize_t n = pwrite(qd->cdev_fd, t->buf, io->len, user_copy_pos(qd->qid, t->tag));

		if (n != (ssize_t)io->len) {
			nu_err("ublk%u queue %u tag %u: user copy out: %s", qd->dev_id, qd->qid,
			       t->tag, n < 0 ? strerror(errno) : "short");
			res = -EIO;
		} else if (t->copy_in) {
			__atomic_fetch_add(&qd->stats->reads_copied_in, 1, __ATOMIC_RELAXED);
		}
	}
	if (!res && nu_op_has_data(io->op))
		res = io->len;
	tag_commit(qd, t, res);
}

static int map_op(const struct ublksrv_io_desc *iod, struct nu_io *io)
{
	unsigned flags = ublksrv_get_flags(iod);

	io->flags = 0;
	if (flags & (UBLK_IO_F_FUA >> 8))
		io->flags |= NU_IO_FUA;
	switch (ublksrv_get_op(iod)) {
	case UBLK_IO_OP_READ:
		io->op = NU_OP_READ;
		break;
	case UBLK_IO_OP_WRITE:
		io->op = NU_OP_WRITE;
		break;
	case UBLK_IO_OP_FLUSH:
		io->op = NU_OP_FLUSH;
		break;
	case UBLK_IO_OP_DISCARD:
		io->op = NU_OP_DISCARD;
		break;
	case UBLK_IO_OP_WRITE_ZEROES:
		io->op = NU_OP_WRITE_ZEROES;
		if (flags & (UBLK_IO_F_NOUNMAP >> 8))
			io->flags |= NU_IO_NOUNMAP;
		break;
	default:
		return -EOPNOTSUPP;
	}
	return 0;
}

static void handle_request(struct ublk_qdev *qd, struct ublk_tag *t)
{
	const struct ublksrv_io_desc *iod = &qd->iods[t->tag];
	struct nu_io *io = &t->io;
	int ret;

	t->state = TAG_IN_BACKEND;
	if (qd->batch)
		qd->nr_backend++;
	ret = map_op(iod, io);
	if (ret < 0) {
		nu_warn("ublk%u: unsupported op %u", qd->dev_id, ublksrv_get_op(iod));
		tag_commit(qd, t, ret);
		return;
	}
	io->vol = qd->vol;
	/* A flush has no range: its sector field is not meaningful (seen as ~0). */
	io->offset = io->op == NU_OP_FLUSH ? 0 : iod->start_sector << 9;
	io->len = io->op == NU_OP_FLUSH ? 0 : iod->nr_sectors << 9;
	t->copy_in = qd->copy_in && io->op == NU_OP_READ && io->len < COPY_IN_BELOW;
	io->done = tag_done;
	io->buf.addr = t->buf;
	io->buf.fixed_index = -1;
	if (nu_op_has_data(io->op)) {
		if (io->len > qd->max_io_bytes) {
			tag_commit(qd, t, -EIO);
			return;
		}
		if (qd->mode == UBLK_DM_AUTO_ZC && !t->copy_in) {
			io->buf.addr = NULL;
			io->buf.fixed_index = qd->buf_base + t->tag;
		} else if (qd->mode == UBLK_DM_USER_COPY && io->op == NU_OP_WRITE) {
			ssize_t n = pread(qd->cdev_fd, t->buf, io->len,
					  user_copy_pos(qd->qid, t->tag));

			if (n != (ssize_t)io->len) {
				nu_err("ublk%u queue %u tag %u: user copy in: %s", qd->dev_id,
				       qd->qid, t->tag, n < 0 ? strerror(errno) : "short");
				tag_commit(qd, t, -EIO);
				return;
			}
		}
	}
	nu_queue_submit_io(qd->q, io);
}

static void batch_gone_check(struct ublk_qdev *qd)
{
	if (!qd->nr_cmds && !qd->nr_backend && qd->nr_live) {
		qd->nr_live = 0;
		ublk_dev_qdev_gone(qd->dev);
	}
}

/*
 * Rearms fetch i after its multishot ended, its buffer full or nearly
 * (-ENOBUFS), or ended by io_uring. The ring starts afresh: what the ended
 * fetch left of its buffer must not be taken for the new one's.
 */
static void batch_rearm(struct ublk_qdev *qd, unsigned i)
{
	struct io_uring_sqe *sqe;
	int ret = ublk_batch_ring_reset(qd->batch, nu_queue_ring(qd->q), i);

	sqe = ret ? NULL : nu_queue_get_sqe(qd->q);
	if (!sqe) {
		nu_err("ublk%u queue %u: cannot rearm fetch %u: %s", qd->dev_id, qd->qid, i,
		       strerror(ret ? -ret : EBUSY));
		return;
	}
	ublk_batch_fetch_sqe(qd->batch, sqe, qd->cdev_fd, i);
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_CLIENT, qd->slot, batch_ud(BATCH_FETCH, i)));
	qd->nr_cmds++;
}

static void batch_fetched(struct ublk_qdev *qd, unsigned i, const struct io_uring_cqe *cqe)
{
	const uint16_t *tags;
	int n = ublk_batch_fetched(qd->batch, i, cqe->res, &tags);

	if (n < 0)
		nu_err("ublk%u queue %u: fetch %u: %d bytes of tags overflow its buffer",
		       qd->dev_id, qd->qid, i, cqe->res);
	for (int k = 0; k < n; k++) {
		if (tags[k] >= qd->depth || qd->tags[tags[k]].state != TAG_IN_KERNEL) {
			nu_err("ublk%u queue %u: fetched tag %u is not the kernel's", qd->dev_id,
			       qd->qid, tags[k]);
			continue;
		}
		handle_request(qd, &qd->tags[tags[k]]);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	qd->nr_cmds--;
	if (cqe->res >= 0 || cqe->res == -ENOBUFS) {
		batch_rearm(qd, i);
		return;
	}
	if (cqe->res != UBLK_IO_RES_ABORT)
		nu_err("ublk%u queue %u: fetch %u failed: %s", qd->dev_id, qd->qid, i,
		       strerror(-cqe->res));
	batch_gone_check(qd);
}

static void batch_cqe(struct ublk_qdev *qd, const struct io_uring_cqe *cqe)
{
	uint64_t data = nu_ud_data(cqe->user_data);
	unsigned index = data & 0xffff, nr = 0;

	switch ((data >> 16) & 0xff) {
	case BATCH_FETCH:
		if (index < UBLK_BATCH_FETCHES)
			batch_fetched(qd, index, cqe);
		return;
	case BATCH_PREP:
		if (cqe->res < 0)
			nu_err("ublk%u queue %u: PREP_IO_CMDS: %s", qd->dev_id, qd->qid,
			       strerror(-cqe->res));
		break;
	case BATCH_COMMIT:
		break;
	default:
		return;
	}
	if (ublk_batch_commit_done(qd->batch, index, &nr) < 0)
		return;
	qd->nr_cmds--;
	/* What the kernel did not take, it will not complete: say so (a device being stopped). */
	if (nr && cqe->res != (int)(nr * ublk_batch_elem_bytes(qd->batch)))
		nu_warn("ublk%u queue %u: COMMIT_IO_CMDS took %d bytes of %u results", qd->dev_id,
			qd->qid, cqe->res, nr);
	batch_gone_check(qd);
}

static void qdev_cqe(void *ctx, const struct io_uring_cqe *cqe)
{
	struct ublk_qdev *qd = ctx;
	uint64_t data = nu_ud_data(cqe->user_data);
	unsigned tag = data;
	struct ublk_tag *t;

	if (data & BATCH_UD) {
		if (qd->batch)
			batch_cqe(qd, cqe);
		return;
	}
	if (data >= qd->depth)
		return;
	t = &qd->tags[tag];
	if (cqe->res == UBLK_IO_RES_OK) {
		handle_request(qd, t);
		return;
	}
	if (cqe->res != UBLK_IO_RES_ABORT)
		nu_err("ublk%u queue %u tag %u: io command failed: %s", qd->dev_id, qd->qid, tag,
		       strerror(-cqe->res));
	t->state = TAG_DEAD;
	if (--qd->nr_live == 0)
		ublk_dev_qdev_gone(qd->dev);
}

/* One PREP readies every tag; two fetches, one active and one parked, take requests. */
static int batch_start(struct ublk_qdev *qd)
{
	struct ublk_batch_config bc = {
		.qid = qd->qid,
		.depth = qd->depth,
		.buf_index_base = qd->mode == UBLK_DM_AUTO_ZC ? qd->buf_base : -1,
		.bufs = qd->mode == UBLK_DM_COPY ? qd->bufs : NULL,
		.buf_stride = qd->tag_buf_bytes,
	};
	struct io_uring_sqe *sqe;
	int ret;

	qd->batch = ublk_batch_create(&bc);
	if (!qd->batch)
		return -ENOMEM;
	nu_queue_no_coalesce(qd->q, true);
	/* Buffer groups by client slot: unique on this ring. */
	ret = ublk_batch_rings_setup(qd->batch, nu_queue_ring(qd->q),
				     qd->slot * UBLK_BATCH_FETCHES);
	if (ret < 0)
		return ret;
	nu_queue_client_flush(qd->q, qd->slot, batch_flush);
	for (unsigned t = 0; t < qd->depth; t++)
		qd->tags[t].state = TAG_IN_KERNEL;
	/* Three SQEs on a ring sized for every tag of every device: there is room. */
	sqe = nu_queue_get_sqe(qd->q);
	ublk_batch_prep_sqe(qd->batch, sqe, qd->cdev_fd);
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_CLIENT, qd->slot, batch_ud(BATCH_PREP, 0)));
	for (unsigned i = 0; i < UBLK_BATCH_FETCHES; i++) {
		sqe = nu_queue_get_sqe(qd->q);
		ublk_batch_fetch_sqe(qd->batch, sqe, qd->cdev_fd, i);
		io_uring_sqe_set_data64(
			sqe, nu_ud_make(NU_UD_CLIENT, qd->slot, batch_ud(BATCH_FETCH, i)));
	}
	qd->nr_cmds = 1 + UBLK_BATCH_FETCHES;
	qd->nr_live = 1;
	return 0;
}

int ublk_qdev_attach(struct nu_queue *q, void *arg)
{
	struct ublk_qdev *qd = arg;
	int ret;

	/*
	 * /dev/ublkcN is used as a plain fd, not a registered file: before
	 * Linux 6.13, a file dropped from the table stays referenced until every
	 * request issued before the drop completes, and the FETCHes of the
	 * host's other devices can wait forever: DEL_DEV would never return.
	 */
	qd->q = q;
	qd->stats = nu_host_vol_stats(nu_queue_host(q), qd->vol);
	if (qd->mode == UBLK_DM_AUTO_ZC) {
		ret = nu_queue_bufs_alloc(q, qd->depth);
		if (ret < 0)
			goto fail;
		qd->buf_base = ret;
	}
	ret = nu_queue_client_add(q, qdev_cqe, qd);
	if (ret < 0)
		goto fail;
	qd->slot = ret;
	if (qd->batch_io) {
		ret = batch_start(qd);
		if (ret < 0)
			goto fail;
	} else {
		for (unsigned i = 0; i < qd->depth; i++)
			queue_io_cmd(qd, &qd->tags[i], UBLK_U_IO_FETCH_REQ, 0);
		qd->nr_live = qd->depth;
	}
	/* START_DEV waits for every FETCH: send them now, not at the next loop turn. */
	io_uring_submit(nu_queue_ring(q));
	return 0;
fail:
	nu_err("ublk%u queue %u: cannot join the queue ring: %s", qd->dev_id, qd->qid,
	       strerror(-ret));
	ublk_qdev_detach(q, qd);
	return ret;
}

int ublk_qdev_detach(struct nu_queue *q, void *arg)
{
	struct ublk_qdev *qd = arg;

	if (qd->nr_live || qd->nr_cmds)
		return -EBUSY;
	if (qd->batch) {
		nu_queue_no_coalesce(q, false);
		ublk_batch_rings_free(qd->batch, nu_queue_ring(q));
		ublk_batch_destroy(qd->batch);
		qd->batch = NULL;
	}
	if (qd->slot >= 0)
		nu_queue_client_remove(q, qd->slot);
	if (qd->buf_base >= 0)
		nu_queue_bufs_free(q, qd->buf_base, qd->depth);
	qd->slot = qd->buf_base = -1;
	return 0;
}
