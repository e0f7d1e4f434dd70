// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "login.h"
#include "text.h"

enum { SEC_START, SEC_CHAP_A, SEC_CHAP_R, SEC_TRANSIT };
enum { OP_KEYS, OP_TRANSIT };

#define RFC_MAX_RECV_DLEN 8192
#define MAX_DLEN ((1u << 24) - 1)

static int fail(struct iscsi_login *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct iscsi_login *l, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->error, sizeof(l->error), fmt, ap);
	va_end(ap);
	return err;
}

static bool want_chap(const struct iscsi_login *l)
{
	return l->cfg->chap_user && l->cfg->chap_secret;
}

void iscsi_login_init(struct iscsi_login *l, const struct iscsi_login_config *cfg,
		      const uint8_t isid[6], uint16_t tsih, uint16_t cid, uint32_t cmdsn)
{
	memset(l, 0, sizeof(*l));
	l->cfg = cfg;
	memcpy(l->isid, isid, 6);
	l->cid = cid;
	l->cmdsn = cmdsn;
	l->itt = 0;
	l->stage = ISCSI_STAGE_SECURITY;
	l->step = SEC_START;
	l->mutual = cfg->mutual_user && cfg->mutual_secret;
	/* RFC 7143 defaults, which stand for any key the target leaves alone. */
	l->p.tsih = tsih;
	l->p.max_send_dlen = RFC_MAX_RECV_DLEN;
	l->p.max_recv_dlen = cfg->max_recv_dlen;
	l->p.max_burst = 262144;
	l->p.first_burst = 65536;
	l->p.immediate_data = true;
	l->p.initial_r2t = true;
	l->p.max_outstanding_r2t = 1;
	l->p.default_time2wait = 2;
	l->p.default_time2retain = 20;
}

static int add_operational_keys(struct iscsi_login *l, char *d, size_t cap, size_t *len)
{
	const struct iscsi_login_config *c = l->cfg;
	int ret = 0;

	ret |= iscsi_text_add(d, cap, len, "HeaderDigest", "%s",
			      c->header_digest ? "CRC32C,None" : "None");
	ret |= iscsi_text_add(d, cap, len, "DataDigest", "%s",
			      c->data_digest ? "CRC32C,None" : "None");
	ret |= iscsi_text_add(d, cap, len, "MaxRecvDataSegmentLength", "%u", c->max_recv_dlen);
	if (c->target_name) {
		ret |= iscsi_text_add(d, cap, len, "InitialR2T", "%s",
				      c->initial_r2t ? "Yes" : "No");
		ret |= iscsi_text_add(d, cap, len, "ImmediateData", "%s",
				      c->immediate_data ? "Yes" : "No");
		ret |= iscsi_text_add(d, cap, len, "MaxBurstLength", "%u", c->max_burst);
		ret |= iscsi_text_add(d, cap, len, "FirstBurstLength", "%u", c->first_burst);
		ret |= iscsi_text_add(d, cap, len, "MaxOutstandingR2T", "%u",
				      c->max_outstanding_r2t);
		ret |= iscsi_text_add(d, cap, len, "MaxConnections", "1");
		ret |= iscsi_text_add(d, cap, len, "DataPDUInOrder", "Yes");
		ret |= iscsi_text_add(d, cap, len, "DataSequenceInOrder", "Yes");
	}
	ret |= iscsi_text_add(d, cap, len, "DefaultTime2Wait", "2");
	ret |= iscsi_text_add(d, cap, len, "DefaultTime2Retain", "0");
	ret |= iscsi_text_add(d, cap, len, "IFMarker", "No");
	ret |= iscsi_text_add(d, cap, len, "OFMarker", "No");
	ret |= iscsi_text_add(d, cap, len, "ErrorRecoveryLevel", "0");
	return ret ? -ENOSPC : 0;
}

int iscsi_login_request(struct iscsi_login *l, uint8_t bhs[ISCSI_BHS_LEN], char *d, size_t cap,
			uint32_t *dlen)
{
	const struct iscsi_login_config *c = l->cfg;
	uint8_t csg = l->stage, nsg = 0;
	bool transit = false;
	size_t len = 0;
	int ret = 0;

	if (l->nu_len) {
		if (l->nu_len > cap)
			return -ENOSPC;
		memcpy(d, l->not_understood, l->nu_len);
		len = l->nu_len;
		l->nu_len = 0;
	}
	if (l->stage == ISCSI_STAGE_SECURITY) {
		switch (l->step) {
		case SEC_START:
			ret |= iscsi_text_add(d, cap, &len, "InitiatorName", "%s",
					      c->initiator_name);
			ret |= iscsi_text_add(d, cap, &len, "SessionType", "%s",
					      c->target_name ? "Normal" : "Discovery");
			if (c->target_name)
				ret |= iscsi_text_add(d, cap, &len, "TargetName", "%s",
						      c->target_name);
			ret |= iscsi_text_add(d, cap, &len, "AuthMethod", "%s",
					      want_chap(l) ? "CHAP,None" : "None");
			transit = !want_chap(l);
			break;
		case SEC_CHAP_A:
			ret |= iscsi_text_add(d, cap, &len, "CHAP_A", "%s",
					      c->chap_algs ? c->chap_algs : ISCSI_CHAP_ALGS_DEFAULT);
			break;
		case SEC_CHAP_R: {
			uint8_t resp[CHAP_MAX_DIGEST];
			char hex[2 * CHAP_MAX_CHALLENGE + 3];
			int n = chap_response(l->chap_alg, l->chap_id, c->chap_secret,
					      l->their_chal, l->their_chal_len, resp);

			if (n < 0)
				return fail(l, n, "CHAP: cannot compute the %s digest",
					    chap_alg_name(l->chap_alg));
			chap_encode_hex(resp, n, hex);
			ret |= iscsi_text_add(d, cap, &len, "CHAP_N", "%s", c->chap_user);
			ret |= iscsi_text_add(d, cap, &len, "CHAP_R", "%s", hex);
			if (l->mutual) {
				/* Never equal to the target's: that would let it reflect ours. */
				do {
					if (RAND_bytes(l->chap_chal, sizeof(l->chap_chal)) != 1)
						return fail(l, -EIO, "CHAP: no random bytes");
				} while (l->their_chal_len == (int)sizeof(l->chap_chal) &&
					 !memcmp(l->chap_chal, l->their_chal,
						 sizeof(l->chap_chal)));
				if (RAND_bytes(&l->chap_id, 1) != 1)
					return fail(l, -EIO, "CHAP: no random bytes");
				chap_encode_hex(l->chap_chal, sizeof(l->chap_chal), hex);
				ret |= iscsi_text_add(d, cap, &len, "CHAP_I", "%u", l->chap_id);
				ret |= iscsi_text_add(d, cap, &len, "CHAP_C", "%s", hex);
			}
			transit = true;
			break;
		}
		default:
			transit = true;
			break;
		}
		nsg = ISCSI_STAGE_OPERATIONAL;
	} else {
		if (l->step == OP_KEYS)
			ret = add_operational_keys(l, d, cap, &len);
		transit = true;
		nsg = ISCSI_STAGE_FULL;
	}
	if (ret)
		return fail(l, -ENOSPC, "login request too large");
	iscsi_build_login(bhs, l->isid, l->p.tsih, l->itt, l->cid, csg, nsg, transit, l->cmdsn,
			  l->p.statsn + 1, len);
	*dlen = len;
	return 0;
}

static bool yes(const char *v)
{
	return !strcmp(v, "Yes");
}

static bool is_answer_refusal(const char *v)
{
	return !strcmp(v, "NotUnderstood") || !strcmp(v, "Irrelevant") || !strcmp(v, "Reject");
}

static int parse_num(struct iscsi_login *l, const char *key, const char *v, uint32_t min,
		     uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (is_answer_refusal(v))
		return 0; /* keep the default */
	n = strtoul(v, &end, 0);
	if (*end || !*v || n < min || n > max)
		return fail(l, -EPROTO, "target answered %s=%s (allowed %u..%u)", key, v, min, max);
	*out = n;
	return 0;
}

static int digest_answer(struct iscsi_login *l, const char *key, const char *v, bool asked,
			 bool *out)
{
	if (!strcmp(v, "None") || is_answer_refusal(v)) {
		*out = false;
		return 0;
	}
	if (!strcmp(v, "CRC32C") && asked) {
		*out = true;
		return 0;
	}
	return fail(l, -EPROTO, "target answered %s=%s, not one we offered", key, v);
}

/* Keys of the operational stage, and declarative ones that may come any time. */
static int handle_key(struct iscsi_login *l, const char *k, const char *v)
{
	const struct iscsi_login_config *c = l->cfg;
	struct iscsi_session_params *p = &l->p;
	uint32_t n;
	int ret = 0;

	if (!strcmp(k, "HeaderDigest"))
		return digest_answer(l, k, v, c->header_digest, &p->header_digest);
	if (!strcmp(k, "DataDigest"))
		return digest_answer(l, k, v, c->data_digest, &p->data_digest);
	if (!strcmp(k, "MaxRecvDataSegmentLength"))
		return parse_num(l, k, v, 512, MAX_DLEN, &p->max_send_dlen);
	if (!strcmp(k, "MaxBurstLength")) {
		n = p->max_burst;
		ret = parse_num(l, k, v, 512, MAX_DLEN, &n);
		p->max_burst = n < c->max_burst ? n : c->max_burst;
		return ret;
	}
	if (!strcmp(k, "FirstBurstLength")) {
		n = p->first_burst;
		ret = parse_num(l, k, v, 512, MAX_DLEN, &n);
		p->first_burst = n < c->first_burst ? n : c->first_burst;
		return ret;
	}
	if (!strcmp(k, "MaxOutstandingR2T")) {
		n = p->max_outstanding_r2t;
		ret = parse_num(l, k, v, 1, 65535, &n);
		p->max_outstanding_r2t = n < c->max_outstanding_r2t ? n : c->max_outstanding_r2t;
		return ret;
	}
	if (!strcmp(k, "ImmediateData")) {
		p->immediate_data = c->immediate_data && (is_answer_refusal(v) ? true : yes(v));
		return 0;
	}
	if (!strcmp(k, "InitialR2T")) {
		p->initial_r2t = c->initial_r2t || (is_answer_refusal(v) ? true : yes(v));
		return 0;
	}
	if (!strcmp(k, "DefaultTime2Wait"))
		return parse_num(l, k, v, 0, 3600, &p->default_time2wait);
	if (!strcmp(k, "DefaultTime2Retain"))
		return parse_num(l, k, v, 0, 3600, &p->default_time2retain);
	if (!strcmp(k, "ErrorRecoveryLevel")) {
		if (strcmp(v, "0") && !is_answer_refusal(v))
			return fail(l, -EPROTO, "target wants ErrorRecoveryLevel=%s; only 0 is "
						"supported", v);
		return 0;
	}
	if (!strcmp(k, "TargetAlias")) {
		snprintf(p->target_alias, sizeof(p->target_alias), "%s", v);
		return 0;
	}
	if (!strcmp(k, "TargetPortalGroupTag") || !strcmp(k, "TargetAddress") ||
	    !strcmp(k, "MaxConnections") || !strcmp(k, "DataPDUInOrder") ||
	    !strcmp(k, "DataSequenceInOrder") || !strcmp(k, "IFMarker") ||
	    !strcmp(k, "OFMarker") || !strcmp(k, "AuthMethod") || !strcmp(k, "SessionType") ||
	    !strcmp(k, "TargetName") || !strcmp(k, "InitiatorName"))
		return 0;
	if (is_answer_refusal(v))
		return 0;
	/* A key the target proposes that we do not know: answer NotUnderstood. */
	if (iscsi_text_add(l->not_understood, sizeof(l->not_understood), &l->nu_len, k,
			   "NotUnderstood"))
		return fail(l, -EPROTO, "too many unknown keys from the target");
	return 0;
}

static bool alg_offered(const struct iscsi_login *l, int alg)
{
	const char *offer = l->cfg->chap_algs ? l->cfg->chap_algs : ISCSI_CHAP_ALGS_DEFAULT;
	char buf[8];

	snprintf(buf, sizeof(buf), "%d", alg);
	for (const char *p = offer; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, buf, strlen(buf)) && (p[strlen(buf)] == ',' || !p[strlen(buf)]))
			return true;
	return false;
}

static int handle_chap_challenge(struct iscsi_login *l, const struct iscsi_kv *kv, int n)
{
	const char *a = iscsi_text_get(kv, n, "CHAP_A"), *i = iscsi_text_get(kv, n, "CHAP_I");
	const char *c = iscsi_text_get(kv, n, "CHAP_C");
	char *end;
	long id;

	if (!a || !i || !c)
		return fail(l, -EPROTO, "CHAP: target sent no CHAP_A/CHAP_I/CHAP_C");
	l->chap_alg = atoi(a);
	if (!chap_digest_len(l->chap_alg) || !alg_offered(l, l->chap_alg))
		return fail(l, -EACCES, "CHAP: target chose algorithm %s, which we did not offer",
			    a);
	id = strtol(i, &end, 0);
	if (*end || id < 0 || id > 255)
		return fail(l, -EPROTO, "CHAP: bad CHAP_I=%s", i);
	l->chap_id = id;
	l->their_chal_len = chap_decode(c, l->their_chal, sizeof(l->their_chal));
	if (l->their_chal_len < 0)
		return fail(l, -EPROTO, "CHAP: undecodable CHAP_C");
	if (l->their_chal_len < CHAP_MIN_CHALLENGE)
		return fail(l, -EACCES, "CHAP: target's challenge of %d bytes is too weak (< %d)",
			    l->their_chal_len, CHAP_MIN_CHALLENGE);
	return 0;
}

static int handle_chap_mutual(struct iscsi_login *l, const struct iscsi_kv *kv, int n)
{
	const char *name = iscsi_text_get(kv, n, "CHAP_N"), *r = iscsi_text_get(kv, n, "CHAP_R");
	uint8_t want[CHAP_MAX_DIGEST], got[CHAP_MAX_DIGEST];
	int wl, gl;

	if (!name || !r)
		return fail(l, -EACCES, "mutual CHAP: the target did not authenticate itself");
	if (strcmp(name, l->cfg->mutual_user))
		return fail(l, -EACCES, "mutual CHAP: target calls itself '%s', expected '%s'",
			    name, l->cfg->mutual_user);
	wl = chap_response(l->chap_alg, l->chap_id, l->cfg->mutual_secret, l->chap_chal,
			   sizeof(l->chap_chal), want);
	gl = chap_decode(r, got, sizeof(got));
	if (wl < 0 || gl != wl || CRYPTO_memcmp(want, got, wl))
		return fail(l, -EACCES, "mutual CHAP: the target's response is wrong (wrong "
					"mutual secret on either side?)");
	return 0;
}

static int status_error(struct iscsi_login *l, uint8_t cls, uint8_t detail,
			const struct iscsi_kv *kv, int n)
{
	const char *addr;

	switch (cls) {
	case 1:
		addr = iscsi_text_get(kv, n, "TargetAddress");
		if (!addr)
			return fail(l, -EPROTO, "redirected without a TargetAddress");
		snprintf(l->redirect, sizeof(l->redirect), "%s", addr);
		return fail(l, -EREMCHG, "target %s redirects to %s",
			    detail == 2 ? "permanently" : "temporarily", addr);
	case 2:
		switch (detail) {
		case 1:
			return fail(l, -EACCES, "authentication failed: wrong CHAP user or secret, "
						"or the target's ACL does not allow this "
						"initiator");
		case 2:
			return fail(l, -EACCES, "authorization failure: the target refuses this "
						"initiator");
		case 3:
		case 4:
			return fail(l, -ENOENT, "target not found (or removed)");
		default:
			return fail(l, -EPROTO, "login refused: initiator error 0x02%02x", detail);
		}
	case 3:
		if (detail == 1 || detail == 2)
			return fail(l, -EAGAIN, "target busy or out of resources (0x03%02x)",
				    detail);
		return fail(l, -EIO, "target error 0x03%02x", detail);
	default:
		return fail(l, -EPROTO, "unknown login status 0x%02x%02x", cls, detail);
	}
}

int iscsi_login_response(struct iscsi_login *l, const struct iscsi_hdr *h, const uint8_t *data,
			 uint32_t dlen)
{
	struct iscsi_kv kv[ISCSI_TEXT_MAX_PAIRS];
	char *text;
	uint8_t cls = h->f36 >> 24, detail = (h->f36 >> 16) & 0xff;
	bool transit = h->flags & ISCSI_LOGIN_TRANSIT;
	uint8_t csg = (h->flags >> 2) & 3, nsg = h->flags & 3;
	int n, ret = 0;

	if (h->opcode != ISCSI_OP_LOGIN_RSP)
		return fail(l, -EPROTO, "expected a Login Response, got opcode 0x%02x", h->opcode);
	if (h->itt != l->itt)
		return fail(l, -EPROTO, "Login Response for another task");
	if (h->flags & ISCSI_LOGIN_CONTINUE)
		return fail(l, -EPROTO, "continued login responses are not supported");
	text = malloc(dlen + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, data, dlen);
	n = iscsi_text_parse(text, dlen, kv, ISCSI_TEXT_MAX_PAIRS);
	if (n < 0) {
		ret = fail(l, -EPROTO, "malformed login text");
		goto out;
	}
	if (cls) {
		ret = status_error(l, cls, detail, kv, n);
		goto out;
	}
	if (csg != l->stage) {
		ret = fail(l, -EPROTO, "target answered for stage %u, we are in %u", csg, l->stage);
		goto out;
	}
	l->p.statsn = h->f24;
	l->p.expcmdsn = h->f28;
	l->p.maxcmdsn = h->f32;
	l->p.tsih = (uint16_t)(h->lun[6] << 8 | h->lun[7]);

	if (l->stage == ISCSI_STAGE_SECURITY) {
		const char *am = iscsi_text_get(kv, n, "AuthMethod");

		switch (l->step) {
		case SEC_START:
			if (am && !strcmp(am, "CHAP") && want_chap(l)) {
				l->step = SEC_CHAP_A;
				goto out;
			}
			if (am && strcmp(am, "None")) {
				ret = fail(l, -EACCES, "target requires AuthMethod=%s: configure "
						       "CHAP credentials",
					   am);
				goto out;
			}
			if (l->mutual) {
				ret = fail(l, -EACCES, "mutual CHAP is configured but the target "
						       "does not authenticate (AuthMethod=None)");
				goto out;
			}
			l->step = SEC_TRANSIT;
			break;
		case SEC_CHAP_A:
			ret = handle_chap_challenge(l, kv, n);
			if (!ret)
				l->step = SEC_CHAP_R;
			goto out;
		case SEC_CHAP_R:
			if (l->mutual) {
				ret = handle_chap_mutual(l, kv, n);
				if (ret)
					goto out;
			}
			l->step = SEC_TRANSIT;
			break;
		default:
			break;
		}
		for (int i = 0; i < n && !ret; i++)
			if (strncmp(kv[i].key, "CHAP_", 5))
				ret = handle_key(l, kv[i].key, kv[i].val);
		if (!ret && transit) {
			if (nsg != ISCSI_STAGE_OPERATIONAL && nsg != ISCSI_STAGE_FULL) {
				ret = fail(l, -EPROTO, "target moves to stage %u", nsg);
				goto out;
			}
			l->stage = ISCSI_STAGE_OPERATIONAL;
			l->step = OP_KEYS;
			if (nsg == ISCSI_STAGE_FULL)
				ret = ISCSI_LOGIN_DONE;
		}
		goto out;
	}

	for (int i = 0; i < n && !ret; i++)
		ret = handle_key(l, kv[i].key, kv[i].val);
	if (ret)
		goto out;
	if (transit && nsg == ISCSI_STAGE_FULL) {
		if (l->nu_len) {
			ret = fail(l, -EPROTO, "target ended the login with keys unanswered");
			goto out;
		}
		ret = ISCSI_LOGIN_DONE;
	} else {
		l->step = OP_TRANSIT;
	}
out:
	free(text);
	return ret;
}
