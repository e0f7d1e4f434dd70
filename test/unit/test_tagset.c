// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "tagset.h"

static void test_get_put_exhaust(void **state)
{
	struct nu_tagset ts;
	struct nu_io io[5] = { 0 };
	uint8_t seen[4] = { 0 };

	assert_int_equal(nu_tagset_init(&ts, 4), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(nu_tagset_get(&ts, &io[i]), 0);
		assert_true(io[i].tag < 4);
		assert_int_equal(seen[io[i].tag]++, 0); /* every tag handed out once */
	}
	assert_int_equal(nu_tagset_get(&ts, &io[4]), -EBUSY);
	assert_int_equal(ts.nr_waiting, 1);
	/* The freed tag goes straight to the waiter. */
	struct nu_io *next = nu_tagset_put(&ts, io[2].tag);
	assert_ptr_equal(next, &io[4]);
	assert_int_equal(io[4].tag, io[2].tag);
	assert_int_equal(ts.used, 4);
	for (int i = 0; i < 5; i++)
		if (i != 2)
			assert_null(nu_tagset_put(&ts, io[i].tag));
	assert_int_equal(ts.used, 0);
	nu_tagset_exit(&ts);
}

static void test_round_robin_fairness(void **state)
{
	struct nu_tagset ts;
	struct nu_io busy[10], quiet[2], held[1];
	int order[12], n = 0;

	assert_int_equal(nu_tagset_init(&ts, 1), 0);
	held[0].vol = 9;
	assert_int_equal(nu_tagset_get(&ts, &held[0]), 0);
	/* A busy volume queues 10, then a quiet one queues 2. */
	for (int i = 0; i < 10; i++) {
		busy[i].vol = 1;
		assert_int_equal(nu_tagset_get(&ts, &busy[i]), -EBUSY);
	}
	for (int i = 0; i < 2; i++) {
		quiet[i].vol = 2;
		assert_int_equal(nu_tagset_get(&ts, &quiet[i]), -EBUSY);
	}
	uint16_t tag = held[0].tag;
	struct nu_io *io;
	while ((io = nu_tagset_put(&ts, tag))) {
		order[n++] = io->vol;
		tag = io->tag;
	}
	assert_int_equal(n, 12);
	/* The quiet volume is served within the first four grants, not after all ten. */
	int quiet_seen = 0;
	for (int i = 0; i < 4; i++)
		quiet_seen += order[i] == 2;
	assert_int_equal(quiet_seen, 2);
	/* FIFO within a volume. */
	assert_int_equal(order[0] == 1 || order[0] == 2, 1);
	nu_tagset_exit(&ts);
}

static void test_waiters_keep_priority(void **state)
{
	struct nu_tagset ts;
	struct nu_io a = { .vol = 0 }, b = { .vol = 0 }, c = { .vol = 1 };

	assert_int_equal(nu_tagset_init(&ts, 1), 0);
	assert_int_equal(nu_tagset_get(&ts, &a), 0);
	assert_int_equal(nu_tagset_get(&ts, &b), -EBUSY);
	/* Even with the tag about to free, newcomers queue behind waiters. */
	assert_ptr_equal(nu_tagset_put(&ts, a.tag), &b);
	assert_int_equal(nu_tagset_get(&ts, &c), -EBUSY);
	assert_ptr_equal(nu_tagset_put(&ts, b.tag), &c);
	assert_null(nu_tagset_put(&ts, c.tag));
	nu_tagset_exit(&ts);
}

static void test_credit_limit(void **state)
{
	struct nu_tagset ts;
	struct nu_io io[4] = { 0 };

	assert_int_equal(nu_tagset_init(&ts, 4), 0);
	nu_tagset_set_limit(&ts, 2);
	assert_int_equal(nu_tagset_get(&ts, &io[0]), 0);
	assert_int_equal(nu_tagset_get(&ts, &io[1]), 0);
	assert_int_equal(nu_tagset_get(&ts, &io[2]), -EBUSY);
	assert_int_equal(nu_tagset_get(&ts, &io[3]), -EBUSY);
	assert_null(nu_tagset_next_waiter(&ts));
	nu_tagset_set_limit(&ts, 100); /* clamped to depth */
	assert_int_equal(ts.limit, 4);
	assert_ptr_equal(nu_tagset_next_waiter(&ts), &io[2]);
	assert_ptr_equal(nu_tagset_next_waiter(&ts), &io[3]);
	assert_null(nu_tagset_next_waiter(&ts));
	assert_int_equal(ts.used, 4);
	nu_tagset_exit(&ts);
}

static void test_drain_and_bad_init(void **state)
{
	struct nu_tagset ts;
	struct nu_io a = { .vol = 3 }, b = { .vol = 4 }, c = { .vol = 3 }, held = { 0 };

	assert_int_equal(nu_tagset_init(&ts, 0), -EINVAL);
	assert_int_equal(nu_tagset_init(&ts, 70000), -EINVAL);
	assert_int_equal(nu_tagset_init(&ts, 1), 0);
	assert_int_equal(nu_tagset_get(&ts, &held), 0);
	nu_tagset_get(&ts, &a);
	nu_tagset_get(&ts, &b);
	nu_tagset_get(&ts, &c);
	struct nu_io *list = nu_tagset_drain(&ts);
	int n = 0;
	for (struct nu_io *io = list; io; io = io->next)
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(ts.nr_waiting, 0);
	assert_null(nu_tagset_put(&ts, held.tag));
	nu_tagset_exit(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put_exhaust),
		cmocka_unit_test(test_round_robin_fairness),
		cmocka_unit_test(test_waiters_keep_priority),
		cmocka_unit_test(test_credit_limit),
		cmocka_unit_test(test_drain_and_bad_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
