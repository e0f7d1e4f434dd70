// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "ublk_params.h"

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint8_t ilog2_u32(uint32_t v)
{
	return 31 - __builtin_clz(v);
}

int ublk_params_from_geom(const struct nu_volume_geom *g, uint32_t max_io_bytes,
			  struct ublk_params *p, const char **why)
{
	uint32_t max_bytes = max_io_bytes;
	uint32_t pbs = g->pbs ? g->pbs : g->lbs;

	memset(p, 0, sizeof(*p));
	*why = NULL;
	if (!is_pow2(g->lbs) || g->lbs < 512 || g->lbs > 65536) {
		*why = "logical block size must be a power of two from 512 to 65536";
		return -EINVAL;
	}
	if (!is_pow2(pbs) || pbs < g->lbs) {
		*why = "physical block size must be a power of two, at least the logical one";
		return -EINVAL;
	}
	if (!g->size || g->size % g->lbs) {
		*why = "size must be a non-zero multiple of the logical block size";
		return -EINVAL;
	}
	if (g->max_transfer && g->max_transfer < max_bytes)
		max_bytes = g->max_transfer;
	max_bytes &= ~(g->lbs - 1);
	if (max_bytes < g->lbs || max_bytes < 4096) {
		*why = "maximum transfer is smaller than one block or 4 KiB";
		return -EINVAL;
	}

	p->len = sizeof(*p);
	p->types = UBLK_PARAM_TYPE_BASIC;
	p->basic.logical_bs_shift = ilog2_u32(g->lbs);
	p->basic.physical_bs_shift = ilog2_u32(pbs);
	p->basic.io_min_shift = ilog2_u32(pbs);
	p->basic.io_opt_shift = is_pow2(g->io_opt) && g->io_opt >= pbs ? ilog2_u32(g->io_opt) :
									 ilog2_u32(pbs);
	p->basic.max_sectors = max_bytes >> 9;
	p->basic.dev_sectors = g->size >> 9;
	if (g->read_only)
		p->basic.attrs |= UBLK_ATTR_READ_ONLY;
	if (g->rotational)
		p->basic.attrs |= UBLK_ATTR_ROTATIONAL;
	if (g->volatile_cache) {
		p->basic.attrs |= UBLK_ATTR_VOLATILE_CACHE;
		if (g->fua)
			p->basic.attrs |= UBLK_ATTR_FUA;
	}

	if (g->dma_alignment) {
		if (!is_pow2(g->dma_alignment + 1)) {
			*why = "DMA alignment must be a power of two minus one";
			return -EINVAL;
		}
		p->types |= UBLK_PARAM_TYPE_DMA_ALIGN;
		p->dma.alignment = g->dma_alignment;
	}
	if (g->max_segments || g->max_segment_size) {
		if (!g->max_segments || g->max_segment_size < UBLK_MIN_SEGMENT_SIZE) {
			*why = "segment limits need a count and a size of at least 4 KiB";
			return -EINVAL;
		}
		/* All three or none: the kernel leaves a zero field undefined. */
		p->types |= UBLK_PARAM_TYPE_SEGMENT;
		p->seg.seg_boundary_mask = 0xffffffffu;
		p->seg.max_segment_size = g->max_segment_size;
		p->seg.max_segments = g->max_segments;
	}
	if (g->discard_granularity && !g->read_only) {
		uint32_t gran = g->discard_granularity;

		if (!is_pow2(gran) || gran < g->lbs) {
			*why = "discard granularity must be a power of two of at least one block";
			return -EINVAL;
		}
		p->types |= UBLK_PARAM_TYPE_DISCARD;
		p->discard.discard_granularity = gran;
		p->discard.max_discard_sectors = g->max_discard >> 9;
		p->discard.max_write_zeroes_sectors = g->max_write_zeroes >> 9;
		p->discard.max_discard_segments = 1;
	}
	return 0;
}
