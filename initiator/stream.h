/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_STREAM_H
#define NETUBLK_STREAM_H

/*
 * A PDU stream over one TCP socket on a queue ring, shared by iSCSI and
 * NVMe/TCP. Sending: PDUs are queued and go out as one gathered SENDMSG at a
 * time, so they never interleave on the wire; short sends continue where
 * they stopped. Receiving: a stream buffer takes whatever the socket has
 * (often a whole batch of small PDUs); the protocol frames PDUs out of it;
 * the rest of a large payload is received straight into its final buffer.
 * Data digests (CRC32C over the payload and its padding) are made and
 * checked here.
 *
 * Zero copy: a payload may live in an entry of the ring's buffer table
 * (a ublk request's pages, registered by the kernel), which only io_uring
 * can reach: it is sent with a fixed-buffer SEND linked behind the SENDMSG
 * of the headers before it (a batch is one chain of up to
 * NU_STREAM_TX_SEGS such pairs), and received with a fixed-buffer RECV. To receive into
 * one, the stream must never read past a header: in exact mode it reads
 * each PDU's header by itself, then its payload (two steps per PDU). As
 * long as no command on the connection expects such a payload (writes
 * only), exact mode receives in batches all the same.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <linux/time_types.h>

#include "udata.h"

struct nu_queue;
struct io_uring_cqe;

#define NU_STREAM_NO_TAG 0xffff
#define NU_STREAM_HDR_MAX 128
#define NU_STREAM_TX_IOV 64
#define NU_STREAM_TX_SEGS 8
#define NU_STREAM_TAG_WORDS (65536 / 64)

/* Where one received PDU's parts are, as the protocol reads its header. */
struct nu_frame {
	uint32_t head;	/* header, header digest and padding before the data */
	uint32_t dlen;	/* payload */
	uint32_t tail;	/* padding and data digest after the payload */
	bool ddgst;	/* the last 4 tail bytes are CRC32C(payload, tail padding) */
	uint8_t *dest;	/* the payload's final place, or NULL */
	bool dest_fixed; /* ... or buffer-table entry dest_index at dest_off (exact mode) */
	uint16_t dest_index;
	uint32_t dest_off;
};

struct nu_buf;
/* Sets f's destination: offset off of buffer b (plain memory or buffer-table entry). */
void nu_frame_dest(struct nu_frame *f, const struct nu_buf *b, uint32_t off);

struct nu_stream_ops {
	/*
	 * Frames the PDU at p (avail bytes there, at least min_head): 0 with
	 * *f filled, -EAGAIN if more bytes are needed to tell, or -EPROTO
	 * after calling nu_stream_fail().
	 */
	int (*frame)(void *ctx, const uint8_t *p, size_t avail, struct nu_frame *f);
	/*
	 * One whole PDU, its data digest checked and its payload at the
	 * frame's dest if it had one. Returns 0, or -EPROTO once the stream
	 * failed.
	 */
	int (*pdu)(void *ctx, const uint8_t *hdr, const uint8_t *data, uint32_t dlen);
	/* The connection broke (why is NULL when already reported). */
	void (*fail)(void *ctx, const char *why);
};

struct nu_stream_item {
	struct nu_stream_item *next;
	uint16_t tag; /* the command whose data this points into */
	uint8_t niov;
	bool fixed; /* the payload is buffer-table entry fixed_index at fixed_off */
	uint16_t fixed_index;
	uint32_t fixed_off, fixed_len;
	uint8_t hdr[NU_STREAM_HDR_MAX];
	uint8_t trailer[8];
	struct iovec iov[3];
};

struct nu_stream {
	const struct nu_stream_ops *ops;
	void *ctx;
	struct nu_queue *q;
	int fd;
	unsigned min_head;
	unsigned ud_path; /* which path of the queue: in its completions' user data */
	bool up; /* false once failed, until nu_stream_attach() */
	bool held, rx_held; /* an injected black hole: nothing goes out or is read */
	bool tx_delayed;    /* an injected delay: each send waits tx_delay first */
	struct __kernel_timespec tx_delay;

	struct nu_stream_item *txq_head, *txq_tail, *tx_free;
	struct nu_stream_item *tx_batch[NU_STREAM_TX_IOV];
	unsigned tx_batch_n;
	struct iovec tx_iov[NU_STREAM_TX_IOV];
	/*
	 * The batch: segments of headers (and in-memory payloads), each but
	 * the last ended by a fixed-buffer payload. One segment without one
	 * is a plain SENDMSG (short sends continued); otherwise all go as one
	 * linked chain, each SQE moving all it was given.
	 */
	struct {
		struct msghdr msg;
		size_t expect; /* bytes of msg */
		const struct nu_stream_item *fixed; /* its payload follows, or NULL */
	} tx_seg[NU_STREAM_TX_SEGS];
	unsigned tx_nseg;
	struct msghdr tx_msg; /* the plain SENDMSG's (tx_seg[0]'s, advanced by short sends) */
	bool tx_busy;
	uint8_t tx_inflight;  /* completions still due for the chain */
	int tx_err; /* the chain's first failure: -errno, or -EPIPE for a short send; 0 none */

	bool rx_busy, rx_direct, rx_framed;
	unsigned exact_head; /* exact mode: header bytes read first; 0: buffered mode */
	/*
	 * Exact mode receives in batches (rx_batch) while commands are on this
	 * connection but none whose data goes to the buffer table; rx_leaving:
	 * one such is waiting to be sent until the batch receive is over.
	 */
	bool rx_batch, rx_leaving;
	unsigned rx_live;  /* tags with PDUs on this connection */
	unsigned rx_fixed; /* ... and of those, the ones expecting data in the buffer table */
	uint64_t *rx_tags; /* the two tag bitmaps, NU_STREAM_TAG_WORDS each */
	bool rx_serial;	     /* told the queue that it receives step by step (exact mode) */
	enum { RX_EXACT_HEAD, RX_EXACT_PAYLOAD, RX_EXACT_FIXED } rx_exact;
	struct nu_frame rf;
	uint8_t *rx_buf;
	size_t rx_cap, rx_len, rx_off;
	uint8_t rx_hdr[NU_STREAM_HDR_MAX]; /* the header of a direct receive */
	uint8_t rx_trailer[8];
	struct iovec rx_iov[2];
	struct msghdr rx_msg;
};

/*
 * User-data slots on the ring: the stream's sends and receives, its
 * protocol's health timer (see nu_stream_drain), completions to ignore.
 */
enum {
	NU_STREAM_UD_TX = 1,
	NU_STREAM_UD_RX,
	NU_STREAM_UD_TIMER,
	NU_STREAM_UD_IGNORE,
	NU_STREAM_UD_RX_CANCEL,
};

/*
 * Several paths of one queue (multipath) share its ring: the slot's upper
 * bits say which path a completion is for. NU_UD_PATHS - 1 is the
 * multipath layer's own.
 */
#define NU_UD_PATH_SHIFT 4
#define NU_UD_PATHS 16
static inline uint64_t nu_stream_ud(unsigned path, unsigned op, uint64_t data)
{
	return nu_ud_make(NU_UD_TRANSPORT, op | path << NU_UD_PATH_SHIFT, data);
}
static inline unsigned nu_ud_path(uint64_t ud)
{
	return nu_ud_slot(ud) >> NU_UD_PATH_SHIFT;
}
static inline unsigned nu_ud_op(uint64_t ud)
{
	return nu_ud_slot(ud) & ((1u << NU_UD_PATH_SHIFT) - 1);
}

void nu_stream_init(struct nu_stream *s, struct nu_queue *q, const struct nu_stream_ops *ops,
		    void *ctx, unsigned min_head);
/*
 * Takes a connected socket; rx_cap fits the largest PDU plus a batch.
 * exact_head: 0, or exact mode reading that many header bytes first.
 * Starts receiving.
 */
int nu_stream_attach(struct nu_stream *s, int fd, size_t rx_cap, unsigned exact_head);
/* Queues one PDU: hdr (digest included), payload, pad bytes and a data digest. */
int nu_stream_queue(struct nu_stream *s, uint16_t tag, const void *hdr, unsigned hlen,
		    const void *data, uint32_t dlen, unsigned pad, bool ddgst);
/* The same with the payload in buffer-table entry index, at off (no data digest). */
int nu_stream_queue_fixed(struct nu_stream *s, uint16_t tag, const void *hdr, unsigned hlen,
			  uint16_t index, uint32_t off, uint32_t dlen);
void nu_stream_kick(struct nu_stream *s);
/*
 * Exact mode: tag's command is about to be queued and will receive its
 * payload into the buffer table. Until it completes (nu_stream_drop_tag)
 * the stream reads each header alone; a batch receive under way is
 * cancelled first, and nothing is sent until it is over.
 */
void nu_stream_expect_fixed(struct nu_stream *s, uint16_t tag);
/* Can this kernel send and receive from buffer-table entries (Linux 7.2)? Probed once. */
bool nu_stream_fixed_supported(void);
/*
 * Whether a connection to target moves payloads zero copy: wanted (the
 * ublk device will be zero copy), nothing that needs copy mode (copy_why
 * NULL, else what does: a data digest must see the payload), and a kernel
 * that can. Says why not when wanted.
 */
bool nu_stream_zero_copy(bool wanted, const char *copy_why, const char *target);
/* Why a data digest means copy mode. */
#define NU_COPY_FOR_DIGEST "the data digest must see the payload"
/* Black hole (fault injection): hold every send and receive, or let them go again. */
void nu_stream_hold(struct nu_stream *s, bool hold);
/* Delay (fault injection): each send goes ms later (0: at once again). */
void nu_stream_delay(struct nu_stream *s, unsigned ms);
/* Forgets queued (not yet sending) PDUs of a finished command. */
void nu_stream_drop_tag(struct nu_stream *s, uint16_t tag);
/* Marks the stream failed and shuts the socket; fail() reports once. */
void nu_stream_fail(struct nu_stream *s, const char *why);
/* True while a socket operation is in flight. */
static inline bool nu_stream_busy(const struct nu_stream *s)
{
	return s->tx_busy || s->rx_busy;
}
/* Once idle after a failure: closes the socket and drops queued PDUs. */
void nu_stream_close(struct nu_stream *s);
/* Routes a stream completion; false if the cqe is not the stream's. */
bool nu_stream_cqe(struct nu_stream *s, const struct io_uring_cqe *cqe);
/*
 * At shutdown (queue thread only): cancels the protocol's timer if
 * *timer_armed, and waits up to ms for it and the socket ops in flight.
 * Completions of the queue's other paths go on to the transport as usual.
 * False if something is still pending then.
 */
bool nu_stream_drain(struct nu_stream *s, unsigned ms, bool *timer_armed);
void nu_stream_destroy(struct nu_stream *s);

#endif
