// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <nvme/types.h>

#include "nvme_config.h"
#include "nvme_auth_msg.h"
#include "nvme_conn.h"
#include "nvme_tls_psk.h"

void nvme_target_config_defaults(struct nvme_target_config *t)
{
	memset(t, 0, sizeof(*t));
	t->kato_s = 5;
	t->ctrl_loss_tmo_s = 600;
	t->reconnect_delay_s = 10;
	t->command_timeout_s = 30;
	t->dhchap_hashes = NVME_AUTH_HASHES_ALL;
	t->dhchap_groups = NVME_AUTH_GROUPS_ALL;
	t->tls_identity_version = 1;
}

/* A comma-separated list of names, each found by name_of(id) for ids 0..max. */
static int names_parse(const char *s, unsigned max, const char *(*name_of)(uint8_t),
		       const char *prefix, unsigned *mask)
{
	unsigned m = 0;

	for (const char *p = s; *p;) {
		size_t w = strcspn(p, ", "), plen = strlen(prefix);
		const char *name = p;
		bool found = false;

		if (w > plen + 1 && !strncmp(p, prefix, plen) && p[w - 1] == ')') {
			name += plen; /* "hmac(sha256)" */
			w -= plen + 1;
		}
		for (unsigned id = 0; id <= max && w; id++) {
			const char *n = name_of((uint8_t)id);

			if (strlen(n) == w && !strncmp(n, name, w)) {
				m |= 1u << id;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
		p += strcspn(p, ", ");
		p += strspn(p, ", ");
	}
	*mask = m;
	return m ? 0 : -EINVAL;
}

void nvme_config_copy_auth(struct nvme_target_config *dst, const struct nvme_target_config *src)
{
	memcpy(dst->dhchap_secret, src->dhchap_secret, sizeof(dst->dhchap_secret));
	memcpy(dst->dhchap_ctrl_secret, src->dhchap_ctrl_secret, sizeof(dst->dhchap_ctrl_secret));
	dst->dhchap_hashes = src->dhchap_hashes;
	dst->dhchap_groups = src->dhchap_groups;
	memcpy(dst->tls_key, src->tls_key, sizeof(dst->tls_key));
	dst->tls_identity_version = src->tls_identity_version;
	dst->tls_compat = src->tls_compat;
}

bool nvme_config_only_auth_differs(const struct nvme_target_config *a,
				   const struct nvme_target_config *b)
{
	struct nvme_target_config tmp = *b;
	bool same_rest;

	nvme_config_copy_auth(&tmp, a);
	same_rest = !memcmp(&tmp, a, sizeof(tmp));
	memset(&tmp, 0, sizeof(tmp));
	return same_rest && memcmp(a, b, sizeof(*a));
}

int nvme_auth_hashes_parse(const char *s, unsigned *mask)
{
	return names_parse(s, NVME_AUTH_SHA512, nvme_auth_hash_name, "hmac(", mask);
}

int nvme_auth_groups_parse(const char *s, unsigned *mask)
{
	return names_parse(s, NVME_AUTH_FFDHE8192, nvme_auth_group_name, "", mask);
}

static int auth_load(const struct nvme_target_config *t, struct nvme_auth_cfg *a, char *err,
		     unsigned err_len)
{
	const char *why;

	a->hashes = t->dhchap_hashes;
	a->groups = t->dhchap_groups;
	if (t->dhchap_secret[0]) {
		if (dhchap_key_parse(t->dhchap_secret, &a->host_key, &why)) {
			snprintf(err, err_len, "dhchap_secret: %s", why);
			return -EINVAL;
		}
		a->host_key_set = true;
	}
	if (t->dhchap_ctrl_secret[0]) {
		if (dhchap_key_parse(t->dhchap_ctrl_secret, &a->ctrl_key, &why)) {
			snprintf(err, err_len, "dhchap_ctrl_secret: %s", why);
			return -EINVAL;
		}
		a->ctrl_key_set = true;
	}
	return 0;
}

static int parse_uuid(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	for (; *s && n < 32; s++) {
		const char *digits = "0123456789abcdef", *d;
		unsigned v;

		if (*s == '-')
			continue;
		d = strchr(digits, *s | 0x20);
		if (!d || !*d)
			return -EINVAL;
		v = d - digits;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 && !*s ? 0 : -EINVAL;
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, " \t\r\n")] = 0;
	fclose(f);
}

/* The TLS PSK this host uses with t's subsystem, derived once from the configured key. */
static int tls_load(const struct nvme_target_config *t, struct nvme_host_ids *ids, char *err,
		    unsigned err_len)
{
	struct nvme_tls_key key;
	const char *why;
	int ret;

	/* nu_nvme_check() made sure that a key comes with tls. */
	if (t->tls == NVME_TLS_OFF)
		return 0;
	if (nvme_tls_key_parse(t->tls_key, &key, &why)) {
		snprintf(err, err_len, "tls_key: %s", why);
		return -EINVAL;
	}
	ret = nvme_tls_psk_derive(&key, ids->hostnqn,
				  t->subnqn[0] ? t->subnqn : NVME_DISC_SUBSYS_NAME,
				  t->tls_identity_version, t->tls_compat, &ids->tls);
	explicit_bzero(&key, sizeof(key));
	if (ret) {
		snprintf(err, err_len, "tls_key: cannot derive the TLS PSK: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int nvme_host_ids_load(const struct nvme_target_config *t, struct nvme_host_ids *ids, char *err,
		       unsigned err_len)
{
	char id[64], mid[64];

	memset(ids, 0, sizeof(*ids));
	snprintf(id, sizeof(id), "%s", t->hostid);
	if (!id[0])
		read_line("/etc/nvme/hostid", id, sizeof(id));
	if (!id[0]) {
		/* Stable across restarts of netublkd: derived from the machine ID. */
		read_line("/etc/machine-id", mid, sizeof(mid));
		if (strlen(mid) == 32)
			snprintf(id, sizeof(id), "%.8s-%.4s-4%.3s-8%.3s-%.12s", mid, mid + 8,
				 mid + 13, mid + 17, mid + 20);
		else
			snprintf(id, sizeof(id), "00000000-0000-4000-8000-000000000001");
	}
	if (parse_uuid(id, ids->hostid)) {
		snprintf(err, err_len, "host ID '%s' is not a UUID", id);
		return -EINVAL;
	}
	snprintf(ids->hostnqn, sizeof(ids->hostnqn), "%s", t->hostnqn);
	if (!ids->hostnqn[0])
		read_line("/etc/nvme/hostnqn", ids->hostnqn, sizeof(ids->hostnqn));
	if (!ids->hostnqn[0])
		snprintf(ids->hostnqn, sizeof(ids->hostnqn), "nqn.2014-08.org.nvmexpress:uuid:%s",
			 id);
	return auth_load(t, &ids->auth, err, err_len) ?: tls_load(t, ids, err, err_len);
}
