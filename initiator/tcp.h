/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TCP_H
#define NETUBLK_TCP_H

/* Blocking TCP for connection set-up (logins, admin exchanges), each wait bounded. */
#include <stddef.h>

/*
 * portal: "host:port", "[v6]:port" or "host" (then default_port). Returns a
 * connected, blocking socket with TCP_NODELAY, or -errno with err filled.
 */
int nu_tcp_connect(const char *portal, const char *default_port, int timeout_ms, char *err,
		   unsigned err_len);
/* Moves exactly n bytes, or fails after timeout_ms of silence. */
int nu_read_full(int fd, void *buf, size_t n, int timeout_ms);
int nu_write_full(int fd, const void *buf, size_t n, int timeout_ms);

#endif
