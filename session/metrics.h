/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_METRICS_H
#define NETUBLK_METRICS_H

/*
 * Prometheus text exposition (version 0.0.4), apart from where the numbers
 * come from: a family's HELP and TYPE, then its samples; label values
 * escaped as the format says.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void nu_metrics_family(FILE *out, const char *name, const char *type, const char *help);
/*
 * Formats label pairs (key, value, ..., NULL) as k="v",... into buf;
 * returns buf ("" if it would not fit).
 */
const char *nu_metrics_labels(char *buf, size_t len, ...) __attribute__((sentinel));
void nu_metrics_sample(FILE *out, const char *name, const char *labels, uint64_t value);
/*
 * A histogram's samples: n per-bucket counts (not cumulative) whose upper
 * bounds, in microseconds, bound_us(i) gives (the last: +Inf), and the sum
 * of the observations in nanoseconds. Written in seconds.
 */
void nu_metrics_histogram(FILE *out, const char *name, const char *labels, const uint64_t *counts,
			  unsigned n, uint32_t (*bound_us)(unsigned), uint64_t sum_ns);

#endif
