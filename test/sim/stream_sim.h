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

#include "io.h"
#include "stream.h"

#define SIM_TASKS 4
#define SIM_MAX_DLEN 262144u   /* the largest data PDU either framer takes */
#define SIM_SMALL_DLEN 8192u   /* ... and any other PDU */
#define SIM_GUARD 16
#define SIM_TABLE 8 /* buffer-table entries */

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

/*
 * The simulated ring and wire under any stream: what the target sent, the
 * receive sizes, and the ring's buffer table (entry i: table[i]).
 */
struct sim_wire {
	const uint8_t *wire;
	size_t wire_len, wire_off;
	const uint16_t *splits; /* receive sizes, cycled; none: whatever is asked */
	unsigned nsplits, split_i;
	struct {
		uint8_t *buf;
		uint32_t len;
	} table[SIM_TABLE];
	uint8_t *sent; /* if set: every byte the stream sends, in wire order (sent_cap at most) */
	size_t sent_len, sent_cap;
	unsigned linked; /* SQEs completed that were linked to the next */
};

/* A queue whose ring is simulated over w. */
struct nu_queue *sim_queue_new(struct sim_wire *w);
/*
 * Completes every SQE on q's ring in order, handing the stream's
 * completions to s, until none is left (a stream that failed asks for
 * nothing more). Timeouts are taken and never fire.
 */
void sim_queue_run(struct nu_queue *q, struct nu_stream *s);

/*
 * Commands and a wire from a transport fuzz target's input, after its
 * config byte: [number of commands - 1, low 3 bits] then per command
 * [op: read, write, flush, discard][blocks - 1, mod 64], then [receive
 * sizes, low 4 bits][16-bit sizes...], then the wire. Command i has tag i;
 * its buffer is exactly its size, in the buffer table when zero copy.
 */
#define SIM_CMDS 8
struct sim_cmds {
	struct nu_io io[SIM_CMDS];
	uint8_t *buf[SIM_CMDS];
	unsigned n;
	uint16_t splits[16];
	uint8_t *wire;
	struct sim_wire w;
};

/*
 * The queue a transport sees (nu_queue_id, nu_queue_host,
 * nu_host_backend_depth: SIM_CMDS tags, nu_queue_complete): completing a
 * command twice aborts, and so does a read completed as good while
 * sim_read_filled (set by the target) says fewer bytes than its length came.
 */
extern unsigned sim_completions[SIM_CMDS];
extern uint32_t (*sim_read_filled)(unsigned tag);

/* 0, or -EINVAL if the input is too short for its commands. */
int sim_cmds_parse(struct sim_cmds *c, const uint8_t *data, size_t size, uint32_t lbs,
		   bool zero_copy);
void sim_cmds_free(struct sim_cmds *c);

struct sim {
	struct sim_cfg cfg;
	struct nu_stream s;
	struct nu_queue *q;
	struct sim_wire w;
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
/* Attaches the stream to a wire (reading starts; nothing completes until sim_queue_run). */
void sim_attach(struct sim *sm, const uint8_t *wire, size_t len, const uint16_t *splits,
		unsigned nsplits);
/* Attaches the stream and runs until it fails (the wire's end is EOF). */
void sim_run(struct sim *sm, const uint8_t *wire, size_t len, const uint16_t *splits,
	     unsigned nsplits);
/* False if anything was written into a guard zone. */
bool sim_guards_intact(const struct sim *sm);
void sim_destroy(struct sim *sm);

#endif
