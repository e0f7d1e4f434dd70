// SPDX-License-Identifier: MIT
/*
 * The Prometheus text writer (session/metrics.c) and the latency buckets
 * it is fed (initiator/volume.h): escaping, labels that do not fit, and a
 * histogram's cumulative buckets, sum and count, byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "metrics.h"
#include "volume.h"

static char *text;
static size_t text_len;

static FILE *open_text(void)
{
	free(text);
	text = NULL;
	return open_memstream(&text, &text_len);
}

static void test_labels_escaped(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(nu_metrics_labels(buf, sizeof(buf), "target", "san\"1\\\n", "path",
					      "0", NULL),
			    "target=\"san\\\"1\\\\\\n\",path=\"0\"");
	/* Too long for the buffer: nothing rather than a label cut in two. */
	assert_string_equal(nu_metrics_labels(buf, 12, "target", "a-long-name", NULL), "");
	assert_string_equal(nu_metrics_labels(buf, 16, "a", "1", "b", "22222", NULL),
			    "a=\"1\",b=\"22222\""); /* exactly */
	assert_string_equal(nu_metrics_labels(buf, 15, "a", "1", "b", "22222", NULL), "");
}

static void test_family_and_sample(void **state)
{
	FILE *f = open_text();

	(void)state;
	nu_metrics_family(f, "netublk_device_reads_total", "counter", "Reads completed.");
	nu_metrics_sample(f, "netublk_device_reads_total", "device=\"ublkb0\"", 42);
	fclose(f);
	assert_string_equal(text, "# HELP netublk_device_reads_total Reads completed.\n"
				  "# TYPE netublk_device_reads_total counter\n"
				  "netublk_device_reads_total{device=\"ublkb0\"} 42\n");
}

static uint32_t three_bounds(unsigned i)
{
	return i == 0 ? 100 : 2500000;
}

static void test_histogram_cumulative(void **state)
{
	const uint64_t counts[3] = { 2, 0, 1 };
	FILE *f = open_text();

	(void)state;
	nu_metrics_histogram(f, "lat_seconds", "op=\"read\"", counts, 3, three_bounds, 1500000000);
	fclose(f);
	assert_string_equal(text, "lat_seconds_bucket{op=\"read\",le=\"0.0001\"} 2\n"
				  "lat_seconds_bucket{op=\"read\",le=\"2.5\"} 2\n"
				  "lat_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"
				  "lat_seconds_sum{op=\"read\"} 1.500000000\n"
				  "lat_seconds_count{op=\"read\"} 3\n");
}

static void test_latency_buckets(void **state)
{
	(void)state;
	assert_int_equal(nu_lat_bucket(0), 0);
	assert_int_equal(nu_lat_bucket(25000), 0); /* bounds are inclusive, as le says */
	assert_int_equal(nu_lat_bucket(25001), 1);
	assert_int_equal(nu_lat_bucket(1000000), 5);
	assert_int_equal(nu_lat_bucket(5000000000ull), NU_DEV_LAT_BUCKETS - 2);
	assert_int_equal(nu_lat_bucket(5000000001ull), NU_DEV_LAT_BUCKETS - 1);
	assert_int_equal(nu_lat_bucket(UINT64_MAX), NU_DEV_LAT_BUCKETS - 1);
	for (unsigned b = 1; b < NU_DEV_LAT_BUCKETS; b++)
		assert_true(nu_lat_bound_us(b) > nu_lat_bound_us(b - 1));
	assert_int_equal(nu_lat_class(NU_OP_READ), NU_LAT_READ);
	assert_int_equal(nu_lat_class(NU_OP_WRITE), NU_LAT_WRITE);
	assert_int_equal(nu_lat_class(NU_OP_FLUSH), NU_LAT_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels_escaped),
		cmocka_unit_test(test_family_and_sample),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_latency_buckets),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	free(text);
	return ret;
}
