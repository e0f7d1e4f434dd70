// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the iSCSI full feature phase as a target drives it:
 * rx_frame and rx_pdu of iscsi/iscsi_transport.c (included here for its
 * static functions) on the stream and the simulated ring of test/sim.
 * Commands are submitted as the ublk side would; then the wire brings
 * Data-In (offsets, digests), SCSI Responses (sense length prefix), R2Ts
 * (bounds), NOP-In, Async, Reject with its embedded header, TMF and
 * Logout responses, cut at arbitrary receive sizes.
 *
 * Input: [config] [number of commands, low 3 bits] then per command
 * [op: 0 read, 1 write, 2 flush, 3 discard][blocks], then [receive sizes,
 * low 4 bits][16-bit sizes...], then the wire. Config: bit 0 header digest,
 * bit 1 data digest, bit 2 immediate data, bit 3 InitialR2T, bit 4 zero
 * copy (request pages in the buffer table; not with a data digest), bit 5
 * 4 KiB blocks. Command i has tag i and ITT i | i << 16.
 *
 * Whatever the target sends: no memory error, no command completed twice,
 * no read completed as good short of its data.
 */
#include "../../iscsi/iscsi_transport.c"

#include "stream_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

#define DEPTH SIM_CMDS

/* Each run sets up a whole queue (a 256 KiB receive buffer): fewer in the smoke test. */
unsigned fuzz_smoke_mutations = 4000;

static struct iscsi_queue *cur;

static uint32_t read_filled(unsigned tag)
{
	return cur->tasks[tag].data_in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim_cmds cmds;
	struct iscsi_host *h;
	struct iscsi_queue *iq;
	struct nu_queue *q;
	unsigned hd;
	uint8_t c;

	if (size < 1)
		return 0;
	nu_log_set_level(NU_LOG_OFF); /* every input is a protocol violation or two */
	c = data[0];
	h = calloc(1, sizeof(*h));
	iq = calloc(1, sizeof(*iq));
	if (!h || !iq || sim_cmds_parse(&cmds, data + 1, size - 1, c & 32 ? 4096 : 512,
					    (c & 16) && !(c & 2))) {
		sim_cmds_free(&cmds);
		free(h);
		free(iq);
		return 0;
	}
	h->vols.nr = 1;
	h->vols.v[0].geom.lbs = c & 32 ? 4096 : 512;
	h->zero_copy = (c & 16) && !(c & 2);
	h->replacement_timeout_ms = 120000;
	h->event_fd = -1;
	q = sim_queue_new(&cmds.w);
	iq->h = h;
	iq->q = q;
	iq->depth = DEPTH;
	iq->tasks = calloc(DEPTH, sizeof(*iq->tasks));
	iq->zero_block = calloc(1, 65536);
	iq->p = (struct iscsi_session_params){
		.header_digest = c & 1,
		.data_digest = c & 2,
		.immediate_data = c & 4,
		.initial_r2t = c & 8,
		.max_send_dlen = 8192,
		.max_recv_dlen = 65536,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
	};
	iq->cmdsn = 1;
	iq->maxcmdsn = 64;
	iq->expstatsn = 1;
	cur = iq;
	sim_read_filled = read_filled;
	hd = iq->p.header_digest ? ISCSI_DIGEST_LEN : 0;
	queue_sup_init(iq, NULL);
	if (q && iq->tasks && iq->zero_block &&
	    nu_stream_attach(&iq->s, -1,
			     ISCSI_BHS_LEN + ISCSI_DIGEST_LEN + iq->p.max_recv_dlen + 8 + 65536,
			     h->zero_copy ? ISCSI_BHS_LEN + hd : 0) == 0) {
		iq->sup.state = NU_CONN_UP;
		for (unsigned i = 0; i < cmds.n; i++)
			iscsi_submit(iq, &cmds.io[i]);
		sim_queue_run(q, &iq->s);
	}
	nu_stream_destroy(&iq->s);
	free(iq->tasks);
	free(iq->zero_block);
	free(iq);
	free(h);
	free(q);
	sim_cmds_free(&cmds);
	return 0;
}

/* A target's PDU into p: opcode, flags, ITT, the word at 40 (offset), data. */
static size_t put_pdu(uint8_t *p, uint8_t op, uint8_t flags, uint32_t itt, uint32_t w40,
		      const uint8_t *d, uint32_t dlen, uint8_t b3)
{
	memset(p, 0, 48);
	p[0] = op;
	p[1] = flags;
	p[3] = b3;
	p[5] = dlen >> 16;
	p[6] = dlen >> 8;
	p[7] = dlen;
	p[16] = itt >> 24;
	p[17] = itt >> 16;
	p[18] = itt >> 8;
	p[19] = itt;
	p[24 + 3] = 1;	/* StatSN */
	p[28 + 3] = 1;	/* ExpCmdSN */
	p[32 + 3] = 64; /* MaxCmdSN */
	p[40] = w40 >> 24;
	p[41] = w40 >> 16;
	p[42] = w40 >> 8;
	p[43] = w40;
	if (dlen)
		memcpy(p + 48, d, dlen);
	return 48 + ((dlen + 3) & ~3u);
}

/*
 * Seeds: a read answered by Data-In with status, a write by R2T then a
 * response; and a 32 KiB read whose Data-In goes partly through the
 * stream buffer, the rest straight to the request (the direct receive).
 */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	static uint8_t payload[32768], sense[20] = { 0, 18, 0x70, 0, 6, 0, 0, 0, 0, 10,
						     0, 0,  0,	  0, 0x2a, 9 };
	size_t n = 0;

	if (i > 3 || cap < 40000)
		return 0;
	memset(buf, 0, 40000);
	if (i == 3) {
		static const uint8_t head[] = { 0x24, 0, 0, 7, 1, 0x34, 0x40 };

		memcpy(buf, head, sizeof(head)); /* 4 KiB blocks, a read of 8, receives of 16436 */
		n = sizeof(head);
		return n + put_pdu(buf + n, 0x25, 0x81, 0, 0, payload, sizeof(payload), 0);
	}
	buf[n++] = i == 2 ? 0x08 : 0x04; /* immediate data; InitialR2T for seed 2 */
	buf[n++] = 1;			 /* two commands */
	buf[n++] = 0;			 /* a read of 8 blocks */
	buf[n++] = 7;
	buf[n++] = 1; /* a write of 8 blocks */
	buf[n++] = 7;
	buf[n++] = i == 1 ? 1 : 0; /* receive sizes */
	if (i == 1) {
		buf[n++] = 100;
		buf[n++] = 0;
	}
	/* Data-In for ITT 0, all of it, with status */
	n += put_pdu(buf + n, 0x25, 0x81, 0, 0, payload, 4096, 0);
	if (i == 2) { /* R2T for the write's 4 KiB */
		uint8_t *r2t = buf + n;

		n += put_pdu(r2t, 0x31, 0x80, 0x10001, 0, NULL, 0, 0);
		r2t[46] = 0x10; /* desired length 4096 */
	}
	/* SCSI Response for ITT 0x10001: check condition, capacity changed */
	n += put_pdu(buf + n, 0x21, 0x80, 0x10001, 0, sense, sizeof(sense), 2);
	/* NOP-In asking for an answer, then an Async message */
	n += put_pdu(buf + n, 0x20, 0x80, 0xffffffff, 0, NULL, 0, 0);
	n += put_pdu(buf + n, 0x32, 0x80, 0xffffffff, 0, NULL, 0, 0);
	return n;
}
