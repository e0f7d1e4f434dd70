/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UNITS_H
#define NETUBLK_UNITS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * "4096", "64k", "256M", "1G", "2T" (binary multiples, optional "iB"/"B").
 * Returns -EINVAL for anything else, including overflow and a bare suffix.
 */
int nu_parse_size(const char *s, uint64_t *out);
/* A decimal unsigned integer in [min, max]. */
int nu_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
/*
 * yes/no, on/off, true/false, 1/0, any case: one vocabulary for every switch
 * in the config file and on the command line.
 */
int nu_parse_bool(const char *s, bool *out);
/* "auto", or a switch as nu_parse_bool reads it. */
enum nu_auto_bool { NU_AUTO, NU_ON, NU_OFF };
int nu_parse_auto_bool(const char *s, enum nu_auto_bool *out);
/* "any", "blk-mq" or "apart": an enum ublk_queue_placement, or -EINVAL. */
int nu_parse_queue_placement(const char *s);

#endif
