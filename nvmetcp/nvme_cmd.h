/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_CMD_H
#define NETUBLK_NVME_CMD_H

/*
 * NVMe commands as 64-byte submission queue entries, completion status as
 * block errors, and what Identify data says about a namespace. Pure code;
 * the spec's structures and constants come from libnvme's types.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme_pdu.h"
#include "volume.h"

/* Where a command's data is: none, in the capsule, or moved by R2T/C2HData. */
enum nvme_sgl { NVME_SGL_NONE, NVME_SGL_INCAPSULE, NVME_SGL_TRANSPORT };

void nvme_sqe_init(uint8_t sqe[NVME_SQE_LEN], uint8_t opcode, uint16_t cid, uint32_t nsid);
void nvme_sqe_set_cid(uint8_t sqe[NVME_SQE_LEN], uint16_t cid);
void nvme_sqe_set_data(uint8_t sqe[NVME_SQE_LEN], enum nvme_sgl sgl, uint32_t len);
void nvme_sqe_set_cdw(uint8_t sqe[NVME_SQE_LEN], unsigned n, uint32_t v); /* n = 10..15 */

/* CC: enabled, 4 KiB pages (MPS 0), NVM command set, 64-byte SQ and 16-byte CQ entries. */
#define NVME_CC_ENABLED (1u | 6u << 16 | 4u << 20)
#define NVME_CC_SHN_NORMAL (1u << 14)

/* Copies an n-byte space-padded spec field to a C string of n + 1 bytes, trailing blanks cut. */
void nvme_copy_trimmed(char *dst, const char *src, size_t n);

/* Fabrics. */
/* CATTR bit 2: the controller sends no SQ head pointer, and may answer a read with its data alone.
 */
#define NVME_CONNECT_SQFLOW_OFF (1u << 2)
void nvme_build_connect(uint8_t sqe[NVME_SQE_LEN], uint16_t qid, uint16_t sqsize, uint8_t cattr,
			uint32_t kato_ms);
/* The 1024-byte Connect data: host ID, controller ID, subsystem and host NQNs. */
int nvme_build_connect_data(uint8_t out[1024], const uint8_t hostid[16], uint16_t cntlid,
			    const char *subnqn, const char *hostnqn);
/* Authentication Send (len bytes in the capsule) or Receive (up to len bytes) of DH-HMAC-CHAP. */
void nvme_build_auth(uint8_t sqe[NVME_SQE_LEN], bool send, uint32_t len);
void nvme_build_prop_get(uint8_t sqe[NVME_SQE_LEN], uint32_t offset, bool eight);
void nvme_build_prop_set(uint8_t sqe[NVME_SQE_LEN], uint32_t offset, uint64_t value);

/* Admin. */
void nvme_build_identify(uint8_t sqe[NVME_SQE_LEN], uint8_t cns, uint32_t nsid);
void nvme_build_set_queues(uint8_t sqe[NVME_SQE_LEN], unsigned nr_io_queues);
void nvme_build_get_log(uint8_t sqe[NVME_SQE_LEN], uint8_t lid, uint32_t len, uint64_t off,
			bool rae);
void nvme_build_keep_alive(uint8_t sqe[NVME_SQE_LEN]);
void nvme_build_aer(uint8_t sqe[NVME_SQE_LEN]);
void nvme_build_abort(uint8_t sqe[NVME_SQE_LEN], uint16_t sqid, uint16_t cid);

/*
 * The I/O command for a block request on a namespace of lbs-byte blocks.
 * DISCARD needs an 16-byte range in dsm_range (sent as in-capsule data).
 * Returns -EINVAL for requests not in whole blocks or too long.
 */
struct nu_io;
int nvme_build_io(uint8_t sqe[NVME_SQE_LEN], const struct nu_io *io, uint32_t nsid,
		  uint32_t lbs, uint8_t dsm_range[16]);

/* Completion queue entry fields. */
struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid, cid;
	uint16_t status; /* status field without the phase bit: SC | SCT << 8 | ... | DNR */
};
void nvme_cqe_decode(const uint8_t in[NVME_CQE_LEN], struct nvme_cqe *c);

/*
 * A completion status as a block error: 0, or a negative errno that says
 * what kind of failure it was. *retry: worth sending again (path errors,
 * transient states, DNR clear on interrupted commands). desc names it.
 */
int nvme_status_result(uint16_t status, bool *retry, char *desc, size_t desc_len);

/* What Identify Controller says that matters here. */
struct nvme_ctrl_info {
	uint32_t max_transfer; /* bytes, 0: no limit */
	uint32_t ioccsz;       /* bytes of capsule incl. the SQE */
	uint16_t oncs;
	uint8_t vwc;
	uint32_t kas_ms;       /* keep-alive granularity */
	bool has_ana;
	char sn[21], mn[41];
	uint16_t vid;
};
int nvme_parse_id_ctrl(const uint8_t *buf, size_t len, unsigned mpsmin_shift,
		       struct nvme_ctrl_info *ci);

/* A namespace: its geometry for ublk and its world-wide name. */
struct nvme_ns_info {
	uint32_t nsid;
	struct nu_volume_geom geom;
	char wwid[64];
	uint32_t anagrpid; /* its ANA group, 0 if the controller reports none */
	bool gone;
};
/* Identify Namespace (4096 bytes) and the controller; -ENODEV for an inactive namespace. */
int nvme_parse_id_ns(const uint8_t *buf, size_t len, const struct nvme_ctrl_info *ci,
		     struct nvme_ns_info *ns);
/* Namespace Identification Descriptors: WWID as the kernel's sysfs wwid. */
void nvme_ns_wwid(const uint8_t *desc, size_t len, const uint8_t *id_ns,
		  const struct nvme_ctrl_info *ci, uint32_t nsid, char *out, size_t out_len);
/* Identify active namespace list: up to max NSIDs, ascending; returns the count. */
/* One record of a discovery log page. */
struct nvme_disc_entry {
	char address[300]; /* host:port as --nvme takes it */
	char subnqn[224];
	bool tcp;	/* transport type TCP */
	bool discovery; /* a (referral to a) discovery controller */
	bool tls;	/* the port offers TLS 1.3 (TSAS SECTYPE) */
	bool tls_required; /* ... and takes nothing else (TREQ secure channel required) */
};

/*
 * The records of a discovery log page (len bytes at buf, its header
 * included), at most max into out; only records wholly inside len count.
 */
unsigned nvme_parse_disc_log(const uint8_t *buf, size_t len, struct nvme_disc_entry *out,
			     unsigned max);
unsigned nvme_parse_ns_list(const uint8_t *buf, size_t len, uint32_t *out, unsigned max);

/*
 * The ANA log page (len bytes at buf): the state of each group below
 * max_groups into states[group] (NVME_ANA_STATE_*; groups it does not
 * list are left alone). Returns how many descriptors were wholly inside
 * len, or -EINVAL for a page that claims more than it holds.
 */
#define NVME_ANA_GROUPS 128
int nvme_parse_ana_log(const uint8_t *buf, size_t len, uint8_t *states, unsigned max_groups);
/* "optimized", "non-optimized", "inaccessible", "persistent-loss", "change", "?" */
const char *nvme_ana_state_name(uint8_t state);

#endif
