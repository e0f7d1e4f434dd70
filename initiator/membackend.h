/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_MEMBACKEND_H
#define NETUBLK_MEMBACKEND_H

#include <stdint.h>
#include "transport.h"
#include "volume.h"

/*
 * TEST BACKEND. RAM-backed volumes (one memfd each), served through the
 * queue rings with the same tag/zero-copy plumbing as the network
 * transports. For self-tests and for measuring netublk's own overhead;
 * nothing here survives the process.
 */
struct nu_mem_backend;

extern const struct nu_transport_ops nu_mem_transport;

struct nu_mem_backend *nu_mem_create(const uint64_t *sizes, unsigned nr, uint32_t lbs);
void nu_mem_destroy(struct nu_mem_backend *b);
unsigned nu_mem_nr_volumes(const struct nu_mem_backend *b);
void nu_mem_geom(const struct nu_mem_backend *b, unsigned vol, struct nu_volume_geom *g);

#endif
