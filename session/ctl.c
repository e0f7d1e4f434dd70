// SPDX-License-Identifier: MIT
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl.h"
#include "discovery.h"
#include "log.h"

int nu_ctl_listen(const char *path, const char *group)
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

static void answer(int cfd, struct nu_manager *m, const char *req, bool *reload)
{
	char *text = NULL, cmd[32] = "", args[1024] = "";
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int n;

	if (!out)
		return;
	n = sscanf(req, NU_CTL_PROTO " %31s %1023[^\n]", cmd, args);
	if (strncmp(req, NU_CTL_PROTO " ", strlen(NU_CTL_PROTO) + 1) || n < 1) {
		fprintf(out, "error: this daemon speaks %s\n", NU_CTL_PROTO);
	} else if (!strcmp(cmd, "status")) {
		nu_manager_status(m, out, !strcmp(args, "json"));
	} else if (!strcmp(cmd, "rescan")) {
		nu_manager_rescan_all(m);
		fprintf(out, "rescanned\n");
	} else if (!strcmp(cmd, "reload")) {
		*reload = true;
		fprintf(out, "reloading\n");
	} else if (!strcmp(cmd, "discover")) {
		discover(out, args);
	} else if (!strcmp(cmd, "login") || !strcmp(cmd, "logout")) {
		int ret = !args[0] ? -EINVAL :
			  cmd[5] ? nu_manager_logout(m, args) : nu_manager_login(m, args);

		if (ret == -ENOENT)
			fprintf(out, "error: no target named '%s'\n", args);
		else if (ret == -EINVAL)
			fprintf(out, "error: %s TARGET_NAME\n", cmd);
		else if (ret == -EALREADY)
			fprintf(out, "error: target %s is already %s\n", args,
				cmd[5] ? "logged out" : "served");
		else
			fprintf(out, "%s: %s\n", args,
				cmd[5] ? "logged out, devices removed" : "logging in");
	} else {
		fprintf(out, "error: unknown command '%s' (status, rescan, reload, discover, login, "
			     "logout)\n",
			cmd);
	}
	fclose(out);
	for (size_t done = 0; done < len;) {
		ssize_t w = send(cfd, text + done, len - done, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		done += w;
	}
	free(text);
}

void nu_ctl_serve(int lfd, struct nu_manager *m, bool *reload)
{
	struct pollfd pfd;
	char req[1100];
	size_t got = 0;
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	pfd = (struct pollfd){ .fd = cfd, .events = POLLIN };
	/* One short line; a client that says nothing within a second is dropped. */
	while (got < sizeof(req) - 1 && poll(&pfd, 1, 1000) == 1) {
		ssize_t r = recv(cfd, req + got, sizeof(req) - 1 - got, 0);

		if (r <= 0)
			break;
		got += r;
		if (memchr(req, '\n', got))
			break;
	}
	req[got] = '\0';
	if (got)
		answer(cfd, m, req, reload);
	close(cfd);
}
