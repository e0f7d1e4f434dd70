/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_LISTEN_H
#define NETUBLK_LISTEN_H

/*
 * Where a local-only service listens ([global] metrics_listen): a
 * loopback address with a port, "127.0.0.1:PORT" or "[::1]:PORT", or a
 * unix socket, "unix:/PATH". Other addresses only when the config says so
 * explicitly (allow_remote): what is served there is not authenticated.
 */
#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

union nu_listen_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

/* 0 with *a and *len, or -EINVAL with why (a sentence). */
int nu_listen_parse(const char *where, bool allow_remote, union nu_listen_addr *a, socklen_t *len,
		    const char **why);

#endif
