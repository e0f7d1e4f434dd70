/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_CTRL_H
#define NETUBLK_UBLK_CTRL_H

#include <pthread.h>
#include <stdint.h>
#include <liburing.h>
#include <linux/ublk_cmd.h>

/*
 * /dev/ublk-control, driven with ioctl-encoded URING_CMDs on a small
 * private ring. Thread-safe: commands are serialised.
 */
struct ublk_ctrl {
	int fd;
	struct io_uring ring;
	pthread_mutex_t lock;
	uint64_t features;
};

/* Opens the control device; on failure logs what the admin should do. */
int ublk_ctrl_open(struct ublk_ctrl *c);
void ublk_ctrl_close(struct ublk_ctrl *c);

int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_del_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_set_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p);
int ublk_ctrl_get_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p);
int ublk_ctrl_start_dev(struct ublk_ctrl *c, uint32_t dev_id, int pid);
int ublk_ctrl_stop_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_get_info(struct ublk_ctrl *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_update_size(struct ublk_ctrl *c, uint32_t dev_id, uint64_t sectors);
int ublk_ctrl_start_recovery(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_end_recovery(struct ublk_ctrl *c, uint32_t dev_id, int pid);

#endif
