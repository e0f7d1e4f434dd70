// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>

#include "scsi_geom.h"

#define LIMIT_1G (1u << 30)

/* a * b, or LIMIT_1G when that is more (or overflows 64 bits). */
static uint32_t bytes_capped(uint64_t a, uint32_t b)
{
	return a > LIMIT_1G / b ? LIMIT_1G : (uint32_t)(a * b);
}

static uint32_t pow2_at_least(uint64_t v, uint32_t floor)
{
	uint32_t p = floor;

	while (p < v && p < LIMIT_1G)
		p <<= 1;
	return p;
}

/*
 * Past the data, what libiscsi may read: fixed layouts end before 64 bytes;
 * a designator or a mode page starts inside the data (its lengths clamped
 * or one byte wide) and runs on at most 4 + 255 bytes, a mode subpage at
 * most 4 + 65535.
 */
#define UNMARSHALL_PAD (65536 + 1024)

static uint32_t get_be(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static void put_be(uint8_t *p, unsigned n, uint32_t v)
{
	while (n--) {
		p[n] = v;
		v >>= 8;
	}
}

void *scsi_unmarshall(struct scsi_task *task)
{
	uint32_t size;
	uint8_t *d;

	if (!task || task->status != SCSI_STATUS_GOOD || task->datain.size <= 0 ||
	    !task->datain.data)
		return NULL;
	size = task->datain.size;
	d = calloc(1, (size_t)size + UNMARSHALL_PAD);
	if (!d)
		return NULL;
	memcpy(d, task->datain.data, size);
	if (task->cdb[0] == SCSI_OPCODE_REPORTLUNS) {
		/* libiscsi walks list length / 8 entries: only whole ones that came. */
		if (size < 8) {
			free(d);
			return NULL;
		}
		if (get_be(d, 4) > size - 8)
			put_be(d, 4, (size - 8) & ~7u);
	} else if (task->cdb[0] == SCSI_OPCODE_INQUIRY && (task->cdb[1] & 1) && size >= 4 &&
		   get_be(d + 2, 2) > size - 4) {
		put_be(d + 2, 2, size - 4); /* VPD page length */
	}
	free(task->datain.data);
	task->datain.data = d;
	return scsi_datain_unmarshall(task);
}

int scsi_geom_capacity(const struct scsi_readcapacity16 *rc, struct nu_volume_geom *g, char *err,
		       unsigned err_len)
{
	uint32_t lbs = rc->block_length;

	/* ublk takes logical blocks of 512 bytes to a page. */
	if (lbs < 512 || lbs > 4096 || (lbs & (lbs - 1))) {
		snprintf(err, err_len, "unsupported logical block size %u", lbs);
		return -EPROTO;
	}
	if (rc->returned_lba >= UINT64_MAX / lbs) {
		snprintf(err, err_len, "capacity out of range (last LBA %llu)",
			 (unsigned long long)rc->returned_lba);
		return -EPROTO;
	}
	g->lbs = lbs;
	/* Up to 2^7 logical blocks per physical block (64 KiB at 512 bytes); else unknown. */
	g->pbs = rc->lbppbe <= 7 ? lbs << rc->lbppbe : lbs;
	g->size = (rc->returned_lba + 1) * lbs;
	return 0;
}

void scsi_geom_block_limits(const struct scsi_inquiry_block_limits *bl, bool lbpme, bool lbpu,
			    bool lbpws, struct nu_volume_geom *g)
{
	uint32_t lbs = g->lbs;

	g->max_transfer = bytes_capped(bl->max_xfer_len, lbs);
	/* An optimal size beyond 1 GiB says nothing useful: unknown. */
	g->io_opt = (uint64_t)bl->opt_xfer_len * lbs <= LIMIT_1G ? bl->opt_xfer_len * lbs : 0;
	if (lbpme && lbpu && bl->max_unmap) {
		g->discard_granularity = pow2_at_least(
			(uint64_t)(bl->opt_unmap_gran ? bl->opt_unmap_gran : 1) * lbs, lbs);
		g->max_discard = bytes_capped(bl->max_unmap, lbs);
	}
	if (lbpme && lbpws)
		g->max_write_zeroes = bl->max_ws_len ? bytes_capped(bl->max_ws_len, lbs) : LIMIT_1G;
}

void scsi_geom_mode(struct scsi_mode_sense *ms, struct nu_volume_geom *g)
{
	struct scsi_mode_page *mp = scsi_modesense_get_page(ms, SCSI_MODEPAGE_CACHING, 0);

	g->read_only = ms->device_specific_parameter & 0x80;
	g->fua = ms->device_specific_parameter & 0x10;
	if (mp)
		g->volatile_cache = mp->caching.wce;
}

static void hexify(const char *in, int len, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < len && o + 3 < cap; i++)
		o += snprintf(out + o, cap - o, "%02x", (unsigned char)in[i]);
}

void scsi_geom_wwid(const struct scsi_inquiry_device_identification *id, char *wwid, size_t cap)
{
	const struct scsi_inquiry_device_designator *best = NULL;
	int best_rank = 0;
	char hex[128];

	wwid[0] = '\0';
	for (const struct scsi_inquiry_device_designator *d = id ? id->designators : NULL; d;
	     d = d->next) {
		int rank = 0;

		if (d->association != SCSI_ASSOCIATION_LOGICAL_UNIT || d->designator_length <= 0 ||
		    !d->designator)
			continue;
		/* As udev ranks them: NAA, EUI-64, SCSI name string, T10 vendor ID. */
		if (d->designator_type == SCSI_DESIGNATOR_TYPE_NAA)
			rank = 4;
		else if (d->designator_type == SCSI_DESIGNATOR_TYPE_EUI_64)
			rank = 3;
		else if (d->designator_type == SCSI_DESIGNATOR_TYPE_SCSI_NAME_STRING)
			rank = 2;
		else if (d->designator_type == SCSI_DESIGNATOR_TYPE_T10_VENDORT_ID)
			rank = 1;
		if (rank > best_rank) {
			best = d;
			best_rank = rank;
		}
	}
	if (!best)
		return;
	if (best_rank <= 2) {
		/*
		 * T10: vendor, product, serial, padded with spaces, sometimes NULs.
		 * A SCSI name ("iqn.", "eui.", "naa." and the rest) is a string already.
		 */
		size_t o = snprintf(wwid, cap, "%s", best_rank == 1 ? "t10." : "");

		for (int i = 0; i < best->designator_length && o + 1 < cap; i++) {
			char c = best->designator[i];

			if (!c && best_rank == 2)
				break; /* a name string is NUL-terminated and padded */
			wwid[o++] = c > ' ' && c < 0x7f && c != '/' ? c : '_';
		}
		wwid[o] = '\0';
	} else {
		hexify(best->designator, best->designator_length, hex, sizeof(hex));
		snprintf(wwid, cap, "%s.%s", best_rank == 4 ? "naa" : "eui", hex);
	}
}

uint32_t scsi_geom_port_group(const struct scsi_inquiry_device_identification *id)
{
	for (const struct scsi_inquiry_device_designator *d = id ? id->designators : NULL; d;
	     d = d->next) {
		const uint8_t *b = (const uint8_t *)d->designator;

		/* SPC-4 7.8.6.7: reserved (2 bytes), then the group (2 bytes). */
		if (d->association == SCSI_ASSOCIATION_TARGET_PORT &&
		    d->designator_type == SCSI_DESIGNATOR_TYPE_TARGET_PORT_GROUP && b &&
		    d->designator_length >= 4)
			return (uint32_t)b[2] << 8 | b[3];
	}
	return 0;
}

void scsi_rtpg_cdb(uint8_t cdb[12], uint32_t alloc_len)
{
	memset(cdb, 0, 12);
	cdb[0] = 0xa3; /* MAINTENANCE IN */
	cdb[1] = 0x0a; /* REPORT TARGET PORT GROUPS, length-only format */
	cdb[6] = alloc_len >> 24;
	cdb[7] = alloc_len >> 16;
	cdb[8] = alloc_len >> 8;
	cdb[9] = alloc_len;
}

int scsi_rtpg_state(const uint8_t *data, size_t len, uint32_t grp)
{
	size_t off = 4, end;

	if (len < 4)
		return -EINVAL;
	end = 4 + ((size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3]);
	if (end > len)
		return -EINVAL;
	/* SPC-4 6.36: 8 bytes per group, then 4 per target port in it. */
	while (off + 8 <= end) {
		const uint8_t *d = data + off;
		size_t next = off + 8 + (size_t)d[7] * 4;

		if (next > end)
			return -EINVAL;
		if (((uint32_t)d[2] << 8 | d[3]) == grp)
			return d[0] & 0x0f;
		off = next;
	}
	return off == end ? -ENOENT : -EINVAL;
}

const char *scsi_alua_state_name(int state)
{
	switch (state) {
	case SCSI_ALUA_OPTIMIZED:
		return "active/optimized";
	case SCSI_ALUA_NONOPTIMIZED:
		return "active/non-optimized";
	case SCSI_ALUA_STANDBY:
		return "standby";
	case SCSI_ALUA_UNAVAILABLE:
		return "unavailable";
	case SCSI_ALUA_OFFLINE:
		return "offline";
	case SCSI_ALUA_TRANSITIONING:
		return "transitioning";
	}
	return "?";
}
