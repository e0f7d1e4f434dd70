/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_NOTIFY_H
#define NETUBLK_NOTIFY_H

/*
 * systemd's readiness protocol (Type=notify), without libsystemd: one
 * datagram to $NOTIFY_SOCKET, e.g. "READY=1". Nothing happens when the
 * variable is unset. Returns 0 or -errno.
 */
int nu_notify(const char *state);

#endif
