/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_STREAM_SIM_H
#define NETUBLK_STREAM_SIM_H

/*
 * nu_stream on a simulated ring and wire: no kernel, no socket. Every SQE
 * the stream prepares is completed here, receives from a byte string the
 * "target" sent, cut at chosen points (a receive returns at most the next
 * split's bytes unless MSG_WAITALL asks for all). A toy protocol frames
 * PDUs the way iSCSI (48-byte BHS, padding) or NVMe/TCP (PDO, C2HData)
 * does, with header and data digests, buffered or exact mode, payloads
 * to a request buffer or a buffer-table entry. Used by the stream's unit
 * test and fuzz target; every request buffer has a guard zone behind it
 * that is checked after the run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define SIM_TASKS 4
#define SIM_MAX_DLEN 262144u   /* the largest data PDU either framer takes */
#define SIM_SMALL_DLEN 8192u   /* ... and any other PDU */
#define SIM_GUARD 16

struct sim_cfg {
	bool nvme;  /* NVMe/TCP framing, else iSCSI */
	bool hdgst, ddgst;
	bool exact; /* the stream's exact mode (zero-copy connections) */
	bool fixed; /* request buffers are buffer-table entries (exact, no ddgst) */
};

struct sim_task {
	uint8_t *buf; /* len + SIM_GUARD bytes */
	uint32_t len;
	uint32_t got; /* payload delivered so far */
};

struct sim {
	struct sim_cfg cfg;
	struct nu_stream s;
	struct nu_queue *q;
	const uint8_t *wire;
	size_t wire_len, wire_off;
	const uint16_t *splits; /* receive sizes, cycled; none: whatever is asked */
	unsigned nsplits, split_i;
	struct sim_task tasks[SIM_TASKS];
	bool check_data;  /* payloads follow sim_pattern() */
	int cur;	  /* the task of the data PDU being received, or -1 */
	unsigned pdus;    /* PDUs the framer saw whole */
	unsigned data_pdus;
	unsigned replies; /* PDUs queued back */
	bool failed;
	char why[64];
};

uint8_t sim_pattern(unsigned task, uint32_t off);

/* Appends one PDU to w (cap bytes; returns the new length, 0 if no room). */
size_t sim_put_data(const struct sim_cfg *c, uint8_t *w, size_t len, size_t cap, unsigned task,
		    uint32_t off, uint32_t dlen);
size_t sim_put_other(const struct sim_cfg *c, uint8_t *w, size_t len, size_t cap, uint32_t dlen);

/* Sets up sm (tasks of the given lengths) and a simulated queue. */
int sim_init(struct sim *sm, const struct sim_cfg *cfg, const uint32_t *task_len);
/* Attaches the stream and runs until it fails (the wire's end is EOF). */
void sim_run(struct sim *sm, const uint8_t *wire, size_t len, const uint16_t *splits,
	     unsigned nsplits);
/* False if anything was written into a guard zone. */
bool sim_guards_intact(const struct sim *sm);
void sim_destroy(struct sim *sm);

#endif
