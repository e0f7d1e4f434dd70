// SPDX-License-Identifier: MIT
/*
 * netublk-perf: drive a host's queues and backend directly, without ublk,
 * like SPDK's bdevperf or libiscsi's iscsi-perf. Each queue thread keeps
 * QD I/Os in flight on its own share of the volume.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "host.h"
#include "latency.h"
#include "log.h"
#include "membackend.h"
#include "queue.h"
#include "units.h"
#include "target_spec.h"
#include "iscsi_transport.h"
#include "nvme_transport.h"

enum pattern { PAT_RAND, PAT_SEQ };

struct perf_opts {
	uint64_t mem_size;
	const char *iscsi;
	const char *nvme;
	unsigned vol;
	unsigned queues, qd, backend_depth;
	uint64_t bs;
	enum pattern pattern;
	unsigned read_pct;
	unsigned seconds;
	bool verify;
};

struct perf_queue;

struct perf_io {
	struct nu_io io;
	struct perf_queue *pq;
	uint8_t *buf;
	uint64_t block; /* within the queue's region */
	uint32_t gen;	/* generation written, for verify */
};

struct perf_queue {
	const struct perf_opts *o;
	struct nu_queue *q;
	uint64_t region_start, region_blocks; /* in blocks of bs */
	uint64_t seq_next;
	uint64_t rng;
	uint64_t end_ns;
	struct perf_io *ios;
	uint8_t *bufs;
	uint32_t *gen;	/* verify: generation last written per block, 0 = never */
	uint8_t *busy;	/* verify: block has an I/O in flight */
	unsigned active;
	struct nu_latency lat;
	uint64_t bytes, errors, checked, mismatches, unverified;
	bool done;
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t pattern_word(uint64_t abs_block, uint32_t gen, uint64_t i)
{
	uint64_t z = abs_block * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)gen << 40) ^ i;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void fill_pattern(uint8_t *buf, uint64_t len, uint64_t abs_block, uint32_t gen)
{
	uint64_t *w = (uint64_t *)buf;

	for (uint64_t i = 0; i < len / 8; i++)
		w[i] = pattern_word(abs_block, gen, i);
}

static bool check_pattern(const uint8_t *buf, uint64_t len, uint64_t abs_block, uint32_t gen)
{
	const uint64_t *w = (const uint64_t *)buf;

	for (uint64_t i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(abs_block, gen, i))
			return false;
	return true;
}

static void perf_io_done(struct nu_io *io, int res);

static bool pick_block(struct perf_queue *pq, uint64_t *block)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t b;

		if (pq->o->pattern == PAT_SEQ)
			b = pq->seq_next++ % pq->region_blocks;
		else
			b = rng_next(&pq->rng) % pq->region_blocks;
		if (!pq->busy || !pq->busy[b]) {
			*block = b;
			return true;
		}
	}
	return false;
}

static void issue(struct perf_queue *pq, struct perf_io *pio)
{
	struct nu_io *io = &pio->io;
	const struct perf_opts *o = pq->o;
	uint64_t block;

	if (nu_queue_now_ns(pq->q) >= pq->end_ns || !pick_block(pq, &block)) {
		if (--pq->active == 0)
			__atomic_store_n(&pq->done, true, __ATOMIC_RELEASE);
		return;
	}
	pio->block = block;
	memset(io, 0, sizeof(*io));
	io->op = (rng_next(&pq->rng) % 100) < o->read_pct ? NU_OP_READ : NU_OP_WRITE;
	io->vol = o->vol;
	io->len = o->bs;
	io->offset = (pq->region_start + block) * o->bs;
	io->buf.addr = pio->buf;
	io->buf.fixed_index = -1;
	io->done = perf_io_done;
	if (o->verify) {
		pq->busy[block] = 1;
		if (io->op == NU_OP_WRITE) {
			pio->gen = pq->gen[block] + 1;
			fill_pattern(pio->buf, o->bs, pq->region_start + block, pio->gen);
		}
	}
	nu_queue_submit_io(pq->q, io);
}

static void perf_io_done(struct nu_io *io, int res)
{
	struct perf_io *pio = (struct perf_io *)io;
	struct perf_queue *pq = pio->pq;

	nu_latency_add(&pq->lat, nu_queue_now_ns(pq->q) - io->start_ns);
	if (res < 0) {
		if (pq->errors++ == 0)
			nu_err("%s at %llu: %s", nu_op_name(io->op),
			       (unsigned long long)io->offset, strerror(-res));
	} else {
		pq->bytes += io->len;
		if (pq->o->verify) {
			uint32_t want = pq->gen[pio->block];

			if (io->op == NU_OP_WRITE) {
				pq->gen[pio->block] = pio->gen;
			} else if (!want) {
				pq->unverified++;
			} else {
				pq->checked++;
				if (!check_pattern(pio->buf, io->len,
						   pq->region_start + pio->block, want) &&
				    pq->mismatches++ == 0)
					nu_err("verify: data mismatch at offset %llu (generation "
					       "%u)",
					       (unsigned long long)io->offset, want);
			}
		}
	}
	if (pq->busy)
		pq->busy[pio->block] = 0;
	issue(pq, pio);
}

static int perf_start(struct nu_queue *q, void *arg)
{
	struct perf_queue *pq = arg;

	pq->q = q;
	pq->active = pq->o->qd;
	for (unsigned i = 0; i < pq->o->qd; i++)
		issue(pq, &pq->ios[i]);
	return 0;
}

static int perf_queue_init(struct perf_queue *pq, const struct perf_opts *o, unsigned id,
			   uint64_t total_blocks)
{
	uint64_t per_q = total_blocks / o->queues;

	memset(pq, 0, sizeof(*pq));
	pq->o = o;
	pq->region_start = per_q * id;
	pq->region_blocks = per_q;
	pq->rng = 0x1234567ULL * (id + 1) | 1;
	nu_latency_init(&pq->lat);
	pq->ios = calloc(o->qd, sizeof(*pq->ios));
	if (posix_memalign((void **)&pq->bufs, 4096, o->bs * o->qd) || !pq->ios)
		return -ENOMEM;
	memset(pq->bufs, 0, o->bs * o->qd);
	for (unsigned i = 0; i < o->qd; i++) {
		pq->ios[i].pq = pq;
		pq->ios[i].buf = pq->bufs + i * o->bs;
	}
	if (o->verify) {
		pq->gen = calloc(per_q, sizeof(*pq->gen));
		pq->busy = calloc(per_q, 1);
		if (!pq->gen || !pq->busy)
			return -ENOMEM;
	}
	return 0;
}

static void perf_queue_free(struct perf_queue *pq)
{
	free(pq->ios);
	free(pq->bufs);
	free(pq->gen);
	free(pq->busy);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: netublk-perf (--mem SIZE | --iscsi SPEC | --nvme SPEC) [options]\n"
		   "\n"
		   "  --mem SIZE          benchmark the memory TEST backend of SIZE\n"
		   "  --iscsi SPEC        an iSCSI target: portal=H:P,target=IQN[,chap_user=U,\n"
		   "                      chap_secret=S,header_digest=crc32c,...]\n"
		   "  --nvme SPEC         an NVMe/TCP subsystem: address=H:P,subsystem=NQN[,...]\n"
		   "  --lun-index N       which LUN or namespace, in the target's order [0]\n"
		   "  --queues N          queue threads [1]\n"
		   "  --qd N              I/Os in flight per queue [32]\n"
		   "  --backend-depth N   backend tags per queue [qd]\n"
		   "  --coalesce US       completion coalescing, as netublkd's [50]\n"
		   "  --busy-poll US      busy polling, as netublkd's [0]\n"
		   "  --bs SIZE           block size [4k]\n"
		   "  --rw MODE           randread, randwrite, randrw, read, write, rw [randread]\n"
		   "  --read-pct N        reads in percent for randrw and rw [50]\n"
		   "  --time SECONDS      runtime [10]\n"
		   "  --verify            write patterns, check every read of written blocks\n"
		   "  --log-level LEVEL   error, warn, info or debug [warn]\n");
}

static int parse_rw(const char *s, struct perf_opts *o)
{
	static const struct {
		const char *name;
		enum pattern pat;
		int read_pct; /* -1: keep --read-pct */
	} modes[] = {
		{ "randread", PAT_RAND, 100 }, { "randwrite", PAT_RAND, 0 },
		{ "randrw", PAT_RAND, -1 },    { "read", PAT_SEQ, 100 },
		{ "write", PAT_SEQ, 0 },       { "rw", PAT_SEQ, -1 },
	};

	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(s, modes[i].name)) {
			o->pattern = modes[i].pat;
			if (modes[i].read_pct >= 0)
				o->read_pct = modes[i].read_pct;
			return 0;
		}
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "iscsi", required_argument, NULL, 'I' },
		{ "nvme", required_argument, NULL, 'N' },
		{ "lun-index", required_argument, NULL, 'L' },
		{ "queues", required_argument, NULL, 'q' },
		{ "qd", required_argument, NULL, 'Q' },
		{ "backend-depth", required_argument, NULL, 'b' },
		{ "coalesce", required_argument, NULL, 'W' },
		{ "busy-poll", required_argument, NULL, 'P' },
		{ "bs", required_argument, NULL, 's' },
		{ "rw", required_argument, NULL, 'w' },
		{ "read-pct", required_argument, NULL, 'p' },
		{ "time", required_argument, NULL, 't' },
		{ "verify", no_argument, NULL, 'v' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned coalesce_us = NU_QUEUE_COALESCE_US, busy_poll_us = 0;
	struct perf_opts o = { .queues = 1, .qd = 32, .bs = 4096, .pattern = PAT_RAND,
			       .read_pct = 100, .seconds = 10 };
	const char *rw = "randread";
	unsigned read_pct = 50;
	bool read_pct_set = false;
	struct nu_mem_backend *mem = NULL;
	const struct nu_target_ops *tops = NULL;
	void *target = NULL;
	struct nu_host *host = NULL;
	struct perf_queue *pqs = NULL;
	struct nu_latency lat;
	struct rusage ru0, ru1;
	uint64_t t0, t1, bytes = 0, errors = 0, checked = 0, mismatches = 0, unverified = 0;
	enum nu_log_level level;
	int c, status = 1;

	nu_log_set_level(NU_LOG_WARN);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (nu_parse_size(optarg, &o.mem_size) || !o.mem_size)
				goto bad;
			break;
		case 'I':
			o.iscsi = optarg;
			break;
		case 'N':
			o.nvme = optarg;
			break;
		case 'L':
			if (nu_parse_uint(optarg, 0, 255, &o.vol))
				goto bad;
			break;
		case 'q':
			if (nu_parse_uint(optarg, 1, 64, &o.queues))
				goto bad;
			break;
		case 'Q':
			if (nu_parse_uint(optarg, 1, 4096, &o.qd))
				goto bad;
			break;
		case 'b':
			if (nu_parse_uint(optarg, 1, 4096, &o.backend_depth))
				goto bad;
			break;
		case 'W':
			if (nu_parse_uint(optarg, 0, NU_QUEUE_COALESCE_US_MAX, &coalesce_us))
				goto bad;
			break;
		case 'P':
			if (nu_parse_uint(optarg, 0, NU_QUEUE_BUSY_POLL_US_MAX, &busy_poll_us))
				goto bad;
			break;
		case 's':
			if (nu_parse_size(optarg, &o.bs) || o.bs < 512 || o.bs > (32u << 20) ||
			    o.bs % 512)
				goto bad;
			break;
		case 'w':
			rw = optarg;
			break;
		case 'p':
			if (nu_parse_uint(optarg, 0, 100, &read_pct))
				goto bad;
			read_pct_set = true;
			break;
		case 't':
			if (nu_parse_uint(optarg, 1, 86400, &o.seconds))
				goto bad;
			break;
		case 'v':
			o.verify = true;
			break;
		case 'l':
			if (nu_log_level_parse(optarg, &level))
				goto bad;
			nu_log_set_level(level);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	o.read_pct = read_pct;
	if (parse_rw(rw, &o) < 0)
		goto bad;
	if (!read_pct_set && o.verify && !strcmp(rw, "randread"))
		o.read_pct = 50; /* verify needs writes to check */
	if (!!o.mem_size + !!o.iscsi + !!o.nvme != 1 || optind < argc)
		goto bad;
	if (!o.backend_depth)
		o.backend_depth = o.qd;
	nu_queue_set_coalesce(coalesce_us);
	nu_queue_set_busy_poll(busy_poll_us);
	if (o.iscsi) {
		struct iscsi_target_config tc;
		char err[256];

		if (nu_iscsi_spec_parse(o.iscsi, &tc, err, sizeof(err))) {
			fprintf(stderr, "netublk-perf: --iscsi: %s\n", err);
			return 2;
		}
		if (iscsi_host_create(&tc, (struct iscsi_host **)&target))
			return 1;
		tops = &nu_iscsi_target;
	} else if (o.nvme) {
		struct nvme_target_config tc;
		char err[256];

		if (nu_nvme_spec_parse(o.nvme, &tc, err, sizeof(err))) {
			fprintf(stderr, "netublk-perf: --nvme: %s\n", err);
			return 2;
		}
		if (nvme_host_create(&tc, o.queues, (struct nvme_host **)&target))
			return 1;
		tops = &nu_nvme_target;
	}
	if (tops) {
		struct nu_vol_desc d;

		if (!tops->vol(target, o.vol, &d) || d.gone) {
			fprintf(stderr, "netublk-perf: the target has %u volume(s)\n",
				tops->nr_vols(target));
			tops->destroy(target);
			return 2;
		}
		o.mem_size = d.geom->size;
	}
	if (o.mem_size / o.bs / o.queues < o.qd) {
		fprintf(stderr, "netublk-perf: volume too small for %u queues x QD%u of %llu-byte "
				"blocks\n",
			o.queues, o.qd, (unsigned long long)o.bs);
		return 2;
	}

	if (tops) {
		host = nu_host_create(tops->kind, o.queues, o.backend_depth, tops->transport, target);
	} else {
		mem = nu_mem_create(&o.mem_size, 1, 512);
		if (!mem)
			goto out;
		host = nu_host_create("mem", o.queues, o.backend_depth, &nu_mem_transport, mem);
	}
	pqs = calloc(o.queues, sizeof(*pqs));
	if (!host || !pqs || nu_host_start(host) < 0)
		goto out;
	for (unsigned i = 0; i < o.queues; i++)
		if (perf_queue_init(&pqs[i], &o, i, o.mem_size / o.bs) < 0)
			goto out;

	getrusage(RUSAGE_SELF, &ru0);
	t0 = nu_now_ns();
	for (unsigned i = 0; i < o.queues; i++) {
		pqs[i].end_ns = t0 + o.seconds * 1000000000ull;
		nu_queue_call(nu_host_queue(host, i), perf_start, &pqs[i]);
	}
	for (unsigned i = 0; i < o.queues; i++)
		while (!__atomic_load_n(&pqs[i].done, __ATOMIC_ACQUIRE))
			usleep(10000);
	t1 = nu_now_ns();
	getrusage(RUSAGE_SELF, &ru1);

	nu_latency_init(&lat);
	for (unsigned i = 0; i < o.queues; i++) {
		nu_latency_merge(&lat, &pqs[i].lat);
		bytes += pqs[i].bytes;
		errors += pqs[i].errors;
		checked += pqs[i].checked;
		mismatches += pqs[i].mismatches;
		unverified += pqs[i].unverified;
	}
	{
		double secs = (t1 - t0) / 1e9;
		double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
			     (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
			     (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			     (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

		printf("backend %s, %u queue(s) x QD%u, bs %llu, %s, read %u%%, %.1f s\n",
		       tops ? tops->kind : "memory", o.queues, o.qd, (unsigned long long)o.bs, rw,
		       o.read_pct, secs);
		printf("IOPS %.0f  MB/s %.1f  ios %llu  errors %llu\n", lat.count / secs,
		       bytes / secs / 1e6, (unsigned long long)lat.count,
		       (unsigned long long)errors);
		printf("latency us: avg %.1f min %.1f p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max "
		       "%.1f\n",
		       lat.count ? lat.sum_ns / 1e3 / lat.count : 0.0, lat.min_ns / 1e3,
		       nu_latency_percentile(&lat, 50) / 1e3,
		       nu_latency_percentile(&lat, 90) / 1e3,
		       nu_latency_percentile(&lat, 99) / 1e3,
		       nu_latency_percentile(&lat, 99.9) / 1e3, lat.max_ns / 1e3);
		printf("cpu %.2f s (%.2f us per I/O)\n", cpu,
		       lat.count ? cpu * 1e6 / lat.count : 0.0);
		if (o.verify)
			printf("verify: %llu reads checked, %llu mismatches, %llu reads of "
			       "unwritten blocks\n",
			       (unsigned long long)checked, (unsigned long long)mismatches,
			       (unsigned long long)unverified);
	}
	status = (errors || mismatches || !lat.count || (o.verify && !checked)) ? 1 : 0;
out:
	if (host) {
		nu_host_stop(host);
		nu_host_destroy(host);
	}
	if (pqs)
		for (unsigned i = 0; i < o.queues; i++)
			perf_queue_free(&pqs[i]);
	free(pqs);
	nu_mem_destroy(mem);
	if (tops)
		tops->destroy(target);
	return status;
bad:
	usage(stderr);
	return 2;
}
