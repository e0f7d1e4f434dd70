// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "discover.h"
#include "scsi_geom.h"
#include "conn.h"
#include "tcp.h"
#include "log.h"

void iscsi_target_config_defaults(struct iscsi_target_config *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->initiator, sizeof(t->initiator), "iqn.2026-11.org.netublk:initiator");
	t->immediate_data = true;
	t->initial_r2t = false;
	t->first_burst = 262144;
	t->max_burst = 16776192;
	t->max_recv_dlen = 262144;
	t->command_timeout_s = 30; /* the SCSI layer's default */
}

/*
 * libiscsi's message for a failed TCP connect is unhelpful ("Can not
 * reconnect right now"): find out ourselves why the portal cannot be reached.
 */
static void explain_connect_failure(const char *portal, const char *what, const char *lib_err,
				    char *err, unsigned err_len)
{
	char why[200];
	int fd = nu_tcp_connect(portal, "3260", 3000, why, sizeof(why));

	if (fd >= 0) {
		close(fd);
		snprintf(err, err_len, "%s: %s", what, lib_err);
	} else {
		snprintf(err, err_len, "%s", why);
	}
}

static struct iscsi_context *login_ctx_at(const struct iscsi_target_config *t,
					  const char *portal, char *err, unsigned err_len)
{
	struct iscsi_context *ctx = iscsi_create_context(t->initiator);

	if (!ctx) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	iscsi_set_targetname(ctx, t->target);
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, t->header_digest ? ISCSI_HEADER_DIGEST_CRC32C_NONE :
							ISCSI_HEADER_DIGEST_NONE);
	if (t->chap_user[0])
		iscsi_set_initiator_username_pwd(ctx, t->chap_user, t->chap_secret);
	if (t->mutual_user[0])
		iscsi_set_target_username_pwd(ctx, t->mutual_user, t->mutual_secret);
	iscsi_set_timeout(ctx, 15);
	if (iscsi_full_connect_sync(ctx, portal, -1) != 0) {
		char what[512];

		snprintf(what, sizeof(what), "login to %s at %s", t->target, portal);
		explain_connect_failure(portal, what, iscsi_get_error(ctx), err, err_len);
		iscsi_destroy_context(ctx);
		return NULL;
	}
	return ctx;
}

/* A session on the first of the target's portals that takes our login. */
static struct iscsi_context *login_ctx(const struct iscsi_target_config *t, char *err,
				       unsigned err_len)
{
	unsigned n = nu_addr_nth(t->portal, 0, NULL, 0);
	struct iscsi_context *ctx = NULL;
	char portal[256];

	for (unsigned i = 0; i < n && !ctx; i++) {
		nu_addr_nth(t->portal, i, portal, sizeof(portal));
		ctx = login_ctx_at(t, portal, err, err_len);
	}
	return ctx;
}

static void *unmarshall(struct scsi_task *task)
{
	return scsi_unmarshall(task);
}

static void read_wwid(struct iscsi_context *ctx, uint32_t lun, struct iscsi_lun_info *li)
{
	struct scsi_task *task = iscsi_inquiry_sync(ctx, lun, 1, SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255);
	struct scsi_inquiry_device_identification *id = unmarshall(task);

	scsi_geom_wwid(id, li->wwid, sizeof(li->wwid));
	li->port_group = scsi_geom_port_group(id);
	if (task)
		scsi_free_scsi_task(task);
}

/* ALUA: the access state of the LUN through this session's port group (REPORT TARGET PORT GROUPS). */
static void read_alua(struct iscsi_context *ctx, uint32_t lun, struct iscsi_lun_info *li)
{
	uint8_t cdb[12];
	struct scsi_task *task;

	li->alua = -1;
	if (!li->port_group)
		return;
	scsi_rtpg_cdb(cdb, 4096);
	task = scsi_create_task(sizeof(cdb), cdb, SCSI_XFER_READ, 4096);
	if (!task)
		return;
	if (iscsi_scsi_command_sync(ctx, lun, task, NULL) && task->status == SCSI_STATUS_GOOD) {
		int st = scsi_rtpg_state(task->datain.data, task->datain.size, li->port_group);

		li->alua = st < 0 ? -1 : st;
	}
	scsi_free_scsi_task(task);
}

static int read_geometry(struct iscsi_context *ctx, uint32_t lun, struct iscsi_lun_info *li,
			 char *err, unsigned err_len)
{
	struct nu_volume_geom *g = &li->geom;
	struct scsi_task *task;
	struct scsi_readcapacity16 *rc;
	struct scsi_inquiry_standard *std;
	struct scsi_inquiry_block_limits *bl;
	struct scsi_inquiry_logical_block_provisioning *lbp;
	struct scsi_mode_sense *ms;
	bool lbpme = false, lbpu = false, lbpws = false, tpgs = false;
	char why[128];
	int ret;

	memset(li, 0, sizeof(*li));
	li->lun = lun;
	/* A unit attention (power on, reset) may answer the first command: retry once. */
	for (int i = 0; i < 3; i++) {
		task = iscsi_readcapacity16_sync(ctx, lun);
		rc = unmarshall(task);
		if (rc)
			break;
		if (task)
			scsi_free_scsi_task(task);
	}
	if (!rc) {
		snprintf(err, err_len, "LUN %u: READ CAPACITY(16) failed: %s", lun,
			 iscsi_get_error(ctx));
		return -EIO;
	}
	ret = scsi_geom_capacity(rc, g, why, sizeof(why));
	if (ret) {
		snprintf(err, err_len, "LUN %u: READ CAPACITY(16): %s", lun, why);
		scsi_free_scsi_task(task);
		return ret;
	}
	lbpme = rc->lbpme;
	scsi_free_scsi_task(task);

	task = iscsi_inquiry_sync(ctx, lun, 0, 0, 255);
	std = unmarshall(task);
	if (std) {
		snprintf(li->vendor, sizeof(li->vendor), "%s", std->vendor_identification);
		snprintf(li->product, sizeof(li->product), "%s", std->product_identification);
		tpgs = std->tpgs != SCSI_INQUIRY_TPGS_NO_SUPPORT;
	}
	if (task)
		scsi_free_scsi_task(task);

	task = iscsi_inquiry_sync(ctx, lun, 1, SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING, 255);
	lbp = unmarshall(task);
	if (lbp) {
		lbpu = lbp->lbpu;
		lbpws = lbp->lbpws;
	}
	if (task)
		scsi_free_scsi_task(task);

	task = iscsi_inquiry_sync(ctx, lun, 1, SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, 255);
	bl = unmarshall(task);
	if (bl)
		scsi_geom_block_limits(bl, lbpme, lbpu, lbpws, g);
	if (task)
		scsi_free_scsi_task(task);

	/* Write protect, DPO/FUA support and the write cache from MODE SENSE. */
	g->volatile_cache = true;
	task = iscsi_modesense6_sync(ctx, lun, 1, SCSI_MODESENSE_PC_CURRENT,
				     SCSI_MODEPAGE_RETURN_ALL_PAGES, 0, 255);
	ms = unmarshall(task);
	if (ms)
		scsi_geom_mode(ms, g);
	if (task)
		scsi_free_scsi_task(task);
	if (!g->discard_granularity)
		g->max_write_zeroes = 0; /* the ublk params carry write zeroes with discard */
	read_wwid(ctx, lun, li);
	if (tpgs)
		read_alua(ctx, lun, li);
	else
		li->alua = -1;
	return 0;
}

int iscsi_enumerate_luns(const struct iscsi_target_config *t, struct iscsi_lun_info *luns,
			 unsigned max, unsigned *n, char *err, unsigned err_len)
{
	struct iscsi_context *ctx = login_ctx(t, err, err_len);
	struct scsi_task *task;
	struct scsi_reportluns_list *list;
	int ret = 0;

	*n = 0;
	if (!ctx)
		return -ECONNREFUSED;
	task = iscsi_reportluns_sync(ctx, 0, 16384);
	list = unmarshall(task);
	if (!list) {
		snprintf(err, err_len, "REPORT LUNS failed: %s", iscsi_get_error(ctx));
		ret = -EIO;
		goto out;
	}
	for (uint32_t i = 0; i < list->num && *n < max; i++) {
		struct scsi_task *inq = iscsi_inquiry_sync(ctx, list->luns[i], 0, 0, 64);
		struct scsi_inquiry_standard *std = unmarshall(inq);
		bool disk = std && std->qualifier == 0 && std->device_type == 0;

		if (inq)
			scsi_free_scsi_task(inq);
		if (!disk)
			continue; /* controller LUN 0 of tgtd, enclosures, ... */
		ret = read_geometry(ctx, list->luns[i], &luns[*n], err, err_len);
		if (ret)
			goto out;
		(*n)++;
	}
out:
	if (task)
		scsi_free_scsi_task(task);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	return ret;
}

static int sendtargets_at(const struct iscsi_target_config *t, const char *portal, FILE *out,
			  char *err, unsigned err_len)
{
	struct iscsi_context *ctx = iscsi_create_context(t->initiator);
	struct iscsi_discovery_address *list;
	int n = 0;

	if (!ctx) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_DISCOVERY);
	if (t->chap_user[0])
		iscsi_set_initiator_username_pwd(ctx, t->chap_user, t->chap_secret);
	if (t->mutual_user[0])
		iscsi_set_target_username_pwd(ctx, t->mutual_user, t->mutual_secret);
	iscsi_set_timeout(ctx, 15);
	if (iscsi_connect_sync(ctx, portal) || iscsi_login_sync(ctx)) {
		char what[300];

		snprintf(what, sizeof(what), "discovery login at %s", portal);
		explain_connect_failure(portal, what, iscsi_get_error(ctx), err, err_len);
		iscsi_destroy_context(ctx);
		return -ECONNREFUSED;
	}
	list = iscsi_discovery_sync(ctx);
	if (!list && *iscsi_get_error(ctx)) {
		snprintf(err, err_len, "SendTargets at %s: %s", portal, iscsi_get_error(ctx));
		iscsi_destroy_context(ctx);
		return -EIO;
	}
	for (struct iscsi_discovery_address *a = list; a; a = a->next)
		for (struct iscsi_target_portal *p = a->portals; p; p = p->next, n++)
			fprintf(out, "%s %s\n", p->portal, a->target_name);
	if (list)
		iscsi_free_discovery_data(ctx, list);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	return n;
}

int iscsi_sendtargets(const struct iscsi_target_config *t, FILE *out, char *err, unsigned err_len)
{
	unsigned n = nu_addr_nth(t->portal, 0, NULL, 0);
	char portal[256];
	int ret = -EINVAL;

	snprintf(err, err_len, "no portal given");
	/* The first portal that answers speaks for the target. */
	for (unsigned i = 0; i < n; i++) {
		nu_addr_nth(t->portal, i, portal, sizeof(portal));
		ret = sendtargets_at(t, portal, out, err, err_len);
		if (ret >= 0)
			break;
	}
	return ret;
}
