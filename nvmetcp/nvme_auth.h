/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_AUTH_H
#define NETUBLK_NVME_AUTH_H

/*
 * One DH-HMAC-CHAP transaction on a queue just connected (Authentication
 * Send and Receive on the blocking connection): negotiate, challenge,
 * reply, success1, and success2 when the controller is authenticated too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dhchap.h"

/* What the host proves and checks; from dhchap_secret and dhchap_ctrl_secret. */
struct nvme_auth_cfg {
	bool host_key_set, ctrl_key_set;
	struct dhchap_key host_key; /* proves the host (transformed with the host NQN) */
	struct dhchap_key ctrl_key; /* what the controller must prove (subsystem NQN) */
	unsigned hashes, groups;    /* offered: bit (1 << NVME_AUTH_*) */
};

/* How a queue was authenticated, for status. */
struct nvme_auth_info {
	bool done;
	bool bidirectional;
	uint8_t hash_id, group_id;
};

/* "DH-HMAC-CHAP sha256 ffdhe2048 bidirectional", "none" */
void nvme_auth_describe(const struct nvme_auth_info *ai, char *out, size_t out_len);

struct nvme_conn;
/*
 * Authenticates queue c. -EACCES when either side refused (err says which
 * and why), -EPROTO for a malformed message (a Failure2 went out), other
 * negative errnos for transport errors. Secrets never reach err.
 */
int nvme_auth_run(struct nvme_conn *c, const struct nvme_auth_cfg *cfg, const char *hostnqn,
		  const char *subnqn, struct nvme_auth_info *ai, char *err, size_t err_len);

#endif
