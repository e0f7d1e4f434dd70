// SPDX-License-Identifier: MIT
/*
 * netublkd: serve remote volumes as ublk block devices.
 *
 * This first cut serves the built-in memory test backend; the session
 * manager (config file, iSCSI and NVMe/TCP targets) plugs in here.
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

#include "host.h"
#include "log.h"
#include "membackend.h"
#include "ublk_ctrl.h"
#include "ublk_dev.h"
#include "ublk_features.h"
#include "units.h"
#include "target_spec.h"
#include "conffile.h"
#include "iscsi_transport.h"

#define MAX_MEM_VOLS 16

struct options {
	uint64_t mem_size[MAX_MEM_VOLS];
	unsigned nr_mem;
	const char *iscsi;
	const char *discover;
	const char *config;
	unsigned queues;
	unsigned depth;
	unsigned backend_depth;
	unsigned block_size;
	uint64_t max_io;
	int data_mode;
	const char *ready_file;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: netublkd (--iscsi SPEC | --mem SIZE [--mem SIZE ...]) [options]\n"
		"\n"
		"Serves volumes as /dev/ublkbN until SIGINT or SIGTERM, then removes them.\n"
		"\n"
		"  --config FILE         serve the targets of a config file (conf/netublk.conf.example)\n"
		"  --iscsi SPEC          an iSCSI target: portal=HOST:PORT,target=IQN[,chap_user=U,\n"
		"                        chap_secret=S,header_digest=crc32c,...]; every LUN\n"
		"                        becomes a device\n"
		"  --discover SPEC       SendTargets at portal=HOST:PORT[,chap_user=..]: print\n"
		"                        the targets and exit\n"
		"  --mem SIZE            a RAM-backed TEST volume (e.g. 256M); repeatable\n"
		"  --queues N            queues (threads, io_uring rings) [2]\n"
		"  --depth N             ublk tags per queue and device [64]\n"
		"  --backend-depth N     backend tags per queue, shared by all devices [64]\n"
		"  --block-size N        logical block size, 512 or 4096 [512]\n"
		"  --max-io SIZE         largest request [512k]\n"
		"  --data-mode MODE      auto, zero-copy, user-copy or copy [auto]\n"
		"  --ready-file PATH     write the device names there once they are up\n"
		"  --log-level LEVEL     error, warn, info or debug [info]\n"
		"  -h, --help            this text\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "iscsi", required_argument, NULL, 'I' },
		{ "discover", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "backend-depth", required_argument, NULL, 'b' },
		{ "block-size", required_argument, NULL, 's' },
		{ "max-io", required_argument, NULL, 'x' },
		{ "data-mode", required_argument, NULL, 'D' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum nu_log_level level;
	int c;

	*o = (struct options){ .queues = 2, .depth = 64, .backend_depth = 64, .block_size = 512,
			       .max_io = 512 * 1024, .data_mode = UBLK_DM_BEST };
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
		case 'c':
			o->config = optarg;
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
	if (o->discover)
		return 0;
	if (!o->nr_mem && !o->iscsi && !o->config) {
		fprintf(stderr, "netublkd: nothing to serve: give --config FILE, --iscsi SPEC or "
				"--mem SIZE\n");
		return -EINVAL;
	}
	if (!!o->nr_mem + !!o->iscsi + !!o->config > 1) {
		fprintf(stderr, "netublkd: --config, --iscsi and --mem do not mix\n");
		return -EINVAL;
	}
	if (o->nr_mem && o->iscsi) {
		fprintf(stderr, "netublkd: --iscsi and --mem do not mix (one host per process "
				"until the config file lands)\n");
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

static void print_stats(struct nu_host *h, struct ublk_dev *d)
{
	const struct nu_volume_stats *s = nu_host_vol_stats(h, ublk_dev_volume(d));

	nu_info("ublkb%d stats: read %llu ops %llu bytes, write %llu ops %llu bytes, flush %llu, "
		"discard %llu ops %llu bytes, write-zeroes %llu, errors %llu",
		ublk_dev_id(d), (unsigned long long)s->ops[NU_OP_READ],
		(unsigned long long)s->bytes[NU_OP_READ], (unsigned long long)s->ops[NU_OP_WRITE],
		(unsigned long long)s->bytes[NU_OP_WRITE], (unsigned long long)s->ops[NU_OP_FLUSH],
		(unsigned long long)s->ops[NU_OP_DISCARD],
		(unsigned long long)s->bytes[NU_OP_DISCARD],
		(unsigned long long)s->ops[NU_OP_WRITE_ZEROES], (unsigned long long)s->errors);
}

/* The devices, indexed by volume; volumes that are gone leave a NULL. */
struct served {
	struct ublk_ctrl *ctrl;
	struct nu_host *host;
	struct iscsi_host *ih;
	struct nu_mem_backend *mem;
	const struct options *o;
	const struct nu_conf_target *ct; /* LUN filter and device options, if from a config */
	struct ublk_dev *devs[ISCSI_MAX_LUNS];
	unsigned nr_vols;
};

#define MAX_HOSTS NU_CONF_MAX_TARGETS

static int write_ready_file(const char *path, const struct served *svs, unsigned n)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (unsigned h = 0; h < n; h++)
		for (unsigned i = 0; i < svs[h].nr_vols; i++)
			if (svs[h].devs[i])
				fprintf(f, "/dev/ublkb%d %s\n", ublk_dev_id(svs[h].devs[i]),
					ublk_data_mode_name(ublk_dev_data_mode(svs[h].devs[i])));
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

static int add_volume(struct served *sv, unsigned vol)
{
	struct ublk_dev_config cfg = { .dev_id = -1, .depth = sv->o->depth,
				       .max_io_bytes = sv->o->max_io,
				       .data_mode = sv->o->data_mode };
	struct nu_volume_geom g;

	if (vol >= sv->nr_vols)
		sv->nr_vols = vol + 1;
	if (sv->ih) {
		const struct iscsi_lun_info *li = iscsi_host_lun(sv->ih, vol);

		if (sv->ct && !nu_conf_lun_wanted(sv->ct, li->lun))
			return 0; /* filtered out by the config's luns = */
		g = li->geom;
	} else {
		nu_mem_geom(sv->mem, vol, &g);
	}
	if (sv->ct && sv->ct->read_only)
		g.read_only = true;
	if (sv->ct && !sv->ct->discard)
		g.discard_granularity = g.max_discard = g.max_write_zeroes = 0;
	return ublk_dev_create(sv->ctrl, sv->host, vol, &g, &cfg, &sv->devs[vol]);
}

static void remove_volume(struct served *sv, unsigned vol)
{
	if (!sv->devs[vol])
		return;
	print_stats(sv->host, sv->devs[vol]);
	ublk_dev_destroy(sv->devs[vol]);
	sv->devs[vol] = NULL;
}

/* The target's LUNs changed: devices for new LUNs, none for gone ones, new sizes. */
static void rescan(struct served *sv, const struct served *all, unsigned n)
{
	struct iscsi_rescan *r = calloc(1, sizeof(*r));

	if (!r || iscsi_host_rescan(sv->ih, r) < 0) {
		free(r);
		return;
	}
	for (unsigned i = 0; i < r->nr_removed; i++)
		remove_volume(sv, r->removed[i]);
	for (unsigned i = 0; i < r->nr_resized; i++)
		if (sv->devs[r->resized[i]])
			ublk_dev_update_size(sv->devs[r->resized[i]],
					     iscsi_host_lun(sv->ih, r->resized[i])->geom.size);
	for (unsigned i = 0; i < r->nr_added; i++)
		if (add_volume(sv, r->added[i]) < 0)
			nu_err("no device for the new volume %u", r->added[i]);
	if (sv->o->ready_file && (r->nr_added || r->nr_removed))
		write_ready_file(sv->o->ready_file, all, n);
	free(r);
}

/* Serves until SIGINT or SIGTERM; rescans when the target says its LUNs changed. */
static int wait_for_stop(struct served *svs, unsigned n, const sigset_t *sigs)
{
	struct pollfd pfd[1 + MAX_HOSTS];
	struct signalfd_siginfo si;

	pfd[0] = (struct pollfd){ .fd = signalfd(-1, sigs, SFD_CLOEXEC), .events = POLLIN };
	for (unsigned h = 0; h < n; h++)
		pfd[1 + h] = (struct pollfd){
			.fd = svs[h].ih ? iscsi_host_event_fd(svs[h].ih) : -1, .events = POLLIN
		};
	if (pfd[0].fd < 0)
		return -errno;
	for (;;) {
		if (poll(pfd, 1 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned h = 0; h < n; h++)
			if (pfd[1 + h].revents & POLLIN)
				rescan(&svs[h], svs, n);
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(pfd[0].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			nu_info("SIGHUP: nothing to reload without a config file");
			continue;
		}
		nu_info("%s: removing devices", strsignal(si.ssi_signo));
		break;
	}
	close(pfd[0].fd);
	return 0;
}

/* Brings up one host: its backend, its queues, a device per volume. */
static int start_host(struct served *sv, const struct iscsi_target_config *tc,
		      const struct options *o)
{
	const char *name = tc ? tc->target : "mem";
	unsigned nr_vols;

	if (tc) {
		if (iscsi_host_create(tc, &sv->ih) < 0)
			return -EIO;
		nr_vols = iscsi_host_nr_luns(sv->ih);
		sv->host = nu_host_create(name, o->queues, o->backend_depth, &nu_iscsi_transport,
					  sv->ih);
	} else {
		sv->mem = nu_mem_create(o->mem_size, o->nr_mem, o->block_size);
		if (!sv->mem)
			return -ENOMEM;
		nu_warn("serving the memory TEST backend: data is lost when netublkd exits");
		nr_vols = o->nr_mem;
		sv->host = nu_host_create(name, o->queues, o->backend_depth, &nu_mem_transport,
					  sv->mem);
	}
	if (!sv->host || nu_host_start(sv->host) < 0)
		return -EIO;
	for (unsigned i = 0; i < nr_vols; i++)
		if (add_volume(sv, i) < 0)
			return -EIO;
	return 0;
}

static void stop_host(struct served *sv)
{
	for (unsigned i = sv->nr_vols; i-- > 0;)
		remove_volume(sv, i);
	if (sv->host) {
		nu_host_stop(sv->host);
		nu_host_destroy(sv->host);
	}
	nu_mem_destroy(sv->mem);
	iscsi_host_destroy(sv->ih);
	memset(sv, 0, sizeof(*sv));
}

int main(int argc, char **argv)
{
	static struct served svs[MAX_HOSTS];
	static struct nu_conf conf;
	struct iscsi_target_config tc;
	struct ublk_ctrl ctrl = { .fd = -1 };
	struct options o;
	sigset_t sigs;
	unsigned nr_hosts = 0, nr_devs = 0;
	int ret, status = 1;

	if (parse_options(argc, argv, &o))
		return 2;
	if (o.discover) {
		char spec[1024], err[256];
		int n;

		/* A discovery session needs no target name: supply a placeholder. */
		snprintf(spec, sizeof(spec), "%s,target=discovery", o.discover);
		if (nu_iscsi_spec_parse(spec, &tc, err, sizeof(err))) {
			fprintf(stderr, "netublkd: --discover: %s\n", err);
			return 2;
		}
		n = iscsi_sendtargets(&tc, stdout, err, sizeof(err));
		if (n < 0) {
			nu_err("%s", err);
			return 1;
		}
		if (!n)
			nu_warn("%s offers no targets to this initiator", tc.portal);
		return 0;
	}
	if (o.iscsi) {
		char err[256];

		if (nu_iscsi_spec_parse(o.iscsi, &tc, err, sizeof(err))) {
			fprintf(stderr, "netublkd: --iscsi: %s\n", err);
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
	if (o.config) {
		/* One target that cannot be reached does not keep the others down. */
		for (unsigned t = 0; t < conf.nr_targets; t++) {
			struct served *sv = &svs[nr_hosts];

			*sv = (struct served){ .ctrl = &ctrl, .o = &o, .ct = &conf.targets[t] };
			if (start_host(sv, &conf.targets[t].iscsi, &o) < 0) {
				nu_err("target %s (%s at %s) is not served", conf.targets[t].name,
				       conf.targets[t].iscsi.target, conf.targets[t].iscsi.portal);
				stop_host(sv);
				continue;
			}
			nr_hosts++;
		}
		if (!nr_hosts)
			goto out;
	} else {
		svs[0] = (struct served){ .ctrl = &ctrl, .o = &o };
		nr_hosts = 1;
		if (start_host(&svs[0], o.iscsi ? &tc : NULL, &o) < 0)
			goto out;
	}
	if (o.ready_file && (ret = write_ready_file(o.ready_file, svs, nr_hosts)) < 0) {
		nu_err("cannot write %s: %s", o.ready_file, strerror(-ret));
		goto out;
	}
	for (unsigned h = 0; h < nr_hosts; h++)
		for (unsigned i = 0; i < svs[h].nr_vols; i++)
			nr_devs += !!svs[h].devs[i];
	nu_info("ready: %u device(s) from %u host(s); SIGINT or SIGTERM stops", nr_devs, nr_hosts);
	if (wait_for_stop(svs, nr_hosts, &sigs) < 0)
		goto out;
	status = 0;
out:
	for (unsigned h = nr_hosts; h-- > 0;)
		stop_host(&svs[h]);
	ublk_ctrl_close(&ctrl);
	if (o.ready_file)
		unlink(o.ready_file);
	return status;
}
