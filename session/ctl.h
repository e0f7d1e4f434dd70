/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_CTL_H
#define NETUBLK_CTL_H

/*
 * netublkd's control socket: a unix stream socket, mode 0600 (root only),
 * or 0660 for a configured group.
 * Protocol version 1, one request per connection:
 *   "netublk/1 COMMAND [ARGS]\n"  ->  the answer, then the server closes.
 * Commands: status [json], rescan, reload, discover iscsi|nvme SPEC,
 * login NAME, logout NAME. An answer starting with "error: " is a
 * refusal. netublkctl is the client.
 *
 * Clients are served from the daemon's main loop without ever blocking
 * it: a few at a time, each with a deadline to say its line and to take
 * its answer; one that is silent, slow or does not read is dropped.
 */
#include <poll.h>
#include <stdbool.h>

#include "ctl_proto.h"
#include "manager.h"

#define NU_CTL_DEFAULT_PATH "/run/netublk/netublkd.sock"
#define NU_CTL_CLIENTS 8 /* served at once; more wait in the listen backlog */
#define NU_CTL_POLLFDS (1 + NU_CTL_CLIENTS)

struct nu_ctl;

/*
 * Listens at path. group: who besides the owner may talk to the daemon
 * (mode 0660), or NULL. -ESRCH: no such group; -EADDRINUSE: a live daemon
 * answers there.
 */
int nu_ctl_open(const char *path, const char *group, struct nu_ctl **out);
/* The descriptors to poll (at most NU_CTL_POLLFDS). */
unsigned nu_ctl_pollfds(const struct nu_ctl *c, struct pollfd *pfd, unsigned max);
/*
 * Accepts, reads and answers what pfd (from nu_ctl_pollfds) says is ready;
 * *reload asks the caller to reload. Returns the ms until the next client
 * deadline, or -1 for none.
 */
int nu_ctl_run(struct nu_ctl *c, const struct pollfd *pfd, unsigned n, struct nu_manager *m,
	       bool *reload);
/* Drops the clients, closes and removes the socket. */
void nu_ctl_close(struct nu_ctl *c);

#endif
