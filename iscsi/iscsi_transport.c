// SPDX-License-Identifier: MIT
/*
 * iSCSI full feature phase on a queue ring, one session per queue. The PDU
 * stream (initiator/stream.c) sends and receives; here is what the PDUs
 * mean: commands and the CmdSN window, Data-Out for R2Ts, Data-In into the
 * command's buffer, NOP pings, ABORT TASK, relogin and resend.
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
#include "path.h"
#include "pdu.h"
#include "queue.h"
#include "scsi.h"
#include "scsi_geom.h"
#include "stream.h"
#include "supervisor.h"
#include "udata.h"
#include "voltab.h"

/* ITTs of ABORT TASK requests: top bit set (never a command's), tag below. */
#define TMF_ITT_BASE 0x80010000u
#define TMF_ITT_MASK 0xffff0000u
/* ITT of the one LUN RESET a session may have outstanding. */
#define TMF_RESET_ITT 0x80020000u
#define TMF_ABORT_TASK 1
#define TMF_LUN_RESET 5
#define RETRY_LIMIT 20

struct iscsi_host {
	struct iscsi_target_config cfg;
	struct iscsi_login_config lcfg;
	struct nu_voltab vols; /* its LUNs */
	/* ALUA: each LUN's access state through this portal (SCSI_ALUA_*, -1 none); bumps per read. */
	int8_t alua[NU_HOST_MAX_VOLS];
	uint32_t alua_gen;
	uint64_t alua_poll_ns; /* when queue 0 last asked for a re-read */
	int nop_interval_ms, nop_timeout_ms, replacement_timeout_ms;
	uint32_t isid_base;
	int event_fd; /* LUN inventory or capacity changed */
	bool zero_copy; /* payloads to and from the requests' registered pages */
	/* For status: one session per host queue. */
	struct nu_path paths[NU_MAX_PATHS];
};

struct iscsi_task {
	struct nu_task base; /* abort_ns: when ABORT TASK went out */
	struct scsi_cmd cmd;
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t data_in; /* bytes received so far */
	uint8_t lun[8];
	bool in_window; /* on the CmdSN window's wait list (linked through io->next) */
};

/* A login done off the queue thread, for the queue to take. */
struct iscsi_conn_result {
	int fd;
	struct iscsi_session_params p;
	uint8_t isid[6];
};

struct iscsi_queue {
	struct iscsi_host *h;
	struct nu_queue *q;
	unsigned qid;
	struct nu_stream s;
	struct nu_sup sup;
	struct iscsi_conn_result conn;
	struct iscsi_session_params p;
	uint32_t cmdsn, expstatsn, maxcmdsn;
	uint16_t itt_gen;
	unsigned depth;
	struct iscsi_task *tasks;
	struct nu_io *win_head, *win_tail; /* waiting for the CmdSN window */
	uint8_t *zero_block;
	struct iscsi_hdr rh; /* the header being received */

	/* health */
	uint64_t last_rx_ns;
	uint64_t ping_sent_ns;
	/* A LUN RESET in flight: the escalation of an unanswered ABORT TASK. */
	struct {
		bool active;
		uint8_t lun[8];
		uint32_t cmdsn; /* it ends the LUN's tasks sent before it, no later ones */
		uint64_t sent_ns;
	} reset;
	char name[16]; /* "iscsi qN" */
	/* LUNs a command was just refused on for this path, until the ALUA state is read again. */
	struct nu_refused alua_refused;
};

static struct iscsi_task *task_of(struct nu_task *t)
{
	return (struct iscsi_task *)t;
}

/* ---------------------------------------------------------------- tx */

/* Queues one PDU: bhs (48 bytes, filled by the caller) and an optional data segment. */
static int tx_pdu(struct iscsi_queue *iq, uint16_t tag, const uint8_t *bhs, const void *data,
		  uint32_t dlen)
{
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	unsigned hlen = ISCSI_BHS_LEN;

	memcpy(hdr, bhs, ISCSI_BHS_LEN);
	if (iq->p.header_digest)
		hlen = nu_hdgst_append(hdr, ISCSI_BHS_LEN);
	return nu_stream_queue(&iq->s, tag, hdr, hlen, data, dlen, iscsi_pad4(dlen),
			       iq->p.data_digest);
}

/* The same with the payload in the request's registered pages (zero copy). */
static int tx_pdu_fixed(struct iscsi_queue *iq, const struct nu_io *io, const uint8_t *bhs,
			uint32_t off, uint32_t dlen)
{
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	unsigned hlen = ISCSI_BHS_LEN;

	/* No room for pad bytes behind a fixed payload: block I/O never needs them. */
	if (dlen & 3)
		return -EINVAL;
	memcpy(hdr, bhs, ISCSI_BHS_LEN);
	if (iq->p.header_digest)
		hlen = nu_hdgst_append(hdr, ISCSI_BHS_LEN);
	return nu_stream_queue_fixed(&iq->s, io->tag, hdr, hlen, io->buf.fixed_index, off, dlen);
}

/* ---------------------------------------------------------------- tasks */

static struct iscsi_task *task_by_itt(struct iscsi_queue *iq, uint32_t itt)
{
	uint32_t tag = itt & 0xffff;

	if (tag >= iq->depth || !iq->tasks[tag].base.io || iq->tasks[tag].itt != itt ||
	    !iq->tasks[tag].base.started)
		return NULL;
	return &iq->tasks[tag];
}

/*
 * Takes a task off the window's wait list: it is sent again, or it ended
 * (a reset, a retry, a hand-off to another path). Left there, its io
 * would be linked twice (a cycle: update_sn never ends) or after its end.
 */
static void win_unlink(struct iscsi_queue *iq, struct iscsi_task *t)
{
	struct nu_io **pp = &iq->win_head, *prev = NULL;

	t->in_window = false;
	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != t->base.io)
			continue;
		*pp = t->base.io->next;
		if (iq->win_tail == t->base.io)
			iq->win_tail = prev;
		t->base.io->next = NULL;
		return;
	}
}

/* One test for both sides of the wait list, so that they can never disagree. */
static bool window_open(const struct iscsi_queue *iq)
{
	return iscsi_sn_le(iq->cmdsn, iq->maxcmdsn);
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
	while (iq->win_head && window_open(iq)) {
		struct nu_io *io = iq->win_head;

		iq->win_head = io->next;
		if (!iq->win_head)
			iq->win_tail = NULL;
		io->next = NULL;
		iq->tasks[io->tag].in_window = false;
		nu_sup_send(&iq->sup, &iq->tasks[io->tag].base);
	}
}

static void task_complete(struct iscsi_queue *iq, struct iscsi_task *t, int res)
{
	nu_sup_complete(&iq->sup, &t->base, res);
}

static void task_retry_or_fail(struct iscsi_queue *iq, struct iscsi_task *t, int res,
			       const char *why)
{
	nu_sup_retry(&iq->sup, &t->base, res, why);
}

/* Where a write-direction command's data comes from: the request, an UNMAP list, zeroes. */
static uint8_t *data_out_source(struct iscsi_queue *iq, struct iscsi_task *t)
{
	if (t->cmd.zero_block)
		return iq->zero_block;
	return t->base.io->op == NU_OP_WRITE ? (uint8_t *)t->base.io->buf.addr : t->cmd.param;
}

/* Does the payload stay in the request's registered pages (zero copy)? */
static bool data_fixed(const struct iscsi_task *t)
{
	return t->base.io->buf.fixed_index >= 0 && t->base.io->op == NU_OP_WRITE;
}

/* A payload's piece: all of it up to what the target takes, whole words when it can. */
static uint32_t piece(uint32_t len, uint32_t max)
{
	if (len <= max)
		return len;
	return max > 4 ? max & ~3u : max;
}

/* Unsolicited or R2T-solicited Data-Out PDUs for [off, off + len). */
static int queue_data_out(struct iscsi_queue *iq, struct iscsi_task *t, uint32_t ttt, uint32_t off,
			  uint32_t len, bool final_at_end)
{
	uint8_t *src = data_fixed(t) ? NULL : data_out_source(iq, t);
	uint32_t datasn = 0;
	uint8_t bhs[ISCSI_BHS_LEN];

	while (len) {
		uint32_t n = piece(len, iq->p.max_send_dlen);
		int ret;

		iscsi_build_data_out(bhs, t->lun, t->itt, ttt, iq->expstatsn, datasn++, off, n,
				     final_at_end && n == len);
		ret = src ? tx_pdu(iq, t->base.io->tag, bhs, src + off, n) :
			    tx_pdu_fixed(iq, t->base.io, bhs, off, n);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/* The supervisor's send hook: the connection is up. */
static void task_send(void *ctx, struct nu_task *bt)
{
	struct iscsi_queue *iq = ctx;
	struct iscsi_task *t = task_of(bt);
	struct nu_io *io = t->base.io;
	uint8_t bhs[ISCSI_BHS_LEN];
	uint32_t xfer = t->cmd.xfer_len, imm = 0, unsol = 0;
	uint8_t flags = ISCSI_FLAG_FINAL;
	void *src = NULL;

	if (t->in_window)
		win_unlink(iq, t);
	if (!window_open(iq)) {
		/* Not on the wire until the window opens: update_sn sends it. */
		t->base.started = false;
		t->in_window = true;
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
	t->data_in = 0;
	if (t->cmd.dir == SCSI_DIR_READ) {
		flags |= ISCSI_CMD_READ;
	} else if (t->cmd.dir == SCSI_DIR_WRITE) {
		uint32_t burst = xfer < iq->p.first_burst ? xfer : iq->p.first_burst;

		flags |= ISCSI_CMD_WRITE;
		src = data_fixed(t) ? NULL : data_out_source(iq, t);
		if (iq->p.immediate_data)
			imm = piece(burst, iq->p.max_send_dlen);
		if (!iq->p.initial_r2t)
			unsol = burst - imm;
		if (unsol)
			flags &= ~ISCSI_FLAG_FINAL;
	}
	iscsi_build_scsi_cmd(bhs, t->lun, t->itt, flags, xfer, iq->cmdsn++, iq->expstatsn,
			     t->cmd.cdb, t->cmd.cdb_len, imm);
	if ((imm && !src ? tx_pdu_fixed(iq, io, bhs, 0, imm) : tx_pdu(iq, io->tag, bhs, src, imm)) ||
	    (unsol && queue_data_out(iq, t, ISCSI_RESERVED_TAG, imm, unsol, true))) {
		nu_stream_fail(&iq->s, "cannot queue PDUs (out of memory, or unaligned zero-copy "
				       "data)");
		return;
	}
	nu_stream_kick(&iq->s);
}

/* ---------------------------------------------------------------- rx */

static void send_nop_reply(struct iscsi_queue *iq, const struct iscsi_hdr *h)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_build_nop_out(bhs, ISCSI_RESERVED_TAG, hdr_ttt(h), h->lun, iq->cmdsn, iq->expstatsn);
	if (tx_pdu(iq, NU_STREAM_NO_TAG, bhs, NULL, 0) == 0)
		nu_stream_kick(&iq->s);
}

static void signal_rescan(struct iscsi_host *h)
{
	uint64_t one = 1;

	if (write(h->event_fd, &one, sizeof(one)) != sizeof(one))
		nu_warn("iscsi: cannot signal a rescan");
}

/* Refused on this path (ALUA): not used for the LUN until its state is read again. */
static void alua_block(struct iscsi_queue *iq, unsigned vol)
{
	nu_refused_set(&iq->alua_refused, vol, __atomic_load_n(&iq->h->alua_gen, __ATOMIC_ACQUIRE));
	signal_rescan(iq->h);
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
		nu_info("iscsi q%u: %s: the target's LUNs or their access changed, rescanning",
			iq->qid, desc);
		signal_rescan(iq->h);
	}
	if (status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_path_error(sense, sense_len)) {
		alua_block(iq, t->base.io->vol);
		nu_sup_path_error(&iq->sup, &t->base, res, desc);
		return;
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
		       nu_op_name(t->base.io->op), (unsigned long long)t->base.io->offset, t->base.io->len, desc);
	task_complete(iq, t, res);
}

/* Checks the header at p and finds where its data goes. */
static int rx_frame(void *ctx, const uint8_t *b, size_t avail, struct nu_frame *f)
{
	struct iscsi_queue *iq = ctx;
	struct iscsi_hdr *h = &iq->rh;
	unsigned hd = iq->p.header_digest ? ISCSI_DIGEST_LEN : 0;
	struct iscsi_task *t;
	const char *why;

	if (avail < ISCSI_BHS_LEN + hd)
		return -EAGAIN;
	iscsi_hdr_decode(b, h);
	if (hd && !nu_hdgst_ok(b, ISCSI_BHS_LEN)) {
		nu_stream_fail(&iq->s, "header digest mismatch");
		return -EPROTO;
	}
	if (iscsi_hdr_check(h, iq->p.max_recv_dlen, &why)) {
		nu_err("iscsi q%u: opcode 0x%02x: %s", iq->qid, h->opcode, why);
		nu_stream_fail(&iq->s, "protocol violation");
		return -EPROTO;
	}
	memset(f, 0, sizeof(*f));
	f->head = ISCSI_BHS_LEN + hd;
	f->dlen = h->dlen;
	if (h->dlen) {
		f->ddgst = iq->p.data_digest;
		f->tail = iscsi_pad4(h->dlen) + (f->ddgst ? ISCSI_DIGEST_LEN : 0);
	}
	if (h->opcode == ISCSI_OP_DATA_IN && h->dlen) {
		t = task_by_itt(iq, h->itt);
		if (!t || t->cmd.dir != SCSI_DIR_READ) {
			nu_stream_fail(&iq->s, "Data-In for an unknown task");
			return -EPROTO;
		}
		if (hdr_buffer_offset(h) != t->data_in ||
		    h->dlen > t->cmd.xfer_len - t->data_in) {
			nu_stream_fail(&iq->s, "Data-In outside the command's buffer");
			return -EPROTO;
		}
		/* Zero copy: into the request's pages, no digest or padding. */
		if (t->base.io->buf.fixed_index >= 0 && f->tail) {
			nu_stream_fail(&iq->s, "Data-In with padding or digest in zero copy");
			return -EPROTO;
		}
		nu_frame_dest(f, &t->base.io->buf, hdr_buffer_offset(h));
	}
	return 0;
}

/*
 * A whole PDU is in, its data digest checked, Data-In already in the
 * command's buffer. Returns 0, or -EPROTO when the connection was dropped.
 */
static int rx_pdu(void *ctx, const uint8_t *hdr, const uint8_t *data, uint32_t dlen)
{
	struct iscsi_queue *iq = ctx;
	struct iscsi_hdr *h = &iq->rh;
	struct iscsi_task *t;

	iq->last_rx_ns = nu_queue_now_ns(iq->q);
	switch (h->opcode) {
	case ISCSI_OP_DATA_IN:
		t = task_by_itt(iq, h->itt);
		if (!t) {
			nu_stream_fail(&iq->s, "Data-In for an unknown task");
			return -EPROTO;
		}
		t->data_in += h->dlen;
		update_sn(iq, h);
		if (h->flags & ISCSI_DATAIN_STATUS) {
			if (!(h->flags & ISCSI_FLAG_FINAL)) {
				nu_stream_fail(&iq->s, "Data-In with status but not final");
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
			nu_stream_fail(&iq->s, "SCSI Response for an unknown task");
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
			nu_stream_fail(&iq->s, "R2T outside a write command");
			return -EPROTO;
		}
		update_sn(iq, h);
		if (queue_data_out(iq, t, hdr_ttt(h), off, len, true)) {
			nu_stream_fail(&iq->s, "out of memory for PDUs");
			return -EPROTO;
		}
		nu_stream_kick(&iq->s);
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
			nu_stream_fail(&iq->s, "target asked to log out or dropped the connection");
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
			nu_stream_fail(&iq->s, "PDU rejected");
		break;
	}
	case ISCSI_OP_TMF_RSP:
		update_sn(iq, h);
		iq->expstatsn = hdr_statsn(h) + 1;
		if (h->itt == TMF_RESET_ITT && iq->reset.active) {
			iq->reset.active = false;
			if (h->b2 != 0) {
				nu_stream_fail(&iq->s, "LUN RESET refused");
				return -EPROTO;
			}
			/*
			 * The target ended, without a word, every task of the LUN that it
			 * had before the reset (RFC 7143 4.2.3.3): send those again.
			 */
			nu_info("iscsi q%u: LUN %u reset", iq->qid, iq->reset.lun[1]);
			for (unsigned i = 0; i < iq->depth; i++) {
				t = &iq->tasks[i];
				if (t->base.io && t->base.started && !memcmp(t->lun, iq->reset.lun, 8) &&
				    iscsi_sn_lt(t->cmdsn, iq->reset.cmdsn))
					task_retry_or_fail(iq, t, -ETIMEDOUT, "ended by a LUN reset");
			}
			break;
		}
		/* ABORT TASK answered: 0 function complete, 1 task does not exist. */
		if ((h->itt & TMF_ITT_MASK) == TMF_ITT_BASE && (h->itt & 0xffff) < iq->depth) {
			t = &iq->tasks[h->itt & 0xffff];
			if (t->base.io && t->base.started && t->base.abort_ns) {
				if (h->b2 <= 1)
					task_retry_or_fail(iq, t, -ETIMEDOUT, "command timed out, aborted");
				else
					nu_stream_fail(&iq->s, "ABORT TASK refused");
				if (!nu_sup_up(&iq->sup))
					return -EPROTO;
			}
		}
		break;
	case ISCSI_OP_LOGOUT_RSP:
		update_sn(iq, h);
		break;
	default:
		nu_stream_fail(&iq->s, "unexpected PDU in full feature phase");
		return -EPROTO;
	}
	return nu_sup_up(&iq->sup) ? 0 : -EPROTO;
}

static void conn_fail(void *ctx, const char *why)
{
	nu_sup_conn_fail(&((struct iscsi_queue *)ctx)->sup, why);
}

static const struct nu_stream_ops stream_ops = {
	.frame = rx_frame,
	.pdu = rx_pdu,
	.fail = conn_fail,
};

/* ---------------------------------------------------------------- connection */

/*
 * The supervisor's connect hook, on a helper thread (or at start): TCP and
 * the login, following up to three redirections (status 0x0101/0x0102).
 * Reads only the host's config and this queue's ISID and CmdSN, which the
 * queue thread leaves alone while the connection is down.
 */
static int conn_login(void *ctx, void *result)
{
	struct iscsi_queue *iq = ctx;
	struct iscsi_conn_result *r = result;
	struct iscsi_host *h = iq->h;
	struct iscsi_login l;
	char err[160], portal[256];
	int fd, ret;

	/* ISID type 0x80 (random): distinct per queue, stable across relogins. */
	r->isid[0] = 0x80;
	r->isid[1] = h->isid_base >> 16;
	r->isid[2] = h->isid_base >> 8;
	r->isid[3] = h->isid_base;
	r->isid[4] = iq->qid >> 8;
	r->isid[5] = iq->qid;
	snprintf(portal, sizeof(portal), "%s", h->cfg.portal);
	for (int hops = 0;; hops++) {
		fd = nu_tcp_connect(portal, "3260", 5000, err, sizeof(err));
		if (fd < 0) {
			nu_warn("%s: %s", iq->name, err);
			return fd;
		}
		iscsi_login_init(&l, &h->lcfg, r->isid, 0, iq->qid, iq->cmdsn);
		ret = iscsi_login_blocking(fd, &l, 15000);
		if (ret == -EREMCHG && hops < 3) {
			nu_info("%s: %s", iq->name, l.error);
			close(fd);
			snprintf(portal, sizeof(portal), "%s", l.redirect);
			continue;
		}
		if (ret < 0) {
			nu_err("%s: login to %s at %s failed: %s", iq->name, h->cfg.target, portal,
			       l.error);
			close(fd);
			return ret;
		}
		break;
	}
	r->fd = fd;
	r->p = l.p;
	nu_dbg("%s: logged in, auth %s, TSIH %u, digests %s/%s, MaxRecvDSL %u/%u, burst %u/%u, "
	       "immediate %d, initialR2T %d",
	       iq->name, l.chap_alg ? chap_alg_name(l.chap_alg) : "none", l.p.tsih,
	       l.p.header_digest ? "CRC32C" : "None", l.p.data_digest ? "CRC32C" : "None",
	       l.p.max_send_dlen, l.p.max_recv_dlen, l.p.first_burst, l.p.max_burst,
	       l.p.immediate_data, l.p.initial_r2t);
	return 0;
}

/* The attach hook, on the queue thread: the logged-in socket becomes the session's stream. */
static int conn_attach(void *ctx, void *result)
{
	struct iscsi_queue *iq = ctx;
	struct iscsi_conn_result *r = result;
	const uint8_t *isid = r->isid;
	char id[48];
	int ret;

	iq->p = r->p;
	iq->cmdsn = r->p.expcmdsn;
	iq->maxcmdsn = r->p.maxcmdsn;
	iq->expstatsn = r->p.statsn + 1;
	/* Room for the largest PDU the target may send, plus a batch of small ones. */
	/* Zero copy: each header by itself, so Data-In can go to the request's pages. */
	ret = nu_stream_attach(&iq->s, r->fd,
			       ISCSI_BHS_LEN + ISCSI_DIGEST_LEN + iq->p.max_recv_dlen + 8 + 65536,
			       iq->h->zero_copy ? ISCSI_BHS_LEN + (iq->p.header_digest ? ISCSI_DIGEST_LEN : 0) :
						  0);
	if (ret) {
		close(r->fd);
		return ret;
	}
	iq->last_rx_ns = nu_now_ns();
	iq->ping_sent_ns = 0;
	snprintf(id, sizeof(id), "isid %02x%02x%02x%02x%02x%02x tsih %u", isid[0], isid[1], isid[2],
		 isid[3], isid[4], isid[5], iq->p.tsih);
	nu_path_up(&iq->h->paths[iq->qid], r->fd, id, NULL);
	return 0;
}

static void conn_discard(void *ctx, void *result)
{
	(void)ctx;
	close(((struct iscsi_conn_result *)result)->fd);
}

/* The connection is closed: the window and a LUN RESET belonged to it. */
static void conn_down(void *ctx)
{
	struct iscsi_queue *iq = ctx;

	/* Every task goes again after the relogin, window or not. */
	iq->win_head = iq->win_tail = NULL;
	for (unsigned i = 0; i < iq->depth; i++)
		iq->tasks[i].in_window = false;
	iq->reset.active = false;
}

/*
 * A command the target sits on: ABORT TASK after the command timeout; if
 * that is not answered in as long again, LUN RESET of its LUN (which ends
 * every task there; they are resent); if the reset is not answered either,
 * drop the connection (the relogin resends everything). Returns true once
 * the connection was dropped.
 */
static bool check_command_timeouts(struct iscsi_queue *iq, uint64_t now)
{
	uint64_t limit = (uint64_t)iq->h->cfg.command_timeout_s * 1000000000ull;
	uint8_t bhs[ISCSI_BHS_LEN];

	if (iq->reset.active && now - iq->reset.sent_ns > limit) {
		nu_stream_fail(&iq->s, "LUN RESET not answered");
		return true;
	}
	for (unsigned i = 0; i < iq->depth; i++) {
		struct iscsi_task *t = &iq->tasks[i];

		if (!t->base.io || !t->base.started)
			continue;
		if (t->base.abort_ns) {
			if (now - t->base.abort_ns <= limit || iq->reset.active)
				continue;
			nu_warn("%s: ABORT TASK for ITT 0x%x not answered in %u s: LUN RESET of LUN %u",
				iq->name, t->itt, iq->h->cfg.command_timeout_s, t->lun[1]);
			iscsi_build_tmf(bhs, TMF_LUN_RESET, t->lun, TMF_RESET_ITT, ISCSI_RESERVED_TAG,
					iq->cmdsn, iq->expstatsn, 0);
			if (tx_pdu(iq, NU_STREAM_NO_TAG, bhs, NULL, 0) == 0) {
				iq->reset.active = true;
				iq->reset.sent_ns = now;
				iq->reset.cmdsn = iq->cmdsn;
				memcpy(iq->reset.lun, t->lun, 8);
				nu_stream_kick(&iq->s);
			}
			continue;
		}
		if (now - t->base.sent_ns < limit)
			continue;
		nu_warn("%s: ITT 0x%x (%s) unanswered for %u s: ABORT TASK", iq->name, t->itt,
			nu_op_name(t->base.io->op), iq->h->cfg.command_timeout_s);
		iscsi_build_tmf(bhs, TMF_ABORT_TASK, t->lun, TMF_ITT_BASE | i, t->itt, iq->cmdsn,
				iq->expstatsn, t->cmdsn);
		if (tx_pdu(iq, NU_STREAM_NO_TAG, bhs, NULL, 0) == 0) {
			t->base.abort_ns = now;
			nu_stream_kick(&iq->s);
		}
	}
	return false;
}

/*
 * A port group that is not active/optimized tells no other port when it
 * becomes so (LIO raises the unit attention on its own ports only, where
 * we send nothing): re-read the states every ALUA_POLL_S while any is, as
 * multipathd's path checker polls.
 */
#define ALUA_POLL_S 5
static void alua_poll(struct iscsi_queue *iq, uint64_t now)
{
	struct iscsi_host *h = iq->h;
	bool degraded = false;

	if (iq->qid || now - h->alua_poll_ns < ALUA_POLL_S * 1000000000ull)
		return;
	for (unsigned v = 0; v < nu_voltab_nr(&h->vols) && !degraded; v++)
		degraded = nu_voltab_live(&h->vols, v) &&
			   __atomic_load_n(&h->alua[v], __ATOMIC_RELAXED) > SCSI_ALUA_OPTIMIZED;
	if (!degraded)
		return;
	h->alua_poll_ns = now;
	signal_rescan(h);
}

/* The tick hook, every second while logged in: NOP-Out pings and command timeouts. */
static void conn_tick(void *ctx, uint64_t now)
{
	struct iscsi_queue *iq = ctx;
	uint8_t bhs[ISCSI_BHS_LEN];

	alua_poll(iq, now);
	if (iq->ping_sent_ns &&
	    now - iq->ping_sent_ns > (uint64_t)iq->h->nop_timeout_ms * 1000000ull) {
		nu_stream_fail(&iq->s, "NOP-Out ping timed out");
		return;
	}
	if (check_command_timeouts(iq, now))
		return;
	if (iq->ping_sent_ns || now - iq->last_rx_ns <= (uint64_t)iq->h->nop_interval_ms * 1000000ull)
		return;
	/* ITT with the top bit set never collides with a task's. */
	iscsi_build_nop_out(bhs, 0x80000000u | iq->qid, ISCSI_RESERVED_TAG, NULL, iq->cmdsn,
			    iq->expstatsn);
	if (tx_pdu(iq, NU_STREAM_NO_TAG, bhs, NULL, 0) == 0) {
		iq->ping_sent_ns = now;
		nu_stream_kick(&iq->s);
	}
}

/* The goodbye hook: Logout, unless a send is in flight (then the socket is just shut). */
static void conn_logout(void *ctx)
{
	struct iscsi_queue *iq = ctx;
	uint8_t bhs[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	unsigned hlen = ISCSI_BHS_LEN;

	if (iq->s.tx_busy) {
		shutdown(iq->s.fd, SHUT_RDWR);
		return;
	}
	iscsi_build_logout(bhs, 0x80000000u | 0x4000 | iq->qid, iq->qid, iq->cmdsn,
			   iq->expstatsn);
	if (iq->p.header_digest) {
		nu_put_le32(bhs + ISCSI_BHS_LEN, nu_crc32c(bhs, ISCSI_BHS_LEN));
		hlen += ISCSI_DIGEST_LEN;
	}
	/* The reader's pending receive sees the Logout Response; we only wait for it. */
	nu_write_full(iq->s.fd, bhs, hlen, 2000);
}

/* The supervisor's forget hook: a task leaves this connection. */
static void task_forget(void *ctx, struct nu_task *bt)
{
	struct iscsi_task *t = task_of(bt);

	if (t->in_window)
		win_unlink(ctx, t);
}

static const struct nu_sup_ops sup_ops = {
	.connect = conn_login,
	.forget = task_forget,
	.attach = conn_attach,
	.discard = conn_discard,
	.send = task_send,
	.tick = conn_tick,
	.down = conn_down,
	.goodbye = conn_logout,
};

/* ---------------------------------------------------------------- transport ops */

static void queue_free(struct iscsi_queue *iq)
{
	nu_stream_destroy(&iq->s);
	free(iq->tasks);
	free(iq->zero_block);
	free(iq);
}

/* The session's supervisor (also for the fuzz target, which attaches a simulated wire). */
static void queue_sup_init(struct iscsi_queue *iq, const struct nu_path_parent *parent)
{
	struct iscsi_host *h = iq->h;
	struct nu_sup_cfg sc = {
		.name = iq->name,
		.peer = h->cfg.portal,
		.retry_limit = RETRY_LIMIT,
		.loss_timeout_ms = (uint64_t)h->replacement_timeout_ms,
		/* 0.5 s doubling to 8 s, as the target may be rebooting. */
		.backoff_min_ms = 500,
		.backoff_max_ms = 8000,
	};

	snprintf(iq->name, sizeof(iq->name), "iscsi q%u", iq->qid);
	nu_stream_init(&iq->s, iq->q, &stream_ops, iq, ISCSI_BHS_LEN);
	nu_sup_init(&iq->sup, iq->q, &iq->s, &h->paths[iq->qid], &sup_ops, iq, &sc, iq->tasks,
		    sizeof(*iq->tasks), iq->depth, &iq->conn, parent);
}

static int iscsi_path_start(void *host_priv, struct nu_queue *q,
			    const struct nu_path_parent *parent, void **qpriv)
{
	struct iscsi_queue *iq = calloc(1, sizeof(*iq));
	int ret;

	if (!iq)
		return -ENOMEM;
	iq->h = host_priv;
	iq->q = q;
	iq->qid = nu_queue_id(q);
	if (iq->qid >= NU_MAX_PATHS) {
		free(iq);
		return -EINVAL;
	}
	iq->depth = nu_host_backend_depth(nu_queue_host(q));
	iq->tasks = calloc(iq->depth, sizeof(*iq->tasks));
	iq->zero_block = calloc(1, 65536);
	queue_sup_init(iq, parent);
	if (!iq->tasks || !iq->zero_block) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = nu_sup_start(&iq->sup);
	if (ret)
		goto fail;
	*qpriv = iq;
	return 0;
fail:
	queue_free(iq);
	return ret;
}

static int iscsi_queue_start(void *host_priv, struct nu_queue *q, void **qpriv)
{
	return iscsi_path_start(host_priv, q, NULL, qpriv);
}

static struct nu_sup *iscsi_path_sup(void *qpriv)
{
	return &((struct iscsi_queue *)qpriv)->sup;
}

/* The LUN's ALUA state through this session's target port group. */
static enum nu_path_state iscsi_path_state(void *qpriv, unsigned vol)
{
	struct iscsi_queue *iq = qpriv;

	if (vol >= NU_HOST_MAX_VOLS)
		return NU_PATH_OPTIMIZED;
	if (nu_refused(&iq->alua_refused, vol, __atomic_load_n(&iq->h->alua_gen, __ATOMIC_ACQUIRE)))
		return NU_PATH_UNUSABLE;
	switch (__atomic_load_n(&iq->h->alua[vol], __ATOMIC_RELAXED)) {
	case -1:
	case SCSI_ALUA_OPTIMIZED:
		return NU_PATH_OPTIMIZED;
	case SCSI_ALUA_NONOPTIMIZED:
		return NU_PATH_NONOPTIMIZED;
	default:
		return NU_PATH_UNUSABLE;
	}
}

static void iscsi_queue_stop(void *qpriv)
{
	struct iscsi_queue *iq = qpriv;

	nu_sup_stop(&iq->sup);
	queue_free(iq);
}

static int iscsi_submit(void *qpriv, struct nu_io *io)
{
	struct iscsi_queue *iq = qpriv;
	struct iscsi_task *t = &iq->tasks[io->tag];
	const struct nu_vol *li = nu_voltab_live(&iq->h->vols, io->vol);
	int ret;

	if (!li)
		return -ENXIO;
	if (io->op == NU_OP_WRITE_ZEROES && li->geom.lbs > 65536)
		return -EOPNOTSUPP;
	ret = scsi_build(io, li->geom.lbs, &t->cmd);
	if (ret)
		return ret;
	if (nu_op_has_data(io->op) && io->buf.fixed_index >= 0 && !iq->h->zero_copy)
		return -EOPNOTSUPP; /* this session must see the data */
	iscsi_lun_encode(li->id, t->lun);
	return nu_sup_submit(&iq->sup, io);
}

static void iscsi_cqe(void *qpriv, const struct io_uring_cqe *cqe)
{
	struct iscsi_queue *iq = qpriv;

	if (!nu_stream_cqe(&iq->s, cqe))
		nu_sup_cqe(&iq->sup, cqe);
}

static unsigned iscsi_host_caps(void *host_priv)
{
	const struct iscsi_host *h = host_priv;

	/* Batched ublk commands: measured ahead on iSCSI only (BENCHMARKS.md). */
	return h->zero_copy ? NU_TCAP_FIXED_BUF | NU_TCAP_COPY_IN | NU_TCAP_BATCH_IO : 0;
}

const struct nu_transport_ops nu_iscsi_transport = {
	.name = "iscsi",
	.caps = 0,
	.host_caps = iscsi_host_caps,
	.queue_start = iscsi_queue_start,
	.path_start = iscsi_path_start,
	.path_sup = iscsi_path_sup,
	.path_state = iscsi_path_state,
	.queue_stop = iscsi_queue_stop,
	.submit = iscsi_submit,
	.cqe = iscsi_cqe,
};

/* ---------------------------------------------------------------- host */

int iscsi_host_create(const struct iscsi_target_config *cfg, struct iscsi_host **out)
{
	struct iscsi_host *h = calloc(1, sizeof(*h));
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
	h->zero_copy = nu_stream_zero_copy(cfg->zero_copy, cfg->data_digest ? NU_COPY_FOR_DIGEST : NULL,
					   cfg->target);
	for (unsigned i = 0; i < NU_MAX_PATHS; i++)
		nu_path_init(&h->paths[i], (int)i, "session");
	h->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->event_fd < 0) {
		ret = -errno;
		iscsi_host_destroy(h);
		return ret;
	}
	nu_voltab_init(&h->vols, h->cfg.target, "LUN");
	memset(h->alua, -1, sizeof(h->alua));
	ret = iscsi_host_rescan(h, &(struct nu_rescan){});
	if (ret) {
		iscsi_host_destroy(h);
		return ret;
	}
	if (!nu_voltab_nr(&h->vols)) {
		nu_err("iscsi: %s at %s has no disk LUNs", cfg->target, cfg->portal);
		iscsi_host_destroy(h);
		return -ENOENT;
	}
	*out = h;
	return 0;
}

void iscsi_host_destroy(struct iscsi_host *h)
{
	if (!h)
		return;
	if (h->event_fd >= 0)
		close(h->event_fd);
	for (unsigned i = 0; i < NU_MAX_PATHS; i++)
		nu_path_destroy(&h->paths[i]);
	free(h);
}

int iscsi_host_event_fd(const struct iscsi_host *h)
{
	return h->event_fd;
}

/* Each listed LUN's ALUA state into its volume's slot, changes logged. */
static void alua_update(struct iscsi_host *h, const struct iscsi_lun_info *luns, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		for (unsigned v = 0; v < nu_voltab_nr(&h->vols); v++) {
			const struct nu_vol *vol = nu_voltab_live(&h->vols, v);

			if (!vol || vol->id != luns[i].lun || h->alua[v] == luns[i].alua)
				continue;
			nu_info("iscsi: %s at %s: LUN %u, port group %u: %s", h->cfg.target,
				h->cfg.portal, luns[i].lun, luns[i].port_group,
				scsi_alua_state_name(luns[i].alua));
			__atomic_store_n(&h->alua[v], (int8_t)luns[i].alua, __ATOMIC_RELAXED);
		}
	}
	__atomic_add_fetch(&h->alua_gen, 1, __ATOMIC_RELEASE);
}

/* Lists the target's LUNs (libiscsi) and applies the list to the volume table. */
int iscsi_host_rescan(struct iscsi_host *h, struct nu_rescan *r)
{
	struct iscsi_lun_info *luns = calloc(ISCSI_MAX_LUNS, sizeof(*luns));
	struct nu_vol *now = calloc(ISCSI_MAX_LUNS, sizeof(*now));
	bool first = !h->vols.listed;
	char err[256];
	unsigned n;
	int ret;
	uint64_t drain;

	if (read(h->event_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		nu_warn("iscsi: event read: %s", strerror(errno));
	ret = luns && now ? iscsi_enumerate_luns(&h->cfg, luns, ISCSI_MAX_LUNS, &n, err, sizeof(err)) :
			    -ENOMEM;
	if (ret) {
		nu_err("iscsi: %s%s: %s", first ? "" : "rescan of ", h->cfg.target,
		       ret == -ENOMEM ? strerror(ENOMEM) : err);
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		now[i].id = luns[i].lun;
		now[i].geom = luns[i].geom;
		snprintf(now[i].wwid, sizeof(now[i].wwid), "%s", luns[i].wwid);
		if (first)
			nu_info("iscsi: %s LUN %u: %llu bytes, %u/%u-byte blocks, %s%s %s %s",
				h->cfg.target, luns[i].lun, (unsigned long long)luns[i].geom.size,
				luns[i].geom.lbs, luns[i].geom.pbs,
				luns[i].geom.read_only ? "read-only, " : "", luns[i].vendor,
				luns[i].product, luns[i].wwid[0] ? luns[i].wwid : "(no WWID)");
	}
	nu_voltab_update(&h->vols, now, n, r);
	alua_update(h, luns, n);
out:
	free(luns);
	free(now);
	return ret;
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
	return nu_voltab_nr(&((const struct iscsi_host *)t)->vols);
}

static bool target_vol(const void *t, unsigned i, struct nu_vol_desc *d)
{
	return nu_voltab_desc(&((const struct iscsi_host *)t)->vols, i, d);
}

static const char *target_vol_access(const void *t, unsigned vol)
{
	const struct iscsi_host *h = t;
	int a = vol < NU_HOST_MAX_VOLS ? __atomic_load_n(&h->alua[vol], __ATOMIC_RELAXED) : -1;

	return a < 0 ? NULL : scsi_alua_state_name(a);
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
	signal_rescan(t);
}

static unsigned target_paths(const void *t, unsigned nr_queues, struct nu_path_info *out,
			     unsigned max)
{
	struct iscsi_host *h = (struct iscsi_host *)t;
	unsigned n = nr_queues < max ? nr_queues : max;

	for (unsigned i = 0; i < n; i++)
		nu_path_get(&h->paths[i], &out[i]);
	return n;
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
	.vol_access = target_vol_access,
	.paths = target_paths,
	.request_rescan = target_request_rescan,
	.destroy = target_destroy,
};
