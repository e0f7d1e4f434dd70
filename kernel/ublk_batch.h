/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_BATCH_H
#define NETUBLK_UBLK_BATCH_H

/*
 * UBLK_F_BATCH_IO's command buffers for one device queue (Linux 7.0+):
 * one PREP_IO_CMDS readies every tag, a multishot FETCH_IO_CMDS hands
 * requests over as arrays of tags, and one COMMIT_IO_CMDS per loop turn
 * returns every result of that turn, instead of one COMMIT_AND_FETCH per
 * request. The kernel keeps one fetch active per queue and parks a second
 * one to take over when the first ends. Only buffers and their contents
 * here; the caller owns the ring, the file and the completions.
 */
#include <stdbool.h>
#include <stdint.h>

struct io_uring;
struct io_uring_sqe;
struct ublk_batch;

#define UBLK_BATCH_FETCHES 2

struct ublk_batch_config {
	unsigned qid, depth;
	/* Zero copy: tag t's pages are registered at buf_index_base + t. */
	int buf_index_base;
	/* Copy mode: tag t's buffer is at bufs + t * buf_stride. */
	void *bufs;
	size_t buf_stride;
};

struct ublk_batch *ublk_batch_create(const struct ublk_batch_config *cfg);
void ublk_batch_destroy(struct ublk_batch *b);

/* The provided-buffer rings the fetches write tags into, groups bgid_base and bgid_base + 1. */
int ublk_batch_rings_setup(struct ublk_batch *b, struct io_uring *ring, unsigned bgid_base);
/*
 * Fetch i's ring emptied of what its ended fetch left there (a part of
 * its buffer it may not have consumed), so that the next one starts afresh.
 */
int ublk_batch_ring_reset(struct ublk_batch *b, struct io_uring *ring, unsigned i);
void ublk_batch_rings_free(struct ublk_batch *b, struct io_uring *ring);

/* PREP_IO_CMDS for every tag of the queue. */
void ublk_batch_prep_sqe(struct ublk_batch *b, struct io_uring_sqe *sqe, int fd);
/* (Re)arms fetch i with its buffer empty again. */
void ublk_batch_fetch_sqe(struct ublk_batch *b, struct io_uring_sqe *sqe, int fd, unsigned i);
/*
 * Fetch i completed with res bytes of tags: *tags points at them, the
 * count is returned; -EPROTO if they do not fit the buffer.
 */
int ublk_batch_fetched(struct ublk_batch *b, unsigned i, int res, const uint16_t **tags);

/* A result to commit at the next flush; -ENOMEM if no buffer could be had. */
int ublk_batch_add(struct ublk_batch *b, uint16_t tag, int32_t result);
unsigned ublk_batch_elem_bytes(const struct ublk_batch *b);
unsigned ublk_batch_pending(const struct ublk_batch *b);
/*
 * COMMIT_IO_CMDS for everything added since the last one; returns the
 * buffer's id, to be handed to ublk_batch_commit_done with its completion
 * (the kernel may read the buffer as late as that).
 */
int ublk_batch_commit_sqe(struct ublk_batch *b, struct io_uring_sqe *sqe, int fd);
/* Bytes the commit of buffer id covered; the buffer is free again. */
int ublk_batch_commit_done(struct ublk_batch *b, unsigned id, unsigned *nr_elem);

#endif
