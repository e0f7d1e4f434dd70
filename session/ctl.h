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
 */
#include <stdbool.h>

#include "manager.h"

#define NU_CTL_DEFAULT_PATH "/run/netublk/netublkd.sock"
#define NU_CTL_PROTO "netublk/1"

/* group: who besides the owner may talk to the daemon (mode 0660), or NULL. -ESRCH: no such group. */
int nu_ctl_listen(const char *path, const char *group);
/* Answers one client waiting on the listening socket; *reload asks the caller to reload. */
void nu_ctl_serve(int lfd, struct nu_manager *m, bool *reload);

#endif
