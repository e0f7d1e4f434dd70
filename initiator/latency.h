/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_LATENCY_H
#define NETUBLK_LATENCY_H

#include <stdint.h>

/*
 * Log-linear latency histogram: exact below 128 ns, then 64 buckets per
 * power of two (under 1.6 % error). Fixed size, no allocation, mergeable:
 * each queue thread keeps its own and they are summed at the end.
 */
#define NU_LAT_BUCKETS 3776

struct nu_latency {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t bucket[NU_LAT_BUCKETS];
};

void nu_latency_init(struct nu_latency *h);
void nu_latency_add(struct nu_latency *h, uint64_t ns);
void nu_latency_merge(struct nu_latency *into, const struct nu_latency *from);
/* The smallest recorded bound such that p (0..100) percent are at or below it. */
uint64_t nu_latency_percentile(const struct nu_latency *h, double p);
unsigned nu_latency_bucket(uint64_t ns);
uint64_t nu_latency_bucket_high(unsigned idx);

#endif
