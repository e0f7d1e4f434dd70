/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_DEV_H
#define NETUBLK_UBLK_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include "ublk_ctrl.h"
#include "volume.h"

struct nu_host;
struct ublk_dev;

struct ublk_dev_config {
	int dev_id;	       /* -1: let the kernel choose */
	uint16_t depth;	       /* ublk tags per queue */
	uint32_t max_io_bytes; /* largest request */
	int data_mode;	       /* enum ublk_data_mode or UBLK_DM_BEST */
	bool recoverable;      /* outlives the server (UBLK_F_USER_RECOVERY) */
};

/*
 * Creates /dev/ublkbN for volume vol of host, served on every queue of the
 * host. On failure nothing is left behind and the reason is logged.
 */
int ublk_dev_create(struct ublk_ctrl *ctrl, struct nu_host *host, unsigned vol,
		    const struct nu_volume_geom *geom, const struct ublk_dev_config *cfg,
		    struct ublk_dev **out);
/*
 * Takes over /dev/ublkb<dev_id>, left by a netublkd that died, for volume
 * vol of host (START/END_USER_RECOVERY). The device is never deleted when
 * this fails: its users keep waiting for a server.
 */
int ublk_dev_recover(struct ublk_ctrl *ctrl, struct nu_host *host, unsigned vol, int dev_id,
		     uint32_t max_io_bytes, struct ublk_dev **out);
/* Stops and deletes the device: /dev/ublkbN and /dev/ublkcN go away. */
void ublk_dev_destroy(struct ublk_dev *d);

/* Tells the block layer the volume's new size (UBLK_U_CMD_UPDATE_SIZE). */
int ublk_dev_update_size(struct ublk_dev *d, uint64_t bytes);

int ublk_dev_id(const struct ublk_dev *d);
int ublk_dev_data_mode(const struct ublk_dev *d);
/*
 * Process-wide: where the host queue serving a device's queue q runs:
 * wherever the scheduler likes, on the CPUs blk-mq maps to q
 * (GET_QUEUE_AFFINITY), or apart from them, so that it never shares a CPU
 * with a submitter of its own requests (none left: wherever it likes).
 */
enum ublk_queue_placement { UBLK_QUEUE_ANY, UBLK_QUEUE_BLK_MQ, UBLK_QUEUE_APART };
void ublk_dev_set_queue_affinity(enum ublk_queue_placement placement);
/*
 * Whether devices made from now on use UBLK_F_BATCH_IO where the kernel
 * has it: always, never, or where their transport gains from it
 * (NU_TCAP_BATCH_IO) [auto].
 */
enum ublk_batch_policy { UBLK_BATCH_IO_AUTO, UBLK_BATCH_IO_ON, UBLK_BATCH_IO_OFF };
void ublk_dev_set_batch_io(enum ublk_batch_policy policy);
/* Waits for a new netublkd if this one dies (UBLK_F_USER_RECOVERY). */
bool ublk_dev_recoverable(const struct ublk_dev *d);
/* Made without CAP_SYS_ADMIN (UBLK_F_UNPRIVILEGED_DEV), owned by our user. */
bool ublk_dev_unprivileged(const struct ublk_dev *d);
unsigned ublk_dev_volume(const struct ublk_dev *d);

#endif
