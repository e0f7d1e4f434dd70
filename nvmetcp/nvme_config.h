/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NVME_CONFIG_H
#define NETUBLK_NVME_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* One NVMe/TCP subsystem as the config file and --nvme describe it. */
struct nvme_target_config {
	char address[256];    /* host:port, port 4420 if not given */
	char subnqn[224];
	char hostnqn[224];    /* empty: /etc/nvme/hostnqn, else made from the host ID */
	char hostid[40];      /* UUID; empty: /etc/nvme/hostid, else derived from the machine */
	bool header_digest, data_digest;
	unsigned kato_s;	     /* keep-alive timeout */
	unsigned ctrl_loss_tmo_s;    /* then I/O fails with EIO */
	unsigned reconnect_delay_s;  /* between connection attempts */
	unsigned command_timeout_s;  /* then Abort; then reconnect */
	unsigned queue_size;	     /* I/O queue entries, 0: as many as the controller allows up to 128 */
	bool discover_all;	     /* address is a discovery controller: serve all it lists */
	bool zero_copy;		     /* the caller's wish (ublk zero copy); granted on Linux 7.2
				      * without a data digest */
	/* DH-HMAC-CHAP, as nvme-cli's --dhchap-secret and --dhchap-ctrl-secret. */
	char dhchap_secret[128];      /* DHHC-1 host key; empty: none */
	char dhchap_ctrl_secret[128]; /* DHHC-1 controller key: bidirectional */
	unsigned dhchap_hashes;	      /* offered hash functions, bit (1 << id) */
	unsigned dhchap_groups;	      /* offered DH groups */
	/* TLS 1.3 with a pre-shared key, as nvme-cli's --tls and --tls-key. */
	uint8_t tls;		      /* NVME_TLS_* */
	char tls_key[96];	      /* NVMeTLSkey-1 configured PSK */
	uint8_t tls_identity_version; /* 1: NVMe/TCP 2.0 identity with a digest, 0: 1.0c */
	bool tls_compat;	      /* the derivation of libnvme < 1.16 (nvme-cli --compat) */
};

enum {
	NVME_TLS_OFF,
	NVME_TLS_REQUIRED,  /* TLS or nothing */
	NVME_TLS_PREFERRED, /* TLS, or clear text where the port does not speak TLS */
};

/* The kernel's nvme-tcp defaults. */
void nvme_target_config_defaults(struct nvme_target_config *t);

/* "sha256,sha384" / "null,ffdhe2048" (also as nvmet names them, "hmac(sha256)") as masks. */
int nvme_auth_hashes_parse(const char *s, unsigned *mask);
/* a and b differ, and only in their keys (DH-HMAC-CHAP, TLS); copying those from src to dst. */
bool nvme_config_only_auth_differs(const struct nvme_target_config *a,
				   const struct nvme_target_config *b);
void nvme_config_copy_auth(struct nvme_target_config *dst, const struct nvme_target_config *src);
int nvme_auth_groups_parse(const char *s, unsigned *mask);

struct nvme_host_ids;
/*
 * Host NQN and ID from the config, /etc/nvme, or made up stably for this
 * machine; the DH-HMAC-CHAP keys decoded.
 */
int nvme_host_ids_load(const struct nvme_target_config *t, struct nvme_host_ids *ids, char *err,
		       unsigned err_len);

#endif
