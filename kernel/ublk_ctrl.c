// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ublk_ctrl.h"
#include "ublk_features.h"
#include "log.h"

#define UBLK_CONTROL "/dev/ublk-control"
#define CDEV_PATH_MAX 32

/*
 * An unprivileged device is addressed by its char device's path too: the
 * kernel checks our access to /dev/ublkcN. The path leads the buffer,
 * the command's own data follows it.
 */
static int ctrl_cmd(struct ublk_ctrl *c, unsigned cmd_op, uint32_t dev_id, void *buf,
		    uint16_t len, uint64_t data)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct ublksrv_ctrl_cmd *cmd;
	char pathbuf[CDEV_PATH_MAX + 512];
	uint16_t path_len = 0;
	int ret;

	if ((c->unprivileged && cmd_op != UBLK_U_CMD_ADD_DEV &&
	     cmd_op != UBLK_U_CMD_GET_FEATURES) ||
	    cmd_op == UBLK_U_CMD_GET_DEV_INFO2) {
		path_len = snprintf(pathbuf, CDEV_PATH_MAX, "/dev/ublkc%u", dev_id) + 1;
		if (len > sizeof(pathbuf) - path_len)
			return -E2BIG;
		if (len)
			memcpy(pathbuf + path_len, buf, len);
	}
	pthread_mutex_lock(&c->lock);
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe) {
		ret = -EBUSY;
		goto out;
	}
	io_uring_prep_uring_cmd(sqe, cmd_op, c->fd);
	cmd = (struct ublksrv_ctrl_cmd *)sqe->cmd;
	memset(cmd, 0, sizeof(*cmd));
	cmd->dev_id = dev_id;
	cmd->queue_id = (uint16_t)-1;
	cmd->addr = (uint64_t)(uintptr_t)(path_len ? pathbuf : buf);
	cmd->len = len + path_len;
	cmd->dev_path_len = path_len;
	cmd->data[0] = data;
	ret = io_uring_submit(&c->ring);
	if (ret < 0)
		goto out;
	do {
		ret = io_uring_wait_cqe(&c->ring, &cqe);
	} while (ret == -EINTR);
	if (ret < 0)
		goto out;
	ret = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	if (path_len && len && ret >= 0)
		memcpy(buf, pathbuf + path_len, len);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ublk_ctrl_open(struct ublk_ctrl *c)
{
	char feat[512];
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = open(UBLK_CONTROL, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
			nu_err("%s is missing: the kernel's ublk driver is not loaded "
			       "(run 'modprobe ublk_drv'; it needs CONFIG_BLK_DEV_UBLK)",
			       UBLK_CONTROL);
		else if (ret == -EACCES || ret == -EPERM)
			nu_err("cannot open %s: permission denied (run as root, or with "
			       "CAP_SYS_ADMIN and access to the device)",
			       UBLK_CONTROL);
		else
			nu_err("cannot open %s: %s", UBLK_CONTROL, strerror(-ret));
		return ret;
	}
	ret = io_uring_queue_init(4, &c->ring, IORING_SETUP_SQE128);
	if (ret < 0) {
		nu_err("io_uring with 128-byte SQEs is unavailable (%s): ublk needs Linux 6.0 or "
		       "newer with io_uring enabled%s",
		       strerror(-ret),
		       ret == -ENOSYS || ret == -EPERM ?
			       "; in a container, its seccomp profile may refuse io_uring (podman "
			       "and docker do by default: see the README's container section)" :
			       "");
		close(c->fd);
		return ret;
	}
	pthread_mutex_init(&c->lock, NULL);
	ret = ctrl_cmd(c, UBLK_U_CMD_GET_FEATURES, 0, &c->features, sizeof(c->features), 0);
	if (ret < 0 || !(c->features & UBLK_F_CMD_IOCTL_ENCODE)) {
		nu_err("this kernel's ublk driver is too old (no GET_FEATURES or ioctl-encoded "
		       "commands: %s); netublk needs Linux 6.5 or newer",
		       ret < 0 ? strerror(-ret) : "missing flag");
		ublk_ctrl_close(c);
		return ret < 0 ? ret : -EOPNOTSUPP;
	}
	ublk_features_format(c->features, feat, sizeof(feat));
	nu_info("ublk features 0x%llx: %s", (unsigned long long)c->features, feat);
	return 0;
}

void ublk_ctrl_close(struct ublk_ctrl *c)
{
	if (c->fd < 0)
		return;
	io_uring_queue_exit(&c->ring);
	close(c->fd);
	c->fd = -1;
	pthread_mutex_destroy(&c->lock);
}

int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info)
{
	int ret;

	if (c->unprivileged)
		info->flags |= UBLK_F_UNPRIVILEGED_DEV;
	ret = ctrl_cmd(c, UBLK_U_CMD_ADD_DEV, info->dev_id, info, sizeof(*info), 0);
	if (ret == -EPERM && !c->unprivileged && (c->features & UBLK_F_UNPRIVILEGED_DEV)) {
		/*
		 * No CAP_SYS_ADMIN (in the initial user namespace): the caller
		 * must remake its flags for an unprivileged device and retry.
		 */
		nu_warn("no CAP_SYS_ADMIN: making unprivileged ublk devices from now on (copy "
			"mode only, no recovery after a crash)");
		c->unprivileged = true;
		return -EAGAIN;
	}
	if (ret == -EPERM)
		nu_err("ADD_DEV: permission denied: run as root, or give the user %s and a kernel "
		       "with UBLK_F_UNPRIVILEGED_DEV",
		       UBLK_CONTROL);
	return ret;
}

int ublk_ctrl_del_dev(struct ublk_ctrl *c, uint32_t dev_id)
{
	return ctrl_cmd(c, UBLK_U_CMD_DEL_DEV, dev_id, NULL, 0, 0);
}

int ublk_ctrl_set_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p)
{
	p->len = sizeof(*p);
	return ctrl_cmd(c, UBLK_U_CMD_SET_PARAMS, dev_id, p, sizeof(*p), 0);
}

int ublk_ctrl_get_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p)
{
	p->len = sizeof(*p);
	return ctrl_cmd(c, UBLK_U_CMD_GET_PARAMS, dev_id, p, sizeof(*p), 0);
}

int ublk_ctrl_start_dev(struct ublk_ctrl *c, uint32_t dev_id, int pid)
{
	return ctrl_cmd(c, UBLK_U_CMD_START_DEV, dev_id, NULL, 0, pid);
}

int ublk_ctrl_stop_dev(struct ublk_ctrl *c, uint32_t dev_id)
{
	return ctrl_cmd(c, UBLK_U_CMD_STOP_DEV, dev_id, NULL, 0, 0);
}

int ublk_ctrl_get_info(struct ublk_ctrl *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info)
{
	return ctrl_cmd(c, UBLK_U_CMD_GET_DEV_INFO, dev_id, info, sizeof(*info), 0);
}

int ublk_ctrl_get_info2(struct ublk_ctrl *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info)
{
	return ctrl_cmd(c, UBLK_U_CMD_GET_DEV_INFO2, dev_id, info, sizeof(*info), 0);
}

int ublk_ctrl_update_size(struct ublk_ctrl *c, uint32_t dev_id, uint64_t sectors)
{
	if (!(c->features & UBLK_F_UPDATE_SIZE))
		return -EOPNOTSUPP;
	return ctrl_cmd(c, UBLK_U_CMD_UPDATE_SIZE, dev_id, NULL, 0, sectors);
}

int ublk_ctrl_get_queue_affinity(struct ublk_ctrl *c, uint32_t dev_id, unsigned q,
				 cpu_set_t *cpus)
{
	CPU_ZERO(cpus);
	return ctrl_cmd(c, UBLK_U_CMD_GET_QUEUE_AFFINITY, dev_id, cpus, sizeof(*cpus), q);
}

int ublk_ctrl_start_recovery(struct ublk_ctrl *c, uint32_t dev_id)
{
	return ctrl_cmd(c, UBLK_U_CMD_START_USER_RECOVERY, dev_id, NULL, 0, 0);
}

int ublk_ctrl_end_recovery(struct ublk_ctrl *c, uint32_t dev_id, int pid)
{
	return ctrl_cmd(c, UBLK_U_CMD_END_USER_RECOVERY, dev_id, NULL, 0, pid);
}
