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

/*
 * Latency histogram: completions (errors too) by time from submission,
 * per class (read, write, other), in buckets whose upper bounds are
 * nu_lat_bound_us(b), the last one without a bound.
 */
#define NU_DEV_LAT_BUCKETS 17
enum { NU_LAT_READ, NU_LAT_WRITE, NU_LAT_OTHER, NU_LAT_CLASSES };

static inline uint32_t nu_lat_bound_us(unsigned b)
{
	static const uint32_t bound[NU_DEV_LAT_BUCKETS - 1] = {
		25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
		250000, 500000, 1000000, 5000000,
	};

	return b < NU_DEV_LAT_BUCKETS - 1 ? bound[b] : UINT32_MAX;
}

static inline unsigned nu_lat_bucket(uint64_t ns)
{
	unsigned b = 0;

	while (b < NU_DEV_LAT_BUCKETS - 1 && ns > nu_lat_bound_us(b) * 1000ull)
		b++;
	return b;
}

static inline unsigned nu_lat_class(unsigned op)
{
	return op == NU_OP_READ ? NU_LAT_READ : op == NU_OP_WRITE ? NU_LAT_WRITE : NU_LAT_OTHER;
}

/* Per-volume counters, bumped by queue threads without locks. */
struct nu_volume_stats {
	uint64_t ops[NU_OP_COUNT];
	uint64_t bytes[NU_OP_COUNT];
	uint64_t errors;
	uint64_t reads_copied_in; /* zero copy: small reads received with a batch, copied in */
	uint64_t started; /* submitted; minus completed: in flight */
	uint64_t lat[NU_LAT_CLASSES][NU_DEV_LAT_BUCKETS];
	uint64_t lat_sum_ns[NU_LAT_CLASSES];
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

static inline void nu_volume_stats_lat(struct nu_volume_stats *s, unsigned op, uint64_t ns)
{
	unsigned c = nu_lat_class(op);

	__atomic_fetch_add(&s->lat[c][nu_lat_bucket(ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->lat_sum_ns[c], ns, __ATOMIC_RELAXED);
}

#endif
