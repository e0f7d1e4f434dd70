// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "digest.h"
#include "log.h"
#include "iscsi_transport.h"
#include "nvme_transport.h"
#include "target_spec.h"

#define MAX_ENTRIES 64

/*
 * Whether a discovered subsystem is reached over TLS: where its port requires
 * it, as the section says where it offers it, and only if required where it
 * does not (the connection then fails, saying why).
 */
static uint8_t discovered_tls(const struct nvme_target_config *sec,
			      const struct nvme_disc_entry *e)
{
	if (e->tls_required && sec->tls_key[0])
		return NVME_TLS_REQUIRED;
	if (e->tls)
		return sec->tls;
	return sec->tls == NVME_TLS_REQUIRED ? NVME_TLS_REQUIRED : NVME_TLS_OFF;
}

void nu_conf_expand_discovery(struct nu_conf *c)
{
	struct nvme_disc_entry *e = calloc(MAX_ENTRIES, sizeof(*e));
	unsigned nr = c->nr_targets;

	if (!e)
		return;
	for (unsigned i = 0; i < nr; i++) {
		struct nu_conf_target *t = &c->targets[i];
		char err[256];
		unsigned n;

		if (t->kind != NU_TARGET_NVME || !t->nvme.discover_all)
			continue;
		if (nvme_discovery_log(&t->nvme, e, MAX_ENTRIES, &n, err, sizeof(err))) {
			nu_err("target %s: discovery at %s: %s; nothing served from it until a reload",
			       t->name, t->nvme.address, err);
			continue;
		}
		for (unsigned j = 0; j < n; j++) {
			struct nu_conf_target *x;

			if (!e[j].tcp || e[j].discovery ||
			    strlen(e[j].address) >= sizeof(t->nvme.address))
				continue;
			if (c->nr_targets == NU_CONF_MAX_TARGETS) {
				nu_warn("target %s: no room for %s (at most %d targets)", t->name,
					e[j].subnqn, NU_CONF_MAX_TARGETS);
				break;
			}
			x = &c->targets[c->nr_targets++];
			*x = *t;
			x->nvme.discover_all = false;
			snprintf(x->name, sizeof(x->name), "%.50s-%08x", t->name,
				 nu_crc32c(e[j].subnqn, strlen(e[j].subnqn)));
			memcpy(x->nvme.address, e[j].address, strlen(e[j].address) + 1);
			snprintf(x->nvme.subnqn, sizeof(x->nvme.subnqn), "%s", e[j].subnqn);
			x->nvme.tls = discovered_tls(&t->nvme, &e[j]);
			if (e[j].tls_required && !t->nvme.tls_key[0])
				nu_warn("target %s: %s at %s requires TLS: set tls and tls_key",
					t->name, e[j].subnqn, e[j].address);
			nu_info("target %s: discovered %s at %s%s, served as target %s", t->name,
				e[j].subnqn, e[j].address,
				e[j].tls_required ? " (TLS required)" : e[j].tls ? " (TLS offered)" : "",
				x->name);
		}
	}
	/* The discovery sections themselves are not served. */
	for (unsigned i = 0; i < c->nr_targets;) {
		if (c->targets[i].kind == NU_TARGET_NVME && c->targets[i].nvme.discover_all) {
			memmove(&c->targets[i], &c->targets[i + 1],
				(c->nr_targets - i - 1) * sizeof(c->targets[0]));
			c->nr_targets--;
		} else {
			i++;
		}
	}
	free(e);
}

int nu_discover(const char *kind, const char *spec, FILE *out, bool *bad_spec, char *err,
		unsigned err_len)
{
	char full[1024];

	*bad_spec = true;
	if (!strcmp(kind, "iscsi")) {
		struct iscsi_target_config t;

		/* A discovery session needs no target name: supply a placeholder. */
		snprintf(full, sizeof(full), "%s,target=discovery", spec);
		if (nu_iscsi_spec_parse(full, &t, err, err_len))
			return -EINVAL;
		*bad_spec = false;
		return iscsi_sendtargets(&t, out, err, err_len);
	}
	if (!strcmp(kind, "nvme")) {
		struct nvme_target_config t;

		/* The well-known discovery NQN unless the spec names another. */
		snprintf(full, sizeof(full), "subsystem=%s,%s", NVME_DISCOVERY_NQN, spec);
		if (nu_nvme_spec_parse(full, &t, err, err_len))
			return -EINVAL;
		*bad_spec = false;
		return nvme_discover(&t, out, err, err_len);
	}
	snprintf(err, err_len, "discover iscsi or discover nvme, not '%s'", kind);
	return -EINVAL;
}
