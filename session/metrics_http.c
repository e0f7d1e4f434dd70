// SPDX-License-Identifier: MIT
/*
 * The metrics listener (see metrics_http.h). libmicrohttpd rather than a
 * hand-written HTTP server: request parsing, keep-alive and limits are
 * its job; ours is one read-only page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "metrics_http.h"
#include "log.h"
#include "manager.h"
#include "listen.h"

struct nu_metrics_http {
	struct MHD_Daemon *d;
	const struct nu_manager *m;
	int fd;
	char unix_path[108];
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct nu_metrics_http *h = cls;
	struct MHD_Response *r;
	unsigned status = MHD_HTTP_OK;
	char *text = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	FILE *out;

	(void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		text = strdup("GET /metrics only\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		text = strdup("netublkd: the metrics are at /metrics\n");
	} else if ((out = open_memstream(&text, &len))) {
		nu_manager_metrics(h->m, out);
		fclose(out);
	}
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
						      : "text/plain");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

int nu_metrics_http_start(const char *where, bool allow_remote, const struct nu_manager *m,
			  struct nu_metrics_http **out)
{
	struct nu_metrics_http *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	const char *why = NULL;
	socklen_t len;
	union nu_listen_addr a;
	int ret, one = 1;

	if (!h)
		return -ENOMEM;
	h->m = m;
	h->fd = -1;
	ret = nu_listen_parse(where, allow_remote, &a, &len, &why);
	if (ret) {
		nu_err("metrics: %s: %s", where, why);
		goto fail;
	}
	h->fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		goto fail_errno;
	if (a.sa.sa_family == AF_UNIX) {
		unlink(a.un.sun_path); /* a predecessor's */
		snprintf(h->unix_path, sizeof(h->unix_path), "%s", a.un.sun_path);
	} else {
		setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(h->fd, &a.sa, len) < 0 || listen(h->fd, 16) < 0)
		goto fail_errno;
	h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, answer, h,
				MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_CONNECTION_LIMIT, 16,
				MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_END);
	info = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		nu_err("metrics: %s: libmicrohttpd would not start", where);
		ret = -EIO;
		goto fail;
	}
	nu_info("metrics: serving %s%s/metrics", a.sa.sa_family == AF_UNIX ? "" : "http://", where);
	*out = h;
	return 0;
fail_errno:
	ret = -errno;
	nu_err("metrics: %s: %s", where, strerror(errno));
fail:
	nu_metrics_http_stop(h);
	return ret;
}

int nu_metrics_http_fd(const struct nu_metrics_http *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

int nu_metrics_http_timeout(const struct nu_metrics_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->d, &ms) != MHD_YES)
		return -1;
	return ms > 60000 ? 60000 : (int)ms;
}

void nu_metrics_http_run(struct nu_metrics_http *h)
{
	MHD_run(h->d);
}

void nu_metrics_http_stop(struct nu_metrics_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->fd >= 0)
		close(h->fd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	free(h);
}
