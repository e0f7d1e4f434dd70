/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_METRICS_HTTP_H
#define NETUBLK_METRICS_HTTP_H

/*
 * The optional metrics listener ([global] metrics_listen): GET /metrics
 * answers netublkctl metrics' text over HTTP, for Prometheus to scrape.
 * libmicrohttpd without threads of its own: its epoll fd joins the main
 * loop's poll, so answers are made on the thread that owns the manager.
 */
#include <stdbool.h>

struct nu_manager;
struct nu_metrics_http;

/* where: as conf/listen.h takes it (loopback or a unix socket; any address if allow_remote). */
int nu_metrics_http_start(const char *where, bool allow_remote, const struct nu_manager *m,
			  struct nu_metrics_http **out);
/* The fd to poll for reading, and the most poll may wait (ms, -1: no limit). */
int nu_metrics_http_fd(const struct nu_metrics_http *h);
int nu_metrics_http_timeout(const struct nu_metrics_http *h);
void nu_metrics_http_run(struct nu_metrics_http *h);
void nu_metrics_http_stop(struct nu_metrics_http *h);

#endif
