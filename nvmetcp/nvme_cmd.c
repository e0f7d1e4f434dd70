// SPDX-License-Identifier: MIT
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <nvme/types.h>

#include "nvme_cmd.h"
#include "digest.h"
#include "io.h"

/* SGL descriptor types: NVMe base spec 4.3.2, NVMe/TCP 3.3.7.1. */
#define SGL_DATA_BLOCK_OFFSET 0x01 /* in-capsule data at an offset */
#define SGL_TRANSPORT_DATA 0x5a	   /* transport data block: moved by C2HData / R2T */
#define PSDT_SGL 0x40

static void put_le64(uint8_t *p, uint64_t v)
{
	nu_put_le32(p, (uint32_t)v);
	nu_put_le32(p + 4, (uint32_t)(v >> 32));
}

void nvme_sqe_init(uint8_t sqe[NVME_SQE_LEN], uint8_t opcode, uint16_t cid, uint32_t nsid)
{
	memset(sqe, 0, NVME_SQE_LEN);
	sqe[0] = opcode;
	sqe[1] = PSDT_SGL;
	nvme_sqe_set_cid(sqe, cid);
	nu_put_le32(sqe + 4, nsid);
	nvme_sqe_set_data(sqe, NVME_SGL_NONE, 0);
}

void nvme_sqe_set_cid(uint8_t sqe[NVME_SQE_LEN], uint16_t cid)
{
	sqe[2] = cid;
	sqe[3] = cid >> 8;
}

void nvme_sqe_set_data(uint8_t sqe[NVME_SQE_LEN], enum nvme_sgl sgl, uint32_t len)
{
	uint8_t *d = sqe + 24;

	memset(d, 0, 16);
	nu_put_le32(d + 8, len);
	d[15] = sgl == NVME_SGL_INCAPSULE ? SGL_DATA_BLOCK_OFFSET : SGL_TRANSPORT_DATA;
}

void nvme_sqe_set_cdw(uint8_t sqe[NVME_SQE_LEN], unsigned n, uint32_t v)
{
	nu_put_le32(sqe + 4 * n, v);
}

static void fabrics_init(uint8_t sqe[NVME_SQE_LEN], uint8_t fctype)
{
	nvme_sqe_init(sqe, nvme_admin_fabrics, 0, 0);
	sqe[4] = fctype; /* the fabrics command type sits where the NSID would */
}

void nvme_build_connect(uint8_t sqe[NVME_SQE_LEN], uint16_t qid, uint16_t sqsize, uint8_t cattr,
			uint32_t kato_ms)
{
	fabrics_init(sqe, nvme_fabrics_type_connect);
	nvme_sqe_set_data(sqe, NVME_SGL_INCAPSULE, 1024);
	/* RECFMT 0, QID, SQSIZE (0's based), CATTR, KATO. */
	sqe[42] = qid;
	sqe[43] = qid >> 8;
	sqe[44] = sqsize;
	sqe[45] = sqsize >> 8;
	sqe[46] = cattr;
	nu_put_le32(sqe + 48, kato_ms);
}

int nvme_build_connect_data(uint8_t out[1024], const uint8_t hostid[16], uint16_t cntlid,
			    const char *subnqn, const char *hostnqn)
{
	struct nvmf_connect_data *d = (struct nvmf_connect_data *)out;

	if (strlen(subnqn) >= sizeof(d->subsysnqn) || strlen(hostnqn) >= sizeof(d->hostnqn))
		return -ENAMETOOLONG;
	memset(out, 0, 1024);
	memcpy(d->hostid, hostid, 16);
	d->cntlid = htole16(cntlid);
	memcpy(d->subsysnqn, subnqn, strlen(subnqn));
	memcpy(d->hostnqn, hostnqn, strlen(hostnqn));
	return 0;
}

void nvme_build_auth(uint8_t sqe[NVME_SQE_LEN], bool send, uint32_t len)
{
	fabrics_init(sqe, send ? nvme_fabrics_type_auth_send : nvme_fabrics_type_auth_receive);
	nvme_sqe_set_data(sqe, send ? NVME_SGL_INCAPSULE : NVME_SGL_TRANSPORT, len);
	sqe[41] = 0x01; /* SPSP0, SPSP1 */
	sqe[42] = 0x01;
	sqe[43] = 0xe9; /* SECP: DH-HMAC-CHAP */
	nu_put_le32(sqe + 44, len); /* TL (send) or AL (receive) */
}

void nvme_build_prop_get(uint8_t sqe[NVME_SQE_LEN], uint32_t offset, bool eight)
{
	fabrics_init(sqe, nvme_fabrics_type_property_get);
	sqe[40] = eight ? 1 : 0;
	nu_put_le32(sqe + 44, offset);
}

void nvme_build_prop_set(uint8_t sqe[NVME_SQE_LEN], uint32_t offset, uint64_t value)
{
	fabrics_init(sqe, nvme_fabrics_type_property_set);
	sqe[40] = 0; /* CC is a 4-byte property */
	nu_put_le32(sqe + 44, offset);
	put_le64(sqe + 48, value);
}

void nvme_build_identify(uint8_t sqe[NVME_SQE_LEN], uint8_t cns, uint32_t nsid)
{
	nvme_sqe_init(sqe, nvme_admin_identify, 0, nsid);
	nvme_sqe_set_data(sqe, NVME_SGL_TRANSPORT, NVME_IDENTIFY_DATA_SIZE);
	nvme_sqe_set_cdw(sqe, 10, cns);
}

void nvme_build_set_queues(uint8_t sqe[NVME_SQE_LEN], unsigned nr_io_queues)
{
	uint32_t n = nr_io_queues - 1; /* 0's based */

	nvme_sqe_init(sqe, nvme_admin_set_features, 0, 0);
	nvme_sqe_set_cdw(sqe, 10, NVME_FEAT_FID_NUM_QUEUES);
	nvme_sqe_set_cdw(sqe, 11, n | n << 16);
}

void nvme_build_get_log(uint8_t sqe[NVME_SQE_LEN], uint8_t lid, uint32_t len, uint64_t off,
			bool rae)
{
	uint32_t numd = len / 4 - 1;

	nvme_sqe_init(sqe, nvme_admin_get_log_page, 0, NVME_NSID_ALL);
	nvme_sqe_set_data(sqe, NVME_SGL_TRANSPORT, len);
	nvme_sqe_set_cdw(sqe, 10, lid | (rae ? 1u << 15 : 0) | (numd & 0xffff) << 16);
	nvme_sqe_set_cdw(sqe, 11, numd >> 16);
	nvme_sqe_set_cdw(sqe, 12, (uint32_t)off);
	nvme_sqe_set_cdw(sqe, 13, (uint32_t)(off >> 32));
}

void nvme_build_keep_alive(uint8_t sqe[NVME_SQE_LEN])
{
	nvme_sqe_init(sqe, nvme_admin_keep_alive, 0, 0);
}

void nvme_build_aer(uint8_t sqe[NVME_SQE_LEN])
{
	nvme_sqe_init(sqe, nvme_admin_async_event, 0, 0);
}

void nvme_build_abort(uint8_t sqe[NVME_SQE_LEN], uint16_t sqid, uint16_t cid)
{
	nvme_sqe_init(sqe, nvme_admin_abort_cmd, 0, 0);
	nvme_sqe_set_cdw(sqe, 10, sqid | (uint32_t)cid << 16);
}

int nvme_build_io(uint8_t sqe[NVME_SQE_LEN], const struct nu_io *io, uint32_t nsid,
		  uint32_t lbs, uint8_t dsm_range[16])
{
	uint64_t slba = io->offset / lbs;
	uint64_t nlb = io->len / lbs;
	uint32_t fua = io->flags & NU_IO_FUA ? 1u << 30 : 0;

	if (io->op != NU_OP_FLUSH && (io->offset % lbs || io->len % lbs || !io->len))
		return -EINVAL;
	/* NLB is 16 bits (0's based) in I/O commands, 32 bits in a DSM range. */
	if (nlb > (io->op == NU_OP_DISCARD ? 0xffffffffull : 1u << 16))
		return -EINVAL;
	switch (io->op) {
	case NU_OP_READ:
	case NU_OP_WRITE:
		nvme_sqe_init(sqe, io->op == NU_OP_READ ? nvme_cmd_read : nvme_cmd_write, 0, nsid);
		nvme_sqe_set_data(sqe, NVME_SGL_TRANSPORT, io->len);
		break;
	case NU_OP_WRITE_ZEROES:
		nvme_sqe_init(sqe, nvme_cmd_write_zeroes, 0, nsid);
		/* DEAC: the target may deallocate, as long as reads return zeroes. */
		fua |= io->flags & NU_IO_NOUNMAP ? 0 : 1u << 25;
		break;
	case NU_OP_FLUSH:
		nvme_sqe_init(sqe, nvme_cmd_flush, 0, nsid);
		return 0;
	case NU_OP_DISCARD:
		nvme_sqe_init(sqe, nvme_cmd_dsm, 0, nsid);
		nvme_sqe_set_data(sqe, NVME_SGL_INCAPSULE, 16);
		nvme_sqe_set_cdw(sqe, 10, 0);			/* one range */
		nvme_sqe_set_cdw(sqe, 11, NVME_DSMGMT_AD);	/* deallocate */
		memset(dsm_range, 0, 16);
		nu_put_le32(dsm_range + 4, (uint32_t)nlb);
		put_le64(dsm_range + 8, slba);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
	nvme_sqe_set_cdw(sqe, 10, (uint32_t)slba);
	nvme_sqe_set_cdw(sqe, 11, (uint32_t)(slba >> 32));
	nvme_sqe_set_cdw(sqe, 12, (uint32_t)(nlb - 1) | fua);
	return 0;
}

void nvme_cqe_decode(const uint8_t in[NVME_CQE_LEN], struct nvme_cqe *c)
{
	c->dw0 = nu_get_le32(in);
	c->dw1 = nu_get_le32(in + 4);
	c->sqhd = in[8] | in[9] << 8;
	c->sqid = in[10] | in[11] << 8;
	c->cid = in[12] | in[13] << 8;
	c->status = (uint16_t)(in[14] | in[15] << 8) >> 1;
}

int nvme_status_result(uint16_t status, bool *retry, char *desc, size_t desc_len)
{
	unsigned sct = (status >> NVME_SCT_SHIFT) & NVME_SCT_MASK, sc = status & NVME_SC_MASK;
	const char *what = NULL;
	int res = -EIO;

	/* Like the kernel's nvme core: anything without Do Not Retry may be retried. */
	*retry = !(status & NVME_SC_DNR);
	if (!sct && !sc) {
		*retry = false;
		return 0;
	}
	if (sct == NVME_SCT_GENERIC) {
		switch (sc) {
		case NVME_SC_INVALID_OPCODE:
		case NVME_SC_INVALID_FIELD:
		case NVME_SC_INVALID_NS:
			res = -EOPNOTSUPP, what = "not supported";
			break;
		case NVME_SC_LBA_RANGE:
			res = -ENXIO, what = "LBA out of range";
			break;
		case NVME_SC_CAP_EXCEEDED:
			res = -ENOSPC, what = "capacity exceeded";
			break;
		case NVME_SC_NS_NOT_READY:
			res = -EAGAIN, what = "namespace not ready";
			break;
		case NVME_SC_RESERVATION_CONFLICT:
			res = -EBADE, what = "reservation conflict";
			break;
		case NVME_SC_NS_WRITE_PROTECTED:
			res = -EROFS, what = "namespace write protected";
			break;
		case NVME_SC_CMD_INTERRUPTED:
		case NVME_SC_ABORT_REQ:
			res = -EAGAIN, what = "command aborted";
			break;
		case NVME_SC_DATA_XFER_ERROR:
			res = -EIO, what = "data transfer error";
			break;
		case NVME_SC_INTERNAL:
			res = -EIO, what = "internal error";
			break;
		default:
			break;
		}
	} else if (sct == NVME_SCT_CMD_SPECIFIC) {
		if (sc == NVME_SC_READ_ONLY)
			res = -EROFS, what = "write to a read-only range";
	} else if (sct == NVME_SCT_MEDIA) {
		switch (sc) {
		case NVME_SC_WRITE_FAULT:
			res = -ENODATA, what = "write fault";
			break;
		case NVME_SC_READ_ERROR:
			res = -ENODATA, what = "unrecovered read error";
			break;
		case NVME_SC_ACCESS_DENIED:
			res = -EACCES, what = "access denied";
			break;
		case NVME_SC_COMPARE_FAILED:
			res = -EILSEQ, what = "compare failure";
			break;
		case NVME_SC_GUARD_CHECK:
		case NVME_SC_APPTAG_CHECK:
		case NVME_SC_REFTAG_CHECK:
			res = -EILSEQ, what = "protection information check failed";
			break;
		default:
			res = -ENODATA, what = "media error";
			break;
		}
	} else if (sct == NVME_SCT_PATH) {
		/* ANA transition and path errors: another try (or path) may work. */
		res = -ENOLINK, what = "path error";
		*retry = true;
	}
	snprintf(desc, desc_len, "%s (status type %u code 0x%02x%s)", what ? what : "error", sct,
		 sc, status & NVME_SC_DNR ? ", do not retry" : "");
	return res;
}

void nvme_copy_trimmed(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	while (n && (dst[n - 1] == ' ' || dst[n - 1] == 0))
		dst[--n] = 0;
}

int nvme_parse_id_ctrl(const uint8_t *buf, size_t len, unsigned mpsmin_shift,
		       struct nvme_ctrl_info *ci)
{
	const struct nvme_id_ctrl *c = (const void *)buf;

	if (len < sizeof(*c))
		return -EINVAL;
	memset(ci, 0, sizeof(*ci));
	/* MDTS: a power of two in units of the minimum memory page size; 0 means no limit. */
	if (c->mdts && c->mdts + mpsmin_shift < 32)
		ci->max_transfer = 1u << (c->mdts + mpsmin_shift);
	ci->ioccsz = le32toh(c->ioccsz) * 16;
	ci->oncs = le16toh(c->oncs);
	ci->vwc = c->vwc;
	ci->kas_ms = le16toh(c->kas) * 100;
	ci->has_ana = c->cmic & (1 << 3);
	ci->vid = le16toh(c->vid);
	nvme_copy_trimmed(ci->sn, c->sn, sizeof(c->sn));
	nvme_copy_trimmed(ci->mn, c->mn, sizeof(c->mn));
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

int nvme_parse_id_ns(const uint8_t *buf, size_t len, const struct nvme_ctrl_info *ci,
		     struct nvme_ns_info *ns)
{
	const struct nvme_id_ns *id = (const void *)buf;
	struct nu_volume_geom *g = &ns->geom;
	unsigned fmt, ds;
	uint64_t blocks;
	uint32_t max_blocks_bytes;

	if (len < sizeof(*id))
		return -EINVAL;
	blocks = le64toh(id->nsze);
	if (!blocks)
		return -ENODEV;
	fmt = (id->flbas & NVME_NS_FLBAS_LOWER_MASK) | ((id->flbas >> 5) & 3) << 4;
	if (fmt > id->nlbaf + (unsigned)id->nulbaf || fmt >= 64)
		return -EINVAL;
	ds = id->lbaf[fmt].ds;
	if (ds < 9 || ds > 16)
		return -EINVAL;
	if (le16toh(id->lbaf[fmt].ms))
		return -EOPNOTSUPP; /* formats with metadata need a metadata buffer */
	memset(g, 0, sizeof(*g));
	ns->anagrpid = ci->has_ana ? le32toh(id->anagrpid) : 0;
	g->lbs = 1u << ds;
	if (blocks > UINT64_MAX >> ds)
		return -EINVAL;
	g->size = blocks << ds;
	g->pbs = g->lbs;
	/* NSFEAT bit 4: NPWG/NOWS are valid; the preferred write granularity is the physical block. */
	if (id->nsfeat & (1 << 4)) {
		uint64_t pwg = (uint64_t)(le16toh(id->npwg) + 1) << ds;

		if (pwg <= 65536 && !(pwg & (pwg - 1)))
			g->pbs = pwg;
		g->io_opt = (uint32_t)(le16toh(id->nows) + 1) << ds;
	}
	/* At most 65536 blocks per command (NLB is 16 bits). */
	max_blocks_bytes = ds == 16 ? 0x80000000u : (1u << (16 + ds));
	g->max_transfer = ci->max_transfer && ci->max_transfer < max_blocks_bytes ?
				  ci->max_transfer : max_blocks_bytes;
	if (ci->oncs & NVME_CTRL_ONCS_DSM) {
		g->discard_granularity = g->pbs;
		g->max_discard = 0x80000000u; /* one range, 32-bit NLB, bounded to 2 GiB */
	}
	if (ci->oncs & NVME_CTRL_ONCS_WRITE_ZEROES)
		g->max_write_zeroes = max_blocks_bytes;
	g->read_only = id->nsattr & 1;
	g->volatile_cache = ci->vwc & 1;
	g->fua = true;
	return 0;
}

static void hex(char *out, size_t out_len, const char *prefix, const uint8_t *p, size_t n)
{
	size_t o = snprintf(out, out_len, "%s", prefix);

	for (size_t i = 0; i < n && o + 2 < out_len; i++)
		o += snprintf(out + o, out_len - o, "%02x", p[i]);
}

void nvme_ns_wwid(const uint8_t *desc, size_t len, const uint8_t *id_ns,
		  const struct nvme_ctrl_info *ci, uint32_t nsid, char *out, size_t out_len)
{
	const struct nvme_id_ns *id = (const void *)id_ns;
	uint8_t uuid[16] = { 0 }, nguid[16] = { 0 }, eui[8] = { 0 };
	size_t o = 0;

	if (id) {
		memcpy(nguid, id->nguid, 16);
		memcpy(eui, id->eui64, 8);
	}
	/* Descriptors: type, length, two reserved bytes, then the identifier. */
	while (desc && o + 4 <= len && desc[o]) {
		unsigned type = desc[o], l = desc[o + 1];

		if (o + 4 + l > len)
			break;
		if (type == NVME_NIDT_UUID && l == 16)
			memcpy(uuid, desc + o + 4, 16);
		else if (type == NVME_NIDT_NGUID && l == 16)
			memcpy(nguid, desc + o + 4, 16);
		else if (type == NVME_NIDT_EUI64 && l == 8)
			memcpy(eui, desc + o + 4, 8);
		o += 4 + l;
	}
	/* The order and spelling of the kernel's /sys/block/nvme*n* /wwid. */
	if (!all_zero(uuid, 16)) {
		snprintf(out, out_len,
			 "uuid.%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7],
			 uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14],
			 uuid[15]);
	} else if (!all_zero(nguid, 16)) {
		hex(out, out_len, "eui.", nguid, 16);
	} else if (!all_zero(eui, 8)) {
		hex(out, out_len, "eui.", eui, 8);
	} else {
		char sn[48], mn[88];

		hex(sn, sizeof(sn), "", (const uint8_t *)ci->sn, strlen(ci->sn));
		hex(mn, sizeof(mn), "", (const uint8_t *)ci->mn, strlen(ci->mn));
		snprintf(out, out_len, "nvme.%04x-%s-%s-%08x", ci->vid, sn, mn, nsid);
	}
}

unsigned nvme_parse_ns_list(const uint8_t *buf, size_t len, uint32_t *out, unsigned max)
{
	unsigned n = 0;
	uint32_t last = 0;

	for (size_t o = 0; o + 4 <= len && n < max; o += 4) {
		uint32_t id = nu_get_le32(buf + o);

		if (!id)
			break;
		if (id <= last || id == NVME_NSID_ALL)
			break; /* the list is ascending; anything else is garbage */
		out[n++] = last = id;
	}
	return n;
}

unsigned nvme_parse_disc_log(const uint8_t *buf, size_t len, struct nvme_disc_entry *out,
			     unsigned max)
{
	const struct nvmf_discovery_log *log = (const void *)buf;
	uint64_t numrec;
	unsigned n = 0;

	if (len < sizeof(*log))
		return 0;
	numrec = le64toh(log->numrec);
	for (uint64_t i = 0; i < numrec && (i + 2) * sizeof(log->entries[0]) <= len && n < max;
	     i++) {
		const struct nvmf_disc_log_entry *e = &log->entries[i];
		struct nvme_disc_entry *d = &out[n++];
		char addr[sizeof(e->traddr) + 1], svc[sizeof(e->trsvcid) + 1];

		nvme_copy_trimmed(addr, e->traddr, sizeof(e->traddr));
		nvme_copy_trimmed(svc, e->trsvcid, sizeof(e->trsvcid));
		nvme_copy_trimmed(d->subnqn, e->subnqn, sizeof(e->subnqn) < sizeof(d->subnqn) - 1 ?
								sizeof(e->subnqn) :
								sizeof(d->subnqn) - 1);
		snprintf(d->address, sizeof(d->address), strchr(addr, ':') ? "[%s]:%s" : "%s:%s",
			 addr, svc);
		d->tcp = e->trtype == NVMF_TRTYPE_TCP;
		d->discovery = e->subtype == NVME_NQN_DISC || e->subtype == NVME_NQN_CURR;
		d->tls = d->tcp && e->tsas.tcp.sectype == NVMF_TCP_SECTYPE_TLS13;
		d->tls_required = d->tls && (e->treq & 3) == NVMF_TREQ_REQUIRED;
	}
	return n;
}

int nvme_parse_ana_log(const uint8_t *buf, size_t len, uint8_t *states, unsigned max_groups)
{
	struct nvme_ana_log log;
	size_t off = sizeof(log);
	unsigned n, i;

	if (len < sizeof(log))
		return -EINVAL;
	memcpy(&log, buf, sizeof(log));
	n = le16toh(log.ngrps);
	for (i = 0; i < n; i++) {
		/* Copied out: after a list of NSIDs a descriptor is only 4-byte aligned. */
		struct nvme_ana_group_desc d;
		uint32_t grp, nns;

		if (len - off < sizeof(d))
			return -EINVAL;
		memcpy(&d, buf + off, sizeof(d));
		grp = le32toh(d.grpid);
		nns = le32toh(d.nnsids);
		if (nns > (len - off - sizeof(d)) / 4)
			return -EINVAL;
		if (grp < max_groups)
			states[grp] = d.state & 0xf;
		off += sizeof(d) + (size_t)nns * 4;
	}
	return i;
}

const char *nvme_ana_state_name(uint8_t state)
{
	switch (state) {
	case NVME_ANA_STATE_OPTIMIZED:
		return "optimized";
	case NVME_ANA_STATE_NONOPTIMIZED:
		return "non-optimized";
	case NVME_ANA_STATE_INACCESSIBLE:
		return "inaccessible";
	case NVME_ANA_STATE_PERSISTENT_LOSS:
		return "persistent-loss";
	case NVME_ANA_STATE_CHANGE:
		return "change";
	}
	return "?";
}
