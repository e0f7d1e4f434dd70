// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "latency.h"

static void test_bucket_bounds(void **state)
{
	/* Every value lies at or below its bucket's high bound, within 1/64. */
	for (uint64_t v = 0; v < 5000000; v = v * 3 / 2 + 1) {
		unsigned b = nu_latency_bucket(v);
		uint64_t hi = nu_latency_bucket_high(b);

		assert_true(b < NU_LAT_BUCKETS);
		assert_true(v <= hi);
		assert_true(hi - v <= v / 64 + 1);
		if (b)
			assert_true(nu_latency_bucket_high(b - 1) < v);
	}
	assert_true(nu_latency_bucket(UINT64_MAX) < NU_LAT_BUCKETS);
}

static void test_percentiles(void **state)
{
	struct nu_latency *h = malloc(sizeof(*h));

	nu_latency_init(h);
	assert_int_equal(nu_latency_percentile(h, 50), 0);
	for (uint64_t i = 1; i <= 1000; i++)
		nu_latency_add(h, i * 1000); /* 1..1000 us */
	assert_int_equal(h->count, 1000);
	assert_int_equal(h->min_ns, 1000);
	assert_int_equal(h->max_ns, 1000000);
	uint64_t p50 = nu_latency_percentile(h, 50);
	uint64_t p99 = nu_latency_percentile(h, 99);
	assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 64 + 1);
	assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 64 + 1);
	assert_int_equal(nu_latency_percentile(h, 100), 1000000);
	free(h);
}

static void test_merge(void **state)
{
	struct nu_latency *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	nu_latency_init(a);
	nu_latency_init(b);
	nu_latency_add(a, 10);
	nu_latency_add(b, 5000);
	nu_latency_add(b, 7);
	nu_latency_merge(a, b);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->sum_ns, 5017);
	assert_int_equal(a->min_ns, 7);
	assert_int_equal(a->max_ns, 5000);
	assert_int_equal(nu_latency_percentile(a, 34), 10);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
