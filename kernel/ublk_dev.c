// SPDX-License-Identifier: MIT
/* Life of one ublk device, on the control thread: add, start, stop, delete. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ublk_dev.h"
#include "ublk_node.h"
#include "ublk_features.h"
#include "ublk_params.h"
#include "ublk_qdev.h"
#include "fault.h"
#include "host.h"
#include "log.h"
#include "queue.h"

#define CDEV_WAIT_MS 3000
#define CDEV_WAIT_UNPRIV_MS 15000
#define CDEV_MKNOD_AFTER_MS 200
#define BDEV_WAIT_MS 500
#define STOP_WAIT_MS 30000

struct ublk_dev {
	struct ublk_ctrl *ctrl;
	struct nu_host *host;
	unsigned vol;
	struct ublksrv_ctrl_dev_info info;
	int mode;
	int cdev_fd;
	bool added;
	bool made_cdev, made_bdev; /* we made their nodes (no devtmpfs): we remove them */
	unsigned nr_queues;
	struct ublk_qdev **qdevs;
	bool *attached;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned nr_live_queues;
};

int ublk_dev_id(const struct ublk_dev *d)
{
	return d->info.dev_id;
}

bool ublk_dev_recoverable(const struct ublk_dev *d)
{
	return d->info.flags & UBLK_F_USER_RECOVERY;
}

bool ublk_dev_unprivileged(const struct ublk_dev *d)
{
	return d->info.flags & UBLK_F_UNPRIVILEGED_DEV;
}

int ublk_dev_data_mode(const struct ublk_dev *d)
{
	return d->mode;
}

unsigned ublk_dev_volume(const struct ublk_dev *d)
{
	return d->vol;
}

void ublk_dev_qdev_gone(struct ublk_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->nr_live_queues--;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static int open_cdev(struct ublk_dev *d)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/ublkc%u", d->info.dev_id);
	/*
	 * devtmpfs creates the node right after ADD_DEV, udev may still be
	 * relabelling it, or (unprivileged) giving it to us.
	 */
	int wait_ms = d->ctrl->unprivileged ? CDEV_WAIT_UNPRIV_MS : CDEV_WAIT_MS;
	int made = 0; /* making the node: its result, once tried */

	for (int waited = 0; waited < wait_ms; waited += 10) {
		d->cdev_fd = open(path, O_RDWR | O_CLOEXEC);
		if (d->cdev_fd >= 0)
			return 0;
		if (errno != ENOENT && errno != EACCES)
			break;
		/* devtmpfs makes it at ADD_DEV: still missing, this /dev has none (a container). */
		if (errno == ENOENT && waited == CDEV_MKNOD_AFTER_MS && !d->made_cdev) {
			made = ublk_node_ensure(UBLK_NODE_CHAR, d->info.dev_id, &d->made_cdev);
			errno = ENOENT;
		}
		usleep(10000);
	}
	if (errno == EACCES && d->ctrl->unprivileged)
		nu_err("cannot open %s: permission denied: an unprivileged netublkd needs udev to "
		       "give each device to its owner (install conf/90-netublk.rules)",
		       path);
	else if (made)
		nu_err("cannot open %s: %s, and no devtmpfs made it: making it failed too: %s%s",
		       path, strerror(ENOENT), strerror(-made),
		       made == -EPERM ? ublk_node_eperm_hint() : "");
	else
		nu_err("cannot open %s: %s", path, strerror(errno));
	return made ? made : -errno;
}

/* The block node, made if no devtmpfs shows it soon (a container's own /dev). */
static void block_node(struct ublk_dev *d)
{
	int ret = ublk_node_wait(UBLK_NODE_BLOCK, d->info.dev_id, BDEV_WAIT_MS, &d->made_bdev);

	if (ret)
		nu_warn("/dev/ublkb%u is missing and cannot be made: %s%s", d->info.dev_id,
			strerror(-ret), ret == -EPERM ? ublk_node_eperm_hint() : "");
}

/* Waits until every queue saw all its tags aborted, after STOP_DEV. */
static bool wait_queues_gone(struct ublk_dev *d, int timeout_ms)
{
	struct timespec ts;
	bool gone;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (d->nr_live_queues) {
		if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
			break;
	}
	gone = !d->nr_live_queues;
	pthread_mutex_unlock(&d->lock);
	return gone;
}

static void teardown(struct ublk_dev *d, bool started)
{
	int ret;

	if (d->nr_live_queues || started) {
		ret = ublk_ctrl_stop_dev(d->ctrl, d->info.dev_id);
		if (ret < 0)
			nu_warn("ublk%u: STOP_DEV: %s", d->info.dev_id, strerror(-ret));
		if (!wait_queues_gone(d, STOP_WAIT_MS))
			nu_err("ublk%u: queues did not release their tags after STOP_DEV",
			       d->info.dev_id);
	}
	for (unsigned i = 0; i < d->nr_queues; i++) {
		if (d->attached[i]) {
			ret = nu_queue_call(nu_host_queue(d->host, i), ublk_qdev_detach,
					    d->qdevs[i]);
			if (ret == 0 || ret == -ESHUTDOWN)
				d->attached[i] = false;
		}
	}
	for (unsigned i = 0; i < d->nr_queues; i++) {
		/* A queue still holding the device keeps its memory; better a leak than a crash. */
		if (!d->attached[i])
			ublk_qdev_destroy(d->qdevs[i]);
	}
	if (d->cdev_fd >= 0)
		close(d->cdev_fd);
	if (d->added) {
		ret = ublk_ctrl_del_dev(d->ctrl, d->info.dev_id);
		if (ret < 0)
			nu_err("ublk%u: DEL_DEV: %s%s", d->info.dev_id, strerror(-ret),
			       ret == -ENOENT && d->ctrl->unprivileged ?
				       " (the kernel finds an unprivileged device by its "
				       "/dev/ublkcN, which this /dev lacks)" :
				       "");
		if (d->made_cdev)
			ublk_node_remove(UBLK_NODE_CHAR, d->info.dev_id);
		if (d->made_bdev)
			ublk_node_remove(UBLK_NODE_BLOCK, d->info.dev_id);
		if (!ret)
			nu_info("ublk%u: deleted", d->info.dev_id);
	}
	free(d->qdevs);
	free(d->attached);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

static const char *batch_note(const struct ublk_dev *d)
{
	return d->info.flags & UBLK_F_BATCH_IO ? ", batch I/O" : "";
}

static enum ublk_queue_placement queue_placement;
static enum ublk_batch_policy batch_io;

void ublk_dev_set_batch_io(enum ublk_batch_policy policy)
{
	batch_io = policy;
}

static bool use_batch_io(unsigned caps)
{
	return batch_io == UBLK_BATCH_IO_ON ||
	       (batch_io == UBLK_BATCH_IO_AUTO && (caps & NU_TCAP_BATCH_IO));
}

void ublk_dev_set_queue_affinity(enum ublk_queue_placement placement)
{
	queue_placement = placement;
}

/* The CPUs that are not in cpus. */
static void cpus_invert(cpu_set_t *cpus)
{
	for (unsigned c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, cpus))
			CPU_CLR(c, cpus);
		else
			CPU_SET(c, cpus);
	}
}

/*
 * The host queue serving the device's queue q runs on the CPUs blk-mq gives
 * q, or on the others: there the scheduler cannot pull it onto the CPU of
 * the application that woke it, and the two run side by side.
 */
static void place_queue(struct ublk_dev *d, unsigned q)
{
	cpu_set_t cpus;
	int ret;

	if (queue_placement == UBLK_QUEUE_ANY)
		return;
	ret = ublk_ctrl_get_queue_affinity(d->ctrl, d->info.dev_id, q, &cpus);
	if (!ret) {
		if (queue_placement == UBLK_QUEUE_APART)
			cpus_invert(&cpus);
		ret = nu_queue_set_cpus(nu_host_queue(d->host, q), &cpus);
	}
	if (ret)
		nu_dbg("ublk%u: queue %u keeps its CPUs: %s", d->info.dev_id, q, strerror(-ret));
	else
		nu_dbg("ublk%u: queue %u on %d CPU(s) %s its blk-mq map", d->info.dev_id, q,
		       CPU_COUNT(&cpus), queue_placement == UBLK_QUEUE_APART ? "outside" : "of");
}

static int attach_queues(struct ublk_dev *d, const struct ublk_dev_config *cfg)
{
	for (unsigned i = 0; i < d->nr_queues; i++) {
		struct ublk_qdev_config qc = {
			.dev = d,
			.dev_id = d->info.dev_id,
			.qid = i,
			.depth = d->info.queue_depth,
			.vol = d->vol,
			.mode = d->mode,
			.cdev_fd = d->cdev_fd,
			.max_io_bytes = cfg->max_io_bytes,
			.copy_in = d->mode == UBLK_DM_AUTO_ZC && (d->info.flags & UBLK_F_USER_COPY),
			.batch = d->info.flags & UBLK_F_BATCH_IO,
		};
		int ret;

		d->qdevs[i] = ublk_qdev_create(&qc);
		if (!d->qdevs[i])
			return -ENOMEM;
		place_queue(d, i);
		ret = nu_queue_call(nu_host_queue(d->host, i), ublk_qdev_attach, d->qdevs[i]);
		if (ret < 0)
			return ret;
		d->attached[i] = true;
		pthread_mutex_lock(&d->lock);
		d->nr_live_queues++;
		pthread_mutex_unlock(&d->lock);
	}
	return 0;
}

/* ADD_DEV with the best flags the kernel allows this process. */
static int add_dev(struct ublk_dev *d, const struct ublk_dev_config *cfg)
{
	const struct nu_transport_ops *ops = nu_host_transport(d->host);
	unsigned caps = ops->host_caps ? ops->host_caps(nu_host_transport_priv(d->host)) : ops->caps;
	uint64_t features = d->ctrl->features;
	const char *why;
	int ret;

	for (int tries = 0; tries < 2; tries++) {
		/* An unprivileged device may neither register nor read the request's pages. */
		if (d->ctrl->unprivileged)
			features &=
				~(UBLK_F_AUTO_BUF_REG | UBLK_F_USER_COPY | UBLK_F_USER_RECOVERY |
				  UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_BATCH_IO);
		ret = ublk_pick_data_mode(features, caps, cfg->data_mode, &d->mode, &why);
		if (ret < 0) {
			nu_err("data mode %s is not available: %s%s",
			       ublk_data_mode_name(cfg->data_mode), why,
			       d->ctrl->unprivileged ? " (unprivileged devices have copy mode only)" :
						       "");
			return ret;
		}
		d->info.nr_hw_queues = d->nr_queues;
		d->info.queue_depth = cfg->depth;
		d->info.max_io_buf_bytes = cfg->max_io_bytes;
		d->info.dev_id = cfg->dev_id < 0 ? (uint32_t)-1 : (uint32_t)cfg->dev_id;
		d->info.flags = ublk_data_mode_flags(d->mode);
		/* Small reads copied in by user copy, where the transport gains (ublk_qdev.c). */
		if (d->mode == UBLK_DM_AUTO_ZC && (caps & NU_TCAP_COPY_IN))
			d->info.flags |= features & UBLK_F_USER_COPY;
		/* Requests fetched and committed in batches where the kernel can (ublk_batch.h). */
		if (use_batch_io(caps))
			d->info.flags |= features & UBLK_F_BATCH_IO;
		/* Live resize when the target's capacity changes, where the kernel can. */
		d->info.flags |= features & UBLK_F_UPDATE_SIZE;
		/*
		 * The device outlives netublkd: if it dies, I/O waits (and what was
		 * in flight is reissued) until a new netublkd recovers the device.
		 */
		if (cfg->recoverable)
			d->info.flags |=
				features & (UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE);
		ret = ublk_ctrl_add_dev(d->ctrl, &d->info);
		if (ret != -EAGAIN)
			break;
	}
	if (ret < 0)
		nu_err("ADD_DEV failed: %s", strerror(-ret));
	return ret;
}

/* A device object with a slot per queue of host, not yet known to the kernel. */
static struct ublk_dev *dev_alloc(struct ublk_ctrl *ctrl, struct nu_host *host, unsigned vol)
{
	struct ublk_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->ctrl = ctrl;
	d->host = host;
	d->vol = vol;
	d->cdev_fd = -1;
	d->nr_queues = nu_host_nr_queues(host);
	d->qdevs = calloc(d->nr_queues, sizeof(*d->qdevs));
	d->attached = calloc(d->nr_queues, sizeof(*d->attached));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (!d->qdevs || !d->attached) {
		teardown(d, false);
		return NULL;
	}
	return d;
}

int ublk_dev_create(struct ublk_ctrl *ctrl, struct nu_host *host, unsigned vol,
		    const struct nu_volume_geom *geom, const struct ublk_dev_config *cfg,
		    struct ublk_dev **out)
{
	struct ublk_params params;
	struct ublk_dev *d;
	const char *why;
	int ret;

	*out = NULL;
	if (!cfg->depth || cfg->depth > UBLK_MAX_QUEUE_DEPTH) {
		nu_err("queue depth %u is out of range 1..%u", cfg->depth, UBLK_MAX_QUEUE_DEPTH);
		return -EINVAL;
	}
	ret = ublk_params_from_geom(geom, cfg->max_io_bytes, &params, &why);
	if (ret < 0) {
		nu_err("volume %u of %s: %s", vol, nu_host_name(host), why);
		return ret;
	}
	d = dev_alloc(ctrl, host, vol);
	if (!d)
		return -ENOMEM;

	ret = add_dev(d, cfg);
	if (ret < 0) {
		teardown(d, false);
		return ret;
	}
	d->added = true;
	/* First: an unprivileged device's commands need our access to its node. */
	ret = open_cdev(d);
	if (ret < 0)
		goto fail;

	ret = ublk_ctrl_set_params(ctrl, d->info.dev_id, &params);
	if (ret == -EINVAL && (params.types & (UBLK_PARAM_TYPE_DMA_ALIGN | UBLK_PARAM_TYPE_SEGMENT))) {
		/* Kernels before 6.15 know neither parameter type: the defaults must do. */
		nu_info("ublk%u: kernel refuses DMA/segment parameters, using its defaults",
			d->info.dev_id);
		params.types &= ~(UBLK_PARAM_TYPE_DMA_ALIGN | UBLK_PARAM_TYPE_SEGMENT);
		ret = ublk_ctrl_set_params(ctrl, d->info.dev_id, &params);
	}
	if (ret < 0) {
		nu_err("ublk%u: SET_PARAMS failed: %s", d->info.dev_id, strerror(-ret));
		goto fail;
	}
	ret = attach_queues(d, cfg);
	if (ret < 0)
		goto fail;
	ret = nu_fault("start_dev") ? -EIO : ublk_ctrl_start_dev(ctrl, d->info.dev_id, getpid());
	if (ret < 0) {
		nu_err("ublk%u: START_DEV failed: %s", d->info.dev_id, strerror(-ret));
		goto fail;
	}
	ret = ublk_ctrl_get_info(ctrl, d->info.dev_id, &d->info);
	if (ret < 0 || d->info.state != UBLK_S_DEV_LIVE) {
		nu_err("ublk%u: not live after START_DEV (state %u): %s", d->info.dev_id,
		       d->info.state, ret < 0 ? strerror(-ret) : "unexpected state");
		ret = ret < 0 ? ret : -EIO;
		teardown(d, true);
		return ret;
	}
	block_node(d);
	nu_info("/dev/ublkb%u: volume %u of %s, %llu bytes, %u-byte blocks, %u queues x %u, "
		"data mode %s%s",
		d->info.dev_id, vol, nu_host_name(host), (unsigned long long)geom->size, geom->lbs,
		d->nr_queues, cfg->depth, ublk_data_mode_name(d->mode), batch_note(d));
	*out = d;
	return 0;
fail:
	teardown(d, false);
	return ret;
}

int ublk_dev_recover(struct ublk_ctrl *ctrl, struct nu_host *host, unsigned vol, int dev_id,
		     uint32_t max_io_bytes, struct ublk_dev **out)
{
	struct ublk_dev_config cfg = { .dev_id = dev_id, .max_io_bytes = max_io_bytes };
	struct ublk_dev *d;
	int ret;

	*out = NULL;
	d = dev_alloc(ctrl, host, vol);
	if (!d)
		return -ENOMEM;
	ret = ublk_ctrl_get_info(ctrl, dev_id, &d->info);
	if (ret < 0 || !(d->info.flags & UBLK_F_USER_RECOVERY) ||
	    d->info.nr_hw_queues != d->nr_queues) {
		nu_warn("ublkb%d cannot be recovered (%s)", dev_id,
			ret < 0 ? strerror(-ret) :
			!(d->info.flags & UBLK_F_USER_RECOVERY) ? "made without recovery" :
								  "other queue count");
		ret = ret < 0 ? ret : -EINVAL;
		goto fail;
	}
	d->mode = d->info.flags & UBLK_F_AUTO_BUF_REG ? UBLK_DM_AUTO_ZC :
		  d->info.flags & UBLK_F_USER_COPY     ? UBLK_DM_USER_COPY :
							 UBLK_DM_COPY;
	cfg.depth = d->info.queue_depth;
	cfg.max_io_bytes = d->info.max_io_buf_bytes;
	/* The old server's queues must be gone before the kernel lets us in. */
	for (int waited = 0;; waited += 100) {
		ret = ublk_ctrl_start_recovery(ctrl, dev_id);
		if (ret != -EBUSY || waited >= 10000)
			break;
		usleep(100000);
	}
	if (ret < 0) {
		nu_err("ublkb%d: START_USER_RECOVERY: %s", dev_id, strerror(-ret));
		goto fail;
	}
	ret = open_cdev(d);
	if (!ret)
		ret = attach_queues(d, &cfg);
	if (!ret)
		ret = ublk_ctrl_end_recovery(ctrl, dev_id, getpid());
	if (ret < 0) {
		nu_err("ublkb%d: recovery failed: %s", dev_id, strerror(-ret));
		/* Half recovered: release the tags (STOP_DEV), still never DEL_DEV. */
		teardown(d, true);
		return ret;
	}
	d->added = true;
	block_node(d);
	nu_info("/dev/ublkb%d: recovered for volume %u of %s, data mode %s%s", dev_id, vol,
		nu_host_name(host), ublk_data_mode_name(d->mode), batch_note(d));
	*out = d;
	return 0;
fail:
	/* Never delete a device we could not recover: its users keep waiting for it. */
	teardown(d, false);
	return ret;
}

int ublk_dev_update_size(struct ublk_dev *d, uint64_t bytes)
{
	int ret = ublk_ctrl_update_size(d->ctrl, d->info.dev_id, bytes >> 9);

	if (ret == -EOPNOTSUPP)
		nu_warn("ublkb%u: this kernel cannot resize a ublk device (no UPDATE_SIZE); "
			"the new size shows after the device is recreated",
			d->info.dev_id);
	else if (ret < 0)
		nu_err("ublkb%u: UPDATE_SIZE: %s", d->info.dev_id, strerror(-ret));
	else
		nu_info("ublkb%u: resized to %llu bytes", d->info.dev_id,
			(unsigned long long)bytes);
	return ret;
}

void ublk_dev_destroy(struct ublk_dev *d)
{
	if (d)
		teardown(d, true);
}
