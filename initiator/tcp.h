/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TCP_H
#define NETUBLK_TCP_H

/* Blocking TCP for connection set-up (logins, admin exchanges), each wait bounded. */
#include <stddef.h>

/*
 * portals: one or more of "host:port", "[v6]:port" or "host" (then
 * default_port), separated by spaces, tried in order. Returns a connected,
 * blocking socket with TCP_NODELAY, or -errno with err saying why each failed.
 */
int nu_tcp_connect(const char *portals, const char *default_port, int timeout_ms, char *err,
		   unsigned err_len);
/* The i-th address of a space-separated list into out (len may be 0); returns how many there are. */
unsigned nu_addr_nth(const char *list, unsigned i, char *out, size_t len);
/* Moves exactly n bytes, or fails after timeout_ms of silence. */
int nu_read_full(int fd, void *buf, size_t n, int timeout_ms);
int nu_write_full(int fd, const void *buf, size_t n, int timeout_ms);

#endif
