// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl.h"
#include "log.h"

int nu_ctl_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	int fd;

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
	unlink(path); /* a socket left by a daemon that died */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 8) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static void answer(int cfd, struct nu_manager *m, const char *req, bool *reload)
{
	char *text = NULL, cmd[32] = "", arg[32] = "";
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int n;

	if (!out)
		return;
	n = sscanf(req, NU_CTL_PROTO " %31s %31s", cmd, arg);
	if (strncmp(req, NU_CTL_PROTO " ", strlen(NU_CTL_PROTO) + 1) || n < 1) {
		fprintf(out, "error: this daemon speaks %s\n", NU_CTL_PROTO);
	} else if (!strcmp(cmd, "status")) {
		nu_manager_status(m, out, !strcmp(arg, "json"));
	} else if (!strcmp(cmd, "rescan")) {
		nu_manager_rescan_all(m);
		fprintf(out, "rescanned\n");
	} else if (!strcmp(cmd, "reload")) {
		*reload = true;
		fprintf(out, "reloading\n");
	} else {
		fprintf(out, "error: unknown command '%s' (status, rescan, reload)\n", cmd);
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
	char req[128];
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
