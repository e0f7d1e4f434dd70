// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "nvme_auth.h"
#include "nvme_auth_msg.h"
#include "nvme_cmd.h"
#include "nvme_conn.h"

void nvme_auth_describe(const struct nvme_auth_info *ai, char *out, size_t out_len)
{
	if (!ai->done)
		snprintf(out, out_len, "none");
	else
		snprintf(out, out_len, "DH-HMAC-CHAP %s %s %s", nvme_auth_hash_name(ai->hash_id),
			 nvme_auth_group_name(ai->group_id),
			 ai->bidirectional ? "bidirectional" : "unidirectional");
}

/* One transaction's state; wiped when it ends. */
struct txn {
	struct nvme_conn *c;
	const struct nvme_auth_cfg *cfg;
	const char *hostnqn, *subnqn;
	uint16_t tid;
	uint8_t buf[NVME_AUTH_RECV_LEN];
	uint8_t sess[NVME_AUTH_MAX_DH];
	size_t sess_len;
	uint8_t c2[NVME_AUTH_MAX_HASH];
	uint32_t s2;
	struct nvme_auth_msg chal;
	char *err;
	size_t err_len;
};

/* Says why the transaction failed, in the words every message here starts with. */
static void __attribute__((format(printf, 2, 3))) txn_err(struct txn *t, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(t->err, t->err_len, "DH-HMAC-CHAP: %s", why);
}

/* An Authentication Send or Receive (dir) that failed with ret. */
static void exec_failed(struct txn *t, const char *dir, int ret, const struct nvme_cqe *cqe)
{
	if (ret == -EIO)
		txn_err(t, "Authentication %s refused (status 0x%03x)", dir, cqe->status & 0x7ff);
	else
		txn_err(t, "Authentication %s: %s", dir, strerror(-ret));
}

/* Sends one message; report: say in err why it failed (not for a Failure2 after an error). */
static int auth_send(struct txn *t, const uint8_t *msg, size_t len, bool report)
{
	uint8_t sqe[NVME_SQE_LEN];
	struct nvme_cqe cqe;
	int ret;

	nvme_build_auth(sqe, true, (uint32_t)len);
	ret = nvme_conn_exec(t->c, sqe, msg, (uint32_t)len, NULL, 0, &cqe, NULL, NULL);
	if (ret && report)
		exec_failed(t, "Send", ret, &cqe);
	return ret;
}

/* Tells the controller the host gives up, and why; the error was said already. */
static int give_up(struct txn *t, uint8_t reason)
{
	uint8_t fail[NVME_AUTH_FAILURE2_LEN];

	nvme_auth_build_failure2(fail, t->tid, reason);
	auth_send(t, fail, sizeof(fail), false);
	return -EPROTO;
}

static int auth_recv(struct txn *t, struct nvme_auth_msg *m)
{
	uint8_t sqe[NVME_SQE_LEN], reason;
	unsigned hashes = t->cfg->hashes, groups = t->cfg->groups;
	struct nvme_cqe cqe;
	const char *why;
	int ret;

	memset(t->buf, 0, sizeof(t->buf));
	nvme_build_auth(sqe, false, sizeof(t->buf));
	ret = nvme_conn_exec(t->c, sqe, NULL, 0, t->buf, sizeof(t->buf), &cqe, NULL, NULL);
	if (ret) {
		exec_failed(t, "Receive", ret, &cqe);
		return ret;
	}
	ret = nvme_auth_parse(t->buf, sizeof(t->buf), t->tid, hashes, groups, m, &reason, &why);
	if (ret) {
		txn_err(t, "controller sent a bad message: %s", why);
		return give_up(t, reason);
	}
	if (m->kind == NVME_AUTH_MSG_FAILURE1) {
		txn_err(t, "the controller refused the host: %s%s",
			nvme_auth_fail_name(m->rescode_exp),
			m->rescode_exp == NVME_AUTH_FAIL_FAILED
				? " (wrong dhchap_secret, or the host is not allowed?)"
				: "");
		return -EACCES;
	}
	return 0;
}

/* The challenge as the response covers it: augmented with the session key under a DH group. */
static int challenge_for(struct txn *t, const uint8_t *c, uint8_t *out)
{
	if (!t->sess_len) {
		memcpy(out, c, t->chal.hl);
		return 0;
	}
	return dhchap_augment(t->chal.hash_id, t->sess, t->sess_len, c, out);
}

static int reply(struct txn *t)
{
	const struct nvme_auth_cfg *cfg = t->cfg;
	uint8_t key[64], ch[NVME_AUTH_MAX_HASH], resp[NVME_AUTH_MAX_HASH];
	uint8_t pub[NVME_AUTH_MAX_DH], msg[NVME_AUTH_REPLY_MAX];
	struct dhchap_dh *dh = NULL;
	int klen, publen = 0, len, ret;

	if (t->chal.dhvlen) {
		publen = dhchap_dh_new(t->chal.group_id, &dh, pub, sizeof(pub));
		ret = publen < 0 ? publen
				 : dhchap_dh_secret(dh, t->chal.dhv, t->chal.dhvlen, t->sess,
						    sizeof(t->sess));
		dhchap_dh_free(dh);
		if (ret < 0) {
			txn_err(t, "%s exchange failed%s", nvme_auth_group_name(t->chal.group_id),
				ret == -EPROTO ? ": the controller's DH value is invalid" : "");
			return ret == -EPROTO ? give_up(t, NVME_AUTH_FAIL_INCORRECT_PAYLOAD) : -EIO;
		}
		t->sess_len = (size_t)ret;
	}
	klen = dhchap_transform(&cfg->host_key, t->hostnqn, key);
	ret = klen < 0 ? klen : challenge_for(t, t->chal.cval, ch);
	if (!ret)
		ret = dhchap_response(t->chal.hash_id, key, (unsigned)klen, ch, t->chal.seqnum,
				      t->tid, t->hostnqn, t->subnqn, 0, resp);
	if (!ret && cfg->ctrl_key_set) {
		ret = dhchap_random(t->c2, t->chal.hl);
		do {
			if (!ret)
				ret = dhchap_random(&t->s2, sizeof(t->s2));
		} while (!ret && !t->s2); /* S2 0 means "no controller authentication" */
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (ret) {
		txn_err(t, "cannot compute the response");
		return -EIO;
	}
	len = nvme_auth_build_reply(msg, sizeof(msg), t->tid, t->chal.hl, resp,
				    cfg->ctrl_key_set ? t->c2 : NULL, t->s2, pub, (uint16_t)publen);
	return len < 0 ? len : auth_send(t, msg, (size_t)len, true);
}

/* Success1's response against the one the controller key gives. */
static int check_controller(struct txn *t, const struct nvme_auth_msg *s1)
{
	uint8_t key[64], ch[NVME_AUTH_MAX_HASH], want[NVME_AUTH_MAX_HASH];
	uint8_t out[NVME_AUTH_SUCCESS2_LEN];
	int klen, ret, good;

	klen = dhchap_transform(&t->cfg->ctrl_key, t->subnqn, key);
	ret = klen < 0 ? klen : challenge_for(t, t->c2, ch);
	if (!ret)
		ret = dhchap_response(t->chal.hash_id, key, (unsigned)klen, ch, t->s2, t->tid,
				      t->hostnqn, t->subnqn, 1, want);
	OPENSSL_cleanse(key, sizeof(key));
	good = !ret && s1->rval && s1->hl == t->chal.hl && !CRYPTO_memcmp(want, s1->rval, s1->hl);
	if (good) {
		nvme_auth_build_success2(out, t->tid);
		return auth_send(t, out, NVME_AUTH_SUCCESS2_LEN, true);
	}
	txn_err(t, "the host refused the controller: %s",
		!s1->rval ? "it did not answer the host's challenge"
			  : "its response does not match dhchap_ctrl_secret");
	give_up(t, NVME_AUTH_FAIL_FAILED);
	return -EACCES;
}

static int transact(struct txn *t, struct nvme_auth_info *ai)
{
	uint8_t neg[NVME_AUTH_NEGOTIATE_LEN];
	struct nvme_auth_msg s1 = {0};
	int ret;

	nvme_auth_build_negotiate(neg, t->tid, t->cfg->hashes, t->cfg->groups);
	ret = auth_send(t, neg, sizeof(neg), true);
	if (!ret)
		ret = auth_recv(t, &t->chal);
	if (!ret && t->chal.kind != NVME_AUTH_MSG_CHALLENGE) {
		txn_err(t, "controller skipped its challenge");
		ret = give_up(t, NVME_AUTH_FAIL_INCORRECT_MESSAGE);
	}
	if (!ret)
		ret = reply(t);
	if (!ret)
		ret = auth_recv(t, &s1);
	if (!ret && s1.kind != NVME_AUTH_MSG_SUCCESS1) {
		txn_err(t, "controller sent a second challenge");
		ret = give_up(t, NVME_AUTH_FAIL_INCORRECT_MESSAGE);
	}
	if (!ret && s1.hl != t->chal.hl) {
		txn_err(t, "success1 of another hash length");
		ret = give_up(t, NVME_AUTH_FAIL_HASH_UNUSABLE);
	}
	if (!ret && t->cfg->ctrl_key_set)
		ret = check_controller(t, &s1);
	if (ret)
		return ret;
	ai->done = true;
	ai->bidirectional = t->cfg->ctrl_key_set;
	ai->hash_id = t->chal.hash_id;
	ai->group_id = t->chal.group_id;
	return 0;
}

int nvme_auth_run(struct nvme_conn *c, const struct nvme_auth_cfg *cfg, const char *hostnqn,
		  const char *subnqn, struct nvme_auth_info *ai, char *err, size_t err_len)
{
	struct txn *t;
	int ret;

	memset(ai, 0, sizeof(*ai));
	if (!cfg->host_key_set) {
		snprintf(err, err_len,
			 "the controller requires DH-HMAC-CHAP authentication: set dhchap_secret");
		return -EACCES;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->c = c;
	t->cfg = cfg;
	t->hostnqn = hostnqn;
	t->subnqn = subnqn;
	t->tid = c->auth_tid++;
	t->err = err;
	t->err_len = err_len;
	ret = transact(t, ai);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
	return ret;
}
