/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_VOLUME_H
#define NETUBLK_VOLUME_H

#include <stdint.h>
#include <stdbool.h>

#include "io.h"

/* What a backend reports of one LUN or namespace; ublk params derive from it. */
struct nu_volume_geom {
	uint64_t size;	       /* bytes */
	uint32_t lbs;	       /* logical block size */
	uint32_t pbs;	       /* physical block size */
	uint32_t io_opt;       /* optimal I/O size in bytes, 0 if unknown */
	uint32_t max_transfer; /* bytes, 0: no limit of the backend's */
	uint32_t discard_granularity; /* bytes, 0: no discard */
	uint32_t max_discard;	      /* bytes per request */
	uint32_t max_write_zeroes;    /* bytes per request, 0: none */
	/* DMA limits of the backend's data path; 0: none of its own. */
	uint32_t dma_alignment;	   /* mask: 511 means 512-byte aligned buffers */
	uint32_t max_segment_size; /* bytes, at least 4096 */
	uint16_t max_segments;
	bool read_only;
	bool volatile_cache; /* needs FLUSH */
	bool fua;
	bool rotational;
};

/* Per-volume counters, bumped by queue threads without locks. */
struct nu_volume_stats {
	uint64_t ops[NU_OP_COUNT];
	uint64_t bytes[NU_OP_COUNT];
	uint64_t errors;
};

static inline void nu_volume_stats_add(struct nu_volume_stats *s, unsigned op, uint64_t bytes,
				       int res)
{
	if (res < 0) {
		__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&s->ops[op], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes[op], bytes, __ATOMIC_RELAXED);
}

#endif
