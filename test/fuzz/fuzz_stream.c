// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the PDU stream (initiator/stream.c) on a simulated ring
 * (test/sim): what a target sends, cut at arbitrary points between
 * receives, framed as iSCSI or NVMe/TCP, with or without header and data
 * digests, in buffered or exact mode, payloads to request buffers or
 * buffer-table entries.
 *
 * Input: byte 0 picks the set-up (bit 0 NVMe/TCP, 1 header digest, 2 data
 * digest, 3 exact mode, 4 buffer-table payloads, 5 raw); byte 1 the number
 * of receive sizes (low 4 bits), then that many 16-bit sizes; then either
 * the raw wire (hostile bytes) or 4-byte PDU descriptors from which a
 * well-formed wire is built: [bit 7 not data, bits 0-1 task] [dlen lo]
 * [dlen hi] [bits 0-1 dlen bits 16-17, bit 2 break its data digest, bit 3
 * break its header digest]. A built wire must be delivered whole and
 * byte-exact up to the first broken PDU, and nothing may be written
 * outside the request buffers; anything else aborts.
 *
 *   scripts/fuzz.sh builds it with libFuzzer; test/unit/test_fuzz_smoke.c
 *   runs it over its seeds and mutations in every build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream_sim.h"

#define MAX_PDUS 64
#define MAX_WIRE (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);
/* A run moves up to a megabyte, often a byte per receive: fewer in the smoke test. */
unsigned fuzz_smoke_mutations = 2000;

struct desc {
	bool data, bad_ddgst, bad_hdgst;
	unsigned task;
	uint32_t dlen;
};

static unsigned parse_descs(const struct sim_cfg *c, const uint8_t *p, size_t n, struct desc *d)
{
	unsigned nd = 0;

	for (; n >= 4 && nd < MAX_PDUS; p += 4, n -= 4, nd++) {
		struct desc *x = &d[nd];

		x->data = !(p[0] & 0x80);
		x->task = p[0] & 3;
		x->dlen = p[1] | p[2] << 8 | (p[3] & 3) << 16;
		x->bad_ddgst = c->ddgst && (p[3] & 4);
		x->bad_hdgst = c->hdgst && (p[3] & 8);
		if (x->data) {
			if (!x->dlen)
				x->dlen = 1;
			if (c->fixed && !c->nvme)
				x->dlen = (x->dlen + 3) & ~3u; /* zero copy: no padding */
		} else if (!c->nvme) {
			x->dlen %= SIM_SMALL_DLEN + 1;
			x->bad_ddgst = x->bad_ddgst && x->dlen;
		} else {
			x->dlen = 0;
			x->bad_ddgst = false;
		}
	}
	return nd;
}

/*
 * The wire for d[0..nd) into w, as much as fits; the tasks' lengths are
 * what it carries for each. Returns its length; *expect is how many PDUs
 * must be delivered (up to the first broken one).
 */
static size_t build_wire(const struct sim_cfg *c, const struct desc *d, unsigned nd, uint8_t *w,
			 size_t cap, uint32_t *task_len, unsigned *expect)
{
	size_t len = 0;

	*expect = nd;
	for (unsigned i = 0; i < nd; i++) {
		size_t start = len;

		len = d[i].data ? sim_put_data(c, w, len, cap, d[i].task, task_len[d[i].task],
					       d[i].dlen) :
				  sim_put_other(c, w, len, cap, d[i].dlen);
		if (!len) { /* no room for more: the wire ends here */
			*expect = *expect < i ? *expect : i;
			return start;
		}
		task_len[d[i].task] += d[i].data ? d[i].dlen : 0;
		if ((d[i].bad_ddgst || d[i].bad_hdgst) && *expect == nd)
			*expect = i;
		if (d[i].bad_ddgst)
			w[len - 1] ^= 0x40;
		if (d[i].bad_hdgst)
			w[start + (c->nvme ? 24 : 48)] ^= 0x40;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *built; /* once: a fresh megabyte per input costs more than the run */
	uint32_t task_len[SIM_TASKS] = { 0 };
	uint16_t splits[16];
	struct desc d[MAX_PDUS];
	unsigned nsplits, expect = 0, min_split = 65535;
	struct sim_cfg c;
	struct sim sm;
	uint8_t *w;
	size_t len;
	bool raw;

	if (size < 2)
		return 0;
	c = (struct sim_cfg){ .nvme = data[0] & 1, .hdgst = data[0] & 2, .ddgst = data[0] & 4,
			      .exact = data[0] & 8, .fixed = data[0] & 16 };
	raw = data[0] & 32;
	c.fixed = c.fixed && c.exact && !c.ddgst;
	nsplits = data[1] & 15;
	data += 2;
	size -= 2;
	if (size < 2 * nsplits)
		return 0;
	for (unsigned i = 0; i < nsplits; i++) {
		splits[i] = data[2 * i] | data[2 * i + 1] << 8;
		if (splits[i] < min_split)
			min_split = splits[i] ? splits[i] : 1;
	}
	data += 2 * nsplits;
	size -= 2 * nsplits;
	if (raw) {
		static const uint32_t raw_len[SIM_TASKS] = { 512, 4096, 20000, 70000 };

		/* Exactly the bytes there: ASan sees any read past them. */
		memcpy(task_len, raw_len, sizeof(task_len));
		w = malloc(size ? size : 1);
		if (!w)
			return 0;
		memcpy(w, data, size);
		len = size;
	} else {
		if (!built)
			built = malloc(MAX_WIRE);
		if (!built)
			return 0;
		w = built;
		/* Tiny receives make long runs: at most some 8000 receives a wire. */
		len = build_wire(&c, d, parse_descs(&c, data, size, d), w,
				 MAX_WIRE / 8192 > min_split ? 8192 * (size_t)min_split : MAX_WIRE,
				 task_len, &expect);
	}
	if (sim_init(&sm, &c, task_len) == 0) {
		sm.check_data = !raw;
		sim_run(&sm, w, len, splits, nsplits);
		if (!raw && sm.pdus != expect)
			abort(); /* lost, or took a broken one */
		if (!sim_guards_intact(&sm))
			abort();
		sim_destroy(&sm);
	}
	if (raw)
		free(w);
	return 0;
}

/* Seeds: each transport and mode, the trailer split that once overflowed. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	static const uint8_t seeds[][24] = {
		/* iSCSI, digests, buffered: 20001 bytes, cut 2 bytes into the trailer */
		{ 0x06, 1, 0x57, 0x4e, 0x00, 0x21, 0x4e, 0x00, 0x80, 0x10, 0x00, 0x00 },
		/* NVMe/TCP, data digest, buffered: 16384 bytes, cut inside the digest */
		{ 0x05, 1, 0x1a, 0x40, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00 },
		/* iSCSI exact mode, buffer-table payloads, odd cuts */
		{ 0x18, 2, 0x31, 0x00, 0x07, 0x00, 0x00, 0x00, 0x80, 0x00, 0x02, 0x34, 0x12, 0x00,
		  0x81, 0x10, 0x00, 0x00 },
		/* NVMe/TCP exact, header digest, buffer table, three tasks */
		{ 0x1b, 1, 0x40, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x50, 0x01, 0x02, 0xff,
		  0x00, 0x00, 0x80, 0x00, 0x00, 0x00 },
		/* iSCSI, data digest broken on the second PDU */
		{ 0x04, 0, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x04 },
		/* raw iSCSI bytes: a Data-In header claiming 16 MiB */
		{ 0x20, 0, 0x25, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff },
	};
	static const uint8_t lens[] = { 12, 12, 18, 20, 10, 10 };

	if (i >= sizeof(lens) || cap < lens[i])
		return 0;
	memcpy(buf, seeds[i], lens[i]);
	return lens[i];
}
