/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_IO_H
#define NETUBLK_IO_H

#include <stdint.h>
#include <stdbool.h>

/* What a frontend asks of the backend; mirrors the block ops ublk delivers. */
enum nu_op {
	NU_OP_READ,
	NU_OP_WRITE,
	NU_OP_FLUSH,
	NU_OP_DISCARD,
	NU_OP_WRITE_ZEROES,
	NU_OP_COUNT,
};

#define NU_IO_FUA     (1u << 0)
#define NU_IO_NOUNMAP (1u << 1) /* write zeroes must allocate */

/*
 * Data buffer of an I/O: plain memory the server can touch, or an entry of
 * the queue ring's buffer table (zero copy), which only io_uring may touch.
 */
struct nu_buf {
	void *addr;
	int fixed_index; /* -1: plain memory at addr */
};

struct nu_io;
typedef void (*nu_io_done_fn)(struct nu_io *io, int res);

struct nu_io {
	uint8_t op;
	uint8_t flags;
	uint16_t vol; /* volume index within the host */
	uint32_t len; /* bytes */
	uint64_t offset; /* bytes */
	struct nu_buf buf;
	uint16_t tag; /* backend tag, owned while in flight */
	uint64_t start_ns;
	nu_io_done_fn done;
	struct nu_io *next; /* wait list link while parked for a tag, or failed list */
	int failed_res;	    /* refused by the backend: completed from the event loop */
};

static inline bool nu_op_has_data(uint8_t op)
{
	return op == NU_OP_READ || op == NU_OP_WRITE;
}

const char *nu_op_name(unsigned op);

#endif
