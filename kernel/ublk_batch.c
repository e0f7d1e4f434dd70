// SPDX-License-Identifier: MIT
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <liburing.h>
#include <linux/ublk_cmd.h>

#include "ublk_batch.h"

#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT (1U << 1)
#endif

static_assert(sizeof(struct ublk_elem_header) == 8, "the kernel's element header is 8 bytes");

/* A fetch buffer holds 4096 tags before its fetch is rearmed: rare enough to cost nothing. */
#define FETCH_BUF_BYTES 8192

struct commit_buf {
	void *elems;
	unsigned nr;
	bool in_flight;
};

struct fetch_buf {
	uint16_t *tags;
	unsigned used; /* bytes the kernel filled since the fetch was armed */
	unsigned bgid;
	struct io_uring_buf_ring *br;
};

struct ublk_batch {
	struct ublk_batch_config cfg;
	uint16_t flags; /* UBLK_BATCH_F_* of every prep and commit */
	uint8_t elem_bytes;
	struct commit_buf *commits;
	unsigned nr_commits;
	int cur; /* the commit buffer being filled, -1 if none */
	struct fetch_buf fetch[UBLK_BATCH_FETCHES];
};

struct ublk_batch *ublk_batch_create(const struct ublk_batch_config *cfg)
{
	struct ublk_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cfg = *cfg;
	b->cur = -1;
	b->elem_bytes = sizeof(struct ublk_elem_header);
	if (cfg->bufs) {
		b->flags |= UBLK_BATCH_F_HAS_BUF_ADDR;
		b->elem_bytes += sizeof(uint64_t);
	}
	for (unsigned i = 0; i < UBLK_BATCH_FETCHES; i++) {
		b->fetch[i].tags = aligned_alloc(4096, FETCH_BUF_BYTES);
		if (!b->fetch[i].tags) {
			ublk_batch_destroy(b);
			return NULL;
		}
	}
	return b;
}

void ublk_batch_destroy(struct ublk_batch *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->nr_commits; i++)
		free(b->commits[i].elems);
	free(b->commits);
	for (unsigned i = 0; i < UBLK_BATCH_FETCHES; i++)
		free(b->fetch[i].tags);
	free(b);
}

static int ring_setup(struct fetch_buf *f, struct io_uring *ring)
{
	int ret;

	/* Incremental: one buffer takes many fetch completions, each after the last. */
	f->br = io_uring_setup_buf_ring(ring, 1, f->bgid, IOU_PBUF_RING_INC, &ret);
	return f->br ? 0 : ret;
}

int ublk_batch_rings_setup(struct ublk_batch *b, struct io_uring *ring, unsigned bgid_base)
{
	for (unsigned i = 0; i < UBLK_BATCH_FETCHES; i++) {
		int ret;

		b->fetch[i].bgid = bgid_base + i;
		ret = ring_setup(&b->fetch[i], ring);
		if (ret < 0) {
			ublk_batch_rings_free(b, ring);
			return ret;
		}
	}
	return 0;
}

int ublk_batch_ring_reset(struct ublk_batch *b, struct io_uring *ring, unsigned i)
{
	struct fetch_buf *f = &b->fetch[i];

	io_uring_free_buf_ring(ring, f->br, 1, f->bgid);
	f->br = NULL;
	return ring_setup(f, ring);
}

void ublk_batch_rings_free(struct ublk_batch *b, struct io_uring *ring)
{
	for (unsigned i = 0; i < UBLK_BATCH_FETCHES; i++) {
		if (b->fetch[i].br)
			io_uring_free_buf_ring(ring, b->fetch[i].br, 1, b->fetch[i].bgid);
		b->fetch[i].br = NULL;
	}
}

static void batch_cmd(struct ublk_batch *b, struct io_uring_sqe *sqe, unsigned op, int fd,
		      uint16_t flags, uint8_t elem_bytes, uint16_t nr_elem)
{
	struct ublk_batch_io *cmd = (struct ublk_batch_io *)sqe->cmd;

	io_uring_prep_uring_cmd(sqe, op, fd);
	memset(cmd, 0, sizeof(*cmd));
	cmd->q_id = b->cfg.qid;
	cmd->flags = flags;
	cmd->elem_bytes = elem_bytes;
	cmd->nr_elem = nr_elem;
}

static void elem_fill(const struct ublk_batch *b, void *p, uint16_t tag, int32_t result)
{
	struct ublk_elem_header h = {
		.tag = tag,
		.buf_index = b->cfg.buf_index_base >= 0 ? b->cfg.buf_index_base + tag : 0,
		.result = result,
	};

	memcpy(p, &h, sizeof(h));
	if (b->flags & UBLK_BATCH_F_HAS_BUF_ADDR) {
		uint64_t addr = (uintptr_t)b->cfg.bufs + (uint64_t)tag * b->cfg.buf_stride;

		memcpy((char *)p + sizeof(h), &addr, sizeof(addr));
	}
}

/* A free commit buffer (one more if every one is still with the kernel). */
static int commit_buf_get(struct ublk_batch *b)
{
	struct commit_buf *n;
	unsigned i;

	for (i = 0; i < b->nr_commits; i++)
		if (!b->commits[i].in_flight)
			return i;
	n = realloc(b->commits, (i + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	b->commits = n;
	n[i] = (struct commit_buf){.elems = calloc(b->cfg.depth, b->elem_bytes)};
	if (!n[i].elems)
		return -ENOMEM;
	b->nr_commits++;
	return i;
}

void ublk_batch_prep_sqe(struct ublk_batch *b, struct io_uring_sqe *sqe, int fd)
{
	int id = commit_buf_get(b);
	struct commit_buf *c;

	if (id < 0) {
		/* Makes the prep fail with -EFAULT; its completion reports it. */
		batch_cmd(b, sqe, UBLK_U_IO_PREP_IO_CMDS, fd, b->flags, b->elem_bytes,
			  b->cfg.depth);
		sqe->addr = 0;
		sqe->len = 0;
		return;
	}
	c = &b->commits[id];
	for (unsigned t = 0; t < b->cfg.depth; t++)
		elem_fill(b, (char *)c->elems + t * b->elem_bytes, t, 0);
	batch_cmd(b, sqe, UBLK_U_IO_PREP_IO_CMDS, fd, b->flags, b->elem_bytes, b->cfg.depth);
	sqe->addr = (uintptr_t)c->elems;
	sqe->len = b->cfg.depth * b->elem_bytes;
	c->in_flight = true;
}

void ublk_batch_fetch_sqe(struct ublk_batch *b, struct io_uring_sqe *sqe, int fd, unsigned i)
{
	struct fetch_buf *f = &b->fetch[i];

	io_uring_buf_ring_add(f->br, f->tags, FETCH_BUF_BYTES, 0, 0, 0);
	io_uring_buf_ring_advance(f->br, 1);
	f->used = 0;
	batch_cmd(b, sqe, UBLK_U_IO_FETCH_IO_CMDS, fd, 0, sizeof(uint16_t), b->cfg.depth);
	sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = f->bgid;
}

int ublk_batch_fetched(struct ublk_batch *b, unsigned i, int res, const uint16_t **tags)
{
	struct fetch_buf *f = &b->fetch[i];

	if (res <= 0)
		return 0;
	if (res % sizeof(uint16_t) || (unsigned)res > FETCH_BUF_BYTES - f->used)
		return -EPROTO;
	*tags = f->tags + f->used / sizeof(uint16_t);
	f->used += res;
	return res / sizeof(uint16_t);
}

int ublk_batch_add(struct ublk_batch *b, uint16_t tag, int32_t result)
{
	struct commit_buf *c;

	if (b->cur < 0) {
		b->cur = commit_buf_get(b);
		if (b->cur < 0)
			return b->cur;
	}
	c = &b->commits[b->cur];
	/* Each tag is committed once per fetch: more than depth means a caller's bug. */
	if (c->nr >= b->cfg.depth)
		return -EOVERFLOW;
	elem_fill(b, (char *)c->elems + c->nr * b->elem_bytes, tag, result);
	c->nr++;
	return 0;
}

unsigned ublk_batch_elem_bytes(const struct ublk_batch *b)
{
	return b->elem_bytes;
}

unsigned ublk_batch_pending(const struct ublk_batch *b)
{
	return b->cur < 0 ? 0 : b->commits[b->cur].nr;
}

int ublk_batch_commit_sqe(struct ublk_batch *b, struct io_uring_sqe *sqe, int fd)
{
	int id = b->cur;
	struct commit_buf *c = &b->commits[id];

	batch_cmd(b, sqe, UBLK_U_IO_COMMIT_IO_CMDS, fd, b->flags, b->elem_bytes, c->nr);
	sqe->addr = (uintptr_t)c->elems;
	sqe->len = c->nr * b->elem_bytes;
	c->in_flight = true;
	b->cur = -1;
	return id;
}

int ublk_batch_commit_done(struct ublk_batch *b, unsigned id, unsigned *nr_elem)
{
	if (id >= b->nr_commits || !b->commits[id].in_flight)
		return -EINVAL;
	*nr_elem = b->commits[id].nr;
	b->commits[id].in_flight = false;
	b->commits[id].nr = 0;
	return 0;
}
