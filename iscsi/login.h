/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_LOGIN_H
#define NETUBLK_ISCSI_LOGIN_H

/*
 * The login phase as a pure state machine: it writes each Login Request
 * (header and text) and reads each Login Response; the caller moves the
 * bytes. Security stage with AuthMethod None or CHAP (one-way or mutual,
 * MD5/SHA-1/SHA-256/SHA3-256), then the operational stage.
 */
#include <stdbool.h>
#include <stdint.h>

#include "chap.h"
#include "pdu.h"

/*
 * MD5 unless configured otherwise: tgt 1.0.85 picks SHA-256 from a longer
 * offer and then refuses the (RFC-correct) response, so a stronger default
 * would break logins to it. chap_algs=8,7,6,5 asks for the strongest.
 */
#define ISCSI_CHAP_ALGS_DEFAULT "5"

struct iscsi_login_config {
	const char *initiator_name;
	const char *target_name; /* NULL: discovery session */
	const char *chap_user, *chap_secret;	 /* we prove ourselves (one-way) */
	const char *mutual_user, *mutual_secret; /* the target proves itself (mutual) */
	const char *chap_algs; /* CHAP_A offer, e.g. "7,6,5"; NULL: the default */
	bool header_digest, data_digest; /* ask for CRC32C */
	uint32_t max_recv_dlen;
	uint32_t max_burst, first_burst;
	bool immediate_data, initial_r2t;
	unsigned max_outstanding_r2t;
};

/* What was agreed, valid once the login completed. */
struct iscsi_session_params {
	bool header_digest, data_digest;
	bool immediate_data, initial_r2t;
	uint32_t max_send_dlen; /* the target's MaxRecvDataSegmentLength */
	uint32_t max_recv_dlen;
	uint32_t max_burst, first_burst;
	unsigned max_outstanding_r2t;
	unsigned default_time2wait, default_time2retain;
	uint16_t tsih;
	uint32_t statsn; /* last StatSN seen */
	uint32_t expcmdsn, maxcmdsn;
	char target_alias[64];
};

enum iscsi_login_result {
	ISCSI_LOGIN_SEND = 0, /* build and send the next request */
	ISCSI_LOGIN_DONE = 1, /* full feature phase */
};

struct iscsi_login {
	const struct iscsi_login_config *cfg;
	struct iscsi_session_params p;
	uint8_t isid[6];
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;
	uint8_t stage; /* current stage: security or operational */
	uint8_t step;  /* within the stage */
	bool transit_ok; /* the target agreed to move on */
	/* CHAP */
	int chap_alg;
	uint8_t chap_id;
	uint8_t chap_chal[CHAP_MIN_CHALLENGE];
	uint8_t their_chal[CHAP_MAX_CHALLENGE];
	int their_chal_len;
	bool mutual;
	char not_understood[256]; /* target-offered keys we must answer */
	size_t nu_len;
	/* Outcome details */
	char error[160];
	char redirect[256]; /* TargetAddress after a redirection */
};

void iscsi_login_init(struct iscsi_login *l, const struct iscsi_login_config *cfg,
		      const uint8_t isid[6], uint16_t tsih, uint16_t cid, uint32_t cmdsn);
/* Fills bhs and the text data (cap bytes); sets *dlen. Returns 0 or -errno. */
int iscsi_login_request(struct iscsi_login *l, uint8_t bhs[ISCSI_BHS_LEN], char *data,
			size_t cap, uint32_t *dlen);
/*
 * Consumes one Login Response. Returns ISCSI_LOGIN_SEND, ISCSI_LOGIN_DONE,
 * or a negative errno with l->error set: -EACCES authentication failed,
 * -EREMCHG redirected (l->redirect holds the new address), -ENOENT target
 * not found, -EAGAIN target busy, -EPROTO malformed or unexpected answer.
 */
int iscsi_login_response(struct iscsi_login *l, const struct iscsi_hdr *h, const uint8_t *data,
			 uint32_t dlen);

#endif
