/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UBLK_PARAMS_H
#define NETUBLK_UBLK_PARAMS_H

#include <linux/ublk_cmd.h>
#include "volume.h"

/*
 * ublk parameters for a volume: basic limits, discard when the backend
 * has it. max_io_bytes is the server's per-request buffer size.
 * Returns -EINVAL, with *why set, for a geometry the block layer refuses.
 */
int ublk_params_from_geom(const struct nu_volume_geom *g, uint32_t max_io_bytes,
			  struct ublk_params *p, const char **why);

#endif
