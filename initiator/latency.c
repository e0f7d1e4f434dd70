// SPDX-License-Identifier: MIT
#include <string.h>

#include "latency.h"

void nu_latency_init(struct nu_latency *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

unsigned nu_latency_bucket(uint64_t ns)
{
	unsigned msb, shift;

	if (ns < 128)
		return ns;
	msb = 63 - __builtin_clzll(ns);
	shift = msb - 6;
	return 128 + (msb - 7) * 64 + ((ns >> shift) & 63);
}

uint64_t nu_latency_bucket_high(unsigned idx)
{
	unsigned g, sub, shift;

	if (idx < 128)
		return idx;
	g = (idx - 128) / 64;
	sub = (idx - 128) % 64;
	shift = g + 1;
	return (((uint64_t)64 + sub) << shift) + ((1ULL << shift) - 1);
}

void nu_latency_add(struct nu_latency *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->bucket[nu_latency_bucket(ns)]++;
}

void nu_latency_merge(struct nu_latency *into, const struct nu_latency *from)
{
	into->count += from->count;
	into->sum_ns += from->sum_ns;
	if (from->min_ns < into->min_ns)
		into->min_ns = from->min_ns;
	if (from->max_ns > into->max_ns)
		into->max_ns = from->max_ns;
	for (unsigned i = 0; i < NU_LAT_BUCKETS; i++)
		into->bucket[i] += from->bucket[i];
}

uint64_t nu_latency_percentile(const struct nu_latency *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(p / 100.0 * h->count + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < NU_LAT_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			uint64_t hi = nu_latency_bucket_high(i);
			return hi < h->max_ns ? hi : h->max_ns;
		}
	}
	return h->max_ns;
}
