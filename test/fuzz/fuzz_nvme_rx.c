// SPDX-License-Identifier: MIT
/*
 * Fuzz target for an NVMe/TCP I/O queue as a controller drives it: q_frame
 * and q_pdu of nvmetcp/nvme_queue.c (included here for its static
 * functions) on the stream and the simulated ring of test/sim. Commands
 * are submitted as the ublk side would; then the wire brings C2HData
 * (offsets, SUCCESS, digests, PDO), CapsuleResp, R2T (bounds) and
 * C2HTermReq, cut at arbitrary receive sizes.
 *
 * Input: [config] [number of commands, low 3 bits] then per command
 * [op: 0 read, 1 write, 2 flush, 3 discard][blocks], then [receive sizes,
 * low 4 bits][16-bit sizes...], then the wire. Config: bit 0 header digest,
 * bit 1 data digest, bit 2 in-capsule writes up to 8 KiB, bit 4 zero copy
 * (request pages in the buffer table; not with a data digest), bit 5 4 KiB
 * blocks. Command i has tag i and CID i | i << 3.
 *
 * Whatever the controller sends: no memory error, no command completed
 * twice, no read completed as good short of its data.
 */
#include "../../nvmetcp/nvme_queue.c"

#include "digest.h"
#include "stream_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

#define DEPTH SIM_CMDS

/* Each run sets up a whole queue (a 256 KiB receive buffer): fewer in the smoke test. */
unsigned fuzz_smoke_mutations = 4000;

/* nvmetcp/nvme_host.c is not linked: the admin side's requests go nowhere. */
void nu_queue_set_credit_limit(struct nu_queue *q, unsigned limit)
{
	(void)q;
	(void)limit;
}

void nvme_host_request_abort(struct nvme_host *h, uint16_t sqid, uint16_t cid)
{
	(void)h;
	(void)sqid;
	(void)cid;
}

void nvme_host_request_reset(struct nvme_host *h, const char *why)
{
	(void)h;
	(void)why;
}

void nvme_host_request_ana(struct nvme_host *h)
{
	(void)h;
}

void nvme_host_ids_get(struct nvme_host *h, struct nvme_host_ids *ids)
{
	*ids = h->ids;
}

void nvme_host_security(struct nvme_host *h, const struct nvme_conn *c, char *out, size_t len)
{
	(void)h;
	nvme_auth_describe(&c->auth, out, len);
}

static struct nvme_queue *cur;

static uint32_t read_filled(unsigned tag)
{
	return cur->tasks[tag].data_in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim_cmds cmds;
	struct nvme_host *h;
	struct nvme_queue *nq;
	struct nu_queue *q;
	unsigned hd;
	uint8_t c;

	if (size < 1)
		return 0;
	nu_log_set_level(NU_LOG_OFF); /* every input is a protocol violation or two */
	c = data[0];
	h = calloc(1, sizeof(*h));
	nq = calloc(1, sizeof(*nq));
	if (!h || !nq || sim_cmds_parse(&cmds, data + 1, size - 1, c & 32 ? 4096 : 512,
					    (c & 16) && !(c & 2))) {
		sim_cmds_free(&cmds);
		free(h);
		free(nq);
		return 0;
	}
	h->vols.nr = 1;
	h->vols.v[0].id = 1;
	h->vols.v[0].geom.lbs = c & 32 ? 4096 : 512;
	h->zero_copy = (c & 16) && !(c & 2);
	h->event_fd = -1;
	h->cfg.ctrl_loss_tmo_s = 600;
	q = sim_queue_new(&cmds.w);
	nq->h = h;
	nq->q = q;
	nq->sqid = 1;
	nq->depth = DEPTH;
	nq->tag_bits = 3;
	nq->tasks = calloc(DEPTH, sizeof(*nq->tasks));
	nq->incapsule_max = c & 4 ? 8192 : 0;
	nq->p = (struct nvme_tcp_params){ .hdgst = c & 1, .ddgst = c & 2, .maxh2cdata = 16384 };
	cur = nq;
	sim_read_filled = read_filled;
	hd = nq->p.hdgst ? NVME_TCP_DGST_LEN : 0;
	queue_sup_init(nq, NULL);
	if (q && nq->tasks &&
	    nu_stream_attach(&nq->s, -1, RX_BUF, h->zero_copy ? NVME_TCP_RSP_HLEN + hd : 0) == 0) {
		nq->sup.state = NU_CONN_UP;
		for (unsigned i = 0; i < cmds.n; i++)
			nvme_submit(nq, &cmds.io[i]);
		sim_queue_run(q, &nq->s);
	}
	nu_stream_destroy(&nq->s);
	free(nq->tasks);
	free(nq);
	free(h);
	free(q);
	sim_cmds_free(&cmds);
	return 0;
}

/* Seeds: a read answered by C2HData with SUCCESS, a write by R2T then a response. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	uint8_t *p;

	if (i > 2 || cap < 16384)
		return 0;
	memset(buf, 0, 16384);
	buf[n++] = i == 1 ? 0x04 : 0x00; /* in-capsule writes for seed 1 */
	buf[n++] = 1;			 /* two commands */
	buf[n++] = 0;			 /* a read of 8 blocks */
	buf[n++] = 7;
	buf[n++] = 1; /* a write of 8 blocks */
	buf[n++] = 7;
	buf[n++] = i == 2 ? 1 : 0; /* receive sizes */
	if (i == 2) {
		buf[n++] = 100;
		buf[n++] = 0;
	}
	/* C2HData for CID 0: 4096 bytes, last, success */
	p = buf + n;
	p[0] = NVME_TCP_C2H_DATA;
	p[1] = NVME_TCP_F_LAST | NVME_TCP_F_SUCCESS;
	p[2] = 24;
	p[3] = 24;
	nu_put_le32(p + 4, 24 + 4096);
	nu_put_le32(p + 16, 4096);
	n += 24 + 4096;
	if (i != 1) { /* R2T for CID 9's 4 KiB */
		p = buf + n;
		p[0] = NVME_TCP_R2T;
		p[2] = 24;
		p[4] = 24;
		p[8] = 9;
		nu_put_le32(p + 16, 4096);
		n += 24;
	}
	/* CapsuleResp for CID 9 */
	p = buf + n;
	p[0] = NVME_TCP_RSP;
	p[2] = 24;
	p[4] = 24;
	p[8 + 12] = 9;
	n += 24;
	return n;
}
