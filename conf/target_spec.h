/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TARGET_SPEC_H
#define NETUBLK_TARGET_SPEC_H

#include "discover.h"

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

#endif
