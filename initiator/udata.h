/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_UDATA_H
#define NETUBLK_UDATA_H

#include <stdint.h>

/*
 * io_uring user_data layout shared by everything on a queue ring:
 *   [63:56] kind  [55:40] client slot  [39:0] client data
 * The kind routes a completion without any lookup table.
 */
enum nu_ud_kind {
	NU_UD_NONE = 0,	   /* completions nobody waits for */
	NU_UD_MAILBOX = 1, /* the queue's own eventfd read */
	NU_UD_CLIENT = 2,  /* a frontend: ublk device, perf generator */
	NU_UD_TRANSPORT = 3,
};

#define NU_UD_DATA_BITS 40
#define NU_UD_DATA_MASK ((1ULL << NU_UD_DATA_BITS) - 1)

static inline uint64_t nu_ud_make(enum nu_ud_kind kind, unsigned slot, uint64_t data)
{
	return (uint64_t)kind << 56 | (uint64_t)(slot & 0xffff) << NU_UD_DATA_BITS |
	       (data & NU_UD_DATA_MASK);
}

static inline enum nu_ud_kind nu_ud_kind(uint64_t ud)
{
	return ud >> 56;
}

static inline unsigned nu_ud_slot(uint64_t ud)
{
	return (ud >> NU_UD_DATA_BITS) & 0xffff;
}

static inline uint64_t nu_ud_data(uint64_t ud)
{
	return ud & NU_UD_DATA_MASK;
}

#endif
