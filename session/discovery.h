/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_SESSION_DISCOVERY_H
#define NETUBLK_SESSION_DISCOVERY_H

#include <stdbool.h>
#include <stdio.h>

#include "conffile.h"

/*
 * Config-driven connect-all: every NVMe/TCP target section with
 * "discover = yes" is replaced by one target per NVMe subsystem its
 * discovery controller lists, named NAME-<crc32c of the NQN> (stable
 * across reloads). A discovery controller that cannot be read is logged
 * and contributes nothing until the next reload.
 */
void nu_conf_expand_discovery(struct nu_conf *c);

/*
 * Asks what a portal (kind "iscsi": SendTargets) or a discovery controller
 * (kind "nvme": the discovery log page) offers, one line per record to
 * out. SPEC is the --iscsi/--nvme syntax without a target name. Returns
 * the records printed, or -errno with err filled (*bad_spec: the kind or
 * the spec itself was wrong).
 */
int nu_discover(const char *kind, const char *spec, FILE *out, bool *bad_spec, char *err,
		unsigned err_len);

#endif
