// SPDX-License-Identifier: MIT
/*
 * A simulated queue ring for nu_stream (see stream_sim.h). The ring is a
 * liburing struct io_uring whose submission queue lives in this file's
 * memory: the stream gets SQEs with io_uring_get_sqe() as usual, and we
 * complete them in order instead of a kernel. Anything the stream asks
 * for that a kernel would refuse for a reason other than the network
 * (reading past a buffer-table entry, an opcode it never uses) aborts:
 * that is a bug in the stream, and the fuzzer must see it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <liburing.h>

#include "stream_sim.h"
#include "digest.h"
#include "host.h"
#include "queue.h"

#define SIM_SQ 64
#define SIM_RX_CAP (NU_STREAM_HDR_MAX + 65536 + 8 + 32768)

struct nu_queue {
	struct io_uring ring;
	unsigned khead, done;
	struct io_uring_sqe sqes[SIM_SQ];
	struct sim_wire *w;
};

struct io_uring *nu_queue_ring(struct nu_queue *q)
{
	return &q->ring;
}

struct io_uring_sqe *nu_queue_get_sqe(struct nu_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe)
		abort(); /* the stream keeps at most a few operations in flight */
	return sqe;
}

uint64_t nu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t nu_queue_now_ns(const struct nu_queue *q)
{
	(void)q;
	return nu_now_ns();
}

uint8_t sim_pattern(unsigned task, uint32_t off)
{
	return (uint8_t)(off * 31 + task * 7 + (off >> 8) + (off >> 16));
}

static uint32_t get_be(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static void put_be(uint8_t *p, unsigned n, uint32_t v)
{
	while (n--) {
		p[n] = v;
		v >>= 8;
	}
}

/* ---------------------------------------------------------------- wire */

static unsigned pad4(uint32_t n)
{
	return (4 - (n & 3)) & 3;
}

/* sim_pattern(task, 0 .. SIM_PATTERN_LEN) for each task, made once. */
#define SIM_PATTERN_LEN (2u << 20)
static const uint8_t *pattern_of(unsigned task)
{
	static uint8_t *pat[SIM_TASKS];

	if (!pat[task]) {
		pat[task] = malloc(SIM_PATTERN_LEN);
		if (!pat[task])
			abort();
		for (uint32_t i = 0; i < SIM_PATTERN_LEN; i++)
			pat[task][i] = sim_pattern(task, i);
	}
	return pat[task];
}

/* Bytes 0, 1, .. 255, 0, 1, .. for payloads nobody checks, made once. */
#define SIM_FILLER_LEN 65536u
static const uint8_t *filler(void)
{
	static uint8_t *f;

	if (!f) {
		f = malloc(SIM_FILLER_LEN);
		if (!f)
			abort();
		for (uint32_t i = 0; i < SIM_FILLER_LEN; i++)
			f[i] = (uint8_t)i;
	}
	return f;
}

/* The payload (pattern or filler), its padding and data digest at p. */
static size_t put_payload(const struct sim_cfg *c, uint8_t *p, unsigned task, uint32_t off,
			  uint32_t dlen, bool pattern)
{
	unsigned pad = c->nvme ? 0 : pad4(dlen);

	if (pattern && off + (uint64_t)dlen <= SIM_PATTERN_LEN)
		memcpy(p, pattern_of(task) + off, dlen);
	else if (!pattern && dlen <= SIM_FILLER_LEN)
		memcpy(p, filler(), dlen); /* a byte loop here was half a fuzz run's time */
	else
		for (uint32_t i = 0; i < dlen; i++)
			p[i] = pattern ? sim_pattern(task, off + i) : (uint8_t)i;
	memset(p + dlen, 0, pad);
	if (c->ddgst) {
		nu_put_le32(p + dlen + pad, nu_crc32c(p, dlen + pad));
		pad += 4;
	}
	return dlen + pad;
}

size_t sim_put_data(const struct sim_cfg *c, uint8_t *w, size_t len, size_t cap, unsigned task,
		    uint32_t off, uint32_t dlen)
{
	unsigned hd = c->hdgst ? 4 : 0, dd = c->ddgst ? 4 : 0;
	uint8_t *p = w + len;
	size_t head;

	if (cap - len < 48 + hd + dlen + 3 + dd)
		return 0;
	if (c->nvme) {
		head = 24 + hd;
		memset(p, 0, head);
		p[0] = 0x07; /* C2HData */
		p[1] = (hd ? 1 : 0) | (dd ? 2 : 0) | 0x04;
		p[2] = 24;
		p[3] = head;
		nu_put_le32(p + 4, head + dlen + dd);
		p[8] = task;
		nu_put_le32(p + 12, off);
		nu_put_le32(p + 16, dlen);
		if (hd)
			nu_hdgst_append(p, 24);
	} else {
		head = 48 + hd;
		memset(p, 0, head);
		p[0] = 0x25; /* Data-In */
		p[1] = 0x80;
		put_be(p + 5, 3, dlen);
		p[19] = task;
		put_be(p + 40, 4, off);
		if (hd)
			nu_hdgst_append(p, 48);
	}
	return len + head + put_payload(c, p + head, task, off, dlen, true);
}

size_t sim_put_other(const struct sim_cfg *c, uint8_t *w, size_t len, size_t cap, uint32_t dlen)
{
	unsigned hd = c->hdgst ? 4 : 0;
	uint8_t *p = w + len;

	if (c->nvme) {
		if (cap - len < 24 + hd)
			return 0;
		memset(p, 0, 24 + hd);
		p[0] = 0x05; /* CapsuleResp */
		p[1] = hd ? 1 : 0;
		p[2] = 24;
		nu_put_le32(p + 4, 24 + hd);
		if (hd)
			nu_hdgst_append(p, 24);
		return len + 24 + hd;
	}
	if (dlen > SIM_SMALL_DLEN)
		dlen = SIM_SMALL_DLEN;
	if (cap - len < 48 + hd + dlen + 3 + 4)
		return 0;
	memset(p, 0, 48 + hd);
	p[0] = 0x21; /* SCSI Response, with sense data or not */
	p[1] = 0x80;
	put_be(p + 5, 3, dlen);
	p[19] = 0xff;
	if (hd)
		nu_hdgst_append(p, 48);
	return len + 48 + hd + (dlen ? put_payload(c, p + 48 + hd, 0, 0, dlen, false) : 0);
}

/* ---------------------------------------------------------------- framing */

static int sim_fail(struct sim *sm, const char *why)
{
	nu_stream_fail(&sm->s, why);
	return -EPROTO;
}

static int data_dest(struct sim *sm, unsigned task, uint32_t off, struct nu_frame *f)
{
	struct sim_task *t;

	if (task >= SIM_TASKS || !sm->tasks[task].len)
		return sim_fail(sm, "data for an unknown task");
	t = &sm->tasks[task];
	if (off != t->got || f->dlen > t->len - t->got || f->dlen > SIM_MAX_DLEN)
		return sim_fail(sm, "data outside the task's buffer");
	if (sm->cfg.fixed) {
		if (f->tail)
			return sim_fail(sm, "padding or digest in zero copy");
		f->dest_fixed = true;
		f->dest_index = task;
		f->dest_off = off;
	} else {
		f->dest = t->buf + off;
	}
	sm->cur = task;
	return 0;
}

static int frame_iscsi(struct sim *sm, const uint8_t *b, size_t avail, struct nu_frame *f)
{
	unsigned hd = sm->cfg.hdgst ? 4 : 0;
	uint32_t dlen;

	if (avail < 48 + hd)
		return -EAGAIN;
	if (hd && !nu_hdgst_ok(b, 48))
		return sim_fail(sm, "header digest mismatch");
	dlen = get_be(b + 5, 3);
	f->head = 48 + hd;
	f->dlen = dlen;
	if (dlen) {
		f->ddgst = sm->cfg.ddgst;
		f->tail = pad4(dlen) + (f->ddgst ? 4 : 0);
	}
	if ((b[0] & 0x3f) == 0x25 && dlen)
		return data_dest(sm, get_be(b + 16, 4), get_be(b + 40, 4), f);
	if (dlen > SIM_SMALL_DLEN)
		return sim_fail(sm, "PDU too long");
	return 0;
}

static int frame_nvme(struct sim *sm, const uint8_t *b, size_t avail, struct nu_frame *f)
{
	unsigned hd = sm->cfg.hdgst ? 4 : 0, dd = sm->cfg.ddgst ? 4 : 0;
	unsigned hlen, pdo;
	uint32_t plen;

	if (avail < 8)
		return -EAGAIN;
	hlen = b[2];
	pdo = b[3];
	plen = nu_get_le32(b + 4);
	if (hlen < 24 || hlen > 120)
		return sim_fail(sm, "bad header length");
	if (avail < hlen + hd)
		return -EAGAIN;
	if (hd && !nu_hdgst_ok(b, hlen))
		return sim_fail(sm, "header digest mismatch");
	if (b[0] != 0x07) {
		if (plen != hlen + hd)
			return sim_fail(sm, "PDU with data");
		f->head = hlen + hd;
		return 0;
	}
	if (hlen != 24 || pdo < hlen + hd || pdo > NU_STREAM_HDR_MAX || plen < pdo + dd + 1 ||
	    nu_get_le32(b + 16) != plen - pdo - dd)
		return sim_fail(sm, "bad C2HData lengths");
	f->head = pdo;
	f->dlen = plen - pdo - dd;
	f->ddgst = dd;
	f->tail = dd;
	return data_dest(sm, b[8] | b[9] << 8, nu_get_le32(b + 12), f);
}

static int sim_frame(void *ctx, const uint8_t *p, size_t avail, struct nu_frame *f)
{
	struct sim *sm = ctx;

	memset(f, 0, sizeof(*f));
	sm->cur = -1;
	return sm->cfg.nvme ? frame_nvme(sm, p, avail, f) : frame_iscsi(sm, p, avail, f);
}

#define SIM_READ_TAG 300

/* Something to send back now and then: a header, sometimes with data. */
static void reply(struct sim *sm)
{
	static uint8_t hdr[48], data[512];
	struct sim_task *t0 = &sm->tasks[0];
	unsigned n = sm->replies++;
	int ret;

	if (sm->cfg.fixed && t0->len && n % 3 == 1)
		ret = nu_stream_queue_fixed(&sm->s, 0, hdr, sizeof(hdr), 0, 0,
					    t0->len < 4096 ? t0->len : 4096);
	else
		ret = nu_stream_queue(&sm->s, n & 0xff, hdr, sizeof(hdr), n % 2 ? data : NULL,
				      n % 2 ? sizeof(data) : 0, 0, sm->cfg.ddgst);
	if (ret)
		abort();
	/*
	 * Exact mode with plain buffers: the replies' tags let it receive in
	 * batches; a zero-copy read now and then (SIM_READ_TAG, whose data
	 * never comes) sends it back to exact steps, and its end to batches.
	 */
	if (sm->cfg.exact && !sm->cfg.fixed && n % 4 == 0)
		nu_stream_expect_fixed(&sm->s, SIM_READ_TAG);
	else if (sm->cfg.exact && !sm->cfg.fixed && n % 4 == 2)
		nu_stream_drop_tag(&sm->s, SIM_READ_TAG);
	nu_stream_kick(&sm->s);
}

static int sim_pdu(void *ctx, const uint8_t *hdr, const uint8_t *data, uint32_t dlen)
{
	struct sim *sm = ctx;
	struct sim_task *t;
	uint32_t off;

	(void)hdr;
	sm->pdus++;
	if (sm->cur < 0) {
		reply(sm);
		return 0;
	}
	t = &sm->tasks[sm->cur];
	off = t->got;
	if (sm->cfg.fixed ? data != NULL : data != t->buf + off)
		abort(); /* the payload must be in its place */
	if (sm->check_data && off + (uint64_t)dlen <= SIM_PATTERN_LEN ?
		    memcmp(t->buf + off, pattern_of(sm->cur) + off, dlen) :
		    0)
		abort();
	for (uint32_t i = 0; sm->check_data && off + (uint64_t)dlen > SIM_PATTERN_LEN && i < dlen;
	     i++)
		if (t->buf[off + i] != sim_pattern(sm->cur, off + i))
			abort();
	t->got += dlen;
	sm->data_pdus++;
	return 0;
}

static void sim_conn_fail(void *ctx, const char *why)
{
	struct sim *sm = ctx;

	if (!why)
		return;
	sm->failed = true;
	snprintf(sm->why, sizeof(sm->why), "%s", why);
}

static const struct nu_stream_ops sim_ops = {
	.frame = sim_frame,
	.pdu = sim_pdu,
	.fail = sim_conn_fail,
};

/* ---------------------------------------------------------------- ring */

static size_t take(struct sim_wire *sm, size_t want)
{
	size_t n = sm->wire_len - sm->wire_off;

	if (n > want)
		n = want;
	if (sm->nsplits) {
		size_t cut = sm->splits[sm->split_i++ % sm->nsplits];

		if (n > cut)
			n = cut ? cut : 1;
	}
	return n;
}

/* A buffer-table entry's bytes [off, off + len): must be inside. */
static uint8_t *table(struct sim_wire *sm, unsigned index, uint64_t off, uint32_t len)
{
	if (index >= SIM_TABLE || !sm->table[index].buf || off > sm->table[index].len ||
	    len > sm->table[index].len - off)
		abort();
	return sm->table[index].buf + off;
}

/* What the stream sent, kept in order when asked to. */
static void record_sent(struct sim_wire *sm, const uint8_t *p, size_t n)
{
	if (!sm->sent)
		return;
	if (n > sm->sent_cap - sm->sent_len)
		abort();
	memcpy(sm->sent + sm->sent_len, p, n);
	sm->sent_len += n;
}

/* The result of one SQE, or 1 for one that never completes (a timeout). */
static int complete(struct sim_wire *sm, const struct io_uring_sqe *sqe, bool *never)
{
	bool fixed = sqe->ioprio & IORING_RECVSEND_FIXED_BUF;
	const struct msghdr *m = (const void *)(uintptr_t)sqe->addr;
	uint8_t *p = (uint8_t *)(uintptr_t)sqe->addr;
	static uint8_t scratch[16384];
	volatile uint8_t sink = 0;
	size_t n, total = 0;

	sm->linked += !!(sqe->flags & IOSQE_IO_LINK);
	switch (sqe->opcode) {
	case IORING_OP_RECV:
		if (fixed)
			p = table(sm, sqe->buf_index, sqe->addr, sqe->len);
		n = take(sm, sqe->len);
		memcpy(p, sm->wire + sm->wire_off, n);
		sm->wire_off += n;
		return n;
	case IORING_OP_RECVMSG:
		for (size_t i = 0; i < m->msg_iovlen; i++)
			total += m->msg_iov[i].iov_len;
		n = take(sm, total);
		total = n;
		for (size_t i = 0; n; i++) {
			size_t k = n < m->msg_iov[i].iov_len ? n : m->msg_iov[i].iov_len;

			memcpy(m->msg_iov[i].iov_base, sm->wire + sm->wire_off, k);
			sm->wire_off += k;
			n -= k;
		}
		return total;
	case IORING_OP_SENDMSG:
		/*
		 * Read what would go out: freed or stray memory shows under ASan
		 * (memcpy's interceptor checks the whole range; a byte loop
		 * was most of a fuzz run's time).
		 */
		for (size_t i = 0; i < m->msg_iovlen; i++) {
			const uint8_t *b = m->msg_iov[i].iov_base;

			for (size_t k = 0; k < m->msg_iov[i].iov_len; k += sizeof(scratch)) {
				size_t c = m->msg_iov[i].iov_len - k;

				c = c < sizeof(scratch) ? c : sizeof(scratch);
				memcpy(scratch, b + k, c);
				sink ^= scratch[0] ^ scratch[c - 1];
			}
			record_sent(sm, b, m->msg_iov[i].iov_len);
			total += m->msg_iov[i].iov_len;
		}
		return total;
	case IORING_OP_SEND:
		if (!fixed)
			abort();
		p = table(sm, sqe->buf_index, sqe->addr, sqe->len);
		sink ^= p[0];
		record_sent(sm, p, sqe->len);
		return sqe->len;
	case IORING_OP_ASYNC_CANCEL:
		return -ENOENT; /* receives complete at once here: never one to cancel */
	case IORING_OP_TIMEOUT:
	case IORING_OP_TIMEOUT_REMOVE:
	case IORING_OP_NOP:
		*never = true;
		return 0;
	default:
		abort();
	}
}

struct nu_queue *sim_queue_new(struct sim_wire *w)
{
	struct nu_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->ring.sq.khead = &q->khead;
	q->ring.sq.sqes = q->sqes;
	q->ring.sq.ring_mask = SIM_SQ - 1;
	q->ring.sq.ring_entries = SIM_SQ;
	q->w = w;
	return q;
}

void sim_queue_run(struct nu_queue *q, struct nu_stream *s)
{
	while (q->done != q->ring.sq.sqe_tail) {
		struct io_uring_sqe sqe = q->sqes[q->done & (SIM_SQ - 1)];
		struct io_uring_cqe cqe = { .user_data = sqe.user_data };
		bool never = false;

		q->khead = ++q->done;
		cqe.res = complete(q->w, &sqe, &never);
		if (!never && !nu_stream_cqe(s, &cqe))
			abort();
	}
}

int sim_init(struct sim *sm, const struct sim_cfg *cfg, const uint32_t *task_len)
{
	memset(sm, 0, sizeof(*sm));
	sm->q = sim_queue_new(&sm->w);
	if (!sm->q)
		return -ENOMEM;
	sm->cfg = *cfg;
	sm->cfg.fixed = cfg->fixed && cfg->exact && !cfg->ddgst;
	for (unsigned i = 0; i < SIM_TASKS; i++) {
		sm->tasks[i].len = task_len[i];
		sm->tasks[i].buf = malloc(task_len[i] + SIM_GUARD);
		if (!sm->tasks[i].buf) {
			sim_destroy(sm);
			return -ENOMEM;
		}
		memset(sm->tasks[i].buf, 0xa5, task_len[i] + SIM_GUARD);
		sm->w.table[i].buf = sm->tasks[i].buf;
		sm->w.table[i].len = task_len[i];
	}
	nu_stream_init(&sm->s, sm->q, &sim_ops, sm, sm->cfg.nvme ? 8 : 48);
	return 0;
}

void sim_attach(struct sim *sm, const uint8_t *wire, size_t len, const uint16_t *splits,
		unsigned nsplits)
{
	unsigned hd = sm->cfg.hdgst ? 4 : 0;

	sm->w.wire = wire;
	sm->w.wire_len = len;
	sm->w.splits = splits;
	sm->w.nsplits = nsplits;
	if (nu_stream_attach(&sm->s, -1, SIM_RX_CAP,
			     sm->cfg.exact ? (sm->cfg.nvme ? 24 : 48) + hd : 0))
		abort();
	/* As the transports do before sending a zero-copy read. */
	for (unsigned i = 0; sm->cfg.fixed && i < SIM_TASKS; i++)
		if (sm->tasks[i].len)
			nu_stream_expect_fixed(&sm->s, i);
}

void sim_run(struct sim *sm, const uint8_t *wire, size_t len, const uint16_t *splits,
	     unsigned nsplits)
{
	sim_attach(sm, wire, len, splits, nsplits);
	sim_queue_run(sm->q, &sm->s);
	if (!sm->failed)
		abort(); /* the wire ends in EOF: the stream must have said so */
}

bool sim_guards_intact(const struct sim *sm)
{
	for (unsigned i = 0; i < SIM_TASKS; i++) {
		const struct sim_task *t = &sm->tasks[i];

		for (unsigned k = 0; t->buf && k < SIM_GUARD; k++)
			if (t->buf[t->len + k] != 0xa5)
				return false;
	}
	return true;
}

void sim_destroy(struct sim *sm)
{
	nu_stream_destroy(&sm->s);
	for (unsigned i = 0; i < SIM_TASKS; i++)
		free(sm->tasks[i].buf);
	free(sm->q);
	sm->q = NULL;
}

int sim_cmds_parse(struct sim_cmds *c, const uint8_t *data, size_t size, uint32_t lbs,
		   bool zero_copy)
{
	unsigned nsplits;

	memset(c, 0, sizeof(*c));
	memset(sim_completions, 0, sizeof(sim_completions));
	if (size < 1)
		return -EINVAL;
	c->n = 1 + (data[0] & 7);
	data++;
	size--;
	if (size < 2 * c->n + 1)
		return -EINVAL;
	for (unsigned i = 0; i < c->n; i++) {
		struct nu_io *io = &c->io[i];
		uint32_t len = (1 + data[2 * i + 1] % 64) * lbs;

		io->op = data[2 * i] % 4;
		io->tag = i;
		io->len = io->op == NU_OP_FLUSH ? 0 : len;
		io->offset = (uint64_t)i * 65536;
		io->buf.fixed_index = -1;
		if (!nu_op_has_data(io->op))
			continue;
		/* Exactly the request's size: ASan sees a byte past it. */
		c->buf[i] = calloc(1, len);
		if (zero_copy) {
			c->w.table[i].buf = c->buf[i];
			c->w.table[i].len = len;
			io->buf.fixed_index = i;
		} else {
			io->buf.addr = c->buf[i];
		}
	}
	data += 2 * c->n;
	size -= 2 * c->n;
	nsplits = data[0] & 15;
	data++;
	size--;
	if (size < 2 * nsplits)
		nsplits = 0;
	for (unsigned i = 0; i < nsplits; i++)
		c->splits[i] = data[2 * i] | data[2 * i + 1] << 8;
	data += 2 * nsplits;
	size -= 2 * nsplits;
	c->wire = malloc(size ? size : 1); /* exactly the bytes there */
	if (c->wire)
		memcpy(c->wire, data, size);
	c->w.wire = c->wire;
	c->w.wire_len = c->wire ? size : 0;
	c->w.splits = c->splits;
	c->w.nsplits = nsplits;
	return 0;
}

void sim_cmds_free(struct sim_cmds *c)
{
	free(c->wire);
	for (unsigned i = 0; i < SIM_CMDS; i++)
		free(c->buf[i]);
}

unsigned sim_completions[SIM_CMDS];
uint32_t (*sim_read_filled)(unsigned tag);

void nu_queue_no_coalesce(struct nu_queue *q, bool on)
{
	(void)q, (void)on; /* the simulated ring waits for nothing */
}

void nu_queue_serve_cqe(struct nu_queue *q, const struct io_uring_cqe *cqe)
{
	(void)q, (void)cqe;
	abort(); /* no drain on the simulated ring */
}

unsigned nu_queue_id(const struct nu_queue *q)
{
	(void)q;
	return 0;
}

struct nu_host *nu_queue_host(const struct nu_queue *q)
{
	(void)q;
	return NULL;
}

unsigned nu_host_backend_depth(const struct nu_host *h)
{
	(void)h;
	return SIM_CMDS;
}

void nu_queue_complete(struct nu_queue *q, struct nu_io *io, int res)
{
	(void)q;
	if (io->tag >= SIM_CMDS || sim_completions[io->tag]++)
		abort(); /* completed twice */
	if (io->op == NU_OP_READ && !res && sim_read_filled && sim_read_filled(io->tag) != io->len)
		abort(); /* a good read the target did not fill */
}
