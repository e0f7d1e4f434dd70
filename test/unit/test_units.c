// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "units.h"
#include "ublk_dev.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 },	       { "4096", 4096 },	 { "64k", 65536 },
		{ "64K", 65536 },      { "256M", 256ull << 20 }, { "1G", 1ull << 30 },
		{ "1GiB", 1ull << 30 }, { "2TB", 2ull << 40 },	 { "1p", 1ull << 50 },
	};
	static const char *const bad[] = {
		"", "k", "-1", "1x", "1kk", "1 G", "99999999999999999999", "16777216T", "1Gi",
	};
	uint64_t v;

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(nu_parse_size(good[i].s, &v), 0);
		assert_true(v == good[i].v);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nu_parse_size(bad[i], &v), -EINVAL);
	assert_int_equal(nu_parse_size(NULL, &v), -EINVAL);
}

static void test_uints(void **state)
{
	unsigned v;

	assert_int_equal(nu_parse_uint("7", 1, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(nu_parse_uint("0", 1, 10, &v), -EINVAL);
	assert_int_equal(nu_parse_uint("11", 1, 10, &v), -EINVAL);
	assert_int_equal(nu_parse_uint("3a", 1, 10, &v), -EINVAL);
	assert_int_equal(nu_parse_uint("-3", 0, 10, &v), -EINVAL);
}

static void test_bools(void **state)
{
	static const char *const yes[] = {"yes", "on", "true", "1", "YES", "On", "True"};
	static const char *const no[] = {"no", "off", "false", "0", "NO", "Off", "False"};
	static const char *const bad[] = {"", "2", "01", "y", "n", "enabled", "yes ", "onn"};
	bool v;

	(void)state;
	for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = false;
		assert_int_equal(nu_parse_bool(yes[i], &v), 0);
		assert_true(v);
	}
	for (unsigned i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = true;
		assert_int_equal(nu_parse_bool(no[i], &v), 0);
		assert_false(v);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = true;
		assert_int_equal(nu_parse_bool(bad[i], &v), -EINVAL);
		assert_true(v); /* left alone */
	}
	assert_int_equal(nu_parse_bool(NULL, &v), -EINVAL);
}

static void test_auto_bools(void **state)
{
	enum nu_auto_bool v = NU_ON;

	(void)state;
	assert_int_equal(nu_parse_auto_bool("auto", &v), 0);
	assert_int_equal(v, NU_AUTO);
	assert_int_equal(nu_parse_auto_bool("Off", &v), 0);
	assert_int_equal(v, NU_OFF);
	assert_int_equal(nu_parse_auto_bool("yes", &v), 0);
	assert_int_equal(v, NU_ON);
	assert_int_equal(nu_parse_auto_bool("automatic", &v), -EINVAL);
	assert_int_equal(nu_parse_auto_bool(NULL, &v), -EINVAL);
	assert_int_equal(v, NU_ON);
}

static void test_queue_placements(void **state)
{
	(void)state;
	assert_int_equal(nu_parse_queue_placement("any"), UBLK_QUEUE_ANY);
	assert_int_equal(nu_parse_queue_placement("blk-mq"), UBLK_QUEUE_BLK_MQ);
	assert_int_equal(nu_parse_queue_placement("apart"), UBLK_QUEUE_APART);
	assert_int_equal(nu_parse_queue_placement("Apart"), -EINVAL);
	assert_int_equal(nu_parse_queue_placement("blk"), -EINVAL);
	assert_int_equal(nu_parse_queue_placement(""), -EINVAL);
	assert_int_equal(nu_parse_queue_placement(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_uints),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_auto_bools),
		cmocka_unit_test(test_queue_placements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
