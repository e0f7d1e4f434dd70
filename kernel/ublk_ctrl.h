/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_CTRL_H
#define NETUBLK_UBLK_CTRL_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
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
	/*
	 * Devices are made with UBLK_F_UNPRIVILEGED_DEV (we lack CAP_SYS_ADMIN):
	 * the kernel allows them copy mode only, and no user recovery.
	 */
	bool unprivileged;
};

/* Opens the control device; on failure logs what the admin should do. */
int ublk_ctrl_open(struct ublk_ctrl *c);
void ublk_ctrl_close(struct ublk_ctrl *c);

/*
 * -EAGAIN: the kernel refused a privileged device and c->unprivileged is
 * now set; make the flags again (ublk_dev does) and retry.
 */
int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_del_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_set_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p);
int ublk_ctrl_get_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p);
int ublk_ctrl_start_dev(struct ublk_ctrl *c, uint32_t dev_id, int pid);
int ublk_ctrl_stop_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_get_info(struct ublk_ctrl *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info);
/* Also for another user's unprivileged device, where our access to its /dev/ublkcN allows. */
int ublk_ctrl_get_info2(struct ublk_ctrl *c, uint32_t dev_id, struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_update_size(struct ublk_ctrl *c, uint32_t dev_id, uint64_t sectors);
/* The CPUs that blk-mq maps to the device's queue q. */
int ublk_ctrl_get_queue_affinity(struct ublk_ctrl *c, uint32_t dev_id, unsigned q,
				 cpu_set_t *cpus);
int ublk_ctrl_start_recovery(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_end_recovery(struct ublk_ctrl *c, uint32_t dev_id, int pid);

#endif
