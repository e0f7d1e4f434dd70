/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_QDEV_H
#define NETUBLK_UBLK_QDEV_H

/* Between ublk_dev.c (control thread) and ublk_qdev.c (queue thread). */
#include <stdbool.h>
#include <stdint.h>

struct ublk_dev;
struct ublk_qdev;
struct nu_queue;

struct ublk_qdev_config {
	struct ublk_dev *dev;
	unsigned dev_id;
	unsigned qid;
	unsigned depth;
	unsigned vol;
	int mode;
	int cdev_fd;
	uint32_t max_io_bytes;
	/* Zero copy with ublk's user copy beside it: small reads are copied in (ublk_qdev.c). */
	bool copy_in;
	/* The device has UBLK_F_BATCH_IO: batched prep, fetch and commit (ublk_batch.h). */
	bool batch;
};

struct ublk_qdev *ublk_qdev_create(const struct ublk_qdev_config *cfg);
void ublk_qdev_destroy(struct ublk_qdev *qd);
/* On the queue thread (through nu_queue_call): join the ring, fetch every tag. */
int ublk_qdev_attach(struct nu_queue *q, void *qd);
/* On the queue thread, once every tag was aborted: leave the ring. */
int ublk_qdev_detach(struct nu_queue *q, void *qd);

/* Called on the queue thread when the last tag of a queue is aborted. */
void ublk_dev_qdev_gone(struct ublk_dev *d);

#endif
