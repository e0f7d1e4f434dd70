// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tcp.h"
#include "log.h"
#include "tls.h"

static int split_portal(const char *portal, const char *default_port, char *host, size_t hlen,
			char *port, size_t plen)
{
	const char *colon;

	if (portal[0] == '[') {
		const char *end = strchr(portal, ']');

		if (!end || (size_t)(end - portal - 1) >= hlen)
			return -EINVAL;
		memcpy(host, portal + 1, end - portal - 1);
		host[end - portal - 1] = '\0';
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(portal, ':');
		size_t n = colon ? (size_t)(colon - portal) : strlen(portal);

		if (n >= hlen || !n)
			return -EINVAL;
		memcpy(host, portal, n);
		host[n] = '\0';
	}
	snprintf(port, plen, "%s", colon ? colon + 1 : default_port);
	/* An iSCSI portal may carry ",TPGT" from SendTargets. */
	char *comma = strchr(port, ',');
	if (comma)
		*comma = '\0';
	return 0;
}

unsigned nu_addr_nth(const char *list, unsigned i, char *out, size_t len)
{
	unsigned n = 0;

	if (len)
		out[0] = '\0';
	for (const char *p = list; *p;) {
		size_t w;

		p += strspn(p, " ");
		w = strcspn(p, " ");
		if (!w)
			break;
		if (n++ == i && len)
			snprintf(out, len, "%.*s", (int)w, p);
		p += w;
	}
	return n;
}

static int connect_one(const char *portal, const char *default_port, int timeout_ms, char *err,
		       unsigned err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[16];
	int fd = -1, ret, one = 1;

	if (split_portal(portal, default_port, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, err_len, "invalid portal '%s'", portal);
		return -EINVAL;
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, err_len, "%s: %s", portal, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(ret);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			ret = -errno;
			goto next;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, timeout_ms) != 1) {
			ret = -ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &ret, &sl) < 0 || ret) {
			ret = -(ret ? ret : errno);
			goto next;
		}
		/* Blocking from here on; reads and writes poll with their own timeouts. */
		fcntl(fd, F_SETFL, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		return fd;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	snprintf(err, err_len, "connect to %s: %s", portal, strerror(-ret));
	return ret;
}

int nu_tcp_connect(const char *portals, const char *default_port, int timeout_ms, char *err,
		   unsigned err_len)
{
	unsigned n = nu_addr_nth(portals, 0, NULL, 0);
	size_t used = 0;
	int ret = -EINVAL;

	if (!n)
		snprintf(err, err_len, "no portal given");
	/* In order: the first is the preferred path, the others its stand-ins. */
	for (unsigned i = 0; i < n; i++) {
		char one[256];

		nu_addr_nth(portals, i, one, sizeof(one));
		ret = connect_one(one, default_port, timeout_ms, err + used, err_len - used);
		if (ret >= 0)
			return ret;
		used = strlen(err);
		if (i + 1 < n && used + 3 < err_len) {
			memcpy(err + used, "; ", 3);
			used += 2;
		}
	}
	return ret;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* Moves exactly n bytes one way, each wait for the socket bounded by timeout_ms. */
static int transfer_full(int fd, void *buf, size_t n, int timeout_ms, bool out)
{
	size_t done = 0;

	while (done < n) {
		int ret = wait_fd(fd, out ? POLLOUT : POLLIN, timeout_ms);
		ssize_t r;

		if (ret)
			return ret;
		r = out ? send(fd, (char *)buf + done, n - done, MSG_NOSIGNAL) :
			  recv(fd, (char *)buf + done, n - done, 0);
		if (r == 0 && !out)
			return -ECONNRESET;
		if (r < 0 && !out && errno == EIO) {
			char why[160];

			/* kTLS: a record that is not data; a ticket is passed over. */
			ret = nu_tls_control_record(fd, why, sizeof(why));
			if (!ret)
				continue;
			if (ret != -EIO)
				nu_warn("%s", why);
			return ret;
		}
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		done += r;
	}
	return 0;
}

int nu_read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	return transfer_full(fd, buf, n, timeout_ms, false);
}

int nu_write_full(int fd, const void *buf, size_t n, int timeout_ms)
{
	/* send() does not write through buf; the cast keeps one loop for both ways. */
	return transfer_full(fd, (void *)buf, n, timeout_ms, true);
}
