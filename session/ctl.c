// SPDX-License-Identifier: MIT
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl.h"
#include "discovery.h"
#include "log.h"

/* A client has this long to send its line, then this long to take its answer. */
#define READ_MS 2000
#define WRITE_MS 5000

struct ctl_client {
	int fd; /* -1: free */
	bool answering;
	uint64_t deadline_ms;
	char req[NU_CTL_REQ_MAX];
	size_t got;
	char *answer;
	size_t len, sent;
};

struct nu_ctl {
	int lfd;
	char path[108];
	struct ctl_client cl[NU_CTL_CLIENTS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static int ctl_listen(const char *path, const char *group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	gid_t gid = (gid_t)-1;
	int fd;

	if (group) {
		struct group *g = getgrnam(group);

		if (!g)
			return -ESRCH;
		gid = g->gr_gid;
	}

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket that answers belongs to a live netublkd; one that does not was left by a dead one. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	/* Root (the owner) only, or also the members of group. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (group && chown(path, (uid_t)-1, gid) < 0) || chmod(path, group ? 0660 : 0600) < 0 ||
	    listen(fd, 8) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* discover iscsi|nvme SPEC: what a portal or discovery controller offers. */
static void discover(FILE *out, const char *args)
{
	char kind[16] = "", spec[900], err[256];
	bool bad;
	int ret;

	if (sscanf(args, "%15s %899s", kind, spec) != 2) {
		fprintf(out, "error: discover iscsi portal=HOST:PORT[,...] or "
			     "discover nvme address=HOST:PORT[,...]\n");
		return;
	}
	ret = nu_discover(kind, spec, out, &bad, err, sizeof(err));
	if (ret < 0)
		fprintf(out, "error: %s\n", err);
}

/* The answer to one request line, into cl's buffer. */
static void answer(struct ctl_client *cl, struct nu_manager *m, bool *reload)
{
	struct nu_ctl_req r;
	const char *why, *args = r.args;
	FILE *out = open_memstream(&cl->answer, &cl->len);
	int ret;

	if (!out)
		return;
	if (nu_ctl_parse(cl->req, cl->got, &r, &why)) {
		fprintf(out, "error: %s\n", why);
	} else if (r.cmd == NU_CTL_STATUS) {
		nu_manager_status(m, out, !strcmp(args, "json"));
	} else if (r.cmd == NU_CTL_RESCAN) {
		nu_manager_rescan_all(m);
		fprintf(out, "rescanned\n");
	} else if (r.cmd == NU_CTL_RELOAD) {
		*reload = true;
		fprintf(out, "reloading\n");
	} else if (r.cmd == NU_CTL_DISCOVER) {
		discover(out, args);
	} else if (r.cmd == NU_CTL_PATH) {
		nu_manager_path(m, args, out);
	} else if (r.cmd == NU_CTL_METRICS) {
		nu_manager_metrics(m, out);
	} else {
		bool in = r.cmd == NU_CTL_LOGIN;
		const char *cmd = in ? "login" : "logout";

		ret = !args[0] ? -EINVAL : in ? nu_manager_login(m, args) : nu_manager_logout(m, args);
		if (ret == -ENOENT)
			fprintf(out, "error: no target named '%s'\n", args);
		else if (ret == -EINVAL)
			fprintf(out, "error: %s TARGET_NAME\n", cmd);
		else if (ret == -EALREADY)
			fprintf(out, "error: target %s is already %s\n", args,
				in ? "served" : "logged out");
		else
			fprintf(out, "%s: %s\n", args,
				in ? "logging in" : "logged out, devices removed");
	}
	fclose(out);
}

static void client_drop(struct ctl_client *cl, const char *why)
{
	if (why)
		nu_info("control socket: client dropped: %s", why);
	close(cl->fd);
	cl->fd = -1;
	free(cl->answer);
	cl->answer = NULL;
}

static void client_write(struct ctl_client *cl)
{
	while (cl->sent < cl->len) {
		ssize_t w = send(cl->fd, cl->answer + cl->sent, cl->len - cl->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EAGAIN)
			return; /* the rest when it reads */
		if (w <= 0) {
			client_drop(cl, NULL);
			return;
		}
		cl->sent += w;
	}
	client_drop(cl, NULL);
}

static void client_read(struct ctl_client *cl, struct nu_manager *m, bool *reload)
{
	ssize_t r = recv(cl->fd, cl->req + cl->got, sizeof(cl->req) - cl->got, MSG_DONTWAIT);

	if (r < 0 && errno == EAGAIN)
		return;
	if (r > 0)
		cl->got += r;
	/* A whole line, a full buffer, or the client closed its side: answer now. */
	if (r > 0 && !memchr(cl->req, '\n', cl->got) && cl->got < sizeof(cl->req))
		return;
	if (r < 0 || !cl->got) {
		client_drop(cl, NULL);
		return;
	}
	answer(cl, m, reload);
	if (!cl->answer) {
		client_drop(cl, "out of memory");
		return;
	}
	cl->answering = true;
	cl->deadline_ms = now_ms() + WRITE_MS;
	client_write(cl);
}

int nu_ctl_open(const char *path, const char *group, struct nu_ctl **out)
{
	struct nu_ctl *c = calloc(1, sizeof(*c));
	int fd;

	if (!c)
		return -ENOMEM;
	fd = ctl_listen(path, group);
	if (fd < 0) {
		free(c);
		return fd;
	}
	c->lfd = fd;
	snprintf(c->path, sizeof(c->path), "%s", path);
	for (unsigned i = 0; i < NU_CTL_CLIENTS; i++)
		c->cl[i].fd = -1;
	*out = c;
	return 0;
}

unsigned nu_ctl_pollfds(const struct nu_ctl *c, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0, busy = 0;

	for (unsigned i = 0; i < NU_CTL_CLIENTS && n + 1 < max; i++) {
		const struct ctl_client *cl = &c->cl[i];

		if (cl->fd < 0)
			continue;
		busy++;
		pfd[n++] = (struct pollfd){ .fd = cl->fd, .events = cl->answering ? POLLOUT : POLLIN };
	}
	/* With every slot taken, new clients wait in the backlog. */
	if (busy < NU_CTL_CLIENTS && n < max)
		pfd[n++] = (struct pollfd){ .fd = c->lfd, .events = POLLIN };
	return n;
}

static struct ctl_client *client_of(struct nu_ctl *c, int fd)
{
	for (unsigned i = 0; i < NU_CTL_CLIENTS; i++)
		if (c->cl[i].fd == fd)
			return &c->cl[i];
	return NULL;
}

int nu_ctl_run(struct nu_ctl *c, const struct pollfd *pfd, unsigned n, struct nu_manager *m,
	       bool *reload)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (unsigned i = 0; i < n; i++) {
		struct ctl_client *cl;

		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == c->lfd) {
			cl = client_of(c, -1);
			if (!cl)
				continue;
			cl->fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (cl->fd < 0)
				continue;
			cl->answering = false;
			cl->got = cl->len = cl->sent = 0;
			cl->deadline_ms = now + READ_MS;
			continue;
		}
		cl = client_of(c, pfd[i].fd);
		if (!cl)
			continue;
		if (cl->answering)
			client_write(cl);
		else
			client_read(cl, m, reload);
	}
	for (unsigned i = 0; i < NU_CTL_CLIENTS; i++) {
		struct ctl_client *cl = &c->cl[i];

		if (cl->fd < 0)
			continue;
		if (now >= cl->deadline_ms) {
			client_drop(cl, cl->answering ? "did not take its answer in time" :
							"said no whole request in time");
			continue;
		}
		if (cl->deadline_ms < next)
			next = cl->deadline_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

void nu_ctl_close(struct nu_ctl *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < NU_CTL_CLIENTS; i++)
		if (c->cl[i].fd >= 0)
			client_drop(&c->cl[i], NULL);
	close(c->lfd);
	unlink(c->path);
	free(c);
}
