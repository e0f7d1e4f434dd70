// SPDX-License-Identifier: MIT
/*
 * The PDU stream on a simulated ring and wire (test/sim): payloads land
 * whole and exact whatever the receive sizes, and never outside their
 * buffer, in both framings, both modes, with and without digests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stream_sim.h"

#define WIRE_CAP (2u << 20)

/*
 * One data PDU of dlen bytes then a small one, the first receive ending
 * cut bytes into the first PDU's trailer: it holds all of the payload and
 * part of the padding and digest. A stream once copied the trailer's bytes
 * behind the payload, past the end of the request buffer.
 */
static void trailer_cut(bool nvme, uint32_t dlen, unsigned cut)
{
	struct sim_cfg c = { .nvme = nvme, .hdgst = true, .ddgst = true };
	uint32_t lens[SIM_TASKS] = { dlen };
	uint8_t *w = malloc(WIRE_CAP);
	size_t len, head = (nvme ? 24 : 48) + 4;
	uint16_t split[2];
	struct sim sm;

	assert_non_null(w);
	assert_int_equal(sim_init(&sm, &c, lens), 0);
	len = sim_put_data(&c, w, 0, WIRE_CAP, 0, 0, dlen);
	assert_true(len > head + dlen + cut);
	len = sim_put_other(&c, w, len, WIRE_CAP, 16);
	split[0] = head + dlen + cut;
	split[1] = 60000;
	sm.check_data = true;
	sim_run(&sm, w, len, split, 2);
	assert_true(sim_guards_intact(&sm));
	assert_int_equal(sm.data_pdus, 1);
	assert_int_equal(sm.pdus, 2);
	assert_int_equal(sm.tasks[0].got, dlen);
	assert_string_equal(sm.why, "connection closed by the target");
	sim_destroy(&sm);
	free(w);
}

static void test_trailer_cut_iscsi(void **state)
{
	(void)state;
	/* 3 pad bytes + 4 digest bytes: every cut inside them */
	for (unsigned cut = 0; cut < 7; cut++)
		trailer_cut(false, 20001, cut);
	trailer_cut(false, 16384, 3); /* digest only */
}

static void test_trailer_cut_nvme(void **state)
{
	(void)state;
	for (unsigned cut = 0; cut < 4; cut++)
		trailer_cut(true, 16384, cut);
}

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng >> 11;
}

/* Random PDUs, random receive sizes, every set-up: all delivered, exact. */
static void test_random_splits(void **state)
{
	uint8_t *w = malloc(WIRE_CAP);

	(void)state;
	assert_non_null(w);
	for (unsigned round = 0; round < 400; round++) {
		unsigned m = round & 31;
		struct sim_cfg c = { .nvme = m & 1, .hdgst = m & 2, .ddgst = m & 4,
				     .exact = m & 8, .fixed = m & 16 };
		uint32_t lens[SIM_TASKS] = { 0 }, off[SIM_TASKS] = { 0 }, dl[24];
		unsigned task[24], n = 4 + next() % 20, nsplit = 1 + next() % 8, sent = 0;
		uint16_t split[8];
		size_t len = 0;
		struct sim sm;

		c.fixed = c.fixed && c.exact && !c.ddgst;
		for (unsigned i = 0; i < n; i++) {
			task[i] = next() % SIM_TASKS;
			dl[i] = next() % 4 ? 1 + next() % 4096 : 1 + next() % 100000;
			if (c.fixed)
				dl[i] = (dl[i] + 3) & ~3u;
			lens[task[i]] += dl[i];
		}
		for (unsigned i = 0; i < nsplit; i++)
			split[i] = 1 + next() % (next() % 2 ? 64 : 40000);
		assert_int_equal(sim_init(&sm, &c, lens), 0);
		for (unsigned i = 0; i < n; i++) {
			if (next() % 3 == 0) {
				len = sim_put_other(&c, w, len, WIRE_CAP, next() % 300);
				sent++;
			}
			len = sim_put_data(&c, w, len, WIRE_CAP, task[i], off[task[i]], dl[i]);
			off[task[i]] += dl[i];
			sent++;
			assert_true(len > 0);
		}
		sm.check_data = true;
		sim_run(&sm, w, len, split, nsplit);
		assert_true(sim_guards_intact(&sm));
		assert_int_equal(sm.pdus, sent);
		assert_int_equal(sm.data_pdus, n);
		for (unsigned t = 0; t < SIM_TASKS; t++)
			assert_int_equal(sm.tasks[t].got, lens[t]);
		assert_string_equal(sm.why, "connection closed by the target");
		sim_destroy(&sm);
	}
	free(w);
}

/* A broken data digest: the PDU is refused, nothing after it delivered. */
static void test_bad_data_digest(void **state)
{
	struct sim_cfg c = { .ddgst = true };
	uint32_t lens[SIM_TASKS] = { 30000 };
	uint8_t *w = malloc(WIRE_CAP);
	uint16_t split = 1000;
	size_t len;
	struct sim sm;

	(void)state;
	for (int nvme = 0; nvme < 2; nvme++) {
		c.nvme = nvme;
		assert_int_equal(sim_init(&sm, &c, lens), 0);
		len = sim_put_data(&c, w, 0, WIRE_CAP, 0, 0, 10000);
		len = sim_put_data(&c, w, len, WIRE_CAP, 0, 10000, 20000);
		w[len - 2] ^= 1;
		len = sim_put_other(&c, w, len, WIRE_CAP, 8);
		sim_run(&sm, w, len, &split, 1);
		assert_int_equal(sm.pdus, 1);
		assert_string_equal(sm.why, "data digest mismatch");
		assert_true(sim_guards_intact(&sm));
		sim_destroy(&sm);
	}
	free(w);
}

/*
 * Zero-copy sends: headers and payloads from the buffer table, several
 * in one batch, reach the wire in the order they were queued, as one
 * linked chain (SENDMSG, fixed SEND, SENDMSG, ...).
 */
static void test_tx_chain(void **state)
{
	struct sim_cfg c = { .exact = true, .fixed = true };
	uint32_t lens[SIM_TASKS] = { 4096, 4096, 4096, 4096 };
	static uint8_t sent[1 << 16], want[1 << 16];
	static const uint8_t wire[1] = { 0 };
	uint8_t hdr[48], small[10][100]; /* a queued payload is sent from where it is */
	size_t n = 0;
	struct sim sm;

	(void)state;
	assert_int_equal(sim_init(&sm, &c, lens), 0);
	sm.w.sent = sent;
	sm.w.sent_cap = sizeof(sent);
	for (unsigned t = 0; t < SIM_TASKS; t++)
		memset(sm.tasks[t].buf, 0x10 + t, lens[t]);
	sim_attach(&sm, wire, sizeof(wire), NULL, 0);
	/* 10 PDUs: 8 with fixed payloads of 1, 2 or 4 KiB (a whole chain), 2 plain between. */
	for (unsigned i = 0; i < 10; i++) {
		uint32_t len = 1024 << (i % 3);

		memset(hdr, i, sizeof(hdr));
		memcpy(want + n, hdr, sizeof(hdr));
		n += sizeof(hdr);
		if (i % 4 == 3) {
			memset(small[i], 0x80 + i, sizeof(small[i]));
			assert_int_equal(nu_stream_queue(&sm.s, i, hdr, sizeof(hdr), small[i],
							 sizeof(small[i]), 0, false),
					 0);
			memcpy(want + n, small[i], sizeof(small[i]));
			n += sizeof(small[i]);
			continue;
		}
		assert_int_equal(nu_stream_queue_fixed(&sm.s, i, hdr, sizeof(hdr), i % SIM_TASKS,
						       0, len),
				 0);
		memset(want + n, 0x10 + i % SIM_TASKS, len);
		n += len;
	}
	nu_stream_kick(&sm.s);
	sim_queue_run(sm.q, &sm.s);
	assert_int_equal(sm.w.sent_len, n);
	assert_memory_equal(sent, want, n);
	/* 8 fixed payloads, each behind a SENDMSG of what came before: 16 SQEs, 15 links. */
	assert_int_equal(sm.w.linked, 15);
	sim_destroy(&sm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trailer_cut_iscsi),
		cmocka_unit_test(test_trailer_cut_nvme),
		cmocka_unit_test(test_random_splits),
		cmocka_unit_test(test_bad_data_digest),
		cmocka_unit_test(test_tx_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
