// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>
#include <linux/ublk_cmd.h>

#include "ublk_features.h"
#include "transport.h"

#define K72 (UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_USER_COPY | UBLK_F_AUTO_BUF_REG | \
	     UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_USER_RECOVERY | UBLK_F_UPDATE_SIZE)
#define K612 (UBLK_F_USER_COPY | UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_USER_RECOVERY)
#define K61 (UBLK_F_CMD_IOCTL_ENCODE)

static void test_best_mode(void **state)
{
	const char *why;
	int mode;

	assert_int_equal(ublk_pick_data_mode(K72, NU_TCAP_FIXED_BUF, UBLK_DM_BEST, &mode, &why), 0);
	assert_int_equal(mode, UBLK_DM_AUTO_ZC);
	/* A transport that must see the bytes never gets zero copy. */
	assert_int_equal(ublk_pick_data_mode(K72, 0, UBLK_DM_BEST, &mode, &why), 0);
	assert_int_equal(mode, UBLK_DM_COPY);
	/* Without zero copy the kernel's copy wins over USER_COPY (measured). */
	assert_int_equal(ublk_pick_data_mode(K612, NU_TCAP_FIXED_BUF, UBLK_DM_BEST, &mode, &why),
			 0);
	assert_int_equal(mode, UBLK_DM_COPY);
	assert_int_equal(ublk_pick_data_mode(K61, NU_TCAP_FIXED_BUF, UBLK_DM_BEST, &mode, &why), 0);
	assert_int_equal(mode, UBLK_DM_COPY);
}

static void test_forced_mode(void **state)
{
	const char *why;
	int mode = 77;

	assert_int_equal(ublk_pick_data_mode(K612, NU_TCAP_FIXED_BUF, UBLK_DM_AUTO_ZC, &mode, &why),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "AUTO_BUF_REG"));
	assert_int_equal(mode, 77);
	assert_int_equal(ublk_pick_data_mode(K72, 0, UBLK_DM_AUTO_ZC, &mode, &why), -EOPNOTSUPP);
	assert_non_null(why);
	assert_int_equal(ublk_pick_data_mode(K61, 0, UBLK_DM_USER_COPY, &mode, &why), -EOPNOTSUPP);
	assert_int_equal(ublk_pick_data_mode(K72, NU_TCAP_FIXED_BUF, UBLK_DM_COPY, &mode, &why), 0);
	assert_int_equal(mode, UBLK_DM_COPY);
	assert_int_equal(ublk_pick_data_mode(K72, 0, 42, &mode, &why), -EINVAL);
}

static void test_flags_and_names(void **state)
{
	int mode;
	char buf[256];

	assert_true(ublk_data_mode_flags(UBLK_DM_AUTO_ZC) == UBLK_F_AUTO_BUF_REG);
	assert_true(ublk_data_mode_flags(UBLK_DM_USER_COPY) == UBLK_F_USER_COPY);
	assert_true(ublk_data_mode_flags(UBLK_DM_COPY) == 0);
	assert_int_equal(ublk_data_mode_parse("zc", &mode), 0);
	assert_int_equal(mode, UBLK_DM_AUTO_ZC);
	assert_int_equal(ublk_data_mode_parse("user-copy", &mode), 0);
	assert_int_equal(mode, UBLK_DM_USER_COPY);
	assert_int_equal(ublk_data_mode_parse("auto", &mode), 0);
	assert_int_equal(mode, UBLK_DM_BEST);
	assert_int_equal(ublk_data_mode_parse("fast", &mode), -EINVAL);
	assert_string_equal(ublk_data_mode_name(UBLK_DM_COPY), "copy");
	ublk_features_format(UBLK_F_USER_COPY | UBLK_F_AUTO_BUF_REG | (1ULL << 40), buf,
			     sizeof(buf));
	assert_string_equal(buf, "USER_COPY AUTO_BUF_REG bit40");
	ublk_features_format(K72, buf, 8); /* truncation stays terminated */
	assert_true(strlen(buf) < 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_best_mode),
		cmocka_unit_test(test_forced_mode),
		cmocka_unit_test(test_flags_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
