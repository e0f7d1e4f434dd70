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

#include "host.h"
#include "log.h"
#include "membackend.h"
#include "ublk_ctrl.h"
#include "ublk_dev.h"
#include "ublk_features.h"
#include "units.h"
#include "target_spec.h"
#include "iscsi_transport.h"

#define MAX_MEM_VOLS 16

struct options {
	uint64_t mem_size[MAX_MEM_VOLS];
	unsigned nr_mem;
	const char *iscsi;
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
		"  --iscsi SPEC          an iSCSI target: portal=HOST:PORT,target=IQN[,chap_user=U,\n"
		"                        chap_secret=S,header_digest=crc32c,...]; every LUN\n"
		"                        becomes a device\n"
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
	if (!o->nr_mem && !o->iscsi) {
		fprintf(stderr, "netublkd: nothing to serve: give --iscsi SPEC or --mem SIZE\n");
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

static int write_ready_file(const char *path, struct ublk_dev **devs, unsigned n)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "/dev/ublkb%d %s\n", ublk_dev_id(devs[i]),
			ublk_data_mode_name(ublk_dev_data_mode(devs[i])));
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct ublk_dev *devs[ISCSI_MAX_LUNS] = { 0 };
	struct nu_mem_backend *mem = NULL;
	struct iscsi_host *ih = NULL;
	struct iscsi_target_config tc;
	unsigned nr_vols;
	struct nu_host *host = NULL;
	struct ublk_ctrl ctrl = { .fd = -1 };
	struct options o;
	unsigned nr_devs = 0;
	sigset_t sigs;
	int ret, sig, status = 1;

	if (parse_options(argc, argv, &o))
		return 2;
	if (o.iscsi) {
		char err[256];

		if (nu_iscsi_spec_parse(o.iscsi, &tc, err, sizeof(err))) {
			fprintf(stderr, "netublkd: --iscsi: %s\n", err);
			return 2;
		}
	}

	/* Every thread inherits this mask; the main thread takes signals with sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ublk_ctrl_open(&ctrl) < 0)
		return 1;
	if (o.iscsi) {
		if (iscsi_host_create(&tc, &ih) < 0)
			goto out;
		nr_vols = iscsi_host_nr_luns(ih);
		host = nu_host_create(tc.target, o.queues, o.backend_depth, &nu_iscsi_transport,
				      ih);
	} else {
		mem = nu_mem_create(o.mem_size, o.nr_mem, o.block_size);
		if (!mem)
			goto out;
		nu_warn("serving the memory TEST backend: data is lost when netublkd exits");
		nr_vols = o.nr_mem;
		host = nu_host_create("mem", o.queues, o.backend_depth, &nu_mem_transport, mem);
	}
	if (!host || nu_host_start(host) < 0)
		goto out;
	for (unsigned i = 0; i < nr_vols; i++) {
		struct ublk_dev_config cfg = { .dev_id = -1, .depth = o.depth,
					       .max_io_bytes = o.max_io,
					       .data_mode = o.data_mode };
		struct nu_volume_geom g;

		if (ih)
			g = iscsi_host_lun(ih, i)->geom;
		else
			nu_mem_geom(mem, i, &g);
		ret = ublk_dev_create(&ctrl, host, i, &g, &cfg, &devs[nr_devs]);
		if (ret < 0)
			goto out;
		nr_devs++;
	}
	if (o.ready_file && (ret = write_ready_file(o.ready_file, devs, nr_devs)) < 0) {
		nu_err("cannot write %s: %s", o.ready_file, strerror(-ret));
		goto out;
	}
	nu_info("ready: %u device(s); SIGINT or SIGTERM stops", nr_devs);
	do {
		sig = sigwaitinfo(&sigs, NULL);
		if (sig == SIGHUP)
			nu_info("SIGHUP: nothing to reload without a config file");
	} while (sig == SIGHUP || (sig < 0 && errno == EINTR));
	nu_info("%s: removing devices", strsignal(sig));
	status = 0;
out:
	for (unsigned i = nr_devs; i-- > 0;) {
		print_stats(host, devs[i]);
		ublk_dev_destroy(devs[i]);
	}
	if (host) {
		nu_host_stop(host);
		nu_host_destroy(host);
	}
	nu_mem_destroy(mem);
	iscsi_host_destroy(ih);
	ublk_ctrl_close(&ctrl);
	if (o.ready_file)
		unlink(o.ready_file);
	return status;
}
