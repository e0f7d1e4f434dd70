// SPDX-License-Identifier: MIT
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <ini.h>

#include "conffile.h"
#include "listen.h"
#include "log.h"
#include "queue.h"
#include "target_spec.h"
#include "ublk_features.h"
#include "units.h"

struct parse {
	struct nu_conf *c;
	const char *path;
	FILE *f;
	unsigned line;
	bool secrets_only; /* parsing the secrets file */
	char *err;
	unsigned err_len;
	bool failed;
	struct nu_conf_target *cur; /* the section being read */
	char cur_section[128];
	bool header_seen;     /* a [section] line since the last key */
	unsigned header_line; /* where it was */
	unsigned keys_in_section; /* of the current target section */
};

static int fail_at(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail_at(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return 0; /* the first error is the one that counts */
	p->failed = true;
	n = snprintf(p->err, p->err_len, "%s:%u: ", p->path, p->line);
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->err_len - n, fmt, ap);
	va_end(ap);
	return 0;
}

/* inih reads through this, so the handler knows the line it is on. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(str, num, p->f);

	if (r) {
		/* inih does not report headers: a repeated [target x] would merge silently. */
		const char *s = r + strspn(r, " \t");

		p->line++;
		if (*s == '[') {
			p->header_seen = true;
			p->header_line = p->line;
		}
	}
	return r;
}

static struct nu_conf_target *target_named(struct nu_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nr_targets; i++)
		if (!strcmp(c->targets[i].name, name))
			return &c->targets[i];
	return NULL;
}

static int enter_section(struct parse *p, const char *section)
{
	struct nu_conf *c = p->c;
	const char *name;

	snprintf(p->cur_section, sizeof(p->cur_section), "%s", section);
	p->cur = NULL;
	if (!strcmp(section, "global"))
		return p->secrets_only ? fail_at(p, "[global] does not belong in a secrets file") : 1;
	if (strncmp(section, "target ", 7) || !section[7])
		return fail_at(p, "unknown section [%s] (want [global] or [target NAME])", section);
	name = section + 7;
	if (strlen(name) >= sizeof(c->targets[0].name))
		return fail_at(p, "target name '%s' is too long", name);
	p->cur = target_named(c, name);
	if (p->secrets_only) {
		if (!p->cur)
			return fail_at(p, "secrets for [target %s], which the config does not have",
				       name);
		return 1;
	}
	if (p->cur)
		return fail_at(p, "[target %s] appears twice (first on line %u, again on line %u)",
			       name, p->cur->line, p->header_line);
	if (c->nr_targets == NU_CONF_MAX_TARGETS)
		return fail_at(p, "more than %d targets", NU_CONF_MAX_TARGETS);
	p->cur = &c->targets[c->nr_targets++];
	memset(p->cur, 0, sizeof(*p->cur));
	snprintf(p->cur->name, sizeof(p->cur->name), "%s", name);
	p->cur->line = p->header_line;
	p->cur->discard = true;
	iscsi_target_config_defaults(&p->cur->iscsi);
	p->cur->iscsi.initiator[0] = '\0'; /* the global one unless set here */
	nvme_target_config_defaults(&p->cur->nvme);
	p->keys_in_section = 0;
	return 1;
}

static int set_uint(struct parse *p, const char *key, const char *v, unsigned min, unsigned max,
		    unsigned *out)
{
	if (nu_parse_uint(v, min, max, out))
		return fail_at(p, "%s must be a number from %u to %u, not '%s'", key, min, max, v);
	return 1;
}

/* Seconds (min to 86400), or one of two words standing for w1_val and w2_val. */
static int secs_or_words(const char *v, unsigned min, const char *w1, int w1_val, const char *w2,
			 int w2_val, int *out)
{
	unsigned s;

	if (!strcmp(v, w1) || !strcmp(v, w2)) {
		*out = !strcmp(v, w1) ? w1_val : w2_val;
		return 0;
	}
	if (nu_parse_uint(v, min, 86400, &s))
		return -EINVAL;
	*out = s;
	return 0;
}

static int set_yes_no(struct parse *p, const char *key, const char *v, bool *out)
{
	if (!nu_parse_bool(v, out))
		return 1;
	return fail_at(p, "%s must be yes or no, not '%s'", key, v);
}

static int global_key(struct parse *p, const char *k, const char *v)
{
	struct nu_conf *c = p->c;
	enum nu_log_level level;

	if (!strcmp(k, "initiator")) {
		if (!*v || strlen(v) >= sizeof(c->initiator))
			return fail_at(p, "initiator must be 1 to %zu characters",
				       sizeof(c->initiator) - 1);
		snprintf(c->initiator, sizeof(c->initiator), "%s", v);
		return 1;
	}
	if (!strcmp(k, "queues"))
		return set_uint(p, k, v, 1, 64, &c->queues);
	if (!strcmp(k, "queue_depth"))
		return set_uint(p, k, v, 1, 4096, &c->queue_depth);
	if (!strcmp(k, "backend_depth"))
		return set_uint(p, k, v, 1, 4096, &c->backend_depth);
	if (!strcmp(k, "queue_affinity")) {
		c->queue_affinity = nu_parse_queue_placement(v);
		if (c->queue_affinity < 0)
			return fail_at(p, "queue_affinity must be any, blk-mq or apart, not '%s'",
				       v);
		return 1;
	}
	if (!strcmp(k, "coalesce_us"))
		return set_uint(p, k, v, 0, NU_QUEUE_COALESCE_US_MAX, &c->coalesce_us);
	if (!strcmp(k, "batch_io")) {
		if (nu_parse_auto_bool(v, &c->batch_io))
			return fail_at(p, "batch_io must be auto, yes or no, not '%s'", v);
		return 1;
	}
	if (!strcmp(k, "busy_poll_us"))
		return set_uint(p, k, v, 0, NU_QUEUE_BUSY_POLL_US_MAX, &c->busy_poll_us);
	if (!strcmp(k, "data_mode")) {
		if (ublk_data_mode_parse(v, &c->data_mode))
			return fail_at(p, "data_mode must be auto, zero-copy, copy or user-copy");
		return 1;
	}
	if (!strcmp(k, "control_group")) {
		if (!*v || strlen(v) >= sizeof(c->control_group))
			return fail_at(p, "control_group must be a group name");
		if (!getgrnam(v))
			return fail_at(p, "control_group: there is no group '%s'", v);
		snprintf(c->control_group, sizeof(c->control_group), "%s", v);
		return 1;
	}
	if (!strcmp(k, "metrics_listen")) {
		const char *why;
		union nu_listen_addr a;
		socklen_t len;

		/* Loopback or not is checked once the whole file is read. */
		if (strlen(v) >= sizeof(c->metrics_listen) ||
		    nu_listen_parse(v, true, &a, &len, &why))
			return fail_at(p, "%s, not '%s'",
				       strlen(v) >= sizeof(c->metrics_listen) ?
					       "metrics_listen is too long" :
					       why,
				       v);
		snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", v);
		c->metrics_line = p->line;
		return 1;
	}
	if (!strcmp(k, "metrics_listen_remote"))
		return set_yes_no(p, k, v, &c->metrics_remote);
	if (!strcmp(k, "log_level")) {
		if (nu_log_level_parse(v, &level))
			return fail_at(p, "log_level must be error, warn, info or debug");
		c->log_level = level;
		return 1;
	}
	if (!strcmp(k, "host_nqn") || !strcmp(k, "host_id")) {
		/* Zeroed: reloads compare configs byte for byte. */
		struct nvme_target_config tmp = { 0 };
		char err[200];

		if (nu_nvme_key_set(&tmp, k, v, err, sizeof(err)))
			return fail_at(p, "%s", err);
		if (!strcmp(k, "host_nqn"))
			memcpy(c->host_nqn, tmp.hostnqn, sizeof(c->host_nqn));
		else
			memcpy(c->host_id, tmp.hostid, sizeof(c->host_id));
		return 1;
	}
	if (!strcmp(k, "secrets")) {
		if (!*v || strlen(v) >= sizeof(c->secrets))
			return fail_at(p, "secrets must be a path");
		snprintf(c->secrets, sizeof(c->secrets), "%s", v);
		return 1;
	}
	return fail_at(p, "unknown key '%s' in [global]", k);
}

static int parse_luns(struct parse *p, struct nu_conf_target *t, const char *k, const char *v)
{
	char buf[512], *save = NULL, *tok;
	bool nvme = t->kind == NU_TARGET_NVME;

	snprintf(buf, sizeof(buf), "%s", v);
	t->nr_luns = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		unsigned id;

		if (nu_parse_uint(tok, nvme ? 1 : 0, nvme ? 0xfffffffeu : 16383, &id))
			return fail_at(p, "%s is a list of %s numbers, not '%s'", k,
				       nvme ? "namespace" : "LUN", tok);
		if (t->nr_luns == NU_CONF_MAX_LUNS)
			return fail_at(p, "more than %d listed in %s", NU_CONF_MAX_LUNS, k);
		t->luns[t->nr_luns++] = id;
	}
	if (!t->nr_luns)
		return fail_at(p, "%s is empty", k);
	return 1;
}

static int target_key(struct parse *p, const char *k, const char *v)
{
	struct nu_conf_target *t = p->cur;
	bool nvme = t->kind == NU_TARGET_NVME;
	char err[200];

	if (p->secrets_only && strcmp(k, "chap_secret") && strcmp(k, "mutual_secret") &&
	    strcmp(k, "dhchap_secret") && strcmp(k, "dhchap_ctrl_secret") && strcmp(k, "tls_key"))
		return fail_at(p, "only chap_secret, mutual_secret, dhchap_secret, "
				  "dhchap_ctrl_secret and tls_key belong in a secrets file, not '%s'",
			       k);
	if (!strcmp(k, "transport")) {
		if (!strcmp(v, "iscsi"))
			t->kind = NU_TARGET_ISCSI;
		else if (!strcmp(v, "nvme-tcp") || !strcmp(v, "nvme"))
			t->kind = NU_TARGET_NVME;
		else
			return fail_at(p, "transport '%s' is not supported (iscsi or nvme-tcp)", v);
		if (p->keys_in_section)
			return fail_at(p, "[target %s]: transport must be the section's first key",
				       t->name);
		return 1;
	}
	p->keys_in_section++;
	if (!strcmp(k, nvme ? "namespaces" : "luns"))
		return parse_luns(p, t, k, v);
	if (!strcmp(k, "read_only"))
		return set_yes_no(p, k, v, &t->read_only);
	if (!strcmp(k, "multipath")) {
		bool on = true;
		int ret = set_yes_no(p, k, v, &on);

		t->single_path = !on;
		return ret;
	}
	if (!strcmp(k, "path_selector")) {
		if (nu_path_selector_parse(v, &t->path_selector))
			return fail_at(p, "path_selector must be failover, round-robin or queue-depth");
		return 1;
	}
	if (!strcmp(k, "no_path_retry")) {
		t->no_path_retry_set = true;
		if (secs_or_words(v, 0, "queue", -1, "fail", 0, &t->no_path_retry_s))
			return fail_at(p, "no_path_retry must be seconds (0 to 86400), queue or fail, "
					  "not '%s'",
				       v);
		return 1;
	}
	if (!strcmp(k, "failback")) {
		if (secs_or_words(v, 1, "manual", -1, "immediate", 0, &t->failback_s))
			return fail_at(p, "failback must be immediate, manual or seconds (1 to 86400), "
					  "not '%s'",
				       v);
		return 1;
	}
	if (!strcmp(k, "discard"))
		return set_yes_no(p, k, v, &t->discard);
	if (nvme ? nu_nvme_key_set(&t->nvme, k, v, err, sizeof(err)) :
		   nu_iscsi_key_set(&t->iscsi, k, v, err, sizeof(err)))
		return fail_at(p, "[target %s]: %s%s", t->name, err,
			       strstr(err, "unknown key") ?
				       (nvme ? " for an nvme-tcp target" : " for an iscsi target") :
				       "");
	return 1;
}

static int handler(void *user, const char *section, const char *k, const char *v)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (p->header_seen || strcmp(section, p->cur_section)) {
		p->header_seen = false;
		if (!enter_section(p, section))
			return 0;
	}
	if (!*section)
		return fail_at(p, "'%s' outside any section", k);
	if (!strcmp(section, "global"))
		return global_key(p, k, v);
	return p->cur ? target_key(p, k, v) : 0;
}

static int parse_file(struct parse *p, const char *path)
{
	int ret;

	p->path = path;
	p->line = 0;
	p->cur = NULL;
	p->cur_section[0] = '\0';
	p->header_seen = false;
	p->f = fopen(path, "r");
	if (!p->f) {
		snprintf(p->err, p->err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	ret = ini_parse_stream(reader, p, handler, p);
	fclose(p->f);
	if (ret > 0 && !p->failed) {
		p->line = ret;
		fail_at(p, "syntax error (want [section] or key = value)");
	}
	return p->failed || ret ? -EINVAL : 0;
}

static int check_secrets_file(const char *path, char *err, unsigned err_len)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, err_len,
			 "%s: secrets file is accessible to others (mode %04o): chmod 600 it",
			 path, st.st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

/* Off loopback only with metrics_listen_remote = yes, whichever line comes first. */
static int check_metrics_listen(const struct nu_conf *c, const char *path, char *err,
				unsigned err_len)
{
	union nu_listen_addr a;
	const char *why;
	socklen_t len;

	if (!c->metrics_listen[0] ||
	    !nu_listen_parse(c->metrics_listen, c->metrics_remote, &a, &len, &why))
		return 0;
	snprintf(err, err_len, "%s:%u: %s, not '%s'", path, c->metrics_line, why,
		 c->metrics_listen);
	return -EINVAL;
}

int nu_conf_load(const char *path, struct nu_conf *c, char *err, unsigned err_len)
{
	struct parse p = { .c = c, .err = err, .err_len = err_len };
	int ret;

	memset(c, 0, sizeof(*c));
	c->queues = 2;
	c->queue_depth = 64;
	c->backend_depth = 64;
	c->coalesce_us = NU_QUEUE_COALESCE_US;
	c->data_mode = UBLK_DM_BEST;
	c->log_level = NU_LOG_INFO;
	snprintf(c->initiator, sizeof(c->initiator), "iqn.2026-11.org.netublk:initiator");
	ret = parse_file(&p, path);
	if (!ret)
		ret = check_metrics_listen(c, path, err, err_len);
	if (ret)
		return ret;
	if (c->secrets[0]) {
		ret = check_secrets_file(c->secrets, err, err_len);
		if (ret)
			return ret;
		p.secrets_only = true;
		ret = parse_file(&p, c->secrets);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < c->nr_targets; i++) {
		struct nu_conf_target *t = &c->targets[i];
		struct iscsi_target_config *ic = &t->iscsi;
		struct nvme_target_config *nc = &t->nvme;
		const char *why = NULL;
		char nerr[200];

		if (t->kind == NU_TARGET_NVME) {
			if (!nc->hostnqn[0])
				memcpy(nc->hostnqn, c->host_nqn, sizeof(nc->hostnqn));
			if (!nc->hostid[0])
				memcpy(nc->hostid, c->host_id, sizeof(nc->hostid));
			if (nu_nvme_check(nc, nerr, sizeof(nerr)))
				why = nerr;
			goto check;
		}
		/* Same size, both NUL-terminated: a plain copy (snprintf trips -Wrestrict). */
		_Static_assert(sizeof(ic->initiator) == sizeof(c->initiator), "initiator sizes");
		if (!ic->initiator[0])
			memcpy(ic->initiator, c->initiator, sizeof(ic->initiator));
		if (!ic->portal[0])
			why = "portal is missing";
		else if (!ic->target[0])
			why = "target is missing";
		else if (!ic->chap_user[0] != !ic->chap_secret[0])
			why = "chap_user and chap_secret go together";
		else if (!ic->mutual_user[0] != !ic->mutual_secret[0])
			why = "mutual_user and mutual_secret go together";
		else if (ic->mutual_user[0] && !ic->chap_user[0])
			why = "mutual CHAP needs one-way CHAP (chap_user) too";
		else if (ic->mutual_secret[0] && !strcmp(ic->mutual_secret, ic->chap_secret))
			why = "mutual_secret must differ from chap_secret";
check:
		if (why) {
			snprintf(err, err_len, "%s:%u: [target %s]: %s", path, t->line, t->name, why);
			return -EINVAL;
		}
	}
	if (!c->nr_targets) {
		snprintf(err, err_len, "%s: no [target NAME] section: nothing to serve", path);
		return -EINVAL;
	}
	return 0;
}

bool nu_conf_lun_wanted(const struct nu_conf_target *t, uint32_t lun)
{
	if (!t->nr_luns)
		return true;
	for (unsigned i = 0; i < t->nr_luns; i++)
		if (t->luns[i] == lun)
			return true;
	return false;
}
