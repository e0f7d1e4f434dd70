// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tagset.h"

int nu_tagset_init(struct nu_tagset *ts, unsigned depth)
{
	if (!depth || depth > 65536)
		return -EINVAL;
	memset(ts, 0, sizeof(*ts));
	ts->free_tags = calloc(depth, sizeof(*ts->free_tags));
	if (!ts->free_tags)
		return -ENOMEM;
	ts->depth = ts->limit = depth;
	/* Pushed in reverse so tag 0 is handed out first: easier to read in traces. */
	for (unsigned i = 0; i < depth; i++)
		ts->free_tags[i] = depth - 1 - i;
	ts->nr_free = depth;
	return 0;
}

void nu_tagset_exit(struct nu_tagset *ts)
{
	free(ts->free_tags);
	ts->free_tags = NULL;
}

static uint16_t take_tag(struct nu_tagset *ts)
{
	ts->used++;
	return ts->free_tags[--ts->nr_free];
}

static void park(struct nu_tagset *ts, struct nu_io *io)
{
	unsigned v = io->vol % NU_TAGSET_MAX_VOLS;

	io->next = NULL;
	if (ts->wait[v].tail)
		ts->wait[v].tail->next = io;
	else
		ts->wait[v].head = io;
	ts->wait[v].tail = io;
	ts->nr_waiting++;
}

static struct nu_io *unpark_rr(struct nu_tagset *ts)
{
	if (!ts->nr_waiting)
		return NULL;
	for (unsigned n = 0; n < NU_TAGSET_MAX_VOLS; n++) {
		unsigned v = (ts->rr_next + n) % NU_TAGSET_MAX_VOLS;
		struct nu_io *io = ts->wait[v].head;

		if (!io)
			continue;
		ts->wait[v].head = io->next;
		if (!io->next)
			ts->wait[v].tail = NULL;
		io->next = NULL;
		ts->nr_waiting--;
		ts->rr_next = (v + 1) % NU_TAGSET_MAX_VOLS;
		return io;
	}
	return NULL;
}

int nu_tagset_get(struct nu_tagset *ts, struct nu_io *io)
{
	/* Waiters go first, or a steady stream of new I/O could starve them. */
	if (ts->nr_waiting || !ts->nr_free || ts->used >= ts->limit) {
		park(ts, io);
		return -EBUSY;
	}
	io->tag = take_tag(ts);
	return 0;
}

struct nu_io *nu_tagset_next_waiter(struct nu_tagset *ts)
{
	struct nu_io *io;

	if (!ts->nr_free || ts->used >= ts->limit)
		return NULL;
	io = unpark_rr(ts);
	if (io)
		io->tag = take_tag(ts);
	return io;
}

struct nu_io *nu_tagset_put(struct nu_tagset *ts, uint16_t tag)
{
	ts->free_tags[ts->nr_free++] = tag;
	ts->used--;
	return nu_tagset_next_waiter(ts);
}

void nu_tagset_set_limit(struct nu_tagset *ts, unsigned limit)
{
	if (limit > ts->depth)
		limit = ts->depth;
	ts->limit = limit;
}

struct nu_io *nu_tagset_drain(struct nu_tagset *ts)
{
	struct nu_io *head = NULL, **tailp = &head, *io;

	while ((io = unpark_rr(ts))) {
		*tailp = io;
		tailp = &io->next;
	}
	return head;
}
