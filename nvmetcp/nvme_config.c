// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nvme_config.h"
#include "nvme_conn.h"

void nvme_target_config_defaults(struct nvme_target_config *t)
{
	memset(t, 0, sizeof(*t));
	t->kato_s = 5;
	t->ctrl_loss_tmo_s = 600;
	t->reconnect_delay_s = 10;
	t->command_timeout_s = 30;
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
	return 0;
}
