// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "target_spec.h"
#include "dhchap.h"
#include "nvme_tls_psk.h"
#include "tcp.h"
#include "units.h"

static int set_str(char *dst, size_t cap, const char *val, const char *key, char *err,
		   unsigned err_len)
{
	if (!*val || strlen(val) >= cap) {
		snprintf(err, err_len, "%s must be 1 to %zu characters", key, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

#define MAX_ADDRS 8

/*
 * A portal or address list: "a, b" or "a b" in one value, or the key
 * repeated (as a spec must: commas part its keys). Kept space-separated.
 */
static int set_addrs(char *dst, size_t cap, const char *val, const char *key, char *err,
		     unsigned err_len)
{
	size_t used = strlen(dst);
	unsigned n = nu_addr_nth(dst, 0, NULL, 0);

	for (const char *p = val;;) {
		size_t w;

		p += strspn(p, ", \t");
		w = strcspn(p, ", \t");
		if (!w)
			break;
		if (++n > MAX_ADDRS || used + !!used + w >= cap) {
			snprintf(err, err_len, "%s: at most %d addresses in %zu characters", key,
				 MAX_ADDRS, cap - 1);
			return -EINVAL;
		}
		if (used)
			dst[used++] = ' ';
		memcpy(dst + used, p, w);
		used += w;
		dst[used] = '\0';
		p += w;
	}
	if (!n) {
		snprintf(err, err_len, "%s needs an address", key);
		return -EINVAL;
	}
	return 0;
}

static int set_bool(bool *dst, const char *val, const char *key, char *err, unsigned err_len)
{
	if (!nu_parse_bool(val, dst))
		return 0;
	snprintf(err, err_len, "%s must be yes or no, not '%s'", key, val);
	return -EINVAL;
}

static int set_digest(bool *dst, const char *val, const char *key, char *err, unsigned err_len)
{
	if (!strcasecmp(val, "crc32c")) {
		*dst = true;
		return 0;
	}
	if (!strcasecmp(val, "none")) {
		*dst = false;
		return 0;
	}
	snprintf(err, err_len, "%s must be crc32c or none, not '%s'", key, val);
	return -EINVAL;
}

static int set_len(uint32_t *dst, const char *val, const char *key, char *err, unsigned err_len)
{
	uint64_t v;

	if (nu_parse_size(val, &v) || v < 512 || v > 16777215) {
		snprintf(err, err_len, "%s must be a size from 512 to 16777215, not '%s'", key,
			 val);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

int nu_iscsi_key_set(struct iscsi_target_config *t, const char *k, const char *v, char *err,
		     unsigned err_len)
{
	if (!strcmp(k, "portal"))
		return set_addrs(t->portal, sizeof(t->portal), v, k, err, err_len);
	if (!strcmp(k, "target"))
		return set_str(t->target, sizeof(t->target), v, k, err, err_len);
	if (!strcmp(k, "initiator"))
		return set_str(t->initiator, sizeof(t->initiator), v, k, err, err_len);
	if (!strcmp(k, "chap_user"))
		return set_str(t->chap_user, sizeof(t->chap_user), v, k, err, err_len);
	if (!strcmp(k, "chap_secret"))
		return set_str(t->chap_secret, sizeof(t->chap_secret), v, k, err, err_len);
	if (!strcmp(k, "mutual_user"))
		return set_str(t->mutual_user, sizeof(t->mutual_user), v, k, err, err_len);
	if (!strcmp(k, "mutual_secret"))
		return set_str(t->mutual_secret, sizeof(t->mutual_secret), v, k, err, err_len);
	if (!strcmp(k, "chap_algs")) {
		/* "7,6,5" in the config file, "7:6:5" where commas separate keys. */
		int ret = set_str(t->chap_algs, sizeof(t->chap_algs), v, k, err, err_len);

		for (char *p = t->chap_algs; !ret && *p; p++) {
			if (*p == ':')
				*p = ',';
			if (!strchr("5678,", *p) || (*p == ',' && (p[1] == ',' || !p[1]))) {
				snprintf(err, err_len, "chap_algs is a list of 5 (MD5), 6 (SHA-1), "
						       "7 (SHA-256), 8 (SHA3-256)");
				ret = -EINVAL;
			}
		}
		if (!ret && t->chap_algs[0] == ',')
			ret = -EINVAL;
		return ret;
	}
	if (!strcmp(k, "header_digest"))
		return set_digest(&t->header_digest, v, k, err, err_len);
	if (!strcmp(k, "data_digest"))
		return set_digest(&t->data_digest, v, k, err, err_len);
	if (!strcmp(k, "immediate_data"))
		return set_bool(&t->immediate_data, v, k, err, err_len);
	if (!strcmp(k, "initial_r2t"))
		return set_bool(&t->initial_r2t, v, k, err, err_len);
	if (!strcmp(k, "first_burst"))
		return set_len(&t->first_burst, v, k, err, err_len);
	if (!strcmp(k, "max_burst"))
		return set_len(&t->max_burst, v, k, err, err_len);
	if (!strcmp(k, "max_recv_dlen"))
		return set_len(&t->max_recv_dlen, v, k, err, err_len);
	if (!strcmp(k, "command_timeout")) {
		if (nu_parse_uint(v, 1, 3600, &t->command_timeout_s)) {
			snprintf(err, err_len, "command_timeout is 1 to 3600 seconds, not '%s'", v);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, err_len, "unknown key '%s'", k);
	return -EINVAL;
}

/* "k=v,k=v" through a key setter. */
static int spec_each(const char *spec, int (*set)(void *t, const char *k, const char *v,
						 char *err, unsigned err_len),
		     void *t, char *err, unsigned err_len)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, err_len, "'%s' is not key=value", tok);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		ret = set(t, tok, eq + 1, err, err_len);
	}
	free(copy);
	return ret;
}

static int iscsi_set(void *t, const char *k, const char *v, char *err, unsigned err_len)
{
	return nu_iscsi_key_set(t, k, v, err, err_len);
}

int nu_iscsi_spec_parse(const char *spec, struct iscsi_target_config *t, char *err,
			unsigned err_len)
{
	int ret;

	iscsi_target_config_defaults(t);
	ret = spec_each(spec, iscsi_set, t, err, err_len);
	if (ret)
		return ret;
	if (!t->portal[0] || !t->target[0]) {
		snprintf(err, err_len, "portal= and target= are required");
		return -EINVAL;
	}
	if (!t->chap_user[0] != !t->chap_secret[0] || !t->mutual_user[0] != !t->mutual_secret[0]) {
		snprintf(err, err_len, "a CHAP user needs its secret and the other way round");
		return -EINVAL;
	}
	if (t->mutual_user[0] && !t->chap_user[0]) {
		snprintf(err, err_len, "mutual CHAP needs one-way CHAP (chap_user) too");
		return -EINVAL;
	}
	if (t->mutual_secret[0] && !strcmp(t->mutual_secret, t->chap_secret)) {
		/* RFC 7143 9.2.1: the two directions must not share a secret. */
		snprintf(err, err_len, "mutual_secret must differ from chap_secret");
		return -EINVAL;
	}
	if (t->first_burst > t->max_burst) {
		snprintf(err, err_len, "first_burst may not exceed max_burst");
		return -EINVAL;
	}
	return 0;
}

static int set_secs(unsigned *dst, const char *val, const char *key, unsigned max, char *err,
		    unsigned err_len)
{
	if (nu_parse_uint(val, 1, max, dst)) {
		snprintf(err, err_len, "%s is 1 to %u seconds, not '%s'", key, max, val);
		return -EINVAL;
	}
	return 0;
}

/* A DHHC-1 secret, checked here so that a bad one is an error at its line; never echoed. */
static int set_dhchap_key(struct nvme_target_config *t, const char *k, const char *v,
			  char *err, unsigned err_len)
{
	char *dst = strcmp(k, "dhchap_secret") ? t->dhchap_ctrl_secret : t->dhchap_secret;
	struct dhchap_key key;
	const char *why;
	int ret;

	if (strlen(v) >= sizeof(t->dhchap_secret) || dhchap_key_parse(v, &key, &why)) {
		snprintf(err, err_len, "%s: %s", k,
			 strlen(v) >= sizeof(t->dhchap_secret) ? "too long for a DHHC-1 secret" : why);
		return -EINVAL;
	}
	ret = set_str(dst, sizeof(t->dhchap_secret), v, k, err, err_len);
	memset(&key, 0, sizeof(key));
	return ret;
}

/* An NVMeTLSkey-1 configured PSK, checked here so a bad one is an error at its line; never echoed. */
static int set_tls_key(struct nvme_target_config *t, const char *v, char *err, unsigned err_len)
{
	struct nvme_tls_key key;
	const char *why = "too long for an NVMeTLSkey-1 key";
	int ret;

	if (strlen(v) >= sizeof(t->tls_key) || nvme_tls_key_parse(v, &key, &why)) {
		snprintf(err, err_len, "tls_key: %s", why);
		return -EINVAL;
	}
	ret = set_str(t->tls_key, sizeof(t->tls_key), v, "tls_key", err, err_len);
	memset(&key, 0, sizeof(key));
	return ret;
}

static int set_tls(struct nvme_target_config *t, const char *v, char *err, unsigned err_len)
{
	bool on;

	if (!nu_parse_bool(v, &on))
		t->tls = on ? NVME_TLS_REQUIRED : NVME_TLS_OFF;
	else if (!strcmp(v, "required"))
		t->tls = NVME_TLS_REQUIRED;
	else if (!strcmp(v, "preferred"))
		t->tls = NVME_TLS_PREFERRED;
	else {
		snprintf(err, err_len, "tls is no, required (yes) or preferred, not '%s'", v);
		return -EINVAL;
	}
	return 0;
}

int nu_nvme_key_set(struct nvme_target_config *t, const char *k, const char *v, char *err,
		    unsigned err_len)
{
	if (!strcmp(k, "address"))
		return set_addrs(t->address, sizeof(t->address), v, k, err, err_len);
	if (!strcmp(k, "subsystem"))
		return set_str(t->subnqn, sizeof(t->subnqn), v, k, err, err_len);
	if (!strcmp(k, "host_nqn"))
		return set_str(t->hostnqn, sizeof(t->hostnqn), v, k, err, err_len);
	if (!strcmp(k, "host_id")) {
		int ret = set_str(t->hostid, sizeof(t->hostid), v, k, err, err_len);

		if (!ret && (strlen(v) != 36 || strspn(v, "0123456789abcdefABCDEF-") != 36)) {
			snprintf(err, err_len, "host_id must be a UUID, not '%s'", v);
			ret = -EINVAL;
		}
		return ret;
	}
	if (!strcmp(k, "header_digest"))
		return set_digest(&t->header_digest, v, k, err, err_len);
	if (!strcmp(k, "data_digest"))
		return set_digest(&t->data_digest, v, k, err, err_len);
	if (!strcmp(k, "discover"))
		return set_bool(&t->discover_all, v, k, err, err_len);
	if (!strcmp(k, "keep_alive_timeout"))
		return set_secs(&t->kato_s, v, k, 3600, err, err_len);
	if (!strcmp(k, "ctrl_loss_timeout"))
		return set_secs(&t->ctrl_loss_tmo_s, v, k, 86400, err, err_len);
	if (!strcmp(k, "reconnect_delay"))
		return set_secs(&t->reconnect_delay_s, v, k, 3600, err, err_len);
	if (!strcmp(k, "command_timeout"))
		return set_secs(&t->command_timeout_s, v, k, 3600, err, err_len);
	if (!strcmp(k, "dhchap_secret") || !strcmp(k, "dhchap_ctrl_secret"))
		return set_dhchap_key(t, k, v, err, err_len);
	if (!strcmp(k, "dhchap_hashes") && nvme_auth_hashes_parse(v, &t->dhchap_hashes)) {
		snprintf(err, err_len, "dhchap_hashes is a list of sha256, sha384, sha512, not '%s'",
			 v);
		return -EINVAL;
	}
	if (!strcmp(k, "dhchap_dhgroups") && nvme_auth_groups_parse(v, &t->dhchap_groups)) {
		snprintf(err, err_len, "dhchap_dhgroups is a list of null, ffdhe2048, ffdhe3072, "
			 "ffdhe4096, ffdhe6144, ffdhe8192, not '%s'", v);
		return -EINVAL;
	}
	if (!strcmp(k, "dhchap_hashes") || !strcmp(k, "dhchap_dhgroups"))
		return 0;
	if (!strcmp(k, "tls"))
		return set_tls(t, v, err, err_len);
	if (!strcmp(k, "tls_key"))
		return set_tls_key(t, v, err, err_len);
	if (!strcmp(k, "tls_compat"))
		return set_bool(&t->tls_compat, v, k, err, err_len);
	if (!strcmp(k, "tls_identity_version")) {
		if (strcmp(v, "0") && strcmp(v, "1")) {
			snprintf(err, err_len, "tls_identity_version is 1 (NVMe/TCP 2.0, with a "
					       "digest) or 0 (1.0c), not '%s'", v);
			return -EINVAL;
		}
		t->tls_identity_version = (uint8_t)(v[0] - '0');
		return 0;
	}
	if (!strcmp(k, "queue_size")) {
		if (nu_parse_uint(v, 2, 1024, &t->queue_size)) {
			snprintf(err, err_len, "queue_size is 2 to 1024 entries, not '%s'", v);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, err_len, "unknown key '%s'", k);
	return -EINVAL;
}

int nu_nvme_check(const struct nvme_target_config *t, char *err, unsigned err_len)
{
	if (!t->address[0] || (!t->subnqn[0] && !t->discover_all)) {
		snprintf(err, err_len, "address and subsystem (or discover = yes) are required");
		return -EINVAL;
	}
	if (t->dhchap_ctrl_secret[0] && !t->dhchap_secret[0]) {
		snprintf(err, err_len, "dhchap_ctrl_secret needs dhchap_secret too");
		return -EINVAL;
	}
	if (t->dhchap_ctrl_secret[0] && !strcmp(t->dhchap_secret, t->dhchap_ctrl_secret)) {
		snprintf(err, err_len, "dhchap_ctrl_secret must differ from dhchap_secret");
		return -EINVAL;
	}
	if (t->tls != NVME_TLS_OFF && !t->tls_key[0]) {
		snprintf(err, err_len, "tls needs tls_key (the configured PSK, NVMeTLSkey-1:...)");
		return -EINVAL;
	}
	if (t->tls == NVME_TLS_OFF && t->tls_key[0]) {
		snprintf(err, err_len, "tls_key is set but tls is not (required or preferred)");
		return -EINVAL;
	}
	if (t->subnqn[0] && t->discover_all) {
		snprintf(err, err_len, "discover = yes serves what the discovery controller lists: "
				       "no subsystem with it");
		return -EINVAL;
	}
	return 0;
}

static int nvme_set(void *t, const char *k, const char *v, char *err, unsigned err_len)
{
	return nu_nvme_key_set(t, k, v, err, err_len);
}

int nu_nvme_spec_parse(const char *spec, struct nvme_target_config *t, char *err,
		       unsigned err_len)
{
	int ret;

	nvme_target_config_defaults(t);
	ret = spec_each(spec, nvme_set, t, err, err_len);
	return ret ? ret : nu_nvme_check(t, err, err_len);
}
