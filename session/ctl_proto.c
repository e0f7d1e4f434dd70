// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "ctl_proto.h"

static const char *const cmds[] = {
	[NU_CTL_STATUS] = "status", [NU_CTL_RESCAN] = "rescan", [NU_CTL_RELOAD] = "reload",
	[NU_CTL_DISCOVER] = "discover", [NU_CTL_LOGIN] = "login", [NU_CTL_LOGOUT] = "logout",
	[NU_CTL_PATH] = "path", [NU_CTL_METRICS] = "metrics",
};

int nu_ctl_parse(const char *line, size_t len, struct nu_ctl_req *r, const char **why)
{
	size_t plen = strlen(NU_CTL_PROTO), i, clen;
	const char *p, *end;

	/* One line: up to its newline, which must be there. */
	end = memchr(line, '\n', len);
	if (!end) {
		*why = len >= NU_CTL_REQ_MAX ? "request too long" : "request not ended by a newline";
		return -EINVAL;
	}
	len = end - line;
	for (i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] > 0x7e) {
			*why = "request with bytes that are not printable ASCII";
			return -EINVAL;
		}
	}
	if (len < plen + 1 || memcmp(line, NU_CTL_PROTO " ", plen + 1)) {
		*why = "this daemon speaks " NU_CTL_PROTO;
		return -EINVAL;
	}
	p = line + plen + 1;
	len -= plen + 1;
	clen = 0;
	while (clen < len && p[clen] != ' ')
		clen++;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strlen(cmds[i]) == clen && !memcmp(p, cmds[i], clen))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		*why = "unknown command (status, rescan, reload, discover, login, logout, path, metrics)";
		return -EINVAL;
	}
	r->cmd = i;
	p += clen;
	len -= clen;
	while (len && *p == ' ') {
		p++;
		len--;
	}
	if (len >= sizeof(r->args)) {
		*why = "arguments too long";
		return -EINVAL;
	}
	memcpy(r->args, p, len);
	r->args[len] = '\0';
	return 0;
}
