// SPDX-License-Identifier: MIT
/* The volume table's rescan diff, shared by iSCSI LUNs and NVMe namespaces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"
#include "voltab.h"

static struct nu_vol vol(uint32_t id, uint64_t size, const char *wwid)
{
	struct nu_vol v = {.id = id, .geom = {.size = size, .lbs = 512}};

	snprintf(v.wwid, sizeof(v.wwid), "%s", wwid);
	return v;
}

static void test_diff(void **state)
{
	static struct nu_voltab t;
	struct nu_rescan r;
	struct nu_vol now[4];
	struct nu_vol_desc d;

	(void)state;
	nu_log_set_level(NU_LOG_OFF);
	nu_voltab_init(&t, "iqn.test", "LUN");
	now[0] = vol(0, 1 << 20, "naa.1");
	now[1] = vol(1, 2 << 20, "");
	nu_voltab_update(&t, now, 2, &r);
	assert_int_equal(nu_voltab_nr(&t), 2);
	assert_int_equal(r.nr_added, 2);

	/* LUN 0 grows, LUN 1 goes, LUN 2 comes. */
	now[0].geom.size = 3 << 20;
	now[1] = vol(2, 1 << 20, "naa.2");
	nu_voltab_update(&t, now, 2, &r);
	assert_int_equal(r.nr_resized, 1);
	assert_int_equal(r.resized[0], 0);
	assert_int_equal(r.nr_removed, 1);
	assert_int_equal(r.removed[0], 1);
	assert_int_equal(r.nr_added, 1);
	assert_int_equal(r.added[0], 2); /* indexes are never reused */
	assert_null(nu_voltab_live(&t, 1));
	assert_true(nu_voltab_desc(&t, 1, &d));
	assert_true(d.gone);
	assert_int_equal(nu_voltab_live(&t, 0)->geom.size, 3 << 20);

	/* The same number with another identity is another volume. */
	now[1] = vol(2, 1 << 20, "naa.3");
	nu_voltab_update(&t, now, 2, &r);
	assert_int_equal(r.nr_removed, 1);
	assert_int_equal(r.removed[0], 2);
	assert_int_equal(r.nr_added, 1);
	assert_int_equal(r.added[0], 3);
	assert_string_equal(nu_voltab_live(&t, 3)->wwid, "naa.3");

	/* Nothing changed: nothing to do. */
	nu_voltab_update(&t, now, 2, &r);
	assert_int_equal(r.nr_added + r.nr_removed + r.nr_resized, 0);
	assert_false(nu_voltab_desc(&t, 4, &d));
}

static void test_full(void **state)
{
	static struct nu_voltab t;
	static struct nu_vol now[NU_HOST_MAX_VOLS];
	struct nu_rescan r;

	(void)state;
	nu_voltab_init(&t, "nqn.test", "namespace");
	for (unsigned i = 0; i < NU_HOST_MAX_VOLS; i++)
		now[i] = vol(i + 1, 4096, "");
	nu_voltab_update(&t, now, NU_HOST_MAX_VOLS, &r);
	assert_int_equal(r.nr_added, NU_HOST_MAX_VOLS);
	/* All gone, and no room for new ones: said, not overrun. */
	for (unsigned i = 0; i < NU_HOST_MAX_VOLS; i++)
		now[i].id += NU_HOST_MAX_VOLS;
	nu_voltab_update(&t, now, NU_HOST_MAX_VOLS, &r);
	assert_int_equal(r.nr_removed, NU_HOST_MAX_VOLS);
	assert_int_equal(r.nr_added, 0);
	assert_int_equal(nu_voltab_nr(&t), NU_HOST_MAX_VOLS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
