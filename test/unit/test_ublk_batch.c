// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <liburing.h>
#include <linux/ublk_cmd.h>

#include "ublk_batch.h"

#define DEPTH 8

static const struct ublk_batch_io *cmd_of(const struct io_uring_sqe *sqe)
{
	return (const struct ublk_batch_io *)sqe->cmd;
}

static struct ublk_elem_header elem_at(const struct io_uring_sqe *sqe, unsigned elem_bytes,
				       unsigned i, uint64_t *addr)
{
	const char *p = (const char *)(uintptr_t)sqe->addr + (size_t)i * elem_bytes;
	struct ublk_elem_header h;

	memcpy(&h, p, sizeof(h));
	if (addr)
		memcpy(addr, p + sizeof(h), sizeof(*addr));
	return h;
}

/* Zero copy: each tag names its registered buffer; no address, 8-byte elements. */
static void test_prep_zero_copy(void **state)
{
	struct ublk_batch_config cfg = {.qid = 1, .depth = DEPTH, .buf_index_base = 100};
	struct ublk_batch *b = ublk_batch_create(&cfg);
	struct io_uring_sqe sqe;
	unsigned nr;

	assert_non_null(b);
	memset(&sqe, 0xa5, sizeof(sqe));
	ublk_batch_prep_sqe(b, &sqe, 7);
	assert_int_equal(sqe.opcode, IORING_OP_URING_CMD);
	assert_int_equal(sqe.cmd_op, UBLK_U_IO_PREP_IO_CMDS);
	assert_int_equal(sqe.fd, 7);
	assert_int_equal(cmd_of(&sqe)->q_id, 1);
	assert_int_equal(cmd_of(&sqe)->flags, 0);
	assert_int_equal(cmd_of(&sqe)->elem_bytes, 8);
	assert_int_equal(cmd_of(&sqe)->nr_elem, DEPTH);
	assert_int_equal(sqe.len, DEPTH * 8);
	for (unsigned t = 0; t < DEPTH; t++) {
		struct ublk_elem_header h = elem_at(&sqe, 8, t, NULL);

		assert_int_equal(h.tag, t);
		assert_int_equal(h.buf_index, 100 + t);
		assert_int_equal(h.result, 0);
	}
	/* The prep's buffer stays taken until its completion. */
	assert_int_equal(ublk_batch_commit_done(b, 0, &nr), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(ublk_batch_commit_done(b, 0, &nr), -EINVAL);
	ublk_batch_destroy(b);
}

/* Copy mode: every element carries its tag's buffer address. */
static void test_prep_copy(void **state)
{
	static char bufs[DEPTH * 4096];
	struct ublk_batch_config cfg = {
		.depth = DEPTH, .buf_index_base = -1, .bufs = bufs, .buf_stride = 4096};
	struct ublk_batch *b = ublk_batch_create(&cfg);
	struct io_uring_sqe sqe;

	assert_non_null(b);
	assert_int_equal(ublk_batch_elem_bytes(b), 16);
	ublk_batch_prep_sqe(b, &sqe, 3);
	assert_int_equal(cmd_of(&sqe)->flags, UBLK_BATCH_F_HAS_BUF_ADDR);
	assert_int_equal(cmd_of(&sqe)->elem_bytes, 16);
	assert_int_equal(sqe.len, DEPTH * 16);
	for (unsigned t = 0; t < DEPTH; t++) {
		uint64_t addr;
		struct ublk_elem_header h = elem_at(&sqe, 16, t, &addr);

		assert_int_equal(h.tag, t);
		assert_int_equal(h.buf_index, 0);
		assert_true(addr == (uintptr_t)(bufs + t * 4096));
	}
	ublk_batch_destroy(b);
}

/*
 * Results gather until a commit takes them; a buffer the kernel may still
 * read is never refilled: the next results go to another one.
 */
static void test_commit_buffers(void **state)
{
	struct ublk_batch_config cfg = {.qid = 0, .depth = DEPTH, .buf_index_base = 16};
	struct ublk_batch *b = ublk_batch_create(&cfg);
	struct io_uring_sqe s1, s2;
	unsigned nr;
	int id1, id2;

	assert_non_null(b);
	assert_int_equal(ublk_batch_pending(b), 0);
	assert_int_equal(ublk_batch_add(b, 5, 4096), 0);
	assert_int_equal(ublk_batch_add(b, 2, -EIO), 0);
	assert_int_equal(ublk_batch_add(b, 7, 0), 0);
	assert_int_equal(ublk_batch_pending(b), 3);
	id1 = ublk_batch_commit_sqe(b, &s1, 9);
	assert_true(id1 >= 0);
	assert_int_equal(ublk_batch_pending(b), 0);
	assert_int_equal(s1.cmd_op, UBLK_U_IO_COMMIT_IO_CMDS);
	assert_int_equal(cmd_of(&s1)->nr_elem, 3);
	assert_int_equal(s1.len, 3 * 8);
	assert_int_equal(elem_at(&s1, 8, 0, NULL).tag, 5);
	assert_int_equal(elem_at(&s1, 8, 0, NULL).result, 4096);
	assert_int_equal(elem_at(&s1, 8, 0, NULL).buf_index, 21);
	assert_int_equal(elem_at(&s1, 8, 1, NULL).result, -EIO);
	assert_int_equal(elem_at(&s1, 8, 2, NULL).tag, 7);

	assert_int_equal(ublk_batch_add(b, 1, 512), 0);
	id2 = ublk_batch_commit_sqe(b, &s2, 9);
	assert_int_not_equal(id1, id2);
	assert_true(s1.addr != s2.addr);
	/* The first buffer is still as it was sent. */
	assert_int_equal(elem_at(&s1, 8, 0, NULL).tag, 5);

	assert_int_equal(ublk_batch_commit_done(b, id1, &nr), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(ublk_batch_commit_done(b, id2, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(ublk_batch_commit_done(b, id2, &nr), -EINVAL);
	assert_int_equal(ublk_batch_commit_done(b, 1000, &nr), -EINVAL);

	/* A freed buffer is reused, not a new one made. */
	assert_int_equal(ublk_batch_add(b, 3, 0), 0);
	assert_int_equal(ublk_batch_commit_sqe(b, &s2, 9), id1);
	ublk_batch_destroy(b);
}

/* More results than tags before a commit is a caller's bug, refused. */
static void test_commit_overflow(void **state)
{
	struct ublk_batch_config cfg = {.depth = DEPTH, .buf_index_base = -1};
	struct ublk_batch *b = ublk_batch_create(&cfg);

	assert_non_null(b);
	for (unsigned t = 0; t < DEPTH; t++)
		assert_int_equal(ublk_batch_add(b, t, 0), 0);
	assert_int_equal(ublk_batch_add(b, 0, 0), -EOVERFLOW);
	assert_int_equal(ublk_batch_pending(b), DEPTH);
	ublk_batch_destroy(b);
}

/* The tags of one fetch follow one another in its buffer; what cannot be there is refused. */
static void test_fetched_bounds(void **state)
{
	struct ublk_batch_config cfg = {.depth = DEPTH, .buf_index_base = 0};
	struct ublk_batch *b = ublk_batch_create(&cfg);
	const uint16_t *t1 = NULL, *t2 = NULL, *t3 = NULL;

	assert_non_null(b);
	assert_int_equal(ublk_batch_fetched(b, 0, 0, &t1), 0);
	assert_int_equal(ublk_batch_fetched(b, 0, -ENOBUFS, &t1), 0);
	assert_int_equal(ublk_batch_fetched(b, 0, 6, &t1), 3);
	assert_int_equal(ublk_batch_fetched(b, 0, 4, &t2), 2);
	assert_ptr_equal(t2, t1 + 3);
	/* Fetch 1 has a buffer of its own. */
	assert_int_equal(ublk_batch_fetched(b, 1, 2, &t3), 1);
	assert_true(t3 < t1 || t3 >= t1 + 5);
	assert_int_equal(ublk_batch_fetched(b, 0, 3, &t2), -EPROTO);
	assert_int_equal(ublk_batch_fetched(b, 0, 1 << 20, &t2), -EPROTO);
	/* Filling the rest exactly is fine; one tag more is not. */
	assert_int_equal(ublk_batch_fetched(b, 1, 8192 - 2, &t3), (8192 - 2) / 2);
	assert_int_equal(ublk_batch_fetched(b, 1, 2, &t3), -EPROTO);
	ublk_batch_destroy(b);
}

/* A fetch is multishot, selects from its own buffer group, and starts with an empty buffer. */
static void test_fetch_sqe(void **state)
{
	struct ublk_batch_config cfg = {.qid = 3, .depth = DEPTH, .buf_index_base = 0};
	struct ublk_batch *b = ublk_batch_create(&cfg);
	const uint16_t *t1, *t2;
	struct io_uring ring;
	struct io_uring_sqe sqe;
	int ret;

	assert_non_null(b);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	ret = ublk_batch_rings_setup(b, &ring, 40);
	if (ret == -EINVAL || ret == -EOPNOTSUPP) {
		/* Incremental buffer rings are Linux 6.12+; the VM tests run them for real. */
		io_uring_queue_exit(&ring);
		ublk_batch_destroy(b);
		skip();
	}
	assert_int_equal(ret, 0);
	memset(&sqe, 0, sizeof(sqe));
	assert_int_equal(ublk_batch_fetched(b, 1, 4, &t1), 2);
	ublk_batch_fetch_sqe(b, &sqe, 5, 1);
	assert_int_equal(sqe.cmd_op, UBLK_U_IO_FETCH_IO_CMDS);
	assert_int_equal(cmd_of(&sqe)->q_id, 3);
	assert_int_equal(cmd_of(&sqe)->elem_bytes, 2);
	assert_int_equal(sqe.uring_cmd_flags, 1U << 1 /* IORING_URING_CMD_MULTISHOT */);
	assert_true(sqe.flags & IOSQE_BUFFER_SELECT);
	assert_int_equal(sqe.buf_group, 41);
	/* Rearmed: the next tags are at the start of the buffer again. */
	assert_int_equal(ublk_batch_fetched(b, 1, 2, &t2), 1);
	assert_ptr_equal(t2, t1);
	assert_int_equal(ublk_batch_ring_reset(b, &ring, 1), 0);
	ublk_batch_rings_free(b, &ring);
	io_uring_queue_exit(&ring);
	ublk_batch_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prep_zero_copy), cmocka_unit_test(test_prep_copy),
		cmocka_unit_test(test_commit_buffers), cmocka_unit_test(test_commit_overflow),
		cmocka_unit_test(test_fetched_bounds), cmocka_unit_test(test_fetch_sqe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
