/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_CONN_H
#define NETUBLK_ISCSI_CONN_H

/* Connection set-up: TCP connect and the login exchange, blocking with timeouts. */
#include "login.h"

/* "host:port", "[v6]:port" or "host" (port 3260). Returns a connected socket or -errno. */
int iscsi_tcp_connect(const char *portal, int timeout_ms, char *err, unsigned err_len);

/*
 * Runs the whole login on fd. On success the session parameters are in
 * l->p; on failure l->error says why (and l->redirect where to, for
 * -EREMCHG).
 */
int iscsi_login_blocking(int fd, struct iscsi_login *l, int timeout_ms);

/* Reads exactly n bytes, or fails after timeout_ms of silence. */
int iscsi_read_full(int fd, void *buf, size_t n, int timeout_ms);
int iscsi_write_full(int fd, const void *buf, size_t n, int timeout_ms);

#endif
