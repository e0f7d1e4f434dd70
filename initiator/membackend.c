// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/falloc.h>

#include "membackend.h"
#include "host.h"
#include "log.h"
#include "queue.h"
#include "udata.h"

#define MEM_MAX_VOLS 64

struct nu_mem_backend {
	unsigned nr;
	uint32_t lbs;
	uint64_t size[MEM_MAX_VOLS];
	int fd[MEM_MAX_VOLS];
};

struct mem_queue {
	struct nu_mem_backend *b;
	struct nu_queue *q;
	int file[MEM_MAX_VOLS]; /* fixed file index on the queue ring */
	struct nu_io **by_tag;
	unsigned depth;
};

struct nu_mem_backend *nu_mem_create(const uint64_t *sizes, unsigned nr, uint32_t lbs)
{
	struct nu_mem_backend *b;

	if (!nr || nr > MEM_MAX_VOLS)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->lbs = lbs;
	for (unsigned i = 0; i < MEM_MAX_VOLS; i++)
		b->fd[i] = -1;
	for (unsigned i = 0; i < nr; i++) {
		char name[32];

		snprintf(name, sizeof(name), "netublk-mem%u", i);
		b->fd[i] = memfd_create(name, MFD_CLOEXEC);
		if (b->fd[i] < 0 || ftruncate(b->fd[i], sizes[i]) < 0) {
			nu_err("memory backend: volume %u (%llu bytes): %s", i,
			       (unsigned long long)sizes[i], strerror(errno));
			b->nr = i + 1;
			nu_mem_destroy(b);
			return NULL;
		}
		b->size[i] = sizes[i];
	}
	b->nr = nr;
	return b;
}

void nu_mem_destroy(struct nu_mem_backend *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->nr; i++)
		if (b->fd[i] >= 0)
			close(b->fd[i]);
	free(b);
}

unsigned nu_mem_nr_volumes(const struct nu_mem_backend *b)
{
	return b->nr;
}

void nu_mem_geom(const struct nu_mem_backend *b, unsigned vol, struct nu_volume_geom *g)
{
	memset(g, 0, sizeof(*g));
	g->size = b->size[vol];
	g->lbs = b->lbs;
	g->pbs = b->lbs > 4096 ? b->lbs : 4096;
	/* Reported like a device's DMA limits, so SET_PARAMS carries all of them. */
	g->dma_alignment = 511;
	g->max_segment_size = 1u << 20;
	g->max_segments = 128;
	g->discard_granularity = 4096;
	g->max_discard = 1u << 30;
	g->max_write_zeroes = 1u << 30;
	/* Claim a write cache so the kernel sends FLUSH and FUA: tests see them arrive. */
	g->volatile_cache = true;
	g->fua = true;
}

static int mem_queue_start(void *host_priv, struct nu_queue *q, void **qpriv)
{
	struct nu_mem_backend *b = host_priv;
	struct mem_queue *mq = calloc(1, sizeof(*mq));

	if (!mq)
		return -ENOMEM;
	mq->b = b;
	mq->q = q;
	mq->depth = nu_host_backend_depth(nu_queue_host(q));
	mq->by_tag = calloc(mq->depth, sizeof(*mq->by_tag));
	if (!mq->by_tag) {
		free(mq);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < b->nr; i++) {
		mq->file[i] = nu_queue_file_add(q, b->fd[i]);
		if (mq->file[i] < 0) {
			int ret = mq->file[i];

			while (i--)
				nu_queue_file_remove(q, mq->file[i]);
			free(mq->by_tag);
			free(mq);
			return ret;
		}
	}
	*qpriv = mq;
	return 0;
}

static void mem_queue_stop(void *qpriv)
{
	struct mem_queue *mq = qpriv;

	for (unsigned i = 0; i < mq->b->nr; i++)
		nu_queue_file_remove(mq->q, mq->file[i]);
	free(mq->by_tag);
	free(mq);
}

static int mem_submit(void *qpriv, struct nu_io *io)
{
	struct mem_queue *mq = qpriv;
	struct io_uring_sqe *sqe;
	int file;

	if (io->vol >= mq->b->nr || io->offset > mq->b->size[io->vol] ||
	    io->len > mq->b->size[io->vol] - io->offset)
		return -EIO;
	sqe = nu_queue_get_sqe(mq->q);
	if (!sqe)
		return -EAGAIN;
	file = mq->file[io->vol];
	switch (io->op) {
	case NU_OP_READ:
	case NU_OP_WRITE: {
		bool rd = io->op == NU_OP_READ;

		if (io->buf.fixed_index >= 0)
			io_uring_prep_rw(rd ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED, sqe,
					 file, NULL, io->len, io->offset);
		else
			io_uring_prep_rw(rd ? IORING_OP_READ : IORING_OP_WRITE, sqe, file,
					 io->buf.addr, io->len, io->offset);
		if (io->buf.fixed_index >= 0)
			sqe->buf_index = io->buf.fixed_index;
		if (!rd && (io->flags & NU_IO_FUA))
			sqe->rw_flags = RWF_DSYNC;
		break;
	}
	case NU_OP_FLUSH:
		io_uring_prep_fsync(sqe, file, 0);
		break;
	case NU_OP_DISCARD:
	case NU_OP_WRITE_ZEROES:
		/* tmpfs reads holes as zeroes, so both are a punched hole. */
		io_uring_prep_fallocate(sqe, file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					io->offset, io->len);
		break;
	default:
		return -EOPNOTSUPP;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_TRANSPORT, 0, io->tag));
	mq->by_tag[io->tag] = io;
	return 0;
}

static void mem_cqe(void *qpriv, const struct io_uring_cqe *cqe)
{
	struct mem_queue *mq = qpriv;
	unsigned tag = nu_ud_data(cqe->user_data);
	struct nu_io *io;
	int res = cqe->res;

	if (tag >= mq->depth || !mq->by_tag[tag]) {
		nu_warn("memory backend: completion for idle tag %u", tag);
		return;
	}
	io = mq->by_tag[tag];
	mq->by_tag[tag] = NULL;
	if (res >= 0 && nu_op_has_data(io->op) && (unsigned)res != io->len) {
		/* A memfd sized to the volume never comes up short. */
		nu_err("memory backend: short %s %d of %u at %llu", nu_op_name(io->op), res,
		       io->len, (unsigned long long)io->offset);
		res = -EIO;
	}
	nu_queue_complete(mq->q, io, res < 0 ? res : 0);
}

const struct nu_transport_ops nu_mem_transport = {
	.name = "memory",
	.caps = NU_TCAP_FIXED_BUF,
	.queue_start = mem_queue_start,
	.queue_stop = mem_queue_stop,
	.submit = mem_submit,
	.cqe = mem_cqe,
};
