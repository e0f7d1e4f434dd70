/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TARGET_SPEC_H
#define NETUBLK_TARGET_SPEC_H

#include "discover.h"
#include "nvme_config.h"

/*
 * An iSCSI target on one line: "portal=127.0.0.1:3260,target=iqn....,
 * chap_user=u,chap_secret=s,header_digest=crc32c". The keys are those of
 * the config file's target sections. Returns 0, or -EINVAL with err saying
 * which key is wrong.
 */
int nu_iscsi_spec_parse(const char *spec, struct iscsi_target_config *t, char *err,
			unsigned err_len);
/* One key of a target section; shared with the config file parser. */
int nu_iscsi_key_set(struct iscsi_target_config *t, const char *key, const char *val, char *err,
		     unsigned err_len);

/*
 * An NVMe/TCP subsystem on one line: "address=127.0.0.1:4420,subsystem=nqn...,
 * header_digest=crc32c". Keys as in the config file's NVMe target sections.
 */
int nu_nvme_spec_parse(const char *spec, struct nvme_target_config *t, char *err,
		       unsigned err_len);
int nu_nvme_key_set(struct nvme_target_config *t, const char *key, const char *val, char *err,
		    unsigned err_len);
/* What an NVMe target needs before it can be used. */
int nu_nvme_check(const struct nvme_target_config *t, char *err, unsigned err_len);

#endif
