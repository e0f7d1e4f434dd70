// SPDX-License-Identifier: MIT
/*
 * Fuzz target for what a LUN reports about itself: READ CAPACITY(16),
 * standard INQUIRY, the Device Identification, Block Limits and Logical
 * Block Provisioning VPD pages, MODE SENSE(6) and REPORT LUNS, unmarshalled
 * by libiscsi as in discovery (through scsi_unmarshall) and turned into a geometry and WWID by
 * iscsi/scsi_geom.c; and sense data (scsi_result, scsi_sense_change).
 * Byte 0 picks the command (and, for the limits, the block size); the rest
 * is its data-in. Whatever comes, the geometry must be one ublk takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scsi.h"
#include "scsi_geom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

static struct scsi_task *cdb_for(unsigned sel)
{
	switch (sel) {
	case 0:
		return scsi_cdb_readcapacity16();
	case 1:
		return scsi_cdb_inquiry(0, 0, 255);
	case 2:
		return scsi_cdb_inquiry(1, SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255);
	case 3:
		return scsi_cdb_inquiry(1, SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, 255);
	case 4:
		return scsi_cdb_inquiry(1, SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING, 255);
	case 5:
		return scsi_cdb_modesense6(1, SCSI_MODESENSE_PC_CURRENT,
					   SCSI_MODEPAGE_RETURN_ALL_PAGES, 0, 255);
	default:
		return scsi_reportluns_cdb(0, 4096);
	}
}

static void check_geometry(const struct nu_volume_geom *g)
{
	if (g->lbs < 512 || g->lbs > 4096 || (g->lbs & (g->lbs - 1)) || g->pbs < g->lbs ||
	    (g->pbs & (g->pbs - 1)) || g->size % g->lbs || g->max_transfer > (1u << 30) ||
	    g->io_opt > (1u << 30) || g->max_discard > (1u << 30) ||
	    g->max_write_zeroes > (1u << 30) ||
	    (g->discard_granularity && (g->discard_granularity & (g->discard_granularity - 1))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nu_volume_geom g = { .lbs = 512 };
	struct scsi_task *task;
	unsigned sel;
	uint8_t *copy;
	void *page;
	char err[128], wwid[96], desc[128];
	bool retry;

	if (!size)
		return 0;
	sel = data[0];
	data++;
	size--;
	/* Sense data: the same bytes, as a target's SCSI Response would carry them. */
	scsi_result(sel, data, size, &retry, desc, sizeof(desc));
	scsi_sense_change(data, size);
	scsi_sense_path_error(data, size);
	scsi_rtpg_state(data, size, size > 2 ? (uint32_t)data[0] << 8 | data[1] : 0);

	task = cdb_for(sel & 7);
	if (!task)
		return 0;
	/* Exactly the bytes there: ASan sees any read past them. libiscsi frees it with the task. */
	copy = malloc(size ? size : 1);
	if (!copy) {
		scsi_free_scsi_task(task);
		return 0;
	}
	memcpy(copy, data, size);
	task->datain.data = copy;
	task->datain.size = size;
	task->status = SCSI_STATUS_GOOD;
	page = scsi_unmarshall(task);
	g.lbs = 512u << ((sel >> 4) & 3);
	g.pbs = g.lbs;
	g.size = g.lbs;
	switch (page ? sel & 7 : 8) {
	case 0:
		if (scsi_geom_capacity(page, &g, err, sizeof(err)) == 0)
			check_geometry(&g);
		break;
	case 2:
		scsi_geom_wwid(page, wwid, sizeof(wwid));
		scsi_geom_port_group(page);
		if (strlen(wwid) >= sizeof(wwid))
			abort();
		break;
	case 3:
		scsi_geom_block_limits(page, sel & 0x40, sel & 0x80, sel & 0x40, &g);
		check_geometry(&g);
		break;
	case 5:
		scsi_geom_mode(page, &g);
		break;
	}
	scsi_free_scsi_task(task);
	return 0;
}

/* Seeds: a well-formed answer to each command. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	static const uint8_t rc16[] = { 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0, 0, 2, 0, 0, 3, 0xc0, 0 };
	static const uint8_t inq[] = { 0, 0, 5, 2, 31, 0, 0, 0, 'N', 'E', 'T', 'U', 'B', 'L', 'K',
				       ' ', 'F', 'U', 'Z', 'Z', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
				       ' ', ' ', ' ', ' ', ' ', '0', '0', '0', '1' };
	static const uint8_t devid[] = { 0, 0x83, 0, 40,  0x01, 0x03, 0,    8,    0x60, 0x01,
					 0x40, 0x5d, 0xde, 0xad, 0xbe, 0xef, 0x02, 0x01, 0,    8,
					 'L',  'I',  'O',  '-',  'O',  'R',  'G',  ' ',  0x01, 0x02,
					 0,    8,    1,    2,    3,    4,    5,    6,    7,    8,
					 0x01, 0x08, 0,    0 };
	static const uint8_t limits[] = { 0,    0xb0, 0,    60,   0, 0,    0, 8,    0, 0,
					  8,    0,    0,    0,    1, 0,    0, 0,    0, 0,
					  0,    0,    0x10, 0,    0, 0,    0, 0x40, 0, 0,
					  0,    8,    0,    0,    0, 0,    0, 0,    0, 0,
					  0,    0,    0x10, 0,    0, 0,    0, 0,    0, 0,
					  0,    0,    0,    0,    0, 0,    0, 0,    0, 0,
					  0,    0,    0,    0 };
	static const uint8_t lbp[] = { 0, 0xb2, 0, 4, 0, 0xe0, 0, 0 };
	static const uint8_t mode[] = { 23, 0, 0x10, 0, 0x08, 18, 0x04, 0, 0, 0, 0, 0, 0,
					0,  0, 0,    0, 0,    0,  0,    0, 0, 0, 0 };
	static const uint8_t luns[] = { 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0,  0, 1, 0, 0, 0, 0, 0, 0 };
	static const struct {
		uint8_t sel;
		const uint8_t *d;
		size_t n;
	} seeds[] = {
		{ 0x00, rc16, sizeof(rc16) },	{ 0x01, inq, sizeof(inq) },
		{ 0x02, devid, sizeof(devid) }, { 0xd3, limits, sizeof(limits) },
		{ 0x04, lbp, sizeof(lbp) },	{ 0x05, mode, sizeof(mode) },
		{ 0x06, luns, sizeof(luns) },
	};

	if (i >= sizeof(seeds) / sizeof(seeds[0]) || cap < 1 + seeds[i].n)
		return 0;
	buf[0] = seeds[i].sel;
	memcpy(buf + 1, seeds[i].d, seeds[i].n);
	return 1 + seeds[i].n;
}
