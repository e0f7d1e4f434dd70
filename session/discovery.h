/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_SESSION_DISCOVERY_H
#define NETUBLK_SESSION_DISCOVERY_H

#include "conffile.h"

/*
 * Config-driven connect-all: every NVMe/TCP target section with
 * "discover = yes" is replaced by one target per NVMe subsystem its
 * discovery controller lists, named NAME-<crc32c of the NQN> (stable
 * across reloads). A discovery controller that cannot be read is logged
 * and contributes nothing until the next reload.
 */
void nu_conf_expand_discovery(struct nu_conf *c);

#endif
