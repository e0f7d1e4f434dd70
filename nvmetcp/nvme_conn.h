/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_CONN_H
#define NETUBLK_NVME_CONN_H

/*
 * One NVMe/TCP queue driven with blocking calls: connection set-up (ICReq,
 * Fabrics Connect) for every queue, and all of the admin and discovery
 * queues' traffic. I/O queues move to their ring once connected.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme_auth.h"
#include "nvme_cmd.h"
#include "nvme_pdu.h"
#include "nvme_tls_psk.h"

struct nvme_target_config;

struct nvme_conn {
	int fd;
	struct nvme_tcp_params p;
	int timeout_ms;
	uint16_t qid;
	uint16_t next_cid;
	uint16_t auth_tid;	    /* the next DH-HMAC-CHAP transaction's ID */
	struct nvme_auth_info auth; /* how Connect authenticated this queue */
	char tls[48];		    /* "TLS 1.3 <cipher suite>", "" in clear text */
};

/* A cid nvme_conn never hands out: nvme_conn_wait() returns after one unsolicited completion. */
#define NVME_CID_NONE 0xffff

/* Completions of commands nobody waits for (Asynchronous Event Requests). */
typedef void (*nvme_unsolicited_fn)(void *ctx, const struct nvme_cqe *cqe);

/* Who the host is to one subsystem, and its credentials there. */
struct nvme_host_ids {
	uint8_t hostid[16];
	char hostnqn[224];
	struct nvme_auth_cfg auth;
	struct nvme_tls_psk tls; /* derived for this host and subsystem when it uses TLS */
};

/*
 * TCP connect to cfg's address, TLS as cfg says (with ids' PSK), then
 * ICReq/ICResp with cfg's digests; err says what failed.
 */
int nvme_conn_open(struct nvme_conn *c, const struct nvme_target_config *cfg,
		   const struct nvme_host_ids *ids, int timeout_ms, char *err, size_t err_len);
void nvme_conn_close(struct nvme_conn *c);

/*
 * Fabrics Connect of queue qid; the admin queue (qid 0) learns its controller
 * ID. A controller that asks for it gets DH-HMAC-CHAP with ids' credentials.
 */
int nvme_conn_connect(struct nvme_conn *c, uint16_t qid, uint16_t sqsize, uint32_t kato_ms,
		      const struct nvme_host_ids *ids, const char *subnqn, uint16_t *cntlid,
		      char *err, size_t err_len);

/* Sends a command capsule (cid is set here), out data in the capsule. Returns the cid. */
int nvme_conn_send(struct nvme_conn *c, uint8_t sqe[NVME_SQE_LEN], const void *out,
		   uint32_t out_len);
/*
 * Receives until the completion of cid: its C2HData into in (at most
 * in_len bytes), other commands' completions to cb. -ETIMEDOUT after
 * timeout_ms of silence, -EPROTO for a malformed or unexpected PDU.
 */
int nvme_conn_wait(struct nvme_conn *c, uint16_t cid, void *in, uint32_t in_len,
		   struct nvme_cqe *cqe, int timeout_ms, nvme_unsolicited_fn cb, void *ctx);
/* send + wait; a non-zero NVMe status becomes -EIO with the status in cqe. */
int nvme_conn_exec(struct nvme_conn *c, uint8_t sqe[NVME_SQE_LEN], const void *out,
		   uint32_t out_len, void *in, uint32_t in_len, struct nvme_cqe *cqe,
		   nvme_unsolicited_fn cb, void *ctx);

/* Admin queue start-up: CAP, enable (CC.EN), wait for CSTS.RDY. */
int nvme_conn_enable(struct nvme_conn *c, uint64_t *cap, char *err, size_t err_len);

#endif
