/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_CONN_H
#define NETUBLK_ISCSI_CONN_H

/* Connection set-up: TCP connect and the login exchange, blocking with timeouts. */
#include "login.h"

/*
 * Runs the whole login on fd. On success the session parameters are in
 * l->p; on failure l->error says why (and l->redirect where to, for
 * -EREMCHG).
 */
int iscsi_login_blocking(int fd, struct iscsi_login *l, int timeout_ms);

#endif
