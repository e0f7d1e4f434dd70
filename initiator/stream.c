// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <liburing.h>

#include "stream.h"
#include "log.h"
#include "digest.h"
#include "io.h"
#include "queue.h"
#include "tls.h"
#include "udata.h"

/* Below this a payload still partly on the wire is received via the stream buffer. */
#define RX_DIRECT_MIN 16384
#define RX_CRC_PIECE 4096 /* copied, then summed while in the cache */
/*
 * At most this much per buffered receive: plenty for a batch of small
 * PDUs, while most of a large payload stays on the wire for the direct
 * receive into its final place (one copy fewer).
 */
#define RX_BATCH_MAX 32768

void nu_stream_init(struct nu_stream *s, struct nu_queue *q, const struct nu_stream_ops *ops,
		    void *ctx, unsigned min_head)
{
	memset(s, 0, sizeof(*s));
	s->q = q;
	s->ops = ops;
	s->ctx = ctx;
	s->fd = -1;
	s->min_head = min_head;
}

/* ---------------------------------------------------------------- tx */

/* Sets a tag's bit; true if it was clear. */
static bool tag_set(uint64_t *map, uint16_t tag)
{
	uint64_t bit = 1ull << (tag % 64);
	bool was = map[tag / 64] & bit;

	map[tag / 64] |= bit;
	return !was;
}

/* Clears a tag's bit; true if it was set. */
static bool tag_clear(uint64_t *map, uint16_t tag)
{
	uint64_t bit = 1ull << (tag % 64);
	bool was = map[tag / 64] & bit;

	map[tag / 64] &= ~bit;
	return was;
}

static void tx_release(struct nu_stream *s, struct nu_stream_item *it)
{
	it->next = s->tx_free;
	s->tx_free = it;
}

int nu_stream_queue(struct nu_stream *s, uint16_t tag, const void *hdr, unsigned hlen,
		    const void *data, uint32_t dlen, unsigned pad, bool ddgst)
{
	struct nu_stream_item *it = s->tx_free;
	unsigned tlen = dlen ? pad : 0;

	if (hlen > NU_STREAM_HDR_MAX || pad > 4)
		return -EINVAL;
	if (it)
		s->tx_free = it->next;
	else
		it = malloc(sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->tag = tag;
	it->niov = 0;
	it->fixed = false;
	memcpy(it->hdr, hdr, hlen);
	it->iov[it->niov++] = (struct iovec){ it->hdr, hlen };
	if (dlen) {
		it->iov[it->niov++] = (struct iovec){ (void *)data, dlen };
		memset(it->trailer, 0, pad);
		if (ddgst) {
			uint32_t crc = nu_crc32c_update(NU_CRC32C_INIT, data, dlen);

			crc = nu_crc32c_update(crc, it->trailer, pad);
			nu_put_le32(it->trailer + pad, nu_crc32c_final(crc));
			tlen += 4;
		}
		if (tlen)
			it->iov[it->niov++] = (struct iovec){ it->trailer, tlen };
	}
	if (s->txq_tail)
		s->txq_tail->next = it;
	else
		s->txq_head = it;
	s->txq_tail = it;
	if (tag != NU_STREAM_NO_TAG && s->rx_tags && tag_set(s->rx_tags, tag))
		s->rx_live++;
	return 0;
}

int nu_stream_queue_fixed(struct nu_stream *s, uint16_t tag, const void *hdr, unsigned hlen,
			  uint16_t index, uint32_t off, uint32_t dlen)
{
	int ret = nu_stream_queue(s, tag, hdr, hlen, NULL, 0, 0, false);

	if (ret)
		return ret;
	s->txq_tail->fixed = true;
	s->txq_tail->fixed_index = index;
	s->txq_tail->fixed_off = off;
	s->txq_tail->fixed_len = dlen;
	return 0;
}

/* The batch's segments: headers, then a payload from the buffer table, linked in order. */
static void tx_submit_chain(struct nu_stream *s)
{
	struct io_uring *ring = nu_queue_ring(s->q);
	unsigned need = 0, n = 0;

	for (unsigned i = 0; i < s->tx_nseg; i++)
		need += (s->tx_seg[i].expect ? 1 : 0) + (s->tx_seg[i].fixed ? 1 : 0);
	/* A chain must go to the kernel whole: room for all of it first. */
	if (io_uring_sq_space_left(ring) < need)
		io_uring_submit(ring);
	for (unsigned i = 0; i < s->tx_nseg; i++) {
		const struct nu_stream_item *it = s->tx_seg[i].fixed;
		struct io_uring_sqe *sqe;

		if (s->tx_seg[i].expect) {
			sqe = io_uring_get_sqe(ring);
			/* MSG_MORE but on the last: TCP packs the chain as one SENDMSG would be. */
			io_uring_prep_sendmsg(sqe, s->fd, &s->tx_seg[i].msg,
					      MSG_NOSIGNAL | MSG_WAITALL |
						      (n + 1 < need ? MSG_MORE : 0));
			io_uring_sqe_set_data64(sqe,
						nu_stream_ud(s->ud_path, NU_STREAM_UD_TX, 1 + 2 * i));
			if (++n < need)
				sqe->flags |= IOSQE_IO_LINK;
		}
		if (!it)
			continue;
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_send(sqe, s->fd, (void *)(uintptr_t)it->fixed_off, it->fixed_len,
				   MSG_NOSIGNAL | MSG_WAITALL | (n + 1 < need ? MSG_MORE : 0));
		sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
		sqe->buf_index = it->fixed_index;
		io_uring_sqe_set_data64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_TX, 2 + 2 * i));
		if (++n < need)
			sqe->flags |= IOSQE_IO_LINK;
	}
	s->tx_busy = true;
	s->tx_inflight = need;
	s->tx_err = 0;
}

static void tx_submit(struct nu_stream *s)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(s->q);

	io_uring_prep_sendmsg(sqe, s->fd, &s->tx_msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_TX, 0));
	s->tx_busy = true;
}

/* Closes the batch's current segment at iovec n (fixed: the payload that ends it). */
static void tx_seg_close(struct nu_stream *s, unsigned *start, unsigned n,
			 const struct nu_stream_item *fixed)
{
	struct msghdr *m = &s->tx_seg[s->tx_nseg].msg;

	memset(m, 0, sizeof(*m));
	m->msg_iov = s->tx_iov + *start;
	m->msg_iovlen = n - *start;
	s->tx_seg[s->tx_nseg].expect = 0;
	for (unsigned i = *start; i < n; i++)
		s->tx_seg[s->tx_nseg].expect += s->tx_iov[i].iov_len;
	s->tx_seg[s->tx_nseg++].fixed = fixed;
	*start = n;
}

void nu_stream_kick(struct nu_stream *s)
{
	unsigned n = 0, start = 0;

	/* rx_leaving: a command whose data a batch receive could take waits for it to end. */
	if (s->tx_busy || !s->up || !s->txq_head || s->held || s->rx_leaving)
		return;
	s->tx_batch_n = s->tx_nseg = 0;
	while (s->txq_head && n + s->txq_head->niov <= NU_STREAM_TX_IOV &&
	       s->tx_nseg < NU_STREAM_TX_SEGS) {
		struct nu_stream_item *it = s->txq_head;

		s->txq_head = it->next;
		if (!s->txq_head)
			s->txq_tail = NULL;
		for (unsigned i = 0; i < it->niov; i++)
			s->tx_iov[n++] = it->iov[i];
		s->tx_batch[s->tx_batch_n++] = it;
		if (it->fixed)
			tx_seg_close(s, &start, n, it);
	}
	if (start < n)
		tx_seg_close(s, &start, n, NULL);
	if (s->tx_delayed) {
		/* A timeout linked before the send (ETIME_SUCCESS keeps the link), one chain. */
		struct io_uring_sqe *sqe;

		if (io_uring_sq_space_left(nu_queue_ring(s->q)) < 2 * NU_STREAM_TX_SEGS + 1)
			io_uring_submit(nu_queue_ring(s->q));
		sqe = nu_queue_get_sqe(s->q);

		io_uring_prep_timeout(sqe, &s->tx_delay, 0, IORING_TIMEOUT_ETIME_SUCCESS);
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_IGNORE, 0));
	}
	if (s->tx_nseg == 1 && !s->tx_seg[0].fixed) {
		s->tx_msg = s->tx_seg[0].msg;
		tx_submit(s);
	} else {
		tx_submit_chain(s);
	}
}

void nu_stream_drop_tag(struct nu_stream *s, uint16_t tag)
{
	struct nu_stream_item **pp = &s->txq_head, *it;

	if (tag != NU_STREAM_NO_TAG && s->rx_tags) {
		s->rx_live -= tag_clear(s->rx_tags, tag);
		s->rx_fixed -= tag_clear(s->rx_tags + NU_STREAM_TAG_WORDS, tag);
	}

	s->txq_tail = NULL;
	while ((it = *pp)) {
		if (it->tag == tag) {
			*pp = it->next;
			tx_release(s, it);
		} else {
			s->txq_tail = it;
			pp = &it->next;
		}
	}
}

/* Drops what a short transfer moved from the front of an iovec array; true if all went. */
static bool iov_advance(struct msghdr *m, size_t done)
{
	while (m->msg_iovlen && done >= m->msg_iov[0].iov_len) {
		done -= m->msg_iov[0].iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (!m->msg_iovlen)
		return true;
	m->msg_iov[0].iov_base = (char *)m->msg_iov[0].iov_base + done;
	m->msg_iov[0].iov_len -= done;
	return false;
}

/* One of a linked chain (1 + 2i: segment i's SENDMSG, 2 + 2i: its payload); each must move all. */
static void tx_done_linked(struct nu_stream *s, unsigned which, int res)
{
	unsigned seg = (which - 1) / 2;
	size_t want = seg >= s->tx_nseg ? 0 :
		      which % 2	       ? s->tx_seg[seg].expect :
		      s->tx_seg[seg].fixed ? s->tx_seg[seg].fixed->fixed_len :
					     0;

	/* The first failure says why; the links after it only report -ECANCELED. */
	if ((res < 0 || (size_t)res != want) && !s->tx_err)
		s->tx_err = res < 0 ? res : -EPIPE;
	if (--s->tx_inflight)
		return;
	s->tx_busy = false;
	for (unsigned i = 0; i < s->tx_batch_n; i++)
		tx_release(s, s->tx_batch[i]);
	s->tx_batch_n = 0;
	if (s->tx_err || !s->up) {
		nu_stream_fail(s, s->tx_err == -EPIPE ? "short send" :
				  s->tx_err	       ? strerror(-s->tx_err) :
							 NULL);
		return;
	}
	nu_stream_kick(s);
}

static void tx_done(struct nu_stream *s, int res)
{
	s->tx_busy = false;
	if (res > 0 && s->up && !iov_advance(&s->tx_msg, res)) {
		tx_submit(s); /* short send: the rest of this batch */
		return;
	}
	for (unsigned i = 0; i < s->tx_batch_n; i++)
		tx_release(s, s->tx_batch[i]);
	s->tx_batch_n = 0;
	if (res <= 0 || !s->up) {
		nu_stream_fail(s, res < 0 ? strerror(-res) : "send failed");
		return;
	}
	nu_stream_kick(s);
}

/* ---------------------------------------------------------------- rx */

/* Tells the queue whether this stream reads each PDU header alone (no coalescing then). */
static void rx_serial_set(struct nu_stream *s, bool on)
{
	if (on == s->rx_serial)
		return;
	s->rx_serial = on;
	nu_queue_no_coalesce(s->q, on);
}

void nu_frame_dest(struct nu_frame *f, const struct nu_buf *b, uint32_t off)
{
	if (b->fixed_index >= 0) {
		f->dest_fixed = true;
		f->dest_index = b->fixed_index;
		f->dest_off = off;
	} else {
		f->dest = (uint8_t *)b->addr + off;
	}
}

static void rx_exact_done(struct nu_stream *s, int res);

/*
 * Back to exact mode from a batch, before a command whose data goes to the
 * buffer table is sent: what is left of a PDU moves to the front and is
 * carried on by exact steps.
 */
static void rx_to_exact(struct nu_stream *s)
{
	size_t have = s->rx_len - s->rx_off;

	memmove(s->rx_buf, s->rx_buf + s->rx_off, have);
	s->rx_len = have;
	s->rx_off = 0;
	s->rx_batch = s->rx_leaving = false;
	s->rx_exact = RX_EXACT_HEAD;
	rx_serial_set(s, true);
	rx_exact_done(s, 0);
	nu_stream_kick(s);
}

static void rx_submit(struct nu_stream *s)
{
	struct io_uring_sqe *sqe;

	if (s->held) {
		s->rx_held = true; /* read when the hold ends */
		return;
	}
	if (s->rx_leaving && !s->rx_direct) {
		rx_to_exact(s);
		return;
	}
	sqe = nu_queue_get_sqe(s->q);

	if (s->exact_head && !s->rx_batch && !s->rx_direct) {
		const struct nu_frame *f = &s->rf;

		if (s->rx_exact == RX_EXACT_FIXED) {
			/* The payload straight into the request's pages. */
			io_uring_prep_recv(sqe, s->fd, (void *)(uintptr_t)(f->dest_off + s->rx_len),
					   f->dlen - s->rx_len, MSG_WAITALL);
			sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
			sqe->buf_index = f->dest_index;
		} else {
			size_t want = s->rx_exact == RX_EXACT_HEAD ?
					      (s->rx_framed ? f->head : s->exact_head) :
					      (size_t)f->head + f->dlen + f->tail;

			io_uring_prep_recv(sqe, s->fd, s->rx_buf + s->rx_len, want - s->rx_len,
					   MSG_WAITALL);
		}
	} else if (!s->rx_direct) {
		size_t room;

		/* Keep the unparsed tail at the front so a whole PDU always fits. */
		if (s->rx_off) {
			memmove(s->rx_buf, s->rx_buf + s->rx_off, s->rx_len - s->rx_off);
			s->rx_len -= s->rx_off;
			s->rx_off = 0;
		}
		room = s->rx_cap - s->rx_len;
		io_uring_prep_recv(sqe, s->fd, s->rx_buf + s->rx_len,
				   room < RX_BATCH_MAX ? room : RX_BATCH_MAX, 0);
	} else {
		io_uring_prep_recvmsg(sqe, s->fd, &s->rx_msg, MSG_WAITALL);
	}
	io_uring_sqe_set_data64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_RX, 0));
	s->rx_busy = true;
}

/* Checks the data digest, puts the payload in place and hands the PDU over. */
static int rx_deliver(struct nu_stream *s, const uint8_t *hdr, const uint8_t *data,
		      const uint8_t *trailer)
{
	const struct nu_frame *f = &s->rf;
	bool copy = f->dest && data != f->dest;

	s->rx_framed = false;
	if (f->ddgst && f->dlen) {
		unsigned pad = f->tail - 4;
		uint32_t crc = NU_CRC32C_INIT;

		/*
		 * The CRC folded into the copy: each piece is summed while it is
		 * still in the cache from being copied, one pass over memory.
		 * (The request is not completed if the digest is wrong.)
		 */
		for (uint32_t off = 0; off < f->dlen; off += RX_CRC_PIECE) {
			uint32_t n = f->dlen - off < RX_CRC_PIECE ? f->dlen - off : RX_CRC_PIECE;

			if (copy)
				memcpy(f->dest + off, data + off, n);
			crc = nu_crc32c_update(crc, data + off, n);
		}
		crc = nu_crc32c_final(nu_crc32c_update(crc, trailer, pad));
		if (nu_get_le32(trailer + pad) != crc) {
			nu_stream_fail(s, "data digest mismatch");
			return -EPROTO;
		}
	} else if (copy) {
		memcpy(f->dest, data, f->dlen);
	}
	return s->ops->pdu(s->ctx, hdr, copy ? f->dest : data, f->dlen);
}

/*
 * The rest of a PDU by one receive, after have bytes of it past the header
 * arrived at got: at most dlen of them are payload (copied to dest), the
 * rest (a receive that ended inside the padding or the digest) is trailer.
 */
static void rx_direct_start(struct nu_stream *s, uint8_t *dest, const uint8_t *got, size_t have)
{
	const struct nu_frame *f = &s->rf;
	size_t data_have = have < f->dlen ? have : f->dlen;
	size_t tail_have = have - data_have;
	unsigned n = 0;

	if (data_have)
		memcpy(dest, got, data_have);
	s->rx_direct = true;
	if (tail_have)
		memcpy(s->rx_trailer, got + data_have, tail_have);
	if (data_have < f->dlen)
		s->rx_iov[n++] = (struct iovec){ dest + data_have, f->dlen - data_have };
	if (tail_have < f->tail)
		s->rx_iov[n++] = (struct iovec){ s->rx_trailer + tail_have, f->tail - tail_have };
	memset(&s->rx_msg, 0, sizeof(s->rx_msg));
	s->rx_msg.msg_iov = s->rx_iov;
	s->rx_msg.msg_iovlen = n;
	rx_submit(s);
}

/*
 * Exact mode, at a PDU boundary: batches while commands are out and none
 * of them expects data in the buffer table (its next PDUs are all small).
 */
static void rx_next(struct nu_stream *s)
{
	if (!s->rx_fixed && s->rx_live) {
		s->rx_batch = true;
		rx_serial_set(s, false);
	}
	rx_submit(s);
}

/* Acts on every whole PDU in the stream buffer, then receives more. */
static void rx_parse(struct nu_stream *s)
{
	for (;;) {
		size_t avail = s->rx_len - s->rx_off;
		const uint8_t *p = s->rx_buf + s->rx_off;
		struct nu_frame *f = &s->rf;
		size_t total;

		if (avail < s->min_head)
			break;
		if (!s->rx_framed) {
			int ret = s->ops->frame(s->ctx, p, avail, f);

			if (ret == -EAGAIN)
				break;
			if (ret)
				return;
			total = (size_t)f->head + f->dlen + f->tail;
			/* Only a payload that goes straight to its place may exceed the buffer. */
			if ((total > s->rx_cap && (!f->dest || f->dlen < RX_DIRECT_MIN)) ||
			    f->tail > 8 || f->head > NU_STREAM_HDR_MAX || (f->ddgst && f->tail < 4)) {
				nu_stream_fail(s, "PDU larger than the receive buffer");
				return;
			}
			if (f->dest_fixed) {
				/* Zero-copy data during a batch: no command asked for it. */
				nu_stream_fail(s,
					       "data for a zero-copy read while none was expected");
				return;
			}
			s->rx_framed = true;
		}
		total = (size_t)f->head + f->dlen + f->tail;
		if (avail >= total) {
			s->rx_off += total;
			if (rx_deliver(s, p, p + f->head, p + f->head + f->dlen))
				return;
			continue;
		}
		if (f->dest && f->dlen >= RX_DIRECT_MIN && avail >= f->head) {
			/* Big data: the rest goes straight to its final place. */
			memcpy(s->rx_hdr, p, f->head);
			s->rx_off = s->rx_len;
			rx_direct_start(s, f->dest, p + f->head, avail - f->head);
			return;
		}
		break;
	}
	rx_submit(s);
}

/*
 * Exact mode: a header of exact_head bytes, the rest of the header if the
 * frame says so, then the payload: into the buffer table, or the stream
 * buffer behind the header (small PDUs, digests), never past the PDU.
 */
static void rx_exact_done(struct nu_stream *s, int res)
{
	struct nu_frame *f = &s->rf;
	bool whole;
	int ret;

	s->rx_len += res;
	switch (s->rx_exact) {
	case RX_EXACT_HEAD:
		if (s->rx_len < (s->rx_framed ? f->head : s->exact_head))
			break;
		if (!s->rx_framed) {
			ret = s->ops->frame(s->ctx, s->rx_buf, s->rx_len, f);
			if (ret == -EAGAIN) {
				nu_stream_fail(s, "PDU header longer than expected");
				return;
			}
			if (ret)
				return;
			if (f->head > NU_STREAM_HDR_MAX || f->tail > 8 ||
			    (!f->dest_fixed && !f->dest &&
			     (size_t)f->head + f->dlen + f->tail > s->rx_cap) ||
			    (f->dest_fixed && (f->tail || f->ddgst)) || f->head < s->rx_len) {
				nu_stream_fail(s, "PDU does not fit");
				return;
			}
			s->rx_framed = true;
			if (f->head > s->rx_len)
				break; /* the rest of the header */
		}
		if (!f->dlen && !f->tail) {
			s->rx_framed = false;
			s->rx_len = 0;
			if (s->ops->pdu(s->ctx, s->rx_buf, NULL, 0) == 0)
				rx_next(s);
			return;
		}
		memcpy(s->rx_hdr, s->rx_buf, f->head);
		if (f->dest_fixed) {
			s->rx_exact = RX_EXACT_FIXED;
			s->rx_len = 0;
		} else if (f->dest) {
			/*
			 * A request in a copy mode: straight into its buffer all the
			 * same (with what a batch brought of it already).
			 */
			rx_direct_start(s, f->dest, s->rx_buf + f->head, s->rx_len - f->head);
			return;
		} else {
			s->rx_exact = RX_EXACT_PAYLOAD;
		}
		break;
	case RX_EXACT_FIXED:
		if (s->rx_len < f->dlen)
			break;
		s->rx_exact = RX_EXACT_HEAD;
		s->rx_framed = false;
		s->rx_len = 0;
		if (s->ops->pdu(s->ctx, s->rx_hdr, NULL, f->dlen) == 0)
			rx_next(s);
		return;
	case RX_EXACT_PAYLOAD:
		whole = s->rx_len >= (size_t)f->head + f->dlen + f->tail;
		if (!whole)
			break;
		s->rx_exact = RX_EXACT_HEAD;
		s->rx_len = 0;
		if (rx_deliver(s, s->rx_buf, s->rx_buf + f->head, s->rx_buf + f->head + f->dlen) == 0)
			rx_next(s);
		return;
	}
	rx_submit(s);
}

static void rx_done(struct nu_stream *s, int res)
{
	s->rx_busy = false;
	if (s->up && res == -EIO) {
		char why[160];
		/* kTLS: a record that is not data is next; a ticket is passed over. */
		int ret = nu_tls_control_record(s->fd, why, sizeof(why));

		if (!ret) {
			rx_submit(s);
			return;
		}
		if (ret != -EIO) {
			nu_stream_fail(s, why);
			return;
		}
	}
	if (s->up && res == -ECANCELED && s->rx_leaving) {
		rx_submit(s); /* the batch receive, cancelled: exact steps from here */
		return;
	}
	if (!s->up || res <= 0) {
		nu_stream_fail(s, res == 0 ? "connection closed by the target" :
			       res < 0 ? strerror(-res) : NULL);
		return;
	}
	if (s->exact_head && !s->rx_batch && !s->rx_direct) {
		rx_exact_done(s, res);
		return;
	}
	if (!s->rx_direct) {
		s->rx_len += res;
		rx_parse(s);
		return;
	}
	if (!iov_advance(&s->rx_msg, res)) {
		rx_submit(s);
		return;
	}
	s->rx_direct = false;
	if (rx_deliver(s, s->rx_hdr, s->rf.dest, s->rx_trailer))
		return;
	if (!s->exact_head || s->rx_batch) {
		rx_parse(s);
		return;
	}
	s->rx_len = 0;
	rx_next(s);
}

/* Cancels the batch receive waiting on the socket; its completion says -ECANCELED. */
static void rx_cancel(struct nu_stream *s)
{
	struct io_uring_sqe *sqe = nu_queue_get_sqe(s->q);

	io_uring_prep_cancel64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_RX, 0), 0);
	io_uring_sqe_set_data64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_RX_CANCEL, 0));
}

void nu_stream_expect_fixed(struct nu_stream *s, uint16_t tag)
{
	if (!s->rx_tags)
		return;
	if (tag_set(s->rx_tags + NU_STREAM_TAG_WORDS, tag))
		s->rx_fixed++;
	if (!s->rx_batch || s->rx_leaving)
		return;
	s->rx_leaving = true;
	/*
	 * A batch receive waiting on the socket is cancelled; one under way
	 * (or a direct receive) ends by itself. Either way rx_submit() then
	 * turns to exact steps and lets the sends go again.
	 */
	if (s->rx_busy && !s->rx_direct)
		rx_cancel(s);
}

/* The cancellation's own answer: -EALREADY if the receive was just running; ask again. */
static void rx_cancel_done(struct nu_stream *s, int res)
{
	if (res == -EALREADY && s->rx_leaving && s->rx_busy && !s->rx_direct)
		rx_cancel(s);
}

/* ---------------------------------------------------------------- life */

int nu_stream_attach(struct nu_stream *s, int fd, size_t rx_cap, unsigned exact_head)
{
	if (rx_cap != s->rx_cap || !s->rx_buf) {
		uint8_t *b = malloc(rx_cap);

		if (!b)
			return -ENOMEM;
		free(s->rx_buf);
		s->rx_buf = b;
		s->rx_cap = rx_cap;
	}
	if (!s->rx_tags) {
		s->rx_tags = malloc(2 * NU_STREAM_TAG_WORDS * sizeof(*s->rx_tags));
		if (!s->rx_tags)
			return -ENOMEM;
	}
	memset(s->rx_tags, 0, 2 * NU_STREAM_TAG_WORDS * sizeof(*s->rx_tags));
	s->rx_live = s->rx_fixed = 0;
	s->rx_batch = s->rx_leaving = false;
	s->fd = fd;
	s->rx_len = s->rx_off = 0;
	s->rx_framed = s->rx_direct = false;
	s->exact_head = exact_head;
	rx_serial_set(s, exact_head);
	s->rx_exact = RX_EXACT_HEAD;
	s->up = true;
	s->held = s->rx_held = false;
	rx_submit(s);
	return 0;
}

void nu_stream_hold(struct nu_stream *s, bool hold)
{
	s->held = hold;
	if (hold || !s->up)
		return;
	if (s->rx_held) {
		s->rx_held = false;
		rx_submit(s);
	}
	nu_stream_kick(s);
}

void nu_stream_delay(struct nu_stream *s, unsigned ms)
{
	s->tx_delay.tv_sec = ms / 1000;
	s->tx_delay.tv_nsec = (ms % 1000) * 1000000L;
	s->tx_delayed = ms > 0;
}

void nu_stream_fail(struct nu_stream *s, const char *why)
{
	bool was_up = s->up;

	if (was_up) {
		s->up = false;
		shutdown(s->fd, SHUT_RDWR);
	}
	s->ops->fail(s->ctx, was_up ? (why ? why : "connection failed") : NULL);
}

void nu_stream_close(struct nu_stream *s)
{
	rx_serial_set(s, false); /* a closed connection receives nothing, serially or not */
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->up = false;
	while (s->txq_head) {
		struct nu_stream_item *it = s->txq_head;

		s->txq_head = it->next;
		tx_release(s, it);
	}
	s->txq_tail = NULL;
}

bool nu_stream_cqe(struct nu_stream *s, const struct io_uring_cqe *cqe)
{
	if (nu_ud_path(cqe->user_data) != s->ud_path)
		return false;
	switch (nu_ud_op(cqe->user_data)) {
	case NU_STREAM_UD_TX:
		if (nu_ud_data(cqe->user_data))
			tx_done_linked(s, nu_ud_data(cqe->user_data), cqe->res);
		else
			tx_done(s, cqe->res);
		return true;
	case NU_STREAM_UD_RX:
		rx_done(s, cqe->res);
		return true;
	case NU_STREAM_UD_IGNORE:
		return true; /* an injected delay's timeout, a cancellation's answer */
	case NU_STREAM_UD_RX_CANCEL:
		rx_cancel_done(s, cqe->res);
		return true;
	default:
		return false;
	}
}

bool nu_stream_drain(struct nu_stream *s, unsigned ms, bool *timer_armed)
{
	struct io_uring *ring = nu_queue_ring(s->q);
	uint64_t deadline = nu_now_ns() + ms * 1000000ull;

	if (*timer_armed) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (sqe) {
			io_uring_prep_timeout_remove(
				sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_TIMER, 0), 0);
			io_uring_sqe_set_data64(sqe, nu_stream_ud(s->ud_path, NU_STREAM_UD_IGNORE, 0));
		}
	}
	while ((nu_stream_busy(s) || *timer_armed) && nu_now_ns() < deadline) {
		struct __kernel_timespec ts = { .tv_nsec = 100000000 };
		struct io_uring_cqe *cqe;

		io_uring_submit(ring);
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
			continue;
		if (nu_ud_kind(cqe->user_data) != NU_UD_TRANSPORT ||
		    nu_ud_path(cqe->user_data) != s->ud_path) {
			struct io_uring_cqe c = *cqe;

			/* Not ours (another path's, a device's): served as usual. */
			io_uring_cqe_seen(ring, cqe);
			nu_queue_serve_cqe(s->q, &c);
			continue;
		}
		if (nu_ud_kind(cqe->user_data) == NU_UD_TRANSPORT) {
			switch (nu_ud_op(cqe->user_data)) {
			case NU_STREAM_UD_RX:
				s->rx_busy = false;
				/* Whatever came (a logout answer, EOF) ends it. */
				if (s->fd >= 0)
					shutdown(s->fd, SHUT_RDWR);
				break;
			case NU_STREAM_UD_TX:
				/* A linked pair completes twice. */
				if (!nu_ud_data(cqe->user_data) || !--s->tx_inflight)
					s->tx_busy = false;
				break;
			case NU_STREAM_UD_TIMER:
				*timer_armed = false;
				break;
			}
		}
		io_uring_cqe_seen(ring, cqe);
	}
	return !nu_stream_busy(s) && !*timer_armed;
}

void nu_stream_destroy(struct nu_stream *s)
{
	rx_serial_set(s, false);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	while (s->txq_head) {
		struct nu_stream_item *it = s->txq_head;

		s->txq_head = it->next;
		free(it);
	}
	for (unsigned i = 0; i < s->tx_batch_n; i++)
		free(s->tx_batch[i]);
	s->tx_batch_n = 0;
	while (s->tx_free) {
		struct nu_stream_item *it = s->tx_free;

		s->tx_free = it->next;
		free(it);
	}
	free(s->rx_buf);
	s->rx_buf = NULL;
	free(s->rx_tags);
	s->rx_tags = NULL;
}

/* One fixed-buffer send and receive over a socketpair on a scratch ring. */
static bool probe_fixed(void)
{
	static char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int sv[2], res[2] = { -1, -1 };
	bool ok = false;

	if (io_uring_queue_init(4, &ring, 0))
		return false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		goto out_ring;
	if (io_uring_register_buffers(&ring, &iov, 1))
		goto out;
	/* A user-registered buffer is addressed by its user address (ublk's by offset). */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send(sqe, sv[0], buf, 16, 0);
	sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
	sqe->buf_index = 0;
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, sv[1], buf + 16, 16, MSG_WAITALL);
	sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
	sqe->buf_index = 0;
	io_uring_submit(&ring);
	for (int i = 0; i < 2; i++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			break;
		res[i] = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	/* Older kernels take the fixed flag as an offset pointer and fail, or reject it. */
	ok = res[0] == 16 && res[1] == 16;
out:
	close(sv[0]);
	close(sv[1]);
out_ring:
	io_uring_queue_exit(&ring);
	return ok;
}

bool nu_stream_fixed_supported(void)
{
	static int known = -1;

	if (known < 0)
		known = probe_fixed();
	return known;
}

bool nu_stream_zero_copy(bool wanted, const char *copy_why, const char *target)
{
	bool zc = wanted && !copy_why && nu_stream_fixed_supported();

	if (wanted && !zc)
		nu_info("%s: copy mode: %s", target,
			copy_why ? copy_why :
				   "this kernel cannot send from or receive into registered "
				   "buffers (Linux 7.2 can)");
	return zc;
}
