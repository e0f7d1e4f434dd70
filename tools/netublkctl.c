// SPDX-License-Identifier: MIT
/* netublkctl: ask a running netublkd. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: netublkctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
		   "\n"
		   "Commands:\n"
		   "  status                    targets, their state, and their devices\n"
		   "  rescan                    read every target's LUNs/namespaces again\n"
		   "  reload                    reload the config file (like SIGHUP)\n"
		   "  discover iscsi SPEC       SendTargets: portal=HOST:PORT[,chap_user=..]\n"
		   "  discover nvme SPEC        discovery log page: address=HOST:PORT[,...]\n"
		   "  logout NAME               stop serving a configured target (devices go)\n"
		   "  login NAME                serve it again\n"
		   "  path list                 every multipath target's paths\n"
		   "  path fail TARGET PATH     take a path out of use (TARGET: name or device,\n"
		   "  path reinstate TARGET PATH  PATH: index or address) / back into use\n"
		   "  path inject TARGET PATH drop         reset its connections\n"
		   "  path inject TARGET PATH blackhole S  no byte in or out for S seconds\n"
		   "  path inject TARGET PATH delay MS S   each send MS later, for S seconds\n"
		   "  metrics                   counters and latency histograms (Prometheus text)\n"
		   "\n"
		   "  -s, --socket PATH   netublkd's control socket [" NU_CTL_DEFAULT_PATH "]\n"
		   "  -j, --json          status as JSON\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = NU_CTL_DEFAULT_PATH;
	char buf[4096], req[1100];
	bool json = false, first = true, refused = false;
	ssize_t n;
	int c, fd;

	while ((c = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "netublkctl: socket path too long\n");
		return 2;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "netublkctl: cannot reach netublkd at %s: %s%s\n", path,
			strerror(errno),
			errno == EACCES ? " (root only, or netublkd's --control-group / "
					  "control_group members)" :
					  "");
		return 1;
	}
	{
		size_t o = snprintf(req, sizeof(req), "%s", NU_CTL_PROTO);

		for (int i = optind; i < argc && o < sizeof(req); i++)
			o += snprintf(req + o, sizeof(req) - o, " %s", argv[i]);
		if (o < sizeof(req))
			o += snprintf(req + o, sizeof(req) - o, "%s\n", json ? " json" : "");
		if (o >= sizeof(req)) {
			fprintf(stderr, "netublkctl: request too long\n");
			return 2;
		}
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "netublkctl: %s\n", strerror(errno));
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (first && n >= 7 && !strncmp(buf, "error: ", 7))
			refused = true;
		first = false;
		fwrite(buf, 1, n, refused ? stderr : stdout);
	}
	close(fd);
	return refused ? 1 : 0;
}
