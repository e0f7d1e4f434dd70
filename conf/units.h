/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UNITS_H
#define NETUBLK_UNITS_H

#include <stdint.h>

/*
 * "4096", "64k", "256M", "1G", "2T" (binary multiples, optional "iB"/"B").
 * Returns -EINVAL for anything else, including overflow and a bare suffix.
 */
int nu_parse_size(const char *s, uint64_t *out);
/* A decimal unsigned integer in [min, max]. */
int nu_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

#endif
