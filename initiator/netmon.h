/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NETMON_H
#define NETUBLK_NETMON_H

/*
 * The network as rtnetlink tells it (libnl-3): link, address and route
 * events, so that a pulled cable, an interface taken down or a removed
 * address or route fails the connections that use it at once, before TCP
 * notices, and a returning link has them reconnect without waiting out
 * their back-off. One event thread per process, started by the first
 * subscriber and stopped with the last.
 */
#include <stddef.h>
#include <sys/socket.h>

/* Runs on the event thread after each burst of events. */
typedef void (*nu_netmon_fn)(void *ctx);

/* 0, or -errno (no rtnetlink here: connections are then watched by timeouts only). */
int nu_netmon_subscribe(nu_netmon_fn fn, void *ctx);
/* Waits for a call of fn in progress; the last one stops the thread. */
void nu_netmon_unsubscribe(nu_netmon_fn fn, void *ctx);

/*
 * Whether the network can carry a connection from local to remote now:
 * the local address is still there, a route to remote exists, and the
 * interfaces holding the address and carrying the route are up with
 * carrier. 1 yes; 0 no, why says what is missing; -errno if it cannot
 * tell. From any thread.
 */
int nu_netmon_usable(const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		     char *why, size_t len);

#endif
