// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "ublk_params.h"

static struct nu_volume_geom base(void)
{
	return (struct nu_volume_geom){
		.size = 1ull << 30,
		.lbs = 512,
		.pbs = 4096,
		.discard_granularity = 4096,
		.max_discard = 1u << 30,
		.max_write_zeroes = 1u << 20,
		.volatile_cache = true,
		.fua = true,
	};
}

static void test_basic(void **state)
{
	struct nu_volume_geom g = base();
	struct ublk_params p;
	const char *why;

	assert_int_equal(ublk_params_from_geom(&g, 512 * 1024, &p, &why), 0);
	assert_int_equal(p.types, UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD);
	assert_int_equal(p.basic.logical_bs_shift, 9);
	assert_int_equal(p.basic.physical_bs_shift, 12);
	assert_int_equal(p.basic.max_sectors, 1024);
	assert_true(p.basic.dev_sectors == (1ull << 21));
	assert_int_equal(p.basic.attrs, UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA);
	assert_int_equal(p.discard.discard_granularity, 4096);
	assert_int_equal(p.discard.max_discard_sectors, 1u << 21);
	assert_int_equal(p.discard.max_write_zeroes_sectors, 2048);
	assert_int_equal(p.discard.max_discard_segments, 1);
}

static void test_limits_from_backend(void **state)
{
	struct nu_volume_geom g = base();
	struct ublk_params p;
	const char *why;

	g.lbs = g.pbs = 4096;
	g.max_transfer = 128 * 1024 + 512; /* rounded down to whole blocks */
	g.read_only = true;
	g.volatile_cache = false;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), 0);
	assert_int_equal(p.basic.logical_bs_shift, 12);
	assert_int_equal(p.basic.max_sectors, 256);
	assert_int_equal(p.basic.attrs, UBLK_ATTR_READ_ONLY);
	/* No discard on a read-only volume. */
	assert_int_equal(p.types, UBLK_PARAM_TYPE_BASIC);
	/* FUA only makes sense with a volatile cache. */
	g.read_only = false;
	g.fua = true;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), 0);
	assert_int_equal(p.basic.attrs & UBLK_ATTR_FUA, 0);
}

static void test_dma_and_segments(void **state)
{
	struct nu_volume_geom g = base();
	struct ublk_params p;
	const char *why;

	g.dma_alignment = 4095;
	g.max_segment_size = 65536;
	g.max_segments = 64;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), 0);
	assert_true(p.types & UBLK_PARAM_TYPE_DMA_ALIGN);
	assert_true(p.types & UBLK_PARAM_TYPE_SEGMENT);
	assert_int_equal(p.dma.alignment, 4095);
	assert_int_equal(p.seg.max_segment_size, 65536);
	assert_int_equal(p.seg.max_segments, 64);
	assert_true(p.seg.seg_boundary_mask != 0);
	g.dma_alignment = 1000; /* not 2^n - 1 */
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	g.dma_alignment = 0;
	g.max_segment_size = 1024; /* below the kernel's minimum */
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	g.max_segment_size = 0;
	g.max_segments = 0;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), 0);
	assert_false(p.types & (UBLK_PARAM_TYPE_DMA_ALIGN | UBLK_PARAM_TYPE_SEGMENT));
}

static void test_refused(void **state)
{
	struct nu_volume_geom g;
	struct ublk_params p;
	const char *why;

	g = base();
	g.lbs = 520;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	assert_non_null(why);
	g = base();
	g.size = 1000;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	g = base();
	g.size = 0;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	g = base();
	g.pbs = 256;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	g = base();
	g.discard_granularity = 3000;
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
	g = base();
	g.max_transfer = 1024; /* below 4 KiB: kernel would refuse */
	assert_int_equal(ublk_params_from_geom(&g, 1 << 20, &p, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_limits_from_backend),
		cmocka_unit_test(test_dma_and_segments),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
