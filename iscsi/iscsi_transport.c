// SPDX-License-Identifier: MIT
/*
 * iSCSI full feature phase on a queue ring. One gathered SENDMSG in flight
 * per connection (PDUs never interleave on the wire); one reader: the BHS
 * first, then the data segment straight into its final buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "iscsi_transport.h"
#include "conn.h"
#include "tcp.h"
#include "digest.h"
#include "host.h"
#include "log.h"
#include "login.h"
#include "pdu.h"
#include "queue.h"
#include "scsi.h"
#include "udata.h"

#define TX_MAX_IOV 64
/* ITTs of ABORT TASK requests: top bit set (never a command's), tag below. */
#define TMF_ITT_BASE 0x80010000u
#define TMF_ITT_MASK 0xffff0000u
#define RETRY_LIMIT 20

enum { UD_TX = 1, UD_RX, UD_TIMER, UD_IGNORE };

struct iscsi_host {
	struct iscsi_target_config cfg;
	struct iscsi_login_config lcfg;
	struct iscsi_lun_info luns[ISCSI_MAX_LUNS];
	unsigned nr_luns;
	int nop_interval_ms, nop_timeout_ms, replacement_timeout_ms;
	uint32_t isid_base;
	int event_fd; /* LUN inventory or capacity changed */
};

struct tx_item {
	struct tx_item *next;
	uint16_t tag; /* owning task, or 0xffff */
	uint8_t niov;
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	uint8_t trailer[8]; /* padding and data digest */
	struct iovec iov[3];
};

struct iscsi_task {
	struct nu_io *io;
	struct scsi_cmd cmd;
	uint32_t itt;
	uint32_t cmdsn;
	uint64_t sent_ns;  /* when the command last went out */
	uint64_t abort_ns; /* when ABORT TASK went out, 0 if not aborting */
	uint32_t data_in; /* bytes received so far */
	uint8_t lun[8];
	uint8_t retries;
	uint16_t tx_pending; /* queued tx items that point into this task's data */
	bool started;
};

enum conn_state { CONN_UP, CONN_DRAINING, CONN_DOWN };

enum rx_state { RX_HDR, RX_DATA };

struct iscsi_queue {
	struct iscsi_host *h;
	struct nu_queue *q;
	unsigned qid;
	int fd;
	enum conn_state state;
	struct iscsi_session_params p;
	uint32_t cmdsn, expstatsn, maxcmdsn;
	uint16_t itt_gen;
	unsigned depth;
	struct iscsi_task *tasks;
	struct nu_io *win_head, *win_tail; /* waiting for the CmdSN window */
	uint8_t *zero_block;

	/* tx */
	struct tx_item *txq_head, *txq_tail, *tx_free;
	struct tx_item *tx_batch[TX_MAX_IOV];
	unsigned tx_batch_n;
	struct iovec tx_iov[TX_MAX_IOV];
	struct msghdr tx_msg;
	bool tx_busy;

	/* rx */
	enum rx_state rx_state;
	bool rx_busy;
	struct iscsi_hdr rh;
	bool rx_hdr_ok; /* rh holds the checked header at rx_off */
	uint8_t *rx_buf; /* stream buffer */
	size_t rx_cap, rx_len, rx_off;
	uint8_t rx_trailer[8];
	struct iovec rx_iov[2];
	struct msghdr rx_msg;
	uint8_t *rx_dest; /* the command's buffer for Data-In, else NULL */

	/* health */
	struct __kernel_timespec tick;
	bool timer_armed;
	uint64_t last_rx_ns;
	uint64_t ping_sent_ns;
	uint64_t down_since_ns;
	unsigned reconnect_delay_ms;
	uint64_t next_reconnect_ns;
	bool stopping;
};

static void conn_fail(struct iscsi_queue *iq, const char *why);
static void rx_arm(struct iscsi_queue *iq);
static void tx_kick(struct iscsi_queue *iq);
static void task_send(struct iscsi_queue *iq, struct iscsi_task *t);

/* ---------------------------------------------------------------- tx */

static struct tx_item *tx_alloc(struct iscsi_queue *iq, uint16_t tag)
{
	struct tx_item *it = iq->tx_free;

	if (it)
		iq->tx_free = it->next;
	else
		it = malloc(sizeof(*it));
	if (!it)
		return NULL;
	it->next = NULL;
	it->tag = tag;
	it->niov = 0;
	if (tag != 0xffff)
		iq->tasks[tag].tx_pending++;
	return it;
}

static void tx_release(struct iscsi_queue *iq, struct tx_item *it)
{
	if (it->tag != 0xffff)
		iq->tasks[it->tag].tx_pending--;
	it->next = iq->tx_free;
	iq->tx_free = it;
}

/* Queues one PDU: bhs (48 bytes, filled by the caller) and an optional data segment. */
static int tx_pdu(struct iscsi_queue *iq, uint16_t tag, const uint8_t *bhs, void *data,
		  uint32_t dlen)
{
	struct tx_item *it = tx_alloc(iq, tag);
	unsigned hlen = ISCSI_BHS_LEN, tlen = iscsi_pad4(dlen);

	if (!it)
		return -ENOMEM;
	memcpy(it->hdr, bhs, ISCSI_BHS_LEN);
	if (iq->p.header_digest) {
		nu_put_le32(it->hdr + ISCSI_BHS_LEN, nu_crc32c(it->hdr, ISCSI_BHS_LEN));
		hlen += ISCSI_DIGEST_LEN;
	}
	it->iov[it->niov++] = (struct iovec){ it->hdr, hlen };
	if (dlen) {
		it->iov[it->niov++] = (struct iovec){ data, dlen };
		memset(it->trailer, 0, 4);
		if (iq->p.data_digest) {
			uint32_t crc = nu_crc32c_update(NU_CRC32C_INIT, data, dlen);

			crc = nu_crc32c_update(crc, it->trailer, tlen);
			nu_put_le32(it->trailer + tlen, nu_crc32c_final(crc));
			tlen += ISCSI_DIGEST_LEN;
		}
		if (tlen)
			it->iov[it->niov++] = (struct iovec){ it->trailer, tlen };
	}
	if (iq->txq_tail)
		iq->txq_tail->next = it;
	else
		iq->txq_head = it;
	iq->txq_tail = it;
	return 0;
}

static void tx_kick(struct iscsi_queue *iq)
{
	struct io_uring_sqe *sqe;
	unsigned n = 0;

	if (iq->tx_busy || iq->state != CONN_UP || !iq->txq_head)
		return;
	iq->tx_batch_n = 0;
	while (iq->txq_head && n + iq->txq_head->niov <= TX_MAX_IOV) {
		struct tx_item *it = iq->txq_head;

		iq->txq_head = it->next;
		if (!iq->txq_head)
			iq->txq_tail = NULL;
		for (unsigned i = 0; i < it->niov; i++)
			iq->tx_iov[n++] = it->iov[i];
		iq->tx_batch[iq->tx_batch_n++] = it;
	}
	memset(&iq->tx_msg, 0, sizeof(iq->tx_msg));
	iq->tx_msg.msg_iov = iq->tx_iov;
	iq->tx_msg.msg_iovlen = n;
	sqe = nu_queue_get_sqe(iq->q);
	io_uring_prep_sendmsg(sqe, iq->fd, &iq->tx_msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_TRANSPORT, UD_TX, 0));
	iq->tx_busy = true;
}

static void tx_done(struct iscsi_queue *iq, int res)
{
	struct msghdr *m = &iq->tx_msg;
	size_t left = res > 0 ? (size_t)res : 0;

	iq->tx_busy = false;
	if (res < 0 || iq->state != CONN_UP) {
		for (unsigned i = 0; i < iq->tx_batch_n; i++)
			tx_release(iq, iq->tx_batch[i]);
		iq->tx_batch_n = 0;
		if (iq->state == CONN_UP)
			conn_fail(iq, res < 0 ? strerror(-res) : "send failed");
		else
			conn_fail(iq, NULL);
		return;
	}
	/* Short send: skip what went out and send the rest of this batch again. */
	while (m->msg_iovlen && left >= m->msg_iov[0].iov_len) {
		left -= m->msg_iov[0].iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (m->msg_iovlen) {
		struct io_uring_sqe *sqe = nu_queue_get_sqe(iq->q);

		m->msg_iov[0].iov_base = (char *)m->msg_iov[0].iov_base + left;
		m->msg_iov[0].iov_len -= left;
		io_uring_prep_sendmsg(sqe, iq->fd, m, MSG_NOSIGNAL);
		io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_TRANSPORT, UD_TX, 0));
		iq->tx_busy = true;
		return;
	}
	for (unsigned i = 0; i < iq->tx_batch_n; i++)
		tx_release(iq, iq->tx_batch[i]);
	iq->tx_batch_n = 0;
	tx_kick(iq);
}

/* ---------------------------------------------------------------- tasks */

static struct iscsi_task *task_by_itt(struct iscsi_queue *iq, uint32_t itt)
{
	uint32_t tag = itt & 0xffff;

	if (tag >= iq->depth || !iq->tasks[tag].io || iq->tasks[tag].itt != itt ||
	    !iq->tasks[tag].started)
		return NULL;
	return &iq->tasks[tag];
}

static void update_sn(struct iscsi_queue *iq, const struct iscsi_hdr *h)
{
	uint32_t exp = hdr_expcmdsn(h), max = hdr_maxcmdsn(h);

	/* RFC 7143 4.2.2.1: MaxCmdSN may only grow; ignore a window that is invalid. */
	if (iscsi_sn_lt(max + 1, exp))
		return;
	if (iscsi_sn_lt(iq->maxcmdsn, max))
		iq->maxcmdsn = max;
	/* Commands that waited for the window can go now. */
	while (iq->win_head && iscsi_sn_le(iq->cmdsn, iq->maxcmdsn)) {
		struct nu_io *io = iq->win_head;

		iq->win_head = io->next;
		if (!iq->win_head)
			iq->win_tail = NULL;
		io->next = NULL;
		task_send(iq, &iq->tasks[io->tag]);
	}
}

static void task_complete(struct iscsi_queue *iq, struct iscsi_task *t, int res)
{
	struct nu_io *io = t->io;

	/* Unsent Data-Out of a finished command must not go out later. */
	if (t->tx_pending) {
		struct tx_item **pp = &iq->txq_head, *it;

		iq->txq_tail = NULL;
		while ((it = *pp)) {
			if (it->tag == io->tag) {
				*pp = it->next;
				tx_release(iq, it);
			} else {
				iq->txq_tail = it;
				pp = &it->next;
			}
		}
	}
	t->io = NULL;
	t->started = false;
	nu_queue_complete(iq->q, io, res);
}

static void task_retry_or_fail(struct iscsi_queue *iq, struct iscsi_task *t, int res,
			       const char *why)
{
	if (t->retries++ < RETRY_LIMIT) {
		nu_dbg("iscsi q%u: retrying ITT 0x%x: %s", iq->qid, t->itt, why);
		t->started = false;
		task_send(iq, t);
		return;
	}
	nu_err("iscsi q%u: giving up on ITT 0x%x after %u tries: %s", iq->qid, t->itt,
	       t->retries, why);
	task_complete(iq, t, res);
}

/* Where a write-direction command's data comes from: the request, an UNMAP list, zeroes. */
static uint8_t *data_out_source(struct iscsi_queue *iq, struct iscsi_task *t)
{
	if (t->cmd.zero_block)
		return iq->zero_block;
	return t->io->op == NU_OP_WRITE ? (uint8_t *)t->io->buf.addr : t->cmd.param;
}

/* Unsolicited or R2T-solicited Data-Out PDUs for [off, off + len). */
static int queue_data_out(struct iscsi_queue *iq, struct iscsi_task *t, uint32_t ttt, uint32_t off,
			  uint32_t len, bool final_at_end)
{
	uint8_t *src = data_out_source(iq, t);
	uint32_t datasn = 0;
	uint8_t bhs[ISCSI_BHS_LEN];

	while (len) {
		uint32_t n = len < iq->p.max_send_dlen ? len : iq->p.max_send_dlen;
		int ret;

		iscsi_build_data_out(bhs, t->lun, t->itt, ttt, iq->expstatsn, datasn++, off, n,
				     final_at_end && n == len);
		ret = tx_pdu(iq, t->io->tag, bhs, src + off, n);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

static void task_send(struct iscsi_queue *iq, struct iscsi_task *t)
{
	struct nu_io *io = t->io;
	uint8_t bhs[ISCSI_BHS_LEN];
	uint32_t xfer = t->cmd.xfer_len, imm = 0, unsol = 0;
	uint8_t flags = ISCSI_FLAG_FINAL;
	void *src = NULL;

	if (iq->state != CONN_UP)
		return; /* resent after the relogin */
	if (iscsi_sn_lt(iq->maxcmdsn, iq->cmdsn)) {
		io->next = NULL;
		if (iq->win_tail)
			iq->win_tail->next = io;
		else
			iq->win_head = io;
		iq->win_tail = io;
		return;
	}
	t->itt = (uint32_t)io->tag | (uint32_t)(iq->itt_gen++ & 0x7fff) << 16;
	t->cmdsn = iq->cmdsn;
	t->sent_ns = nu_now_ns();
	t->abort_ns = 0;
	t->data_in = 0;
	t->started = true;
	if (t->cmd.dir == SCSI_DIR_READ) {
		flags |= ISCSI_CMD_READ;
	} else if (t->cmd.dir == SCSI_DIR_WRITE) {
		uint32_t burst = xfer < iq->p.first_burst ? xfer : iq->p.first_burst;

		flags |= ISCSI_CMD_WRITE;
		src = data_out_source(iq, t);
		if (iq->p.immediate_data)
			imm = burst < iq->p.max_send_dlen ? burst : iq->p.max_send_dlen;
		if (!iq->p.initial_r2t)
			unsol = burst - imm;
		if (unsol)
			flags &= ~ISCSI_FLAG_FINAL;
	}
	iscsi_build_scsi_cmd(bhs, t->lun, t->itt, flags, xfer, iq->cmdsn++, iq->expstatsn,
			     t->cmd.cdb, t->cmd.cdb_len, imm);
	if (tx_pdu(iq, io->tag, bhs, src, imm) ||
	    (unsol && queue_data_out(iq, t, ISCSI_RESERVED_TAG, imm, unsol, true))) {
		conn_fail(iq, "out of memory for PDUs");
		return;
	}
	tx_kick(iq);
}

/* ---------------------------------------------------------------- rx */

/*
 * Receiving: a stream buffer takes whatever the socket has (often many PDUs
 * at once: one receive for a whole batch of small completions); PDUs are
 * parsed out of it. A large Data-In whose payload is not all there yet gets
 * the rest received straight into the command's buffer.
 */
#define RX_DIRECT_MIN 16384

static unsigned rx_hlen(const struct iscsi_queue *iq)
{
	return ISCSI_BHS_LEN + (iq->p.header_digest ? ISCSI_DIGEST_LEN : 0);
}

static unsigned rx_tlen(const struct iscsi_queue *iq, uint32_t dlen)
{
	return dlen ? iscsi_pad4(dlen) + (iq->p.data_digest ? ISCSI_DIGEST_LEN : 0) : 0;
}

static void rx_recv(struct iscsi_queue *iq)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(iq->q);

	if (iq->rx_state == RX_HDR) {
		/* Keep the unparsed tail at the front so a whole PDU always fits. */
		if (iq->rx_off) {
			memmove(iq->rx_buf, iq->rx_buf + iq->rx_off, iq->rx_len - iq->rx_off);
			iq->rx_len -= iq->rx_off;
			iq->rx_off = 0;
		}
		io_uring_prep_recv(sqe, iq->fd, iq->rx_buf + iq->rx_len, iq->rx_cap - iq->rx_len, 0);
	} else {
		io_uring_prep_recvmsg(sqe, iq->fd, &iq->rx_msg, MSG_WAITALL);
	}
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_TRANSPORT, UD_RX, 0));
	iq->rx_busy = true;
}

static void rx_arm(struct iscsi_queue *iq)
{
	iq->rx_state = RX_HDR;
	rx_recv(iq);
}

static void rx_reset(struct iscsi_queue *iq)
{
	iq->rx_len = iq->rx_off = 0;
	iq->rx_hdr_ok = false;
}

static void send_nop_reply(struct iscsi_queue *iq, const struct iscsi_hdr *h)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_build_nop_out(bhs, ISCSI_RESERVED_TAG, hdr_ttt(h), h->lun, iq->cmdsn, iq->expstatsn);
	if (tx_pdu(iq, 0xffff, bhs, NULL, 0) == 0)
		tx_kick(iq);
}

static void handle_scsi_rsp(struct iscsi_queue *iq, struct iscsi_task *t, uint8_t response,
			    uint8_t status, uint8_t flags, const uint8_t *data, uint32_t dlen)
{
	const uint8_t *sense = NULL;
	uint32_t sense_len = 0;
	bool retry;
	char desc[128];
	int res;

	if (response) {
		task_retry_or_fail(iq, t, -EIO, "target failure response");
		return;
	}
	if (dlen >= 2) {
		sense_len = (uint32_t)data[0] << 8 | data[1];
		if (sense_len > dlen - 2)
			sense_len = dlen - 2;
		sense = data + 2;
	}
	res = scsi_result(status, sense, sense_len, &retry, desc, sizeof(desc));
	if (status == SCSI_STATUS_CHECK_CONDITION &&
	    scsi_sense_change(sense, sense_len) != SCSI_CHANGE_NONE) {
		uint64_t one = 1;

		nu_info("iscsi q%u: %s: the target's LUNs changed, rescanning", iq->qid, desc);
		if (write(iq->h->event_fd, &one, sizeof(one)) != sizeof(one))
			nu_warn("iscsi: cannot signal a rescan");
	}
	if (!res && t->cmd.dir == SCSI_DIR_READ &&
	    (t->data_in != t->cmd.xfer_len || (flags & ISCSI_RSP_UNDERFLOW))) {
		/* Never hand back a buffer the target did not fill. */
		task_retry_or_fail(iq, t, -EIO, "short read from target");
		return;
	}
	if (res && retry) {
		task_retry_or_fail(iq, t, res, desc);
		return;
	}
	if (res)
		nu_err("iscsi q%u: LUN %u: %s %llu+%u: %s", iq->qid, t->lun[1],
		       nu_op_name(t->io->op), (unsigned long long)t->io->offset, t->io->len, desc);
	task_complete(iq, t, res);
}

/* Checks the header at the parse position and finds where its data goes. */
static int rx_check_header(struct iscsi_queue *iq)
{
	const uint8_t *b = iq->rx_buf + iq->rx_off;
	struct iscsi_hdr *h = &iq->rh;
	struct iscsi_task *t;
	const char *why;

	iscsi_hdr_decode(b, h);
	if (iq->p.header_digest &&
	    nu_get_le32(b + ISCSI_BHS_LEN) != nu_crc32c(b, ISCSI_BHS_LEN)) {
		conn_fail(iq, "header digest mismatch");
		return -EPROTO;
	}
	if (iscsi_hdr_check(h, iq->p.max_recv_dlen, &why)) {
		nu_err("iscsi q%u: opcode 0x%02x: %s", iq->qid, h->opcode, why);
		conn_fail(iq, "protocol violation");
		return -EPROTO;
	}
	iq->rx_dest = NULL;
	if (h->opcode == ISCSI_OP_DATA_IN && h->dlen) {
		t = task_by_itt(iq, h->itt);
		if (!t || t->cmd.dir != SCSI_DIR_READ) {
			conn_fail(iq, "Data-In for an unknown task");
			return -EPROTO;
		}
		if (hdr_buffer_offset(h) != t->data_in ||
		    h->dlen > t->cmd.xfer_len - t->data_in) {
			conn_fail(iq, "Data-In outside the command's buffer");
			return -EPROTO;
		}
		iq->rx_dest = (uint8_t *)t->io->buf.addr + hdr_buffer_offset(h);
	}
	iq->rx_hdr_ok = true;
	return 0;
}

/*
 * A whole PDU is in: data points at its data segment (in the stream buffer
 * or already in the command's buffer), trailer at its padding and digest.
 * Returns 0, or -EPROTO when the connection was dropped.
 */
static int rx_pdu(struct iscsi_queue *iq, const uint8_t *data, const uint8_t *trailer)
{
	struct iscsi_hdr *h = &iq->rh;
	struct iscsi_task *t;

	iq->rx_hdr_ok = false;
	if (iq->p.data_digest && h->dlen) {
		unsigned pad = iscsi_pad4(h->dlen);
		uint32_t crc = nu_crc32c_update(NU_CRC32C_INIT, data, h->dlen);

		crc = nu_crc32c_final(nu_crc32c_update(crc, trailer, pad));
		if (nu_get_le32(trailer + pad) != crc) {
			conn_fail(iq, "data digest mismatch");
			return -EPROTO;
		}
	}
	/* Data-In that came through the stream buffer: into the command's buffer now. */
	if (iq->rx_dest && data != iq->rx_dest)
		memcpy(iq->rx_dest, data, h->dlen);
	iq->last_rx_ns = nu_now_ns();
	switch (h->opcode) {
	case ISCSI_OP_DATA_IN:
		t = task_by_itt(iq, h->itt);
		if (!t) {
			conn_fail(iq, "Data-In for an unknown task");
			return -EPROTO;
		}
		t->data_in += h->dlen;
		update_sn(iq, h);
		if (h->flags & ISCSI_DATAIN_STATUS) {
			if (!(h->flags & ISCSI_FLAG_FINAL)) {
				conn_fail(iq, "Data-In with status but not final");
				return -EPROTO;
			}
			iq->expstatsn = hdr_statsn(h) + 1;
			handle_scsi_rsp(iq, t, 0, h->b3,
					h->flags & ISCSI_DATAIN_UNDERFLOW ? ISCSI_RSP_UNDERFLOW : 0,
					NULL, 0);
		}
		break;
	case ISCSI_OP_SCSI_RSP:
		t = task_by_itt(iq, h->itt);
		if (!t) {
			conn_fail(iq, "SCSI Response for an unknown task");
			return -EPROTO;
		}
		iq->expstatsn = hdr_statsn(h) + 1;
		update_sn(iq, h);
		handle_scsi_rsp(iq, t, h->b2, h->b3, h->flags, data, h->dlen);
		break;
	case ISCSI_OP_R2T: {
		uint32_t off = hdr_buffer_offset(h), len = hdr_desired_length(h);

		t = task_by_itt(iq, h->itt);
		if (!t || t->cmd.dir != SCSI_DIR_WRITE || !len || off > t->cmd.xfer_len ||
		    len > t->cmd.xfer_len - off || len > iq->p.max_burst) {
			conn_fail(iq, "R2T outside a write command");
			return -EPROTO;
		}
		update_sn(iq, h);
		if (queue_data_out(iq, t, hdr_ttt(h), off, len, true)) {
			conn_fail(iq, "out of memory for PDUs");
			return -EPROTO;
		}
		tx_kick(iq);
		break;
	}
	case ISCSI_OP_NOP_IN:
		update_sn(iq, h);
		if (h->itt == ISCSI_RESERVED_TAG) {
			if (hdr_ttt(h) != ISCSI_RESERVED_TAG)
				send_nop_reply(iq, h);
		} else {
			iq->expstatsn = hdr_statsn(h) + 1;
			iq->ping_sent_ns = 0;
		}
		break;
	case ISCSI_OP_ASYNC:
		update_sn(iq, h);
		iq->expstatsn = hdr_statsn(h) + 1;
		switch (h->f36 >> 24) { /* AsyncEvent */
		case 0:
			nu_info("iscsi q%u: asynchronous SCSI event", iq->qid);
			break;
		case 1:
		case 2:
		case 3:
			conn_fail(iq, "target asked to log out or dropped the connection");
			return -EPROTO;
		default:
			break;
		}
		break;
	case ISCSI_OP_REJECT: {
		struct iscsi_hdr rej;

		iscsi_hdr_decode(data, &rej);
		nu_warn("iscsi q%u: target rejected opcode 0x%02x (reason 0x%02x)", iq->qid,
			rej.opcode, h->b2);
		t = rej.opcode == ISCSI_OP_SCSI_CMD ? task_by_itt(iq, rej.itt) : NULL;
		if (t)
			task_retry_or_fail(iq, t, -EIO, "command rejected");
		else if (rej.opcode != ISCSI_OP_NOP_OUT)
			conn_fail(iq, "PDU rejected");
		break;
	}
	case ISCSI_OP_TMF_RSP:
		update_sn(iq, h);
		iq->expstatsn = hdr_statsn(h) + 1;
		/* ABORT TASK answered: 0 function complete, 1 task does not exist. */
		if ((h->itt & TMF_ITT_MASK) == TMF_ITT_BASE && (h->itt & 0xffff) < iq->depth) {
			t = &iq->tasks[h->itt & 0xffff];
			if (t->io && t->started && t->abort_ns) {
				if (h->b2 <= 1)
					task_retry_or_fail(iq, t, -ETIMEDOUT, "command timed out, aborted");
				else
					conn_fail(iq, "ABORT TASK refused");
				if (iq->state != CONN_UP)
					return -EPROTO;
			}
		}
		break;
	case ISCSI_OP_LOGOUT_RSP:
		update_sn(iq, h);
		break;
	default:
		conn_fail(iq, "unexpected PDU in full feature phase");
		return -EPROTO;
	}
	return iq->state == CONN_UP ? 0 : -EPROTO;
}

/* Acts on every whole PDU in the stream buffer, then receives more. */
static void rx_parse(struct iscsi_queue *iq)
{
	unsigned hlen = rx_hlen(iq);

	for (;;) {
		size_t avail = iq->rx_len - iq->rx_off;
		const uint8_t *p = iq->rx_buf + iq->rx_off;
		uint32_t dlen, tlen;

		if (avail < hlen)
			break;
		if (!iq->rx_hdr_ok && rx_check_header(iq))
			return;
		dlen = iq->rh.dlen;
		tlen = rx_tlen(iq, dlen);
		if (avail >= hlen + dlen + tlen) {
			iq->rx_off += hlen + dlen + tlen;
			if (rx_pdu(iq, p + hlen, p + hlen + dlen))
				return;
			continue;
		}
		if (iq->rx_dest && dlen >= RX_DIRECT_MIN && avail - hlen < dlen) {
			/* Big read data: the rest goes straight to its final place. */
			size_t have = avail - hlen;

			memcpy(iq->rx_dest, p + hlen, have);
			iq->rx_off = iq->rx_len;
			iq->rx_state = RX_DATA;
			iq->rx_iov[0] = (struct iovec){ iq->rx_dest + have, dlen - have };
			iq->rx_iov[1] = (struct iovec){ iq->rx_trailer, tlen };
			memset(&iq->rx_msg, 0, sizeof(iq->rx_msg));
			iq->rx_msg.msg_iov = iq->rx_iov;
			iq->rx_msg.msg_iovlen = tlen ? 2 : 1;
			rx_recv(iq);
			return;
		}
		break;
	}
	rx_arm(iq);
}

static void rx_done(struct iscsi_queue *iq, int res)
{
	struct msghdr *m = &iq->rx_msg;
	size_t left;

	iq->rx_busy = false;
	if (iq->state != CONN_UP) {
		conn_fail(iq, NULL);
		return;
	}
	if (res <= 0) {
		conn_fail(iq, res == 0 ? "connection closed by the target" : strerror(-res));
		return;
	}
	if (iq->rx_state == RX_HDR) {
		iq->rx_len += res;
		rx_parse(iq);
		return;
	}
	left = res;
	while (m->msg_iovlen && left >= m->msg_iov[0].iov_len) {
		left -= m->msg_iov[0].iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (m->msg_iovlen) {
		m->msg_iov[0].iov_base = (char *)m->msg_iov[0].iov_base + left;
		m->msg_iov[0].iov_len -= left;
		rx_recv(iq);
		return;
	}
	iq->rx_state = RX_HDR;
	if (rx_pdu(iq, iq->rx_dest, iq->rx_trailer) == 0)
		rx_parse(iq);
}

/* ---------------------------------------------------------------- connection */

static void timer_arm(struct iscsi_queue *iq, unsigned ms)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(iq->q);

	iq->tick.tv_sec = ms / 1000;
	iq->tick.tv_nsec = (ms % 1000) * 1000000L;
	io_uring_prep_timeout(sqe, &iq->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_TRANSPORT, UD_TIMER, 0));
	iq->timer_armed = true;
}

static int conn_login(struct iscsi_queue *iq)
{
	struct iscsi_host *h = iq->h;
	struct iscsi_login l;
	uint8_t isid[6];
	char err[160];
	int fd, ret;

	/* ISID type 0x80 (random): distinct per queue, stable across relogins. */
	isid[0] = 0x80;
	isid[1] = h->isid_base >> 16;
	isid[2] = h->isid_base >> 8;
	isid[3] = h->isid_base;
	isid[4] = iq->qid >> 8;
	isid[5] = iq->qid;
	char portal[256];

	snprintf(portal, sizeof(portal), "%s", h->cfg.portal);
	/* Follow up to three login redirections (status 0x0101/0x0102). */
	for (int hops = 0;; hops++) {
		fd = nu_tcp_connect(portal, "3260", 5000, err, sizeof(err));
		if (fd < 0) {
			nu_warn("iscsi q%u: %s", iq->qid, err);
			return fd;
		}
		iscsi_login_init(&l, &h->lcfg, isid, 0, iq->qid, iq->cmdsn);
		ret = iscsi_login_blocking(fd, &l, 15000);
		if (ret == -EREMCHG && hops < 3) {
			nu_info("iscsi q%u: %s", iq->qid, l.error);
			close(fd);
			snprintf(portal, sizeof(portal), "%s", l.redirect);
			continue;
		}
		if (ret < 0) {
			nu_err("iscsi q%u: login to %s at %s failed: %s", iq->qid, h->cfg.target,
			       portal, l.error);
			close(fd);
			return ret;
		}
		break;
	}
	iq->fd = fd;
	iq->p = l.p;
	iq->cmdsn = l.p.expcmdsn;
	iq->maxcmdsn = l.p.maxcmdsn;
	iq->expstatsn = l.p.statsn + 1;
	free(iq->rx_buf);
	/* Room for the largest PDU the target may send, plus a batch of small ones. */
	iq->rx_cap = ISCSI_BHS_LEN + ISCSI_DIGEST_LEN + iq->p.max_recv_dlen + 8 + 65536;
	iq->rx_buf = malloc(iq->rx_cap);
	rx_reset(iq);
	if (!iq->rx_buf) {
		close(fd);
		iq->fd = -1;
		return -ENOMEM;
	}
	iq->state = CONN_UP;
	iq->last_rx_ns = nu_now_ns();
	iq->ping_sent_ns = 0;
	nu_dbg("iscsi q%u: logged in, auth %s, TSIH %u, digests %s/%s, MaxRecvDSL %u/%u, burst %u/%u, "
	       "immediate %d, initialR2T %d",
	       iq->qid, l.chap_alg ? chap_alg_name(l.chap_alg) : "none", iq->p.tsih,
	       iq->p.header_digest ? "CRC32C" : "None",
	       iq->p.data_digest ? "CRC32C" : "None", iq->p.max_send_dlen, iq->p.max_recv_dlen,
	       iq->p.first_burst, iq->p.max_burst, iq->p.immediate_data, iq->p.initial_r2t);
	return 0;
}

/* Called on any failure; finishes tearing down once no socket op is in flight. */
static void conn_fail(struct iscsi_queue *iq, const char *why)
{
	if (iq->state == CONN_UP) {
		nu_warn("iscsi q%u: connection to %s lost: %s; reconnecting", iq->qid,
			iq->h->cfg.portal, why ? why : "?");
		iq->state = CONN_DRAINING;
		iq->down_since_ns = nu_now_ns();
		iq->reconnect_delay_ms = 0;
		shutdown(iq->fd, SHUT_RDWR);
	}
	if (iq->state != CONN_DRAINING || iq->tx_busy || iq->rx_busy)
		return;
	close(iq->fd);
	iq->fd = -1;
	iq->state = CONN_DOWN;
	/* Queued PDUs die with the connection; their commands are resent after login. */
	while (iq->txq_head) {
		struct tx_item *it = iq->txq_head;

		iq->txq_head = it->next;
		tx_release(iq, it);
	}
	iq->txq_tail = NULL;
	for (unsigned i = 0; i < iq->depth; i++)
		iq->tasks[i].started = false;
	iq->next_reconnect_ns = nu_now_ns();
	if (!iq->timer_armed)
		timer_arm(iq, 1);
}

static void fail_all(struct iscsi_queue *iq, int res)
{
	for (unsigned i = 0; i < iq->depth; i++)
		if (iq->tasks[i].io)
			task_complete(iq, &iq->tasks[i], res);
	iq->win_head = iq->win_tail = NULL;
}

static void try_reconnect(struct iscsi_queue *iq)
{
	uint64_t now = nu_now_ns();

	if (now < iq->next_reconnect_ns)
		return;
	if (conn_login(iq) == 0) {
		nu_info("iscsi q%u: reconnected to %s after %.1f s", iq->qid, iq->h->cfg.portal,
			(now - iq->down_since_ns) / 1e9);
		rx_arm(iq);
		for (unsigned i = 0; i < iq->depth; i++)
			if (iq->tasks[i].io)
				task_send(iq, &iq->tasks[i]);
		return;
	}
	if (now - iq->down_since_ns > (uint64_t)iq->h->replacement_timeout_ms * 1000000ull) {
		nu_err("iscsi q%u: %s unreachable for %d s: failing I/O", iq->qid,
		       iq->h->cfg.portal, iq->h->replacement_timeout_ms / 1000);
		fail_all(iq, -EIO);
	}
	/* Back off: 0.5 s doubling to 8 s, as the target may be rebooting. */
	iq->reconnect_delay_ms = iq->reconnect_delay_ms ? iq->reconnect_delay_ms * 2 : 500;
	if (iq->reconnect_delay_ms > 8000)
		iq->reconnect_delay_ms = 8000;
	iq->next_reconnect_ns = now + iq->reconnect_delay_ms * 1000000ull;
}

/*
 * A command the target sits on: ABORT TASK after the command timeout, and
 * if the abort is not answered in as long again, drop the connection (the
 * relogin resends everything). Returns true once the connection was dropped.
 */
static bool check_command_timeouts(struct iscsi_queue *iq, uint64_t now)
{
	uint64_t limit = (uint64_t)iq->h->cfg.command_timeout_s * 1000000000ull;

	for (unsigned i = 0; i < iq->depth; i++) {
		struct iscsi_task *t = &iq->tasks[i];
		uint8_t bhs[ISCSI_BHS_LEN];

		if (!t->io || !t->started)
			continue;
		if (t->abort_ns) {
			if (now - t->abort_ns > limit) {
				conn_fail(iq, "ABORT TASK not answered");
				return true;
			}
			continue;
		}
		if (now - t->sent_ns < limit)
			continue;
		nu_warn("iscsi q%u: ITT 0x%x (%s) unanswered for %u s: ABORT TASK", iq->qid, t->itt,
			nu_op_name(t->io->op), iq->h->cfg.command_timeout_s);
		iscsi_build_tmf(bhs, 1, t->lun, TMF_ITT_BASE | i, t->itt, iq->cmdsn, iq->expstatsn,
				t->cmdsn);
		if (tx_pdu(iq, 0xffff, bhs, NULL, 0) == 0) {
			t->abort_ns = now;
			tx_kick(iq);
		}
	}
	return false;
}

static void on_timer(struct iscsi_queue *iq)
{
	uint64_t now = nu_now_ns();
	unsigned next = iq->h->nop_interval_ms;

	iq->timer_armed = false;
	if (iq->stopping)
		return;
	if (iq->state == CONN_DOWN) {
		try_reconnect(iq);
		next = 250;
	} else if (iq->state == CONN_UP) {
		if (iq->ping_sent_ns &&
		    now - iq->ping_sent_ns > (uint64_t)iq->h->nop_timeout_ms * 1000000ull) {
			conn_fail(iq, "NOP-Out ping timed out");
		} else if (check_command_timeouts(iq, now)) {
			/* escalated to a reconnect */
		} else if (!iq->ping_sent_ns &&
			   now - iq->last_rx_ns > (uint64_t)iq->h->nop_interval_ms * 1000000ull) {
			uint8_t bhs[ISCSI_BHS_LEN];

			/* ITT with the top bit set never collides with a task's. */
			iscsi_build_nop_out(bhs, 0x80000000u | iq->qid, ISCSI_RESERVED_TAG, NULL,
					    iq->cmdsn, iq->expstatsn);
			if (tx_pdu(iq, 0xffff, bhs, NULL, 0) == 0) {
				iq->ping_sent_ns = now;
				tx_kick(iq);
			}
		}
		next = 1000;
	} else {
		next = 100;
	}
	timer_arm(iq, next);
}

/* ---------------------------------------------------------------- transport ops */

static int iscsi_queue_start(void *host_priv, struct nu_queue *q, void **qpriv)
{
	struct iscsi_host *h = host_priv;
	struct iscsi_queue *iq = calloc(1, sizeof(*iq));
	int ret;

	if (!iq)
		return -ENOMEM;
	iq->h = h;
	iq->q = q;
	iq->qid = nu_queue_id(q);
	iq->fd = -1;
	iq->depth = nu_host_backend_depth(nu_queue_host(q));
	iq->tasks = calloc(iq->depth, sizeof(*iq->tasks));
	iq->zero_block = calloc(1, 65536);
	if (!iq->tasks || !iq->zero_block) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = conn_login(iq);
	if (ret)
		goto fail;
	rx_arm(iq);
	timer_arm(iq, 1000);
	*qpriv = iq;
	return 0;
fail:
	free(iq->tasks);
	free(iq->zero_block);
	free(iq->rx_buf);
	free(iq);
	return ret;
}

static void logout(struct iscsi_queue *iq)
{
	uint8_t bhs[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	unsigned hlen = ISCSI_BHS_LEN;

	iscsi_build_logout(bhs, 0x80000000u | 0x4000 | iq->qid, iq->qid, iq->cmdsn,
			   iq->expstatsn);
	if (iq->p.header_digest) {
		nu_put_le32(bhs + ISCSI_BHS_LEN, nu_crc32c(bhs, ISCSI_BHS_LEN));
		hlen += ISCSI_DIGEST_LEN;
	}
	/* The reader's pending receive sees the Logout Response; we only wait for it. */
	nu_write_full(iq->fd, bhs, hlen, 2000);
}

static void iscsi_queue_stop(void *qpriv)
{
	struct iscsi_queue *iq = qpriv;
	struct io_uring *ring = nu_queue_ring(iq->q);
	uint64_t deadline = nu_now_ns() + 3000000000ull;

	iq->stopping = true;
	if (iq->state == CONN_UP && !iq->tx_busy)
		logout(iq);
	else if (iq->fd >= 0)
		shutdown(iq->fd, SHUT_RDWR);
	/* Reap our own in-flight operations before the memory they use goes away. */
	if (iq->timer_armed) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (sqe) {
			io_uring_prep_timeout_remove(sqe, nu_ud_make(NU_UD_TRANSPORT, UD_TIMER, 0),
						     0);
			io_uring_sqe_set_data64(sqe, nu_ud_make(NU_UD_TRANSPORT, UD_IGNORE, 0));
		}
	}
	while ((iq->rx_busy || iq->tx_busy || iq->timer_armed) && nu_now_ns() < deadline) {
		struct __kernel_timespec ts = { .tv_nsec = 100000000 };
		struct io_uring_cqe *cqe;

		io_uring_submit(ring);
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
			continue;
		if (nu_ud_kind(cqe->user_data) == NU_UD_TRANSPORT) {
			unsigned what = nu_ud_slot(cqe->user_data);

			if (what == UD_RX) {
				iq->rx_busy = false;
				/* A Logout Response (or EOF) ends the session; close. */
				if (iq->fd >= 0)
					shutdown(iq->fd, SHUT_RDWR);
			} else if (what == UD_TX) {
				iq->tx_busy = false;
			} else if (what == UD_TIMER) {
				iq->timer_armed = false;
			}
		}
		io_uring_cqe_seen(ring, cqe);
	}
	if (iq->rx_busy || iq->tx_busy || iq->timer_armed)
		nu_warn("iscsi q%u: socket operations still pending at stop (rx %d tx %d timer %d)",
			iq->qid, iq->rx_busy, iq->tx_busy, iq->timer_armed);
	if (iq->fd >= 0)
		close(iq->fd);
	while (iq->tx_free) {
		struct tx_item *it = iq->tx_free;

		iq->tx_free = it->next;
		free(it);
	}
	while (iq->txq_head) {
		struct tx_item *it = iq->txq_head;

		iq->txq_head = it->next;
		free(it);
	}
	free(iq->tasks);
	free(iq->zero_block);
	free(iq->rx_buf);
	free(iq);
}

static int iscsi_submit(void *qpriv, struct nu_io *io)
{
	struct iscsi_queue *iq = qpriv;
	struct iscsi_task *t = &iq->tasks[io->tag];
	const struct iscsi_lun_info *li;
	int ret;

	if (io->vol >= __atomic_load_n(&iq->h->nr_luns, __ATOMIC_ACQUIRE))
		return -ENXIO;
	li = &iq->h->luns[io->vol];
	if (li->gone)
		return -ENXIO;
	if (io->op == NU_OP_WRITE_ZEROES && li->geom.lbs > 65536)
		return -EOPNOTSUPP;
	ret = scsi_build(io, li->geom.lbs, &t->cmd);
	if (ret)
		return ret;
	if (nu_op_has_data(io->op) && io->buf.fixed_index >= 0)
		return -EOPNOTSUPP; /* this transport sees the data: copy modes only */
	if (iq->state == CONN_DOWN &&
	    nu_now_ns() - iq->down_since_ns >
		    (uint64_t)iq->h->replacement_timeout_ms * 1000000ull)
		return -EIO;
	t->io = io;
	t->retries = 0;
	t->started = false;
	iscsi_lun_encode(li->lun, t->lun);
	task_send(iq, t);
	return 0;
}

static void iscsi_cqe(void *qpriv, const struct io_uring_cqe *cqe)
{
	struct iscsi_queue *iq = qpriv;

	switch (nu_ud_slot(cqe->user_data)) {
	case UD_TX:
		tx_done(iq, cqe->res);
		break;
	case UD_RX:
		rx_done(iq, cqe->res);
		break;
	case UD_TIMER:
		on_timer(iq);
		break;
	default:
		break;
	}
}

const struct nu_transport_ops nu_iscsi_transport = {
	.name = "iscsi",
	.caps = 0,
	.queue_start = iscsi_queue_start,
	.queue_stop = iscsi_queue_stop,
	.submit = iscsi_submit,
	.cqe = iscsi_cqe,
};

/* ---------------------------------------------------------------- host */

int iscsi_host_create(const struct iscsi_target_config *cfg, struct iscsi_host **out)
{
	struct iscsi_host *h = calloc(1, sizeof(*h));
	char err[256];
	int ret;

	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	h->lcfg = (struct iscsi_login_config){
		.initiator_name = h->cfg.initiator,
		.target_name = h->cfg.target,
		.chap_user = h->cfg.chap_user[0] ? h->cfg.chap_user : NULL,
		.chap_secret = h->cfg.chap_secret[0] ? h->cfg.chap_secret : NULL,
		.mutual_user = h->cfg.mutual_user[0] ? h->cfg.mutual_user : NULL,
		.mutual_secret = h->cfg.mutual_secret[0] ? h->cfg.mutual_secret : NULL,
		.chap_algs = h->cfg.chap_algs[0] ? h->cfg.chap_algs : NULL,
		.header_digest = h->cfg.header_digest,
		.data_digest = h->cfg.data_digest,
		.max_recv_dlen = h->cfg.max_recv_dlen,
		.max_burst = h->cfg.max_burst,
		.first_burst = h->cfg.first_burst,
		.immediate_data = h->cfg.immediate_data,
		.initial_r2t = h->cfg.initial_r2t,
		.max_outstanding_r2t = 1,
	};
	h->nop_interval_ms = 5000;
	h->nop_timeout_ms = 5000;
	h->replacement_timeout_ms = 120000;
	h->isid_base = (uint32_t)getpid() ^ (uint32_t)nu_now_ns();
	h->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->event_fd < 0) {
		free(h);
		return -errno;
	}
	ret = iscsi_enumerate_luns(cfg, h->luns, ISCSI_MAX_LUNS, &h->nr_luns, err, sizeof(err));
	if (ret) {
		nu_err("iscsi: %s", err);
		iscsi_host_destroy(h);
		return ret;
	}
	if (!h->nr_luns) {
		nu_err("iscsi: %s at %s has no disk LUNs", cfg->target, cfg->portal);
		iscsi_host_destroy(h);
		return -ENOENT;
	}
	for (unsigned i = 0; i < h->nr_luns; i++)
		nu_info("iscsi: %s LUN %u: %llu bytes, %u/%u-byte blocks, %s%s %s %s", cfg->target,
			h->luns[i].lun, (unsigned long long)h->luns[i].geom.size,
			h->luns[i].geom.lbs, h->luns[i].geom.pbs,
			h->luns[i].geom.read_only ? "read-only, " : "",
			h->luns[i].vendor, h->luns[i].product,
			h->luns[i].wwid[0] ? h->luns[i].wwid : "(no WWID)");
	*out = h;
	return 0;
}

void iscsi_host_destroy(struct iscsi_host *h)
{
	if (!h)
		return;
	if (h->event_fd >= 0)
		close(h->event_fd);
	free(h);
}

int iscsi_host_event_fd(const struct iscsi_host *h)
{
	return h->event_fd;
}

static int find_lun(const struct iscsi_lun_info *luns, unsigned n, const struct iscsi_lun_info *x)
{
	for (unsigned i = 0; i < n; i++) {
		if (luns[i].gone || luns[i].lun != x->lun)
			continue;
		/* Same number, other identity: a different volume took its place. */
		if (luns[i].wwid[0] && x->wwid[0] && strcmp(luns[i].wwid, x->wwid))
			continue;
		return i;
	}
	return -1;
}

int iscsi_host_rescan(struct iscsi_host *h, struct nu_rescan *r)
{
	struct iscsi_lun_info *now = calloc(ISCSI_MAX_LUNS, sizeof(*now));
	unsigned n, nr = h->nr_luns;
	char err[256];
	int ret;
	uint64_t drain;

	memset(r, 0, sizeof(*r));
	if (read(h->event_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		nu_warn("iscsi: event read: %s", strerror(errno));
	if (!now)
		return -ENOMEM;
	ret = iscsi_enumerate_luns(&h->cfg, now, ISCSI_MAX_LUNS, &n, err, sizeof(err));
	if (ret) {
		nu_err("iscsi: rescan of %s: %s", h->cfg.target, err);
		free(now);
		return ret;
	}
	for (unsigned i = 0; i < nr; i++) {
		int j;

		if (h->luns[i].gone)
			continue;
		j = find_lun(now, n, &h->luns[i]);
		if (j < 0) {
			h->luns[i].gone = true;
			r->removed[r->nr_removed++] = i;
			nu_info("iscsi: %s LUN %u is gone", h->cfg.target, h->luns[i].lun);
		} else if (now[j].geom.size != h->luns[i].geom.size) {
			nu_info("iscsi: %s LUN %u: %llu -> %llu bytes", h->cfg.target, h->luns[i].lun,
				(unsigned long long)h->luns[i].geom.size,
				(unsigned long long)now[j].geom.size);
			h->luns[i].geom.size = now[j].geom.size;
			r->resized[r->nr_resized++] = i;
		}
	}
	for (unsigned j = 0; j < n; j++) {
		if (find_lun(h->luns, nr, &now[j]) >= 0)
			continue;
		if (nr == ISCSI_MAX_LUNS) {
			nu_warn("iscsi: %s: no room for LUN %u (at most %d per host)", h->cfg.target,
				now[j].lun, ISCSI_MAX_LUNS);
			break;
		}
		h->luns[nr] = now[j];
		r->added[r->nr_added++] = nr;
		nu_info("iscsi: %s LUN %u is new: %llu bytes", h->cfg.target, now[j].lun,
			(unsigned long long)now[j].geom.size);
		nr++;
		/* Queue threads index luns[] below nr_luns: publish the entry first. */
		__atomic_store_n(&h->nr_luns, nr, __ATOMIC_RELEASE);
	}
	free(now);
	return 0;
}

unsigned iscsi_host_nr_luns(const struct iscsi_host *h)
{
	return h->nr_luns;
}

const struct iscsi_lun_info *iscsi_host_lun(const struct iscsi_host *h, unsigned i)
{
	return i < h->nr_luns ? &h->luns[i] : NULL;
}

void iscsi_host_set_timeouts(struct iscsi_host *h, int nop_interval, int nop_timeout,
			     int replacement_timeout)
{
	h->nop_interval_ms = nop_interval;
	h->nop_timeout_ms = nop_timeout;
	h->replacement_timeout_ms = replacement_timeout;
}

/* ---------------------------------------------------------------- target ops */

static unsigned target_nr_vols(const void *t)
{
	return __atomic_load_n(&((const struct iscsi_host *)t)->nr_luns, __ATOMIC_ACQUIRE);
}

static bool target_vol(const void *t, unsigned i, struct nu_vol_desc *d)
{
	const struct iscsi_host *h = t;

	if (i >= target_nr_vols(t) || h->luns[i].gone)
		return false;
	d->id = h->luns[i].lun;
	d->geom = &h->luns[i].geom;
	d->wwid = h->luns[i].wwid;
	return true;
}

static int target_event_fd(const void *t)
{
	return ((const struct iscsi_host *)t)->event_fd;
}

static int target_rescan(void *t, struct nu_rescan *r)
{
	return iscsi_host_rescan(t, r);
}

/* Rescanning is cheap and synchronous here: signal the control loop. */
static void target_request_rescan(void *t)
{
	uint64_t one = 1;

	if (write(((struct iscsi_host *)t)->event_fd, &one, sizeof(one)) != sizeof(one))
		nu_warn("iscsi: cannot signal a rescan");
}

static void target_destroy(void *t)
{
	iscsi_host_destroy(t);
}

const struct nu_target_ops nu_iscsi_target = {
	.kind = "iscsi",
	.vol_word = "lun",
	.transport = &nu_iscsi_transport,
	.nr_vols = target_nr_vols,
	.vol = target_vol,
	.event_fd = target_event_fd,
	.rescan = target_rescan,
	.request_rescan = target_request_rescan,
	.destroy = target_destroy,
};
