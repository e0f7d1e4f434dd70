// SPDX-License-Identifier: MIT
/* A listen address of the config (see listen.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "listen.h"

int nu_listen_parse(const char *where, bool allow_remote, union nu_listen_addr *a, socklen_t *len,
		    const char **why)
{
	char host[64];
	const char *colon;
	char *end;
	long port;

	memset(a, 0, sizeof(*a));
	if (!strncmp(where, "unix:", 5)) {
		if (where[5] != '/' || strlen(where + 5) >= sizeof(a->un.sun_path)) {
			*why = "a unix socket is unix:/ABSOLUTE/PATH (at most 107 bytes)";
			return -EINVAL;
		}
		a->un.sun_family = AF_UNIX;
		strcpy(a->un.sun_path, where + 5);
		*len = sizeof(a->un);
		return 0;
	}
	colon = strrchr(where, ':');
	if (!colon || colon == where || (size_t)(colon - where) >= sizeof(host))
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		goto bad;
	memcpy(host, where, colon - where);
	host[colon - where] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->in6.sin6_addr) != 1)
			goto bad;
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		*len = sizeof(a->in6);
		if (!allow_remote && !IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr))
			goto remote;
		return 0;
	}
	if (inet_pton(AF_INET, host, &a->in.sin_addr) != 1)
		goto bad;
	a->in.sin_family = AF_INET;
	a->in.sin_port = htons(port);
	*len = sizeof(a->in);
	if (!allow_remote && (ntohl(a->in.sin_addr.s_addr) >> 24) != 127)
		goto remote;
	return 0;
bad:
	*why = "metrics_listen is 127.0.0.1:PORT, [::1]:PORT or unix:/PATH (another address: "
	       "ADDRESS:PORT or [V6]:PORT, with metrics_listen_remote = yes)";
	return -EINVAL;
remote:
	*why = "metrics_listen must be a loopback address or a unix socket (the page is not "
	       "authenticated; metrics_listen_remote = yes allows any address)";
	return -EINVAL;
}
