// SPDX-License-Identifier: MIT
/*
 * netublkd: serve remote volumes as ublk block devices.
 *
 * Options and the main loop; the session manager (session/manager.c)
 * owns the targets, their hosts and their devices.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/signalfd.h>

#include "log.h"
#include "queue.h"
#include "ublk_ctrl.h"
#include "ublk_features.h"
#include "units.h"
#include "target_spec.h"
#include "conffile.h"
#include "manager.h"
#include "ublk_dev.h"
#include "metrics_http.h"
#include "notify.h"
#include "ctl.h"
#include "discovery.h"
#include "iscsi_transport.h"
#include "nvme_transport.h"

#define MAX_MEM_VOLS 16

struct options {
	uint64_t mem_size[MAX_MEM_VOLS];
	unsigned nr_mem;
	const char *iscsi;
	const char *nvme;
	const char *nvme_discover;
	const char *discover;
	const char *config;
	const char *control;
	const char *control_group;
	const char *by_id;
	unsigned queues;
	unsigned depth;
	unsigned backend_depth;
	unsigned block_size;
	uint64_t max_io;
	int data_mode;
	unsigned coalesce_us;
	unsigned busy_poll_us;
	int queue_affinity; /* enum ublk_queue_placement */
	enum nu_auto_bool batch_io;
	const char *ready_file;
	bool remove_busy;
	bool features;
	bool log_level_given; /* --log-level wins over the config file's */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: netublkd (--config FILE | --iscsi SPEC | --nvme SPEC | --mem SIZE ...) "
		"[options]\n"
		"\n"
		"Serves volumes as /dev/ublkbN until SIGINT or SIGTERM, then removes them.\n"
		"\n"
		"  --config FILE         serve the targets of a config file "
		"(conf/netublk.conf.example)\n"
		"  --iscsi SPEC          an iSCSI target: "
		"portal=HOST:PORT,target=IQN[,chap_user=U,\n"
		"                        chap_secret=S,header_digest=crc32c,...]; every LUN\n"
		"                        becomes a device\n"
		"  --nvme SPEC           an NVMe/TCP subsystem: address=HOST:PORT,subsystem=NQN[,\n"
		"                        host_nqn=NQN,header_digest=crc32c,...]; every namespace\n"
		"                        becomes a device\n"
		"  --discover SPEC       SendTargets at portal=HOST:PORT[,chap_user=..]: print\n"
		"                        the targets and exit\n"
		"  --nvme-discover SPEC  read the discovery log page at address=HOST:PORT[,...]:\n"
		"                        print the subsystems and exit\n"
		"  --features            print what this kernel's ublk offers and exit\n"
		"  --mem SIZE            a RAM-backed TEST volume (e.g. 256M); repeatable\n"
		"  --queues N            queues (threads, io_uring rings) [2]\n"
		"  --depth N             ublk tags per queue and device [64]\n"
		"  --backend-depth N     backend tags per queue, shared by all devices [64]\n"
		"  --block-size N        logical block size, 512 or 4096 [512]\n"
		"  --max-io SIZE         largest request [512k]\n"
		"  --data-mode MODE      auto, zero-copy, user-copy or copy [auto]\n"
		"  --coalesce US         with many small I/Os in flight, wait up to US\n"
		"                        microseconds for a batch of completions; 0: off [50]\n"
		"  --busy-poll US        while I/O is in flight, poll up to US microseconds\n"
		"                        before sleeping; 0: off [0]\n"
		"  --queue-affinity A    any; blk-mq: each queue thread on the CPUs that\n"
		"                        blk-mq maps to its ublk queue; apart: on the\n"
		"                        other CPUs [any]\n"
		"  --batch-io B          auto, on or off: fetch and commit requests in\n"
		"                        batches (UBLK_F_BATCH_IO, Linux 7.0+); auto: for\n"
		"                        iSCSI, measured ahead there [auto]\n"
		"  --ready-file PATH     write the device names there once they are up\n"
		"  --control PATH        control socket for netublkctl [" NU_CTL_DEFAULT_PATH "]\n"
		"  --control-group GROUP members of GROUP may use the control socket too\n"
		"  --by-id DIR           stable device links [/run/netublk/by-id]\n"
		"  --remove-busy         at SIGTERM, delete devices even if mounted (by default\n"
		"                        they stay, waiting for the next netublkd)\n"
		"  --log-level LEVEL     error, warn, info or debug [info]\n"
		"  --syslog              log to syslog (daemon facility) too\n"
		"  --log-time            start log lines with the monotonic clock's seconds\n"
		"  -h, --help            this text\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"mem", required_argument, NULL, 'm'},
		{"iscsi", required_argument, NULL, 'I'},
		{"discover", required_argument, NULL, 'S'},
		{"nvme", required_argument, NULL, 'N'},
		{"nvme-discover", required_argument, NULL, 'E'},
		{"config", required_argument, NULL, 'c'},
		{"control", required_argument, NULL, 'C'},
		{"by-id", required_argument, NULL, 'B'},
		{"control-group", required_argument, NULL, 'G'},
		{"queues", required_argument, NULL, 'q'},
		{"depth", required_argument, NULL, 'd'},
		{"backend-depth", required_argument, NULL, 'b'},
		{"block-size", required_argument, NULL, 's'},
		{"max-io", required_argument, NULL, 'x'},
		{"data-mode", required_argument, NULL, 'D'},
		{"coalesce", required_argument, NULL, 'W'},
		{"busy-poll", required_argument, NULL, 'P'},
		{"batch-io", required_argument, NULL, 'O'},
		{"ready-file", required_argument, NULL, 'r'},
		{"log-level", required_argument, NULL, 'l'},
		{"remove-busy", no_argument, NULL, 'R'},
		{"syslog", no_argument, NULL, 'Y'},
		{"log-time", no_argument, NULL, 'T'},
		{"features", no_argument, NULL, 'F'},
		{"queue-affinity", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum nu_log_level level;
	int c;

	*o = (struct options){ .control = NU_CTL_DEFAULT_PATH, .by_id = "/run/netublk/by-id",
			       .queues = 2, .depth = 64, .backend_depth = 64, .block_size = 512,
			       .max_io = 512 * 1024, .data_mode = UBLK_DM_BEST,
			       .coalesce_us = NU_QUEUE_COALESCE_US };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (o->nr_mem == MAX_MEM_VOLS) {
				fprintf(stderr, "netublkd: at most %d --mem volumes\n",
					MAX_MEM_VOLS);
				return -EINVAL;
			}
			if (nu_parse_size(optarg, &o->mem_size[o->nr_mem]) ||
			    !o->mem_size[o->nr_mem]) {
				fprintf(stderr, "netublkd: invalid --mem size '%s'\n", optarg);
				return -EINVAL;
			}
			o->nr_mem++;
			break;
		case 'I':
			o->iscsi = optarg;
			break;
		case 'S':
			o->discover = optarg;
			break;
		case 'N':
			o->nvme = optarg;
			break;
		case 'E':
			o->nvme_discover = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'C':
			o->control = optarg;
			break;
		case 'R':
			o->remove_busy = true;
			break;
		case 'Y':
			nu_log_syslog("netublkd");
			break;
		case 'T':
			nu_log_time(true);
			break;
		case 'F':
			o->features = true;
			break;
		case 'B':
			o->by_id = optarg;
			break;
		case 'G':
			o->control_group = optarg;
			break;
		case 'A':
			o->queue_affinity = nu_parse_queue_placement(optarg);
			if (o->queue_affinity < 0) {
				fputs("netublkd: --queue-affinity must be any, blk-mq or apart\n",
				      stderr);
				return -EINVAL;
			}
			break;
		case 'O':
			if (nu_parse_auto_bool(optarg, &o->batch_io)) {
				fprintf(stderr,
					"netublkd: --batch-io must be auto, on or off, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'P':
			if (nu_parse_uint(optarg, 0, NU_QUEUE_BUSY_POLL_US_MAX, &o->busy_poll_us)) {
				fprintf(stderr, "netublkd: --busy-poll must be 0..%u (microseconds)\n",
					NU_QUEUE_BUSY_POLL_US_MAX);
				return -EINVAL;
			}
			break;
		case 'W':
			if (nu_parse_uint(optarg, 0, NU_QUEUE_COALESCE_US_MAX, &o->coalesce_us)) {
				fprintf(stderr, "netublkd: --coalesce must be 0..%u (microseconds)\n",
					NU_QUEUE_COALESCE_US_MAX);
				return -EINVAL;
			}
			break;
		case 'q':
			if (nu_parse_uint(optarg, 1, 64, &o->queues)) {
				fprintf(stderr, "netublkd: --queues must be 1..64\n");
				return -EINVAL;
			}
			break;
		case 'd':
			if (nu_parse_uint(optarg, 1, 4096, &o->depth)) {
				fprintf(stderr, "netublkd: --depth must be 1..4096\n");
				return -EINVAL;
			}
			break;
		case 'b':
			if (nu_parse_uint(optarg, 1, 4096, &o->backend_depth)) {
				fprintf(stderr, "netublkd: --backend-depth must be 1..4096\n");
				return -EINVAL;
			}
			break;
		case 's':
			if (nu_parse_uint(optarg, 512, 4096, &o->block_size) ||
			    (o->block_size != 512 && o->block_size != 4096)) {
				fprintf(stderr, "netublkd: --block-size must be 512 or 4096\n");
				return -EINVAL;
			}
			break;
		case 'x':
			if (nu_parse_size(optarg, &o->max_io) || o->max_io < 4096 ||
			    o->max_io > (32u << 20) || (o->max_io & 4095)) {
				fprintf(stderr, "netublkd: --max-io must be a multiple of 4k, "
						"4k..32M\n");
				return -EINVAL;
			}
			break;
		case 'D':
			if (ublk_data_mode_parse(optarg, &o->data_mode)) {
				fprintf(stderr, "netublkd: --data-mode must be auto, zero-copy, "
						"user-copy or copy\n");
				return -EINVAL;
			}
			break;
		case 'r':
			o->ready_file = optarg;
			break;
		case 'l':
			if (nu_log_level_parse(optarg, &level)) {
				fprintf(stderr, "netublkd: unknown log level '%s'\n", optarg);
				return -EINVAL;
			}
			nu_log_set_level(level);
			o->log_level_given = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "netublkd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->discover || o->nvme_discover || o->features)
		return 0;
	if (!o->nr_mem && !o->iscsi && !o->nvme && !o->config) {
		fprintf(stderr, "netublkd: nothing to serve: give --config FILE, --iscsi SPEC, "
				"--nvme SPEC or --mem SIZE\n");
		return -EINVAL;
	}
	if (!!o->nr_mem + !!o->iscsi + !!o->nvme + !!o->config > 1) {
		fprintf(stderr, "netublkd: --config, --iscsi, --nvme and --mem do not mix (several "
				"targets: use a config file)\n");
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nr_mem; i++) {
		if (o->mem_size[i] % o->block_size) {
			fprintf(stderr, "netublkd: --mem size %llu is not a multiple of the %u-byte "
					"block size\n",
				(unsigned long long)o->mem_size[i], o->block_size);
			return -EINVAL;
		}
	}
	return 0;
}

/* The metrics listener, as [global] metrics_listen says (started, moved or stopped). */
static struct nu_metrics_http *metrics;
static char metrics_where[128];

static int metrics_apply(const struct nu_manager *m, const char *where, bool allow_remote)
{
	int ret = 0;

	if (!strcmp(where, metrics_where))
		return 0;
	nu_metrics_http_stop(metrics);
	metrics = NULL;
	metrics_where[0] = '\0';
	if (where[0] && !(ret = nu_metrics_http_start(where, allow_remote, m, &metrics)))
		snprintf(metrics_where, sizeof(metrics_where), "%s", where);
	return ret;
}

static void reload(struct nu_manager *m, const struct options *o)
{
	static struct nu_conf conf;
	char err[512];

	if (!o->config) {
		nu_info("reload: nothing to reload without a config file");
		return;
	}
	if (nu_conf_load(o->config, &conf, err, sizeof(err))) {
		nu_err("reload: %s; keeping the running configuration", err);
		return;
	}
	nu_info("reloading %s", o->config);
	nu_notify("RELOADING=1");
	nu_conf_expand_discovery(&conf);
	nu_manager_apply(m, &conf);
	metrics_apply(m, conf.metrics_listen, conf.metrics_remote);
	nu_notify("READY=1");
}

/*
 * Serves until SIGINT or SIGTERM. SIGHUP (or netublkctl reload) reloads the
 * config file; the control socket answers netublkctl.
 */
static int serve(struct nu_manager *m, const struct options *o, const sigset_t *sigs,
		 struct nu_ctl *ctl)
{
	struct pollfd pfd[1 + NU_CTL_POLLFDS + 1 + NU_CONF_MAX_TARGETS + 1];
	struct signalfd_siginfo si;
	int sfd = signalfd(-1, sigs, SFD_CLOEXEC), timeout = nu_manager_run(m, NULL, 0);

	if (sfd < 0)
		return -errno;
	for (;;) {
		unsigned nc = nu_ctl_pollfds(ctl, pfd + 1, NU_CTL_POLLFDS);
		unsigned n = nu_manager_pollfds(m, pfd + 1 + nc, 1 + NU_CONF_MAX_TARGETS);
		struct pollfd *mp = &pfd[1 + nc + n];
		bool want_reload = false;
		int ctl_timeout, mt;

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		*mp = (struct pollfd){ .fd = metrics ? nu_metrics_http_fd(metrics) : -1,
				       .events = POLLIN };
		mt = metrics ? nu_metrics_http_timeout(metrics) : -1;
		if (mt >= 0 && (timeout < 0 || mt < timeout))
			timeout = mt;
		if (poll(pfd, 1 + nc + n + 1, timeout) < 0 && errno != EINTR)
			break;
		if (metrics)
			nu_metrics_http_run(metrics);
		timeout = nu_manager_run(m, pfd + 1 + nc, n);
		ctl_timeout = nu_ctl_run(ctl, pfd + 1, nc, m, &want_reload);
		if (ctl_timeout >= 0 && (timeout < 0 || ctl_timeout < timeout))
			timeout = ctl_timeout;
		if ((pfd[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo != SIGHUP) {
				nu_info("%s: removing devices", strsignal(si.ssi_signo));
				nu_notify("STOPPING=1");
				break;
			}
			want_reload = true;
		}
		if (want_reload) {
			reload(m, o);
			timeout = nu_manager_run(m, NULL, 0);
		}
	}
	close(sfd);
	return 0;
}

int main(int argc, char **argv)
{
	static struct nu_conf conf;
	struct nu_conf_target tc = { .discard = true };
	struct ublk_ctrl ctrl = { .fd = -1 };
	struct nu_manager *m = NULL;
	struct nu_manager_options mo;
	struct options o;
	sigset_t sigs;
	int status = 1, ret;
	struct nu_ctl *ctl = NULL;

	if (parse_options(argc, argv, &o))
		return 2;
	if (o.features) {
		char feat[512];

		if (ublk_ctrl_open(&ctrl) < 0)
			return 1;
		ublk_features_format(ctrl.features, feat, sizeof(feat));
		printf("%s\n", feat);
		ublk_ctrl_close(&ctrl);
		return 0;
	}
	if (o.discover || o.nvme_discover) {
		const char *kind = o.discover ? "iscsi" : "nvme";
		char err[256];
		bool bad;
		int n = nu_discover(kind, o.discover ? o.discover : o.nvme_discover, stdout, &bad,
				    err, sizeof(err));

		if (n < 0 && bad) {
			fprintf(stderr, "netublkd: --%s: %s\n", o.discover ? "discover" : "nvme-discover",
				err);
			return 2;
		}
		if (n < 0) {
			nu_err("%s", err);
			return 1;
		}
		if (!n && o.discover)
			nu_warn("%s offers no targets to this initiator", o.discover);
		return 0;
	}
	if (o.iscsi) {
		char err[256];

		tc.kind = NU_TARGET_ISCSI;
		if (nu_iscsi_spec_parse(o.iscsi, &tc.iscsi, err, sizeof(err))) {
			fprintf(stderr, "netublkd: --iscsi: %s\n", err);
			return 2;
		}
	}
	if (o.nvme) {
		char err[256];

		tc.kind = NU_TARGET_NVME;
		if (nu_nvme_spec_parse(o.nvme, &tc.nvme, err, sizeof(err))) {
			fprintf(stderr, "netublkd: --nvme: %s\n", err);
			return 2;
		}
	}
	if (o.config) {
		char err[512];

		if (nu_conf_load(o.config, &conf, err, sizeof(err))) {
			fprintf(stderr, "netublkd: %s\n", err);
			return 2;
		}
		o.queues = conf.queues;
		o.depth = conf.queue_depth;
		o.backend_depth = conf.backend_depth;
		o.data_mode = conf.data_mode;
		o.coalesce_us = conf.coalesce_us;
		o.busy_poll_us = conf.busy_poll_us;
		o.queue_affinity = conf.queue_affinity;
		o.batch_io = conf.batch_io;
		if (!o.log_level_given)
			nu_log_set_level(conf.log_level);
	}

	/* Every thread inherits this mask; the main thread reads signals from a signalfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ublk_ctrl_open(&ctrl) < 0)
		return 1;
	nu_queue_set_coalesce(o.coalesce_us);
	nu_queue_set_busy_poll(o.busy_poll_us);
	ublk_dev_set_queue_affinity(o.queue_affinity);
	ublk_dev_set_batch_io(o.batch_io == NU_AUTO ? UBLK_BATCH_IO_AUTO
			      : o.batch_io == NU_ON ? UBLK_BATCH_IO_ON
						    : UBLK_BATCH_IO_OFF);
	mo = (struct nu_manager_options){
		.queues = o.queues,
		.depth = o.depth,
		.backend_depth = o.backend_depth,
		.max_io = o.max_io,
		.data_mode = o.data_mode,
		.ready_file = o.ready_file,
		.by_id_dir = o.by_id,
		.state_dir = "/run/netublk/state",
		.mem_sizes = o.mem_size,
		.nr_mem = o.nr_mem,
		.mem_block_size = o.block_size,
	};
	m = nu_manager_create(&ctrl, &mo);
	if (!m)
		goto out;
	if (!o.control_group && conf.control_group[0])
		o.control_group = conf.control_group;
	ret = nu_ctl_open(o.control, o.control_group, &ctl);
	if (ret < 0) {
		nu_err("control socket %s: %s", o.control,
		       ret == -EADDRINUSE ? "another netublkd answers there (use --control PATH "
					    "for a second one)" :
		       ret == -ESRCH	  ? "the control group does not exist" :
					    strerror(-ret));
		goto out;
	}
	if (metrics_apply(m, conf.metrics_listen, conf.metrics_remote) < 0)
		goto out;
	if (o.config) {
		nu_conf_expand_discovery(&conf);
		nu_manager_apply(m, &conf);
		/* All targets connect at once; each comes up as soon as it answers. */
		while (nu_manager_connecting(m)) {
			struct pollfd pfd[1 + NU_CONF_MAX_TARGETS];
			unsigned n = nu_manager_pollfds(m, pfd, 1 + NU_CONF_MAX_TARGETS);

			poll(pfd, n, 1000);
			nu_manager_run(m, pfd, n);
		}
		/* Unreachable targets are retried; with none up at all, there is nothing to do. */
		if (!nu_manager_nr_up(m)) {
			nu_err("no configured target could be served");
			goto out;
		}
	} else if (nu_manager_add_one(m, o.iscsi || o.nvme ? &tc : NULL) < 0) {
		goto out;
	}
	nu_info("ready: %u device(s); SIGINT or SIGTERM stops, SIGHUP reloads",
		nu_manager_nr_devices(m));
	{
		int ret = nu_notify("READY=1");

		if (ret < 0)
			nu_warn("cannot tell systemd we are ready (NOTIFY_SOCKET): %s",
				strerror(-ret));
	}
	if (serve(m, &o, &sigs, ctl) == 0)
		status = 0;
	nu_ctl_close(ctl);
	ctl = NULL;
	if (nu_manager_stop(m, o.remove_busy)) {
		/* As after a crash: the kernel keeps them until a new netublkd recovers them. */
		nu_info("devices in use left for the next netublkd (--remove-busy deletes them)");
		_exit(status);
	}
out:
	metrics_apply(m, "", false);
	nu_ctl_close(ctl);
	nu_manager_destroy(m);
	ublk_ctrl_close(&ctrl);
	return status;
}
