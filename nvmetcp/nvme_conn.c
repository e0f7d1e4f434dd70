// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nvme/types.h>

#include "nvme_conn.h"
#include "nvme_config.h"
#include "log.h"
#include "tls.h"
#include "digest.h"
#include "tcp.h"

/* Replies on an admin queue are small; the largest is a log page or identify data. */
#define ADMIN_SQSIZE 31

/* TLS on c's socket with ids' PSK; -EPROTONOSUPPORT if the port does not speak it. */
static int start_tls(struct nvme_conn *c, const struct nvme_host_ids *ids, int timeout_ms,
		     char *err, size_t err_len)
{
	struct nu_tls_psk psk = {
		.identity = ids->tls.identity,
		.key = ids->tls.key,
		.key_len = ids->tls.len,
		.sha384 = ids->tls.cipher == 2,
	};

	return nu_tls_client(c->fd, &psk, timeout_ms, c->tls, sizeof(c->tls), err, err_len);
}

int nvme_conn_open(struct nvme_conn *c, const struct nvme_target_config *cfg,
		   const struct nvme_host_ids *ids, int timeout_ms, char *err, size_t err_len)
{
	bool tls = cfg->tls != NVME_TLS_OFF;
	uint8_t ic[NVME_TCP_IC_LEN];
	char tls_err[320] = "";
	const char *why;
	int ret;

again:
	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms;
	c->fd = nu_tcp_connect(cfg->address, "4420", timeout_ms, err, err_len);
	if (c->fd < 0)
		return c->fd;
	if (tls) {
		ret = start_tls(c, ids, timeout_ms, err, err_len);
		if (ret == -EPROTONOSUPPORT && cfg->tls == NVME_TLS_PREFERRED) {
			/* Preferred, not required: a port without TLS is served in clear text. */
			nu_warn("nvme: %s at %s: %s; connecting in clear text (tls = preferred)",
				cfg->subnqn, cfg->address, err);
			snprintf(tls_err, sizeof(tls_err), "%s", err);
			nvme_conn_close(c);
			tls = false;
			goto again;
		}
		if (ret)
			goto fail;
	}
	nvme_tcp_build_icreq(ic, cfg->header_digest, cfg->data_digest, 0);
	ret = nu_write_full(c->fd, ic, sizeof(ic), timeout_ms);
	if (!ret)
		ret = nu_read_full(c->fd, ic, sizeof(ic), timeout_ms);
	if (ret) {
		snprintf(err, err_len, "%s%s%s: connection initialization: %s%s", tls_err,
			 tls_err[0] ? "; then in clear text, " : "", cfg->address, strerror(-ret),
			 ret == -ECONNRESET && !tls ? " (does the port require TLS?)" : "");
		goto fail;
	}
	ret = nvme_tcp_parse_icresp(ic, cfg->header_digest, cfg->data_digest, &c->p, &why);
	if (ret) {
		snprintf(err, err_len, "%s: ICResp: %s", cfg->address, why);
		goto fail;
	}
	if (nvme_tcp_data_pdo(&c->p, NVME_TCP_CMD_HLEN) > 128) {
		snprintf(err, err_len, "%s: CPDA %u needs headers longer than 128 bytes",
			 cfg->address, c->p.cpda);
		ret = -EPROTO;
		goto fail;
	}
	return 0;
fail:
	nvme_conn_close(c);
	return ret;
}

void nvme_conn_close(struct nvme_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int nvme_conn_send(struct nvme_conn *c, uint8_t sqe[NVME_SQE_LEN], const void *out,
		   uint32_t out_len)
{
	uint8_t hdr[128], dgst[4];
	uint16_t cid = c->next_cid++ & 0x7fff; /* the top half of the space is the caller's */
	unsigned hlen;
	int ret;

	nvme_sqe_set_cid(sqe, cid);
	hlen = nvme_tcp_build_cmd(hdr, &c->p, sqe, out_len);
	ret = nu_write_full(c->fd, hdr, hlen, c->timeout_ms);
	if (!ret && out_len)
		ret = nu_write_full(c->fd, out, out_len, c->timeout_ms);
	if (!ret && out_len && c->p.ddgst) {
		nu_put_le32(dgst, nu_crc32c(out, out_len));
		ret = nu_write_full(c->fd, dgst, 4, c->timeout_ms);
	}
	return ret ? ret : cid;
}

/* Reads one PDU's header (through its data offset) into buf and decodes it. */
static int read_hdr(struct nvme_conn *c, uint8_t *buf, struct nvme_tcp_hdr *h, int timeout_ms,
		    const char **why)
{
	size_t have = NVME_TCP_CH_LEN;
	int ret = nu_read_full(c->fd, buf, have, timeout_ms);

	while (!ret) {
		size_t want;

		ret = nvme_tcp_parse_hdr(buf, have, &c->p, 1u << 24, h, why);
		if (ret != -EAGAIN)
			return ret;
		/* Known types are 24 bytes; C2HData may pad to its data offset. */
		want = buf[0] == NVME_TCP_C2H_DATA && have >= 24 + (c->p.hdgst ? 4u : 0u) ?
			       buf[3] :
			       24 + (c->p.hdgst ? 4u : 0u);
		if (want <= have || want > 128) {
			*why = "header does not fit";
			return -EPROTO;
		}
		ret = nu_read_full(c->fd, buf + have, want - have, timeout_ms);
		have = want;
	}
	*why = strerror(-ret);
	return ret;
}

int nvme_conn_wait(struct nvme_conn *c, uint16_t cid, void *in, uint32_t in_len,
		   struct nvme_cqe *cqe, int timeout_ms, nvme_unsolicited_fn cb, void *ctx)
{
	uint32_t got = 0;

	for (;;) {
		uint8_t hdr[128], dgst[4];
		struct nvme_tcp_hdr h;
		const char *why;
		int ret = read_hdr(c, hdr, &h, timeout_ms, &why);

		if (ret)
			return ret == -EPROTO ? -EPROTO : ret;
		switch (h.type) {
		case NVME_TCP_C2H_TERM:
			return -ECONNRESET;
		case NVME_TCP_R2T:
			return -EPROTO; /* we never send data that needs one here */
		case NVME_TCP_C2H_DATA:
			if (h.cid != cid || h.off != got || h.len > in_len - got)
				return -EPROTO;
			ret = nu_read_full(c->fd, (uint8_t *)in + got, h.len, timeout_ms);
			if (!ret && c->p.ddgst) {
				ret = nu_read_full(c->fd, dgst, 4, timeout_ms);
				if (!ret && nu_get_le32(dgst) != nu_crc32c((uint8_t *)in + got, h.len))
					ret = -EPROTO;
			}
			if (ret)
				return ret;
			got += h.len;
			if (h.flags & NVME_TCP_F_SUCCESS) {
				memset(cqe, 0, sizeof(*cqe));
				cqe->cid = cid;
				return 0;
			}
			break;
		case NVME_TCP_RSP:
			nvme_cqe_decode(h.cqe, cqe);
			if (cqe->cid == cid)
				return 0;
			if (!cb)
				return -EPROTO;
			cb(ctx, cqe);
			if (cid == NVME_CID_NONE)
				return 0;
			break;
		default:
			return -EPROTO;
		}
	}
}

int nvme_conn_exec(struct nvme_conn *c, uint8_t sqe[NVME_SQE_LEN], const void *out,
		   uint32_t out_len, void *in, uint32_t in_len, struct nvme_cqe *cqe,
		   nvme_unsolicited_fn cb, void *ctx)
{
	int cid = nvme_conn_send(c, sqe, out, out_len);
	int ret;

	if (cid < 0)
		return cid;
	ret = nvme_conn_wait(c, cid, in, in_len, cqe, c->timeout_ms, cb, ctx);
	if (ret)
		return ret;
	return cqe->status ? -EIO : 0;
}

/* Connect's AUTHREQ: authentication required (ATR), secure channel concatenation (ASCR). */
#define CONNECT_ATR (1u << 17)
#define CONNECT_ASCR (1u << 18)

static int connect_auth(struct nvme_conn *c, uint32_t dw0, const struct nvme_host_ids *ids,
			const char *subnqn, char *err, size_t err_len)
{
	char why[200];
	int ret;

	memset(&c->auth, 0, sizeof(c->auth));
	if (dw0 & CONNECT_ASCR) {
		snprintf(err, err_len, "queue %u: the controller requires secure channel "
			 "concatenation, which netublk does not offer", c->qid);
		return -EOPNOTSUPP;
	}
	if (!(dw0 & CONNECT_ATR)) {
		/*
		 * I/O queues join the admin queue's association, authenticated or
		 * refused there; a discovery controller tells only where to go.
		 */
		if (!ids->auth.ctrl_key_set || c->qid || !strcmp(subnqn, NVME_DISC_SUBSYS_NAME))
			return 0;
		/* Asked to check the controller, which does not take part: do not trust it. */
		snprintf(err, err_len, "dhchap_ctrl_secret is set but the controller does not ask "
			 "for DH-HMAC-CHAP");
		return -EACCES;
	}
	ret = nvme_auth_run(c, &ids->auth, ids->hostnqn, subnqn, &c->auth, why, sizeof(why));
	if (ret)
		snprintf(err, err_len, "queue %u: %s", c->qid, why);
	return ret;
}

int nvme_conn_connect(struct nvme_conn *c, uint16_t qid, uint16_t sqsize, uint32_t kato_ms,
		      const struct nvme_host_ids *ids, const char *subnqn, uint16_t *cntlid,
		      char *err, size_t err_len)
{
	uint8_t sqe[NVME_SQE_LEN], data[1024];
	struct nvme_cqe cqe;
	int ret;

	c->qid = qid;
	ret = nvme_build_connect_data(data, ids->hostid, qid ? *cntlid : 0xffff, subnqn,
				      ids->hostnqn);
	if (ret) {
		snprintf(err, err_len, "NQN too long");
		return ret;
	}
	/*
	 * I/O queues without SQ flow control: a read is then answered by its
	 * data alone (C2HData with SUCCESS), one PDU fewer to receive. The
	 * tags never exceed the queue size, which is all the controller needs.
	 */
	nvme_build_connect(sqe, qid, qid ? sqsize : ADMIN_SQSIZE, qid ? NVME_CONNECT_SQFLOW_OFF : 0,
			   qid ? 0 : kato_ms);
	ret = nvme_conn_exec(c, sqe, data, sizeof(data), NULL, 0, &cqe, NULL, NULL);
	if (ret == -EIO && qid &&
	    ((cqe.status >> NVME_SCT_SHIFT) & NVME_SCT_MASK) == NVME_SCT_GENERIC &&
	    (cqe.status & NVME_SC_MASK) == NVME_SC_INVALID_FIELD) {
		/* Invalid Field: a controller that keeps SQ flow control; ask again with it. */
		nu_dbg("queue %u: %s keeps SQ flow control", qid, subnqn);
		nvme_build_connect(sqe, qid, sqsize, 0, 0);
		ret = nvme_conn_exec(c, sqe, data, sizeof(data), NULL, 0, &cqe, NULL, NULL);
	}
	if (ret == -EIO) {
		unsigned sc = cqe.status & 0xff, sct = (cqe.status >> 8) & 7;

		/* Connect-specific statuses (command specific type): 0x80 incompatible format, 0x81 busy, 0x82 invalid parameters, 0x84 invalid host. */
		snprintf(err, err_len, "Connect of queue %u to %s refused: %s (status type %u code 0x%02x)",
			 qid, subnqn,
			 sct == 1 && sc == 0x84 ? "host not allowed" :
			 sct == 1 && sc == 0x82 ? "invalid parameters (unknown subsystem NQN?)" :
			 sct == 1 && sc == 0x81 ? "controller busy" :
			 "error", sct, sc);
		return -EACCES;
	}
	if (ret) {
		snprintf(err, err_len, "Connect of queue %u: %s", qid, strerror(-ret));
		return ret;
	}
	if (!qid)
		*cntlid = cqe.dw0 & 0xffff;
	return connect_auth(c, cqe.dw0, ids, subnqn, err, err_len);
}

static int prop_get(struct nvme_conn *c, uint32_t off, bool eight, uint64_t *val)
{
	uint8_t sqe[NVME_SQE_LEN];
	struct nvme_cqe cqe;
	int ret;

	nvme_build_prop_get(sqe, off, eight);
	ret = nvme_conn_exec(c, sqe, NULL, 0, NULL, 0, &cqe, NULL, NULL);
	*val = cqe.dw0 | (eight ? (uint64_t)cqe.dw1 << 32 : 0);
	return ret;
}

int nvme_conn_enable(struct nvme_conn *c, uint64_t *cap, char *err, size_t err_len)
{
	uint8_t sqe[NVME_SQE_LEN];
	struct nvme_cqe cqe;
	uint64_t csts;
	unsigned to_ms;
	int ret;

	ret = prop_get(c, NVME_REG_CAP, true, cap);
	if (ret) {
		snprintf(err, err_len, "Property Get CAP: %s", strerror(-ret));
		return ret;
	}
	nvme_build_prop_set(sqe, NVME_REG_CC, NVME_CC_ENABLED);
	ret = nvme_conn_exec(c, sqe, NULL, 0, NULL, 0, &cqe, NULL, NULL);
	if (ret) {
		snprintf(err, err_len, "Property Set CC: %s", strerror(-ret));
		return ret;
	}
	/* CAP.TO: worst-case ready time in 500 ms units. */
	to_ms = (unsigned)((*cap >> 24) & 0xff) * 500;
	if (to_ms < 1000)
		to_ms = 1000;
	for (unsigned waited = 0;; waited += 50) {
		ret = prop_get(c, NVME_REG_CSTS, false, &csts);
		if (ret) {
			snprintf(err, err_len, "Property Get CSTS: %s", strerror(-ret));
			return ret;
		}
		if (csts & 2) { /* CFS */
			snprintf(err, err_len, "controller fatal status");
			return -EIO;
		}
		if (csts & 1)
			return 0;
		if (waited >= to_ms) {
			snprintf(err, err_len, "controller not ready after %u ms", to_ms);
			return -ETIMEDOUT;
		}
		usleep(50000);
	}
}
