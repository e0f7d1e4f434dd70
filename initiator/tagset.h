/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TAGSET_H
#define NETUBLK_TAGSET_H

#include <stdint.h>
#include "io.h"

/*
 * The backend tags (credits) of one host queue, shared by every volume on
 * it, like blk-mq's shared tag set. When they run out, I/O waits in a FIFO
 * per volume and freed tags go to the waiting volumes in round robin, so a
 * busy volume cannot starve a quiet one.
 */
#define NU_TAGSET_MAX_VOLS 256

struct nu_tagset {
	unsigned depth;
	unsigned limit; /* current credit limit, <= depth (e.g. a target's window) */
	unsigned used;
	uint16_t *free_tags; /* stack of free tags */
	unsigned nr_free;
	struct {
		struct nu_io *head, *tail;
	} wait[NU_TAGSET_MAX_VOLS];
	uint16_t rr_next; /* volume to look at first when a tag frees */
	unsigned nr_waiting;
};

int nu_tagset_init(struct nu_tagset *ts, unsigned depth);
void nu_tagset_exit(struct nu_tagset *ts);

/* Returns 0 with io->tag set, or -EBUSY after parking io in its volume's FIFO. */
int nu_tagset_get(struct nu_tagset *ts, struct nu_io *io);

/* Frees a tag; returns the next parked io, now owning a tag, or NULL. */
struct nu_io *nu_tagset_put(struct nu_tagset *ts, uint16_t tag);

/* Lowers or raises the number of tags usable at once (never above depth). */
void nu_tagset_set_limit(struct nu_tagset *ts, unsigned limit);

/* Hands out parked I/O that fits under the limit; call after raising it. */
struct nu_io *nu_tagset_next_waiter(struct nu_tagset *ts);

/* Removes and returns every parked io (queue teardown). */
struct nu_io *nu_tagset_drain(struct nu_tagset *ts);

#endif
