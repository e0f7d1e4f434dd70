/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_CTL_PROTO_H
#define NETUBLK_CTL_PROTO_H

/*
 * The control protocol's request line, parsed apart from sockets (and
 * fuzzed: test/fuzz/fuzz_ctl.c). A request is one line of printable
 * ASCII: "netublk/1 COMMAND [ARGS]\n"; anything else is refused with a
 * reason that goes back to the client.
 */
#include <stddef.h>

#define NU_CTL_PROTO "netublk/1"
#define NU_CTL_REQ_MAX 1100 /* bytes of a request line, newline included */
#define NU_CTL_ARGS_MAX 1024

enum nu_ctl_cmd {
	NU_CTL_STATUS,
	NU_CTL_RESCAN,
	NU_CTL_RELOAD,
	NU_CTL_DISCOVER,
	NU_CTL_LOGIN,
	NU_CTL_LOGOUT,
	NU_CTL_PATH,
	NU_CTL_METRICS,
};

struct nu_ctl_req {
	enum nu_ctl_cmd cmd;
	char args[NU_CTL_ARGS_MAX]; /* after the command, single spaces kept; "" if none */
};

/* 0 with *r filled, or -EINVAL with why (a sentence for the client). */
int nu_ctl_parse(const char *line, size_t len, struct nu_ctl_req *r, const char **why);

#endif
